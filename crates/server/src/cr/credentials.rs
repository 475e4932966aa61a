//! Registry credentials: `GetAuthorizationToken` (a temporary login for
//! whoever calls it) and `ResetLoginPassword` (a fixed password for the
//! calling RAM user or root identity).
//!
//! # Logging in to the registry
//!
//! | credentials | user name | password |
//! |---|---|---|
//! | temporary | `cr_temp_user` | `AuthorizationToken` from GetAuthorizationToken (1-24 h, never past the caller's own session) |
//! | fixed, RAM user | `USER@ACCOUNT` (ACCOUNT: the account id or its alias; `USER@ALIAS.onaliyun.com` also works) | set with ResetLoginPassword |
//! | fixed, root | the account id or alias | set with ResetLoginPassword by the root identity |
//!
//! A temporary login speaks for exactly the identity that asked for it —
//! a role session included, with its chain and session policy — and the
//! registry decides each request with that identity's policies as they
//! are then. A role session cannot set a fixed password (ACR's rule:
//! roles use temporary ones).

use axum::http::StatusCode;
use registry::meta::logins;
use registry::token::{LoginToken, Subject, TEMP_USERNAME};
use serde_json::json;

use super::{api_error, authorize_instance, db, instance};
use crate::error::ApiError;
use crate::reply::Reply;
use crate::rpc::Call;

/// The registry subject a call speaks for.
pub(crate) fn subject_of(call: &Call<'_>) -> Subject {
    if let Some(claims) = call.session {
        return Subject::Session(Box::new(claims.clone()));
    }
    match call.principal {
        iam::Principal::Root { account } => Subject::Root {
            account: account.clone(),
        },
        iam::Principal::User {
            account,
            user_id,
            name,
        } => Subject::User {
            account: account.clone(),
            user_id: user_id.clone(),
            name: name.clone(),
        },
        iam::Principal::Role { account, .. } => Subject::Root {
            // Unreachable: a role is only ever a caller through a session.
            account: account.clone(),
        },
    }
}

pub async fn get_authorization_token(call: &Call<'_>) -> Result<Reply, ApiError> {
    let hours = call
        .params
        .optional_u32("ExpiresInHours", 1, 24)?
        .unwrap_or(1);
    let instance = instance(call).await?;
    authorize_instance(call, "GetAuthorizationToken", &instance).await?;
    let keys = call
        .sts_keys
        .ok_or_else(|| ApiError::internal().with_detail("no key ring to seal registry logins"))?;
    let subject = subject_of(call);
    let now = call.now.unix_seconds();
    let mut expires = now.saturating_add(i64::from(hours).saturating_mul(3600));
    if let Some(session_end) = subject.expires_at() {
        expires = expires.min(session_end);
    }
    let login = LoginToken {
        subject,
        instance_id: instance.instance_id.clone(),
        issued_at: now,
        expires_at: expires,
    };
    let sealed = login
        .seal(keys)
        .map_err(|e| ApiError::internal().with_detail(e.to_string()))?;
    Ok(Reply::cr(json!({
        "AuthorizationToken": sealed,
        "TempUsername": TEMP_USERNAME,
        "ExpireTime": expires.saturating_mul(1000),
    })))
}

pub async fn reset_login_password(call: &Call<'_>) -> Result<Reply, ApiError> {
    let password = call.params.required("Password")?;
    let instance = instance(call).await?;
    let principal = match (call.session, call.principal) {
        (Some(_), _) | (None, iam::Principal::Role { .. }) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "NoPermission",
                "A role session cannot have a fixed registry password; use GetAuthorizationToken for a temporary one.",
            ))
        }
        (None, iam::Principal::Root { .. }) => logins::ROOT_PRINCIPAL.to_owned(),
        (None, iam::Principal::User { user_id, .. }) => user_id.clone(),
    };
    authorize_instance(call, "ResetLoginPassword", &instance).await?;
    logins::set_password(
        db(call)?,
        &instance.instance_id,
        call.account(),
        &principal,
        password,
    )
    .await
    .map_err(api_error)?;
    Ok(Reply::cr(json!({})))
}
