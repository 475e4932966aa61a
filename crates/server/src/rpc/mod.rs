//! The Alibaba OpenAPI RPC endpoint: every `GET` or `POST` that is not
//! `/healthz` lands here.
//!
//! A request goes through, in order:
//!
//! 1. the body, read up to the limit (larger: `EntityTooLarge`, 413, after
//!    draining what the client sends so it reads the answer rather than a
//!    reset connection);
//! 2. the parameters: query ∪ `application/x-www-form-urlencoded` body
//!    ([`params`]);
//! 3. the scheme ([`auth::detect`]), then `Action` + `Version` (V1 and
//!    anonymous: parameters; V3: the `x-acs-action` / `x-acs-version`
//!    headers) and the route ([`router`]): `InvalidVersion`,
//!    `InvalidAction.NotFound`;
//! 4. the signature checks ([`authn`]); for temporary credentials the
//!    SecurityToken is verified there (`sts::verify`) and, once the
//!    signature holds, the session is checked against the store
//!    (`sts::session_still_valid`: its role still exists and has not
//!    revoked it, the user that started its chain still exists);
//! 5. the permission checks of the action (`crate::ram::authz`), each asked
//!    of the decision point: `NoPermission` (403) naming the action. A
//!    session is decided as its role (`iam::Principal::Role`, the role's
//!    policies as they are now) narrowed by its session policy
//!    (`sts::SessionRights::narrow`);
//! 6. the handler;
//! 7. one audit event, whatever happened ([`crate::audit`]).
//!
//! Responses are always JSON (`Format=XML` is accepted and ignored: every
//! SDK asks for JSON).

pub mod authn;
pub mod params;
pub mod router;

use std::net::SocketAddr;
use std::sync::Mutex;

use auth::{KeyRing, Scheme, Timestamp};
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;

use self::authn::{Authenticated, KeyRecord, SignedInput};
use self::params::Params;
use self::router::Route;
use crate::api_server::AppState;
use crate::audit::{AuditEvent, Outcome, Verdict};
use crate::error::{ApiError, DEFAULT_HOST_ID};
use crate::ram::authz::Check;
use crate::reply::Reply;
use crate::request_id::RequestId;
use crate::sts::IamSts;

/// How much of an oversized body is read (and thrown away) so that the
/// client, still sending, sees the error instead of a reset connection.
/// Past this the connection is closed.
const MAX_DRAIN: usize = 16 * 1024 * 1024;

/// One authenticated call, as handlers and authorizers see it.
pub struct Call<'a> {
    /// The store: the domain and the decision point.
    pub store: &'a iam::Store,
    /// Who is calling: for temporary credentials, the session's role.
    pub principal: &'a iam::Principal,
    /// The session, when the call was signed with temporary credentials.
    pub session: Option<&'a sts::Claims>,
    /// With which AccessKeyId.
    pub access_key_id: &'a str,
    /// The request's parameters.
    pub params: &'a Params,
    /// The request id.
    pub request_id: &'a RequestId,
    /// The action, as dispatched (`CreateUser`).
    pub action: &'static str,
    /// The condition keys of the request (`acs:SourceIp`, …).
    pub context: &'a policy::Context,
    /// The server's clock at the start of the call.
    pub now: Timestamp,
    /// The STS key ring, when there is one.
    pub sts_keys: Option<&'a KeyRing>,
    /// What a handler adds to the call's audit event.
    pub notes: &'a Mutex<Notes>,
    /// The registry's tables, when a registry is configured.
    pub registry: Option<&'a crate::registry::RegistryPlane>,
    /// The TCP peer.
    pub peer: SocketAddr,
}

impl Call<'_> {
    /// The caller's account: every RAM call acts within it.
    pub fn account(&self) -> &str {
        self.principal.account()
    }

    /// Adds to the call's audit event.
    pub fn note(&self, write: impl FnOnce(&mut Notes)) {
        let mut notes = self
            .notes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        write(&mut notes);
    }
}

/// What a handler that decides for itself (AssumeRole) tells the audit.
#[derive(Debug, Default)]
pub struct Notes {
    /// The question asked and its answer.
    pub decision: Option<(Check, Verdict)>,
    /// The session issued.
    pub issued_session_id: Option<String>,
    /// Another account the call touched.
    pub resource_account: Option<String>,
}

/// Who signed: a long-term key's owner, a role session, or a service
/// principal (by its name).
pub(crate) enum Identity {
    Key(iam::Principal),
    Session(Box<sts::Claims>),
    Service(String),
}

/// The `HostId` of an error: the `Host` the client addressed, when it is
/// plain text, else `rampart`.
pub(crate) fn host_id(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or(DEFAULT_HOST_ID)
        .to_owned()
}

pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Reads the body up to `limit` bytes. Over the limit, keeps reading (and
/// discarding) up to [`MAX_DRAIN`] so the client can read the answer.
pub(crate) async fn read_body(
    body: Body,
    declared: Option<usize>,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    if declared.is_some_and(|n| n > MAX_DRAIN) {
        return Err(ApiError::body_too_large(limit));
    }
    let mut body = body;
    let mut kept = Vec::new();
    let mut seen: usize = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ApiError::malformed_parameters(format_args!("the body could not be read: {e}"))
        })?;
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            if seen > MAX_DRAIN {
                break;
            }
            if seen <= limit {
                kept.extend_from_slice(&data);
            }
        }
    }
    if seen > limit {
        return Err(ApiError::body_too_large(limit));
    }
    Ok(kept)
}

/// Finds the key a request names, for [`authn::authenticate`]: a session's
/// (`STS.` ids: the SecurityToken is opened and checked against the id, as
/// of `now`), a service's (`LTSV` ids), or a long-term AccessKey of the
/// store. The RPC endpoint and the authorization API for services
/// (`crate::authorize`) both look keys up here, so a request is
/// authenticated the same way wherever it arrives.
pub(crate) async fn lookup_key(
    state: &AppState,
    now: Timestamp,
    id: String,
    token: Option<String>,
) -> Result<Option<KeyRecord<Identity>>, ApiError> {
    let store = &state.store;
    if sts::is_sts_access_key_id(&id) {
        let keys = state
            .sts_keys
            .as_ref()
            .ok_or_else(|| ApiError::internal().with_detail("no STS key ring is configured"))?;
        let verified =
            sts::verify(&id, token.as_deref(), now, keys).map_err(|e| ApiError::from_wire(&e))?;
        return Ok(Some(KeyRecord {
            principal: Identity::Session(Box::new(verified.claims)),
            active: true,
            secret: verified.secret,
        }));
    }
    if iam::is_service_key_id(&id) {
        let record = store.service_key(&id).await?;
        return Ok(record.map(|r| KeyRecord {
            active: true,
            secret: r.secret,
            principal: Identity::Service(r.service),
        }));
    }
    let record = store.access_key(&id).await?;
    Ok(record.map(|r| KeyRecord {
        active: r.status == iam::KeyStatus::Active,
        secret: r.secret,
        principal: Identity::Key(r.principal),
    }))
}

/// The action and version the request names, where its scheme puts them.
fn action_and_version<'a>(
    scheme: Scheme,
    headers: &'a HeaderMap,
    params: &'a Params,
) -> Result<(&'a str, &'a str), ApiError> {
    match scheme {
        Scheme::V3 => {
            let header = |name: &str, param: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| ApiError::missing_parameter(param))
            };
            Ok((
                header("x-acs-action", "Action")?,
                header("x-acs-version", "Version")?,
            ))
        }
        Scheme::V1 | Scheme::Anonymous => {
            Ok((params.required("Action")?, params.required("Version")?))
        }
    }
}

/// Decides one check at the decision point, narrowed by the session policy
/// when the caller is a session.
async fn decide(
    call: &Call<'_>,
    rights: Option<&sts::SessionRights>,
    check: &Check,
) -> Result<Verdict, ApiError> {
    crate::decide::decide(
        call.store,
        call.principal,
        rights,
        &check.action,
        &[check.resource.as_str()],
        call.context,
    )
    .await
}

/// Asks every check; the first that is not allowed ends the call with
/// `NoPermission`.
async fn authorize(
    call: &Call<'_>,
    rights: Option<&sts::SessionRights>,
    checks: &[Check],
    audit: &mut AuditEvent,
) -> Result<(), ApiError> {
    for check in checks {
        let verdict = decide(call, rights, check).await?;
        audit.record_decision(check, &verdict);
        if !verdict.is_allowed() {
            return Err(ApiError::no_permission(&check.action, &check.resource));
        }
    }
    Ok(())
}

/// A request whose body has been read.
struct Incoming<'a> {
    method: &'a Method,
    path: &'a str,
    query: Option<&'a str>,
    headers: &'a HeaderMap,
    body: &'a [u8],
    peer: SocketAddr,
}

/// Everything after the body is read: parameters to reply.
async fn process(
    state: &AppState,
    incoming: Incoming<'_>,
    request_id: &RequestId,
    audit: &mut AuditEvent,
) -> Result<Reply, ApiError> {
    let Incoming {
        method,
        path,
        query,
        headers,
        body,
        peer,
    } = incoming;
    let form = is_form(headers).then_some(body);
    let params = Params::from_parts(query, form)?;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let scheme = auth::detect(authorization, params.pairs());
    let (action, version) = action_and_version(scheme, headers, &params)?;
    audit.action = action.to_owned();
    let route: &Route = state.router.lookup(version, action)?;
    audit.action = format!("{}:{}", route.product.to_ascii_lowercase(), route.action);

    if scheme == Scheme::Anonymous {
        // No RAM action is anonymous (only STS's OIDC/SAML assumptions are).
        return Err(if params.raw("AccessKeyId").is_some() {
            ApiError::missing_parameter("Signature")
        } else {
            ApiError::missing_parameter("AccessKeyId")
        });
    }

    let header_pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str(), v)))
        .collect();
    let input = SignedInput {
        method: method.as_str(),
        path,
        headers: &header_pairs,
        params: &params,
        body,
    };
    let store = &state.store;
    let now = state.clock.now();
    let sts_keys = state.sts_keys.as_ref();
    let Authenticated {
        principal: identity,
        access_key_id,
    } = authn::authenticate(
        scheme,
        input,
        Timestamp::now(),
        &state.nonces,
        |id, token| lookup_key(state, now, id, token),
    )
    .await?;

    let (principal, session, rights) = match identity {
        // A service acts only through the calls made for it, each naming
        // the account it acts for; it is never a principal of RAM.
        Identity::Service(service) => {
            let now_millis = state.clock.now_millis();
            return crate::sts::service_identity::handle(
                state, &service, route, &params, peer, now, now_millis, audit,
            )
            .await;
        }
        Identity::Key(principal) => {
            // For GetAccessKeyLastUsed; only a verified signature counts as use.
            if let Err(err) = store.record_access_key_use(&access_key_id).await {
                tracing::warn!(error = %err, "could not record the access key's use");
            }
            (principal, None, None)
        }
        Identity::Session(claims) => {
            // Authentic from here on: audited with its chain, even when the
            // session no longer counts.
            audit.account = Some(claims.account.clone());
            audit.principal_arn = Some(claims.session_arn());
            audit.chain = claims.chain_arns();
            audit.session_id = Some(claims.session_id.clone());
            sts::session_still_valid(&IamSts(store), &claims, now)
                .await
                .map_err(|e| ApiError::from_wire(&e))?;
            let rights = state
                .session_rights
                .of(&claims)
                .map_err(|e| ApiError::from_wire(&e))?;
            let principal = iam::Principal::Role {
                account: claims.account.clone(),
                role_id: claims.role_id.clone(),
                name: claims.role_name.clone(),
            };
            (principal, Some(claims), Some(rights))
        }
    };
    if session.is_none() {
        audit.account = Some(principal.account().to_owned());
        audit.principal_arn = Some(principal.arn());
    }

    let context = crate::decide::context(
        peer,
        Some(&principal),
        Some(&access_key_id),
        state.clock.now_millis(),
    );
    let notes = Mutex::new(Notes::default());
    let call = Call {
        store,
        principal: &principal,
        session: session.as_deref(),
        access_key_id: &access_key_id,
        params: &params,
        request_id,
        action: route.action,
        context: &context,
        now,
        sts_keys,
        notes: &notes,
        registry: state.registry.as_ref(),
        peer,
    };
    let checks = (route.authorize)(&call)?;
    authorize(&call, rights.as_deref(), &checks, audit).await?;
    let result = (route.handler)(&call).await;
    let notes = notes
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((check, verdict)) = &notes.decision {
        audit.record_decision(check, verdict);
    }
    audit.issued_session_id = notes.issued_session_id;
    audit.resource_account = notes.resource_account;
    result
}

/// The RPC endpoint.
pub async fn handle(state: &AppState, peer: SocketAddr, request: Request<Body>) -> Response {
    let request_id = RequestId::new();
    let (parts, body) = request.into_parts();
    let host = host_id(&parts.headers);
    let mut audit = AuditEvent::new(&request_id, peer.ip());

    let result = if parts.method == Method::GET || parts.method == Method::POST {
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        match read_body(body, declared, state.config.body_limit).await {
            Ok(bytes) => {
                let incoming = Incoming {
                    method: &parts.method,
                    path: parts.uri.path(),
                    query: parts.uri.query(),
                    headers: &parts.headers,
                    body: &bytes,
                    peer,
                };
                process(state, incoming, &request_id, &mut audit).await
            }
            Err(err) => Err(err),
        }
    } else {
        Err(ApiError::action_not_found())
    };

    let response = match result {
        Ok(reply) => {
            audit.finish(Outcome::Success);
            reply.into_response(&request_id)
        }
        Err(err) => {
            if audit.detail.is_none() {
                audit.detail = err.detail().map(str::to_owned);
            }
            audit.finish(Outcome::Error {
                code: err.code().to_owned(),
                status: err.status().as_u16(),
            });
            err.for_request(&request_id, &host).into_response()
        }
    };
    audit.emit(&state.store).await;
    response
}
