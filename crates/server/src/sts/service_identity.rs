//! `AssumeRoleWithServiceIdentity` (STS 2015-04-01): how a service
//! principal (a platform component with a key from
//! `rampart service key create`) obtains a role's temporary credentials,
//! acting for the account named by `AssumeRoleFor`.
//!
//! Parameters: `RoleArn`, `RoleSessionName`, `AssumeRoleFor` (the account
//! the service acts for, 16 digits), and optionally `DurationSeconds`,
//! `Policy`. The answer has AssumeRole's shape.
//!
//! The role's trust policy alone decides: `Principal.Service` naming the
//! bare service admits it only when it acts for the role's own account;
//! `ACCOUNT@service` admits it acting for that account. A service is not
//! a RAM principal: it has no policies, and this is the only action it may
//! call (anything else is `NoPermission`). Only a service may call it.
//!
//! A service's own service-linked role (`AliyunServiceRoleForECI` for
//! `eci.aliyuncs.com`) is created in the account it acts for the first
//! time the service assumes it.
//!
//! The audit event names the service and the account it acted for
//! (`ACCOUNT@service`), the role, the decision and the session issued, in
//! the account acted for and in the role's account.

use std::net::SocketAddr;

use axum::http::StatusCode;
use sts::{AssumeRoleParams, AssumeRoleRequest, Caller};

use super::assume_role::verdict;
use super::{IamSts, VERSION};
use crate::api_server::AppState;
use crate::audit::AuditEvent;
use crate::error::ApiError;
use crate::ram::authz::Check;
use crate::reply::Reply;
use crate::rpc::params::Params;
use crate::rpc::router::Route;
use crate::rpc::Call;

/// The action's name.
pub const ACTION: &str = "AssumeRoleWithServiceIdentity";

/// The route's handler, for anyone but a service (services are answered
/// by [`handle`] before any handler runs).
pub async fn refuse_non_service(_call: &Call<'_>) -> Result<Reply, ApiError> {
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "NoPermission",
        "Only a service principal may call AssumeRoleWithServiceIdentity.",
    ))
}

/// A call signed with a service key.
#[allow(clippy::too_many_arguments)]
pub async fn handle(
    state: &AppState,
    service: &str,
    route: &Route,
    params: &Params,
    peer: SocketAddr,
    now: auth::Timestamp,
    now_millis: i64,
    audit: &mut AuditEvent,
) -> Result<Reply, ApiError> {
    audit.principal_arn = Some(format!("service/{service}"));
    if route.version != VERSION || route.action != ACTION {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "NoPermission",
            format!(
                "A service principal may only call {ACTION}; {} is not for services.",
                route.action
            ),
        ));
    }
    let acting_for = params.required("AssumeRoleFor")?;
    let known = acting_for.len() == 16
        && acting_for.bytes().all(|b| b.is_ascii_digit())
        && state.store.get_account(acting_for).await.is_ok();
    if !known {
        return Err(ApiError::invalid_parameter(
            "AssumeRoleFor",
            "must be the 16-digit id of an existing account",
        ));
    }
    audit.account = Some(acting_for.to_owned());
    audit.principal_arn = Some(format!("{acting_for}@{service}"));

    let request = AssumeRoleRequest::parse(&AssumeRoleParams {
        role_arn: params.raw("RoleArn"),
        role_session_name: params.raw("RoleSessionName"),
        duration_seconds: params.raw("DurationSeconds"),
        policy: params.raw("Policy"),
        external_id: params.raw("ExternalId"),
        source_identity: params.raw("SourceIdentity"),
    })
    .map_err(|e| ApiError::from_wire(&e))?;
    // A service's own linked role in the account it acts for is made the
    // first time the service needs it.
    if request.role_account == acting_for {
        state
            .store
            .ensure_service_linked_role(acting_for, service, &request.role_name)
            .await?;
    }
    let keys = state
        .sts_keys
        .as_ref()
        .ok_or_else(|| ApiError::internal().with_detail("no STS key ring is configured"))?;
    let caller = Caller::Service {
        name: service,
        acting_for,
    };
    let context = crate::decide::context(peer, None, None, now_millis);
    let result = sts::assume_role(
        &IamSts(&state.store),
        &caller,
        &request,
        &context,
        keys,
        now,
    )
    .await;

    if let Some(decided) = verdict(&result) {
        audit.record_decision(
            &Check {
                action: sts::ASSUME_ROLE_ACTION.to_owned(),
                resource: request.role_arn(),
            },
            &decided,
        );
    }
    audit.resource_account = Some(request.role_account.clone());
    if let Ok(outcome) = &result {
        audit.issued_session_id = Some(outcome.claims.session_id.clone());
        audit.chain = outcome.claims.chain_arns();
    }
    let outcome = result.map_err(|e| ApiError::from_wire(&e))?;
    let body = serde_json::to_value(&outcome.response)
        .map_err(|e| ApiError::internal().with_detail(format!("rendering {ACTION}: {e}")))?;
    Ok(Reply::from_value(body))
}
