//! The credentials URI: `GET /rampart/credentials/{binding}/{secret}` hands
//! out fresh temporary credentials of one role, in the JSON the Alibaba
//! Cloud credentials libraries read from `ALIBABA_CLOUD_CREDENTIALS_URI`
//! (protocol §9.4):
//!
//! ```json
//! {"Code":"Success","AccessKeyId":"STS.…","AccessKeySecret":"…",
//!  "SecurityToken":"…","Expiration":"YYYY-MM-DDTHH:MM:SSZ"}
//! ```
//!
//! # Who may call, and which role they get
//!
//! The libraries send a bare GET with no credentials of their own, so the
//! URI is the credential: an operator binds a role of an account to a
//! random secret (`rampart credentials-uri create --account A --role NAME`,
//! see `iam::Store::create_credentials_uri`), and hands the URI to the
//! workload. The store keeps only the secret's SHA-256. A request whose
//! binding is unknown or whose secret is wrong gets the same 404
//! (`EntityNotExist.CredentialsUri`), so the answer says nothing about
//! which binding ids exist.
//!
//! The operator who made the binding holds the store, so the binding needs
//! no trust policy: it stands for the account itself lending the role to
//! a workload. The sessions it hands out are like any other of the role:
//! the role's current policies decide each request, RevokeRoleSessions
//! and deleting the role end them, and their chain starts at
//! `ACCOUNT@BINDING.credentials-uri.rampart` so the audit log tells which
//! binding issued them. Removing the binding stops new credentials; the
//! ones already handed out last until they expire or are revoked.
//!
//! Each GET issues a new session (nothing is stored); the libraries ask
//! again 15 minutes before `Expiration`. The session lasts the binding's
//! duration (3600 s unless chosen otherwise), at most the role's
//! `MaxSessionDuration`.

use std::net::SocketAddr;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use sts::{Claims, Origin};

use crate::api_server::AppState;
use crate::audit::{AuditEvent, Outcome, Verdict};
use crate::error::{ApiError, JSON_CONTENT_TYPE, REQUEST_ID_HEADER};
use crate::ram::authz::Check;
use crate::request_id::RequestId;

/// The route (axum syntax).
pub const ROUTE: &str = "/rampart/credentials/{binding}/{secret}";

/// The path before the binding id.
pub const PATH_PREFIX: &str = "/rampart/credentials/";

/// The service the sessions' chains start at, after the binding id:
/// `ACCOUNT@BINDING.credentials-uri.rampart`.
pub const ORIGIN_SERVICE: &str = "credentials-uri.rampart";

/// Longest binding id and secret looked up (longer ones cannot exist).
const MAX_SEGMENT: usize = 128;

fn unknown() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "EntityNotExist.CredentialsUri",
        "The credentials URI is not known, or its secret is wrong.",
    )
}

/// Issues the session, or says why not.
async fn issue(
    state: &AppState,
    binding_id: &str,
    secret: &str,
    audit: &mut AuditEvent,
) -> Result<Map<String, Value>, ApiError> {
    if binding_id.len() > MAX_SEGMENT || secret.len() > MAX_SEGMENT {
        return Err(unknown());
    }
    let binding = state
        .store
        .open_credentials_uri(binding_id, secret)
        .await?
        .ok_or_else(unknown)?;
    let account = binding.account_id.clone();
    let origin = Origin::Service {
        name: format!("{}.{ORIGIN_SERVICE}", binding.binding_id),
        acting_for: account.clone(),
    };
    audit.account = Some(account.clone());
    audit.principal_arn = Some(origin.arn());

    let role = state
        .store
        .role_record(&account, &binding.role_name)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "EntityNotExist.Role",
                "The specified Role not exists.",
            )
            .with_detail(format!(
                "the role {} of the binding no longer exists",
                binding.role_name
            ))
        })?;
    let check = Check {
        action: sts::ASSUME_ROLE_ACTION.to_owned(),
        resource: policy::Entity::role(&account, &role.name).to_string(),
    };
    audit.record_decision(
        &check,
        &Verdict {
            outcome: policy::Outcome::Allow,
            deciding: Some(format!("CredentialsUri:{}", binding.binding_id)),
        },
    );

    let keys = state
        .sts_keys
        .as_ref()
        .ok_or_else(|| ApiError::internal().with_detail("no STS key ring is configured"))?;
    let now = state.clock.now();
    let issued_at = sts::issue_time(
        now,
        role.revoked_before
            .map(|t| auth::Timestamp::from_unix_seconds(t.seconds())),
    );
    let duration = binding.duration_seconds.min(role.max_session_duration);
    let claims = Claims {
        account: account.clone(),
        role_id: role.role_id,
        role_name: role.name,
        session_name: binding.session_name,
        origin,
        hops: Vec::new(),
        session_policy: None,
        source_identity: None,
        issued_at,
        expires_at: auth::Timestamp::from_unix_seconds(
            issued_at.unix_seconds().saturating_add(duration),
        ),
        session_id: sts::new_session_id(),
    };
    let credentials = sts::issue(&claims, keys).map_err(|e| ApiError::from_wire(&e))?;
    audit.issued_session_id = Some(claims.session_id.clone());

    let mut body = Map::new();
    body.insert("Code".into(), Value::String("Success".into()));
    body.insert(
        "AccessKeyId".into(),
        Value::String(credentials.access_key_id.clone()),
    );
    body.insert(
        "AccessKeySecret".into(),
        Value::String(credentials.access_key_secret.expose().to_owned()),
    );
    body.insert(
        "SecurityToken".into(),
        Value::String(credentials.security_token.clone()),
    );
    body.insert(
        "Expiration".into(),
        Value::String(credentials.expiration.to_iso8601()),
    );
    Ok(body)
}

/// Answers one GET of a credentials URI, and audits it (never with the
/// secret: the audit names the binding id only).
pub async fn handle(state: &AppState, peer: SocketAddr, binding: &str, secret: &str) -> Response {
    let request_id = RequestId::new();
    let mut audit = AuditEvent::new(&request_id, peer.ip());
    audit.action = "sts:AssumeRole".to_owned();
    let result = issue(state, binding, secret, &mut audit).await;
    let response = match result {
        Ok(body) => {
            audit.finish(Outcome::Success);
            let mut response = (StatusCode::OK, Value::Object(body).to_string()).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(JSON_CONTENT_TYPE),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
                headers.insert(REQUEST_ID_HEADER, value);
            }
            response
        }
        Err(err) => {
            audit.detail = err.detail().map(str::to_owned);
            audit.finish(Outcome::Error {
                code: err.code().to_owned(),
                status: err.status().as_u16(),
            });
            err.for_request(&request_id, crate::error::DEFAULT_HOST_ID)
                .into_response()
        }
    };
    audit.emit(&state.store).await;
    response
}
