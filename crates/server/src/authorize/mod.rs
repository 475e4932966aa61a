//! The authorization API for other services (a rampart extension):
//! `POST /rampart/authorize`.
//!
//! A service that fronts its own API (a function platform, say) receives
//! requests signed by its callers with rampart-issued credentials. Before
//! it acts, it forwards such a request here with the action and resource
//! it is about to perform; rampart authenticates the caller exactly as it
//! authenticates its own API's requests and decides exactly as it decides
//! them, and answers who the caller is and whether it may.
//!
//! # The service's own call
//!
//! Signed with a service key (`rampart service key create --service
//! NAME`, an `LTSV…` AccessKeyId), V3 or V1, like any rampart call; any
//! other signer is refused with `NoPermission`. The question
//! ([`document::Document`]) travels in the body: as JSON
//! (`Content-Type: application/json`, V3 only, whose
//! `x-acs-content-sha256` covers the body) or as the form parameter
//! `Request` (V1 or V3; a V1 signature covers form parameters, not a JSON
//! body, so V1 with a JSON body is `IncompleteSignature`).
//!
//! # The forwarded request
//!
//! Checked by the same code as the RPC endpoint's requests, in the same
//! order ([`crate::rpc::authn::authenticate`] with
//! [`crate::rpc::lookup_key`]): the signature material, the timestamp
//! within ±15 minutes, the AccessKey (or the SecurityToken of temporary
//! credentials), the signature, and the nonce, which is then recorded in
//! the server's one replay memory: a request forwarded twice, or also sent
//! to rampart's own API, is refused the second time (`SignatureNonceUsed`).
//! A session must still count (`sts::session_still_valid`: its role
//! exists and has not revoked it, the user that started its chain exists).
//!
//! # The decision
//!
//! [`crate::decide::decide`]: the caller's policies as they are now (a
//! session as its role), narrowed by the session policy, within the
//! account boundary; the condition keys are those of any rampart decision,
//! with `acs:SourceIp` the caller's address as the service reports it
//! (`SourceIp`), else the service's own.
//!
//! # The answer
//!
//! Decided (allowed or not): `200` with
//!
//! ```json
//! {"RequestId": "…", "Allowed": false, "Decision": "ImplicitDeny",
//!  "DecidingStatement": null, "Action": "fc:CreateService",
//!  "Resource": "acs:fc:cn-hangzhou:A:services/*",
//!  "Principal": {"IdentityType": "AssumedRoleUser", "AccountId": "A",
//!    "Arn": "acs:ram::A:assumed-role/fc-admin/s", "PrincipalId": "…",
//!    "RoleId": "…", "AccessKeyId": "STS.…", "SessionId": "…",
//!    "Chain": ["acs:ram::B:user/bob", "acs:ram::A:assumed-role/fc-admin/s"]},
//!  "ActingService": "fc.example.internal"}
//! ```
//!
//! Not decided: the Alibaba error shape, with the header
//! `x-rampart-error-source`: `request` when the forwarded request was
//! refused (`SignatureDoesNotMatch`, `InvalidSecurityToken.Expired`, … —
//! the service relays it to its caller as it is), `service` when the
//! service's own call was.
//!
//! One audit event per call: the caller (account, ARN, chain, session),
//! the action and resource, the decision and its statement, the caller's
//! address, and the acting service; written to the caller's account and,
//! when the resource is another account's, to that account too.

pub mod document;

use std::net::SocketAddr;

use auth::{Scheme, Timestamp};
use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use self::document::Document;
use crate::api_server::AppState;
use crate::audit::{AuditEvent, Outcome};
use crate::error::ApiError;
use crate::ram::authz::Check;
use crate::reply::Reply;
use crate::request_id::RequestId;
use crate::rpc::authn::{self, Authenticated, SignedInput};
use crate::rpc::params::Params;
use crate::rpc::Identity;
use crate::sts::IamSts;

/// The route.
pub const ROUTE: &str = "/rampart/authorize";

/// The audit's name for the call before the question is known.
const AUDIT_ACTION: &str = "rampart:Authorize";

/// The response header that says whose request an error is about.
pub const ERROR_SOURCE_HEADER: &str = "x-rampart-error-source";

/// Why a call was not decided: the service's own call, or the request it
/// forwarded, was refused.
enum Refusal {
    Service(ApiError),
    Request(ApiError),
}

impl From<ApiError> for Refusal {
    fn from(err: ApiError) -> Self {
        Self::Service(err)
    }
}

fn forwarded(err: ApiError) -> Refusal {
    Refusal::Request(err)
}

fn no_permission(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "NoPermission", message)
}

/// The text headers of a request, as the signature checks take them.
fn text_headers(headers: &axum::http::HeaderMap) -> Vec<(&str, &str)> {
    headers
        .iter()
        .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str(), v)))
        .collect()
}

/// `MissingAccessKeyId` or `MissingSignature` for an unsigned request.
fn unsigned(params: &Params) -> ApiError {
    if params.raw("AccessKeyId").is_some() {
        ApiError::missing_parameter("Signature")
    } else {
        ApiError::missing_parameter("AccessKeyId")
    }
}

/// The endpoint.
pub async fn handle(state: &AppState, peer: SocketAddr, request: Request<Body>) -> Response {
    let request_id = RequestId::new();
    let (parts, body) = request.into_parts();
    let host = crate::rpc::host_id(&parts.headers);
    let mut audit = AuditEvent::new(&request_id, peer.ip());
    audit.action = AUDIT_ACTION.to_owned();

    let result = if parts.method == Method::POST {
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        match crate::rpc::read_body(body, declared, state.config.body_limit).await {
            Ok(bytes) => process(state, &parts, &bytes, peer, &mut audit).await,
            Err(err) => Err(Refusal::Service(err)),
        }
    } else {
        Err(Refusal::Service(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "UnsupportedHTTPMethod",
            format!("{ROUTE} takes POST only."),
        )))
    };

    let response = match result {
        Ok(reply) => {
            audit.finish(Outcome::Success);
            reply.into_response(&request_id)
        }
        Err(refusal) => {
            let (err, source) = match refusal {
                Refusal::Service(err) => (err, "service"),
                Refusal::Request(err) => (err, "request"),
            };
            if audit.detail.is_none() {
                audit.detail = err.detail().map(str::to_owned);
            }
            audit.finish(Outcome::Error {
                code: err.code().to_owned(),
                status: err.status().as_u16(),
            });
            let mut response = err.for_request(&request_id, &host).into_response();
            response
                .headers_mut()
                .insert(ERROR_SOURCE_HEADER, HeaderValue::from_static(source));
            response
        }
    };
    audit.emit(&state.store).await;
    response
}

/// Authenticates the service, reads its question.
async fn service_call(
    state: &AppState,
    parts: &axum::http::request::Parts,
    body: &[u8],
) -> Result<(String, Document), ApiError> {
    let form = crate::rpc::is_form(&parts.headers);
    let params = Params::from_parts(parts.uri.query(), form.then_some(body))?;
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let scheme = auth::detect(authorization, params.pairs());
    if scheme == Scheme::Anonymous {
        return Err(unsigned(&params));
    }
    let headers = text_headers(&parts.headers);
    let input = SignedInput {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        headers: &headers,
        params: &params,
        body,
    };
    let now = state.clock.now();
    let Authenticated { principal, .. } = authn::authenticate(
        scheme,
        input,
        Timestamp::now(),
        &state.nonces,
        |id, token| crate::rpc::lookup_key(state, now, id, token),
    )
    .await?;
    let Identity::Service(service) = principal else {
        return Err(no_permission(format!(
            "Only a service principal (a key from `rampart service key create`) may call {ROUTE}."
        )));
    };
    let document = if form {
        Document::parse(params.required("Request")?.as_bytes())?
    } else if scheme == Scheme::V1 {
        return Err(ApiError::incomplete_signature(
            "a V1 signature does not cover a JSON body: send the document as the form parameter Request, or sign with V3",
        ));
    } else {
        Document::parse(body)?
    };
    Ok((service, document))
}

/// The whole call, after the body is read.
async fn process(
    state: &AppState,
    parts: &axum::http::request::Parts,
    body: &[u8],
    peer: SocketAddr,
    audit: &mut AuditEvent,
) -> Result<Reply, Refusal> {
    let (service, document) = service_call(state, parts, body).await?;
    audit.acting_service = Some(service.clone());
    audit.action.clone_from(&document.action);
    let caller_ip = document.request.source_ip()?.unwrap_or(peer.ip());
    audit.source_ip = caller_ip;

    // The forwarded request, checked as the RPC endpoint checks its own.
    let received = &document.request;
    let received_body = received.body_bytes()?;
    let form = received.is_form().then_some(received_body.as_slice());
    let query = (!received.query.is_empty()).then_some(received.query.as_str());
    let params = Params::from_parts(query, form).map_err(forwarded)?;
    let scheme = auth::detect(received.authorization(), params.pairs());
    if scheme == Scheme::Anonymous {
        return Err(forwarded(unsigned(&params)));
    }
    let headers = received.header_pairs();
    let input = SignedInput {
        method: &received.method,
        path: &received.path,
        headers: &headers,
        params: &params,
        body: &received_body,
    };
    let store = &state.store;
    let now = state.clock.now();
    let Authenticated {
        principal: identity,
        access_key_id,
    } = authn::authenticate(
        scheme,
        input,
        Timestamp::now(),
        &state.nonces,
        |id, token| crate::rpc::lookup_key(state, now, id, token),
    )
    .await
    .map_err(forwarded)?;

    let (principal, identity_json, session, rights) = match identity {
        Identity::Service(other) => {
            return Err(forwarded(no_permission(format!(
                "The request is signed by the service {other}, which is not a RAM principal."
            ))))
        }
        Identity::Key(principal) => {
            if let Err(err) = store.record_access_key_use(&access_key_id).await {
                tracing::warn!(error = %err, "could not record the access key's use");
            }
            let identity = match &principal {
                iam::Principal::Root { account } => sts::CallerIdentity::root(account),
                iam::Principal::User {
                    account,
                    user_id,
                    name,
                } => sts::CallerIdentity::user(account, user_id, name),
                iam::Principal::Role { .. } => {
                    return Err(Refusal::Service(
                        ApiError::internal().with_detail("a long-term key owned by a role"),
                    ))
                }
            };
            audit.account = Some(principal.account().to_owned());
            audit.principal_arn = Some(principal.arn());
            (principal, identity, None, None)
        }
        Identity::Session(claims) => {
            audit.account = Some(claims.account.clone());
            audit.principal_arn = Some(claims.session_arn());
            audit.chain = claims.chain_arns();
            audit.session_id = Some(claims.session_id.clone());
            sts::session_still_valid(&IamSts(store), &claims, now)
                .await
                .map_err(|e| forwarded(ApiError::from_wire(&e)))?;
            let rights = state
                .session_rights
                .of(&claims)
                .map_err(|e| forwarded(ApiError::from_wire(&e)))?;
            let principal = iam::Principal::Role {
                account: claims.account.clone(),
                role_id: claims.role_id.clone(),
                name: claims.role_name.clone(),
            };
            let identity = sts::CallerIdentity::session(&claims);
            (principal, identity, Some(claims), Some(rights))
        }
    };

    let context = crate::decide::context(
        SocketAddr::new(caller_ip, 0),
        Some(&principal),
        Some(&access_key_id),
        state.clock.now_millis(),
    );
    let check = Check {
        action: document.action.clone(),
        resource: document.resource.clone(),
    };
    let verdict = crate::decide::decide(
        store,
        &principal,
        rights.as_deref(),
        &check.action,
        &[check.resource.as_str()],
        &context,
    )
    .await?;
    audit.record_decision(&check, &verdict);
    audit.resource_account = document.resource_account();

    let mut principal_json = serde_json::to_value(&identity_json)
        .map_err(|e| ApiError::internal().with_detail(format!("rendering the principal: {e}")))?;
    if let Value::Object(fields) = &mut principal_json {
        fields.insert("AccessKeyId".into(), Value::String(access_key_id));
        if let Some(claims) = &session {
            fields.insert("SessionId".into(), Value::String(claims.session_id.clone()));
        }
        fields.insert("Chain".into(), json!(audit.chain));
    }
    Ok(Reply::from_value(json!({
        "Allowed": verdict.is_allowed(),
        "Decision": verdict.outcome.as_str(),
        "DecidingStatement": verdict.deciding,
        "Action": document.action,
        "Resource": document.resource,
        "Principal": principal_json,
        "ActingService": service,
    })))
}
