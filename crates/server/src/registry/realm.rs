//! The Docker token service: the `realm` of the registry's challenges.
//!
//! * `GET /token?service=…&scope=…[&scope=…]` with HTTP Basic credentials
//!   (or none, for anonymous pulls of public repositories);
//! * `POST /token` with the OAuth2 form: `grant_type=password` (`username`,
//!   `password`) or `grant_type=refresh_token` (`refresh_token`), `scope`
//!   space-separated, `service`, `client_id`.
//!
//! Answer: `{"token", "access_token", "expires_in", "issued_at"}` (plus
//! `"scope"` for the POST form, and `"refresh_token"` when asked for with
//! `offline_token=true` / `access_type=offline`). The bearer token is
//! sealed ([`registry::token::BearerToken`]), lives
//! [`super::BEARER_SECONDS`] at most and never past the caller's own
//! session or temporary login.
//!
//! Logins: `cr_temp_user` with a password from `GetAuthorizationToken`, or
//! a fixed password (`ResetLoginPassword`) with the user name
//! `USER@ACCOUNT` (RAM user; ACCOUNT is the id or the alias, optionally
//! followed by `.onaliyun.com`) or `ACCOUNT` (root). A wrong login is 401.
//!
//! The token carries the scopes asked for that RAM allows now (the
//! intersection; an empty grant is not an error), and the registry still
//! decides every request again when it comes.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use registry::meta::control::Instance;
use registry::meta::{logins, repositories};
use registry::token::{parse_scope, BearerToken, Grant, LoginToken, Subject, TEMP_USERNAME};
use serde_json::{json, Value};

use super::gate::{check_endpoint, principal_of, resolve_instance, session_ok};
use crate::api_server::AppState;
use crate::audit::{AuditEvent, Outcome};
use crate::request_id::RequestId;

/// Where the realm is served, on the registry listener.
pub const PATH: &str = "/token";

/// Longest a refresh token lives for a fixed-password login.
const REFRESH_SECONDS: i64 = 24 * 3600;

fn json_body(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"errors": [{"code": code, "message": message, "detail": null}]});
    let mut response = json_body(status, &body);
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"rampart registry\""),
        );
    }
    response
}

/// The parameters of either form.
#[derive(Debug, Default)]
struct TokenRequest {
    scopes: Vec<String>,
    username: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
    offline: bool,
    oauth: bool,
}

fn pairs(text: &str) -> Vec<(String, String)> {
    crate::rpc::params::decode_pairs(text.as_bytes()).unwrap_or_default()
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Who a login names, or why not.
async fn authenticate(
    state: &AppState,
    instance: &Instance,
    request: &TokenRequest,
    now: i64,
) -> Result<(Subject, Option<i64>), String> {
    let keys = state
        .sts_keys
        .as_ref()
        .ok_or_else(|| "no key ring to open registry logins".to_owned())?;
    if let Some(refresh) = &request.refresh_token {
        let login = LoginToken::open(refresh, keys, now).map_err(|e| e.to_string())?;
        if login.instance_id != instance.instance_id {
            return Err("the refresh token belongs to another instance".into());
        }
        return Ok((login.subject, Some(login.expires_at)));
    }
    let (Some(user), Some(password)) = (&request.username, &request.password) else {
        return Ok((Subject::Anonymous, None));
    };
    if user == TEMP_USERNAME {
        let login = LoginToken::open(password, keys, now)
            .map_err(|e| format!("temporary password: {e}"))?;
        if login.instance_id != instance.instance_id {
            return Err("the temporary password was issued for another instance".into());
        }
        return Ok((login.subject, Some(login.expires_at)));
    }
    let plane = state
        .registry
        .as_ref()
        .ok_or_else(|| "no registry is configured".to_owned())?;
    let (user_name, account_text) = match user.split_once('@') {
        Some((u, a)) => (Some(u), a),
        None => (None, user.as_str()),
    };
    let account_text = account_text
        .strip_suffix(".onaliyun.com")
        .unwrap_or(account_text);
    let wrong = || "wrong user name or password".to_owned();
    let account = state
        .store
        .resolve_account(account_text)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(wrong)?;
    if account != instance.account_id {
        return Err(wrong());
    }
    let (principal_key, subject) = match user_name {
        None => (
            logins::ROOT_PRINCIPAL.to_owned(),
            Subject::Root {
                account: account.clone(),
            },
        ),
        Some(name) => {
            let found = state
                .store
                .get_user(&account, name)
                .await
                .map_err(|_| wrong())?;
            (
                found.user_id.clone(),
                Subject::User {
                    account: account.clone(),
                    user_id: found.user_id,
                    name: found.name,
                },
            )
        }
    };
    let ok = logins::check_login(&plane.db, &instance.instance_id, &principal_key, password)
        .await
        .map_err(|e| e.to_string())?;
    if ok {
        Ok((subject, None))
    } else {
        Err(wrong())
    }
}

/// The RAM action a scope action needs.
fn ram_action_of(action: &str) -> Option<&'static str> {
    match action {
        "pull" => Some("cr:PullRepository"),
        "push" => Some("cr:PushRepository"),
        "delete" => Some("cr:DeleteRepository"),
        _ => None,
    }
}

/// The part of `asked` RAM allows `subject` now.
async fn grant(
    state: &AppState,
    instance: &Instance,
    subject: &Subject,
    peer: SocketAddr,
    asked: &Grant,
) -> Grant {
    let mut granted = Grant {
        kind: asked.kind.clone(),
        name: asked.name.clone(),
        actions: Vec::new(),
    };
    let Some(plane) = state.registry.as_ref() else {
        return granted;
    };
    let principal = principal_of(state, subject).ok().flatten();
    let context = crate::decide::context(
        peer,
        principal.as_ref().map(|(p, _)| p),
        None,
        state.clock.now_millis(),
    );
    let allows = |action: &'static str, resources: Vec<String>| {
        let principal = principal.clone();
        let context = &context;
        async move {
            let Some((principal, rights)) = principal else {
                return false;
            };
            let refs: Vec<&str> = resources.iter().map(String::as_str).collect();
            crate::decide::decide(
                &state.store,
                &principal,
                rights.as_deref(),
                action,
                &refs,
                context,
            )
            .await
            .is_ok_and(|v| v.is_allowed())
        }
    };
    match asked.kind.as_str() {
        "registry"
            if asked.name == "catalog"
                && asked.actions.iter().any(|a| a == "*")
                && allows("cr:ListRepository", vec![instance.arn()]).await =>
        {
            granted.actions.push("*".to_owned());
        }
        "repository" => {
            let Some((ns, repo)) = asked.name.split_once('/') else {
                return granted;
            };
            let resources = instance.repository_resources(ns, repo);
            let public = repositories::get_repository(&plane.db, &instance.instance_id, ns, repo)
                .await
                .ok()
                .flatten()
                .is_some_and(|r| r.is_public());
            // `*` is every action; when RAM allows only some, the token
            // carries those (a client that asked for everything still
            // gets what it may do).
            let mut wanted: Vec<&str> = Vec::new();
            for action in &asked.actions {
                let parts: Vec<&str> = if action == "*" {
                    vec!["pull", "push", "delete"]
                } else {
                    vec![action.as_str()]
                };
                for part in parts {
                    if !wanted.contains(&part) {
                        wanted.push(part);
                    }
                }
            }
            for action in wanted {
                let ok = match action {
                    "pull" if public => true,
                    // `pull` is also what clients ask for to list tags,
                    // which RAM decides as cr:ListRepositoryTag: the token
                    // carries the intent, and every request is decided
                    // again with its exact action.
                    "pull" => {
                        allows("cr:PullRepository", resources.clone()).await
                            || allows("cr:ListRepositoryTag", resources.clone()).await
                    }
                    other => match ram_action_of(other) {
                        Some(a) => allows(a, resources.clone()).await,
                        None => false,
                    },
                };
                if ok {
                    granted.actions.push(action.to_owned());
                }
            }
            if ["pull", "push", "delete"]
                .iter()
                .all(|a| granted.actions.iter().any(|g| g == a))
                && asked.actions.iter().any(|a| a == "*")
            {
                granted.actions.push("*".to_owned());
            }
        }
        _ => {}
    }
    granted
}

async fn issue(
    state: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
    request: TokenRequest,
) -> Response {
    let (instance, endpoint_type) = match resolve_instance(state, headers).await {
        Ok(found) => found,
        Err(_) => {
            return error(
                StatusCode::NOT_FOUND,
                "NAME_UNKNOWN",
                "no registry instance answers to this host",
            )
        }
    };
    if let Err(refusal) = check_endpoint(state, &instance, endpoint_type, peer).await {
        let message = match refusal {
            registry::gate::Refusal::Denied { message } => message,
            other => format!("{other:?}"),
        };
        return error(StatusCode::FORBIDDEN, "DENIED", &message);
    }
    let now = state.clock.now().unix_seconds();
    let mut audit = AuditEvent::new(&RequestId::new(), peer.ip());
    audit.action = "cr:GetRegistryToken".to_owned();
    audit.resource_account = Some(instance.account_id.clone());
    audit.account = Some(instance.account_id.clone());
    audit.resources = vec![instance.arn()];
    let authenticated = match authenticate(state, &instance, &request, now).await {
        Ok(found) => found,
        Err(why) => {
            audit.principal_arn = request.username.clone();
            audit.detail = Some(why.clone());
            audit.finish(Outcome::Error {
                code: "UNAUTHORIZED".into(),
                status: 401,
            });
            audit.emit(&state.store).await;
            return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", &why);
        }
    };
    let (subject, login_expiry) = authenticated;
    if let Err(why) = session_ok(state, &subject).await {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", &why);
    }
    if let Some(account) = subject.account() {
        audit.account = Some(account.to_owned());
    }
    audit.principal_arn = Some(subject.arn());
    if let Subject::Session(claims) = &subject {
        audit.chain = claims.chain_arns();
        audit.session_id = Some(claims.session_id.clone());
    }

    let mut access = Vec::new();
    for text in &request.scopes {
        for one in text.split(' ').filter(|s| !s.is_empty()) {
            let Ok(asked) = parse_scope(one) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "UNSUPPORTED",
                    &format!("scope {one:?} is not TYPE:NAME:ACTIONS"),
                );
            };
            let granted = grant(state, &instance, &subject, peer, &asked).await;
            if !granted.actions.is_empty() {
                access.push(granted);
            }
        }
    }
    let plane_seconds = state
        .registry
        .as_ref()
        .map_or(super::BEARER_SECONDS, |p| p.settings.bearer_seconds);
    let mut expires = now.saturating_add(plane_seconds);
    for limit in [subject.expires_at(), login_expiry].into_iter().flatten() {
        expires = expires.min(limit);
    }
    let Some(keys) = state.sts_keys.as_ref() else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN",
            "no key ring to seal tokens",
        );
    };
    let scope_text: Vec<String> = access
        .iter()
        .map(|g| format!("{}:{}:{}", g.kind, g.name, g.actions.join(",")))
        .collect();
    let bearer = BearerToken {
        subject: subject.clone(),
        instance_id: instance.instance_id.clone(),
        access,
        issued_at: now,
        expires_at: expires,
    };
    let sealed = match bearer.seal(keys) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", &e.to_string()),
    };
    let mut body = serde_json::Map::new();
    let fields = json!({
        "token": sealed,
        "access_token": sealed,
        "expires_in": expires.saturating_sub(now).max(0),
        "issued_at": auth::Timestamp::from_unix_seconds(now).to_iso8601(),
    });
    if let Value::Object(map) = fields {
        body = map;
    }
    if request.oauth {
        body.insert("scope".into(), Value::String(scope_text.join(" ")));
    }
    if request.offline && subject != Subject::Anonymous {
        let refresh_end = login_expiry
            .or(subject.expires_at())
            .unwrap_or(now.saturating_add(REFRESH_SECONDS));
        let refresh = LoginToken {
            subject,
            instance_id: instance.instance_id.clone(),
            issued_at: now,
            expires_at: refresh_end,
        };
        if let Ok(text) = refresh.seal(keys) {
            body.insert("refresh_token".into(), Value::String(text));
        }
    }
    audit.detail = Some(scope_text.join(" "));
    audit.decision = Some("Allow");
    audit.finish(Outcome::Success);
    audit.emit(&state.store).await;
    json_body(StatusCode::OK, &Value::Object(body))
}

/// `GET /token`.
pub async fn get(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mut request = TokenRequest::default();
    for (name, value) in pairs(query.as_deref().unwrap_or("")) {
        match name.as_str() {
            "scope" => request.scopes.push(value),
            "offline_token" => request.offline = value == "true",
            _ => {}
        }
    }
    if let Some((user, password)) = basic(&headers) {
        request.username = Some(user);
        request.password = Some(password);
    }
    issue(&state, &headers, peer, request).await
}

/// `POST /token` (OAuth2 form).
pub async fn post(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "UNSUPPORTED",
            "the form is not UTF-8",
        );
    };
    let mut request = TokenRequest {
        oauth: true,
        ..TokenRequest::default()
    };
    let mut grant_type = String::new();
    for (name, value) in pairs(text) {
        match name.as_str() {
            "grant_type" => grant_type = value,
            "scope" => request.scopes.push(value),
            "username" => request.username = Some(value),
            "password" => request.password = Some(value),
            "refresh_token" => request.refresh_token = Some(value),
            "access_type" => request.offline = value == "offline",
            _ => {}
        }
    }
    match grant_type.as_str() {
        "password" if request.username.is_some() && request.password.is_some() => {}
        "refresh_token" if request.refresh_token.is_some() => {}
        "password" | "refresh_token" => {
            return error(
                StatusCode::BAD_REQUEST,
                "UNSUPPORTED",
                "the grant is missing its credentials",
            )
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "UNSUPPORTED",
                "grant_type must be password or refresh_token",
            )
        }
    }
    issue(&state, &headers, peer, request).await
}
