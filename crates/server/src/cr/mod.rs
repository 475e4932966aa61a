//! Container Registry, API version `2018-12-01` (ACR Enterprise Edition's
//! OpenAPI), the subset rampart serves over the same RPC endpoint and
//! signatures as RAM and STS:
//!
//! | family | actions |
//! |---|---|
//! | [`instances`] | GetInstance, ListInstance, GetInstanceEndpoint, ListInstanceEndpoint, UpdateInstanceEndpointStatus, CreateInstanceEndpointAclPolicy, DeleteInstanceEndpointAclPolicy |
//! | [`namespaces`] | Create/Get/List/Update/DeleteNamespace |
//! | [`repositories`] | Create/Get/List/Update/DeleteRepository, ListRepoTag, GetRepoTag, DeleteRepoTag |
//! | [`credentials`] | GetAuthorizationToken, ResetLoginPassword |
//!
//! Every answer carries `"Code": "success"` and `"IsSuccess": true`, as
//! ACR's do. Instances are created by the operator
//! (`rampart registry instance create`), not by the API.
//!
//! # Authorization
//!
//! Each action asks RAM for `cr:<Action>` (the ACR action names; tag
//! actions are `cr:ListRepositoryTag`, `cr:GetRepositoryTag`,
//! `cr:DeleteRepositoryTag`) on the instance ARN
//! `acs:cr:REGION:ACCOUNT:instance/INSTANCE`, or for namespace and
//! repository actions on `acs:cr:REGION:ACCOUNT:repository/INSTANCE/NS[/REPO]`
//! with the instance ARN as the enclosing resource. The ARN needs the
//! instance's region, so the check runs in the handler once the instance
//! is read (an instance of another account is `INSTANCE_NOT_EXIST`, before
//! any permission is asked). `ListInstance` asks on `acs:cr:*:ACCOUNT:*`.
//!
//! # Error codes
//!
//! ACR's own error codes are not published in a form we could read whole;
//! rampart answers `INSTANCE_NOT_EXIST`, `NAMESPACE_NOT_EXIST`,
//! `REPO_NOT_EXIST`, `TAG_NOT_EXIST`, `ACL_ENTRY_NOT_EXIST` (404),
//! `NAMESPACE_ALREADY_EXIST`, `REPO_ALREADY_EXIST` (409),
//! `NAMESPACE_NOT_EMPTY` (400), and the gateway's `InvalidParameter`,
//! `MissingParameter`, `NoPermission`.

pub mod credentials;
pub mod instances;
pub mod namespaces;
pub mod repositories;

use axum::http::StatusCode;
use registry::meta::control::{ControlError, Instance, Thing};
use registry::meta::{instances as meta_instances, Db};

use crate::audit::Verdict;
use crate::error::ApiError;
use crate::ram::authz::Check;
use crate::rpc::router::{Handler, Route, Router};
use crate::rpc::Call;

/// Container Registry's API version.
pub const VERSION: &str = "2018-12-01";

/// CR actions ask their questions in the handler (they need the
/// instance's region).
fn in_handler<'a>(_call: &'a Call<'a>) -> Result<Vec<Check>, ApiError> {
    Ok(Vec::new())
}

fn add(router: &mut Router, action: &'static str, handler: Handler) {
    router.add(Route {
        product: "Cr",
        version: VERSION,
        action,
        authorize: in_handler,
        handler,
    });
}

/// Registers Container Registry's actions.
pub fn register(router: &mut Router) {
    add(router, "GetAuthorizationToken", |c| {
        Box::pin(credentials::get_authorization_token(c))
    });
    add(router, "ResetLoginPassword", |c| {
        Box::pin(credentials::reset_login_password(c))
    });
    add(router, "GetInstance", |c| {
        Box::pin(instances::get_instance(c))
    });
    add(router, "ListInstance", |c| {
        Box::pin(instances::list_instance(c))
    });
    add(router, "GetInstanceEndpoint", |c| {
        Box::pin(instances::get_instance_endpoint(c))
    });
    add(router, "ListInstanceEndpoint", |c| {
        Box::pin(instances::list_instance_endpoint(c))
    });
    add(router, "UpdateInstanceEndpointStatus", |c| {
        Box::pin(instances::update_instance_endpoint_status(c))
    });
    add(router, "CreateInstanceEndpointAclPolicy", |c| {
        Box::pin(instances::create_acl_policy(c))
    });
    add(router, "DeleteInstanceEndpointAclPolicy", |c| {
        Box::pin(instances::delete_acl_policy(c))
    });
    add(router, "CreateNamespace", |c| {
        Box::pin(namespaces::create_namespace(c))
    });
    add(router, "GetNamespace", |c| {
        Box::pin(namespaces::get_namespace(c))
    });
    add(router, "ListNamespace", |c| {
        Box::pin(namespaces::list_namespace(c))
    });
    add(router, "UpdateNamespace", |c| {
        Box::pin(namespaces::update_namespace(c))
    });
    add(router, "DeleteNamespace", |c| {
        Box::pin(namespaces::delete_namespace(c))
    });
    add(router, "CreateRepository", |c| {
        Box::pin(repositories::create_repository(c))
    });
    add(router, "GetRepository", |c| {
        Box::pin(repositories::get_repository(c))
    });
    add(router, "ListRepository", |c| {
        Box::pin(repositories::list_repository(c))
    });
    add(router, "UpdateRepository", |c| {
        Box::pin(repositories::update_repository(c))
    });
    add(router, "DeleteRepository", |c| {
        Box::pin(repositories::delete_repository(c))
    });
    add(router, "ListRepoTag", |c| {
        Box::pin(repositories::list_repo_tag(c))
    });
    add(router, "GetRepoTag", |c| {
        Box::pin(repositories::get_repo_tag(c))
    });
    add(router, "DeleteRepoTag", |c| {
        Box::pin(repositories::delete_repo_tag(c))
    });
}

/// The registry's tables, or an error saying none is configured.
pub(crate) fn db<'a>(call: &'a Call<'a>) -> Result<&'a Db, ApiError> {
    call.registry.map(|r| &r.db).ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "This rampart server runs no container registry.",
        )
    })
}

/// After a control-plane write: the registry listener forgets the rows it
/// remembered, so the change counts at its next request.
pub(crate) fn changed(call: &Call<'_>) {
    if let Some(plane) = call.registry {
        plane.cache.clear();
    }
}

/// A control-plane error in the API's shape.
pub(crate) fn api_error(err: ControlError) -> ApiError {
    match err {
        ControlError::NotFound { thing, name } => {
            let code = match thing {
                Thing::Instance | Thing::Domain => "INSTANCE_NOT_EXIST",
                Thing::Namespace => "NAMESPACE_NOT_EXIST",
                Thing::Repository => "REPO_NOT_EXIST",
                Thing::Tag => "TAG_NOT_EXIST",
                Thing::AclEntry => "ACL_ENTRY_NOT_EXIST",
            };
            ApiError::new(
                StatusCode::NOT_FOUND,
                code,
                format!("The {} {name:?} does not exist.", thing.as_str()),
            )
        }
        ControlError::AlreadyExists { thing, name } => {
            let code = match thing {
                Thing::Namespace => "NAMESPACE_ALREADY_EXIST",
                Thing::Repository => "REPO_ALREADY_EXIST",
                _ => "RESOURCE_ALREADY_EXIST",
            };
            ApiError::new(
                StatusCode::CONFLICT,
                code,
                format!("The {} {name:?} already exists.", thing.as_str()),
            )
        }
        ControlError::NotEmpty { thing, name, what } => ApiError::new(
            StatusCode::BAD_REQUEST,
            "NAMESPACE_NOT_EMPTY",
            format!("The {} {name:?} is not empty: {what}.", thing.as_str()),
        ),
        ControlError::Invalid { parameter, reason } => {
            ApiError::invalid_parameter(parameter, reason)
        }
        ControlError::Meta(e) => ApiError::internal().with_detail(e.to_string()),
    }
}

/// The caller's account's instance named by `InstanceId`.
pub(crate) async fn instance(call: &Call<'_>) -> Result<Instance, ApiError> {
    let id = call.params.required("InstanceId")?;
    meta_instances::account_instance(db(call)?, call.account(), id)
        .await
        .map_err(api_error)
}

/// Asks RAM whether the caller may do `cr:<action>` on `resources` (the
/// resource first, then those enclosing it); records the decision for the
/// audit; `NoPermission` when not allowed.
pub(crate) async fn authorize(
    call: &Call<'_>,
    action: &str,
    resources: &[&str],
) -> Result<(), ApiError> {
    let action = format!("cr:{action}");
    let rights = match call.session {
        Some(claims) => Some(sts::SessionRights::of(claims).map_err(|e| ApiError::from_wire(&e))?),
        None => None,
    };
    let verdict: Verdict = crate::decide::decide(
        call.store,
        call.principal,
        rights.as_ref(),
        &action,
        resources,
        call.context,
    )
    .await?;
    let resource = resources.first().copied().unwrap_or("*");
    let check = Check {
        action: action.clone(),
        resource: resource.to_owned(),
    };
    let allowed = verdict.is_allowed();
    call.note(|notes| notes.decision = Some((check, verdict)));
    if allowed {
        Ok(())
    } else {
        Err(ApiError::no_permission(&action, resource))
    }
}

/// Asks on the instance itself.
pub(crate) async fn authorize_instance(
    call: &Call<'_>,
    action: &str,
    instance: &Instance,
) -> Result<(), ApiError> {
    authorize(call, action, &[&instance.arn()]).await
}

/// Asks on a namespace (`repo` empty) or repository ARN, with the
/// namespace and instance ARNs as enclosing resources.
pub(crate) async fn authorize_repository(
    call: &Call<'_>,
    action: &str,
    instance: &Instance,
    namespace: &str,
    repo: &str,
) -> Result<(), ApiError> {
    let resources = instance.repository_resources(namespace, repo);
    let refs: Vec<&str> = resources.iter().map(String::as_str).collect();
    authorize(call, action, &refs).await
}

/// Epoch milliseconds, as CR answers times.
pub(crate) fn millis(seconds: i64) -> i64 {
    seconds.saturating_mul(1000)
}

/// `PageNo` (from 1) and `PageSize` (1-100, default 30).
pub(crate) fn page(call: &Call<'_>) -> Result<(i64, i64), ApiError> {
    let page_no = call
        .params
        .optional_u32("PageNo", 1, 1_000_000)?
        .unwrap_or(1);
    let page_size = call.params.optional_u32("PageSize", 1, 100)?.unwrap_or(30);
    Ok((i64::from(page_no), i64::from(page_size)))
}
