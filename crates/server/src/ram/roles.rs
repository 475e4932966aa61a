//! Roles (not service-linked ones): CreateRole, GetRole, UpdateRole,
//! DeleteRole, ListRoles, and rampart's RevokeRoleSessions.

use serde_json::{Map, Value};

use super::{check_tags, date, list_options, no_tags, paged, text, wrapped};
use crate::error::ApiError;
use crate::reply::Reply;
use crate::rpc::Call;

/// Which action a `Role{…}` is rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RoleView {
    /// CreateRole: no `UpdateDate`.
    Created,
    /// UpdateRole: with `UpdateDate`.
    Updated,
    /// GetRole: with `UpdateDate`, `RolePrincipalName`,
    /// `IsServiceLinkedRole`.
    Full,
    /// ListRoles items: no trust policy, with `Tags`.
    Listed,
}

fn render_role(account: &str, role: &iam::Role, view: RoleView) -> Value {
    let mut out = Map::new();
    out.insert("RoleId".into(), Value::String(role.role_id.clone()));
    out.insert("RoleName".into(), Value::String(role.name.clone()));
    out.insert("Arn".into(), Value::String(role.arn.clone()));
    out.insert("Description".into(), text(&role.description));
    if view != RoleView::Listed {
        out.insert(
            "AssumeRolePolicyDocument".into(),
            Value::String(role.trust_policy.clone()),
        );
    }
    out.insert(
        "MaxSessionDuration".into(),
        Value::from(role.max_session_duration),
    );
    out.insert("CreateDate".into(), date(role.create_date));
    if view != RoleView::Created {
        out.insert("UpdateDate".into(), date(role.update_date));
    }
    out.insert("AllowConsoleLogin".into(), Value::Bool(false));
    match view {
        RoleView::Full => {
            out.insert(
                "RolePrincipalName".into(),
                Value::String(role_principal_name(account, role)),
            );
            out.insert(
                "IsServiceLinkedRole".into(),
                Value::Bool(role.service_name.is_some()),
            );
        }
        RoleView::Listed => {
            out.insert("Tags".into(), no_tags());
        }
        RoleView::Created | RoleView::Updated => {}
    }
    Value::Object(out)
}

/// `RolePrincipalName`, in Alibaba's form
/// `NAME@role.ACCOUNT.onaliyunservice.com`.
fn role_principal_name(account: &str, role: &iam::Role) -> String {
    format!("{}@role.{account}.onaliyunservice.com", role.name)
}

fn one(call: &Call<'_>, role: &iam::Role, view: RoleView) -> Reply {
    let mut payload = Map::new();
    payload.insert("Role".into(), render_role(call.account(), role, view));
    Reply::from_value(Value::Object(payload))
}

pub async fn create_role(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let request = iam::CreateRole {
        name: p.required("RoleName")?.to_owned(),
        trust_policy: p.required("AssumeRolePolicyDocument")?.to_owned(),
        description: p.optional("Description").map(str::to_owned),
        max_session_duration: p
            .optional_u32("MaxSessionDuration", 0, u32::MAX)?
            .map(i64::from),
    };
    p.optional_bool("AllowConsoleLogin")?;
    check_tags(p)?;
    let role = call.store.create_role(call.account(), &request).await?;
    Ok(one(call, &role, RoleView::Created))
}

pub async fn get_role(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("RoleName")?;
    let role = call.store.get_role(call.account(), name).await?;
    Ok(one(call, &role, RoleView::Full))
}

pub async fn update_role(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let name = p.required("RoleName")?;
    let changes = iam::UpdateRole {
        new_trust_policy: p.optional("NewAssumeRolePolicyDocument").map(str::to_owned),
        new_description: p.optional("NewDescription").map(str::to_owned),
        new_max_session_duration: p
            .optional_u32("NewMaxSessionDuration", 0, u32::MAX)?
            .map(i64::from),
    };
    p.optional_bool("NewAllowConsoleLogin")?;
    let role = call
        .store
        .update_role(call.account(), name, &changes)
        .await?;
    Ok(one(call, &role, RoleView::Updated))
}

pub async fn delete_role(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("RoleName")?;
    call.store.delete_role(call.account(), name).await?;
    Ok(Reply::empty())
}

pub async fn list_roles(call: &Call<'_>) -> Result<Reply, ApiError> {
    let options = list_options(call.params)?;
    let tag_filter = check_tags(call.params)?;
    let mut listing = call.store.list_roles(call.account(), &options).await?;
    if tag_filter {
        // Nothing is tagged, so a tag filter matches nothing.
        listing = iam::Listing {
            items: Vec::new(),
            is_truncated: false,
            marker: None,
        };
    }
    let items = listing
        .items
        .iter()
        .map(|r| render_role(call.account(), r, RoleView::Listed))
        .collect();
    let mut payload = Map::new();
    payload.insert("Roles".into(), wrapped("Role", items));
    Ok(Reply::from_value(paged(&listing, payload)))
}

/// RevokeRoleSessions (`RoleName`), rampart's extension of RAM 2015-05-01:
/// every session of the role issued up to this second is refused from its
/// next request on (`InvalidSecurityToken.Expired`), on every node, since
/// each request reads the role's stamp from the store. Sessions issued
/// afterwards are not affected. Authorized as `ram:RevokeRoleSessions` on
/// the role.
///
/// Answers `{"RequestId", "Role": {"RoleId", "RoleName", "Arn",
/// "RevokedBefore"}}`: sessions issued before `RevokedBefore` are revoked.
pub async fn revoke_role_sessions(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("RoleName")?;
    let before = iam::Timestamp(call.now.unix_seconds().saturating_add(1));
    let role = call
        .store
        .revoke_role_sessions(call.account(), name, before)
        .await?;
    let mut out = Map::new();
    out.insert("RoleId".into(), Value::String(role.role_id.clone()));
    out.insert("RoleName".into(), Value::String(role.name.clone()));
    out.insert("Arn".into(), Value::String(role.arn.clone()));
    out.insert(
        "RevokedBefore".into(),
        role.revoked_before.map_or(Value::Null, date),
    );
    let mut payload = Map::new();
    payload.insert("Role".into(), Value::Object(out));
    Ok(Reply::from_value(Value::Object(payload)))
}

/// CreateServiceLinkedRole: the service's role (`ServiceName`, such as
/// `eci.aliyuncs.com`) with its template's trust policy and system policy.
pub async fn create_service_linked_role(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let service = p.required("ServiceName")?;
    let role = call
        .store
        .create_service_linked_role(
            call.account(),
            service,
            p.optional("Description"),
            p.optional("CustomSuffix"),
        )
        .await?;
    let mut out = Map::new();
    out.insert("RoleId".into(), Value::String(role.role_id.clone()));
    out.insert("RoleName".into(), Value::String(role.name.clone()));
    out.insert("Arn".into(), Value::String(role.arn.clone()));
    out.insert("Description".into(), text(&role.description));
    out.insert(
        "AssumeRolePolicyDocument".into(),
        Value::String(role.trust_policy.clone()),
    );
    out.insert("CreateDate".into(), date(role.create_date));
    out.insert("IsServiceLinkedRole".into(), Value::Bool(true));
    let mut payload = Map::new();
    payload.insert("Role".into(), Value::Object(out));
    Ok(Reply::from_value(Value::Object(payload)))
}

/// DeleteServiceLinkedRole: deletes at once; the `DeletionTaskId` names
/// the (already finished) deletion.
pub async fn delete_service_linked_role(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("RoleName")?;
    call.store
        .delete_service_linked_role(call.account(), name)
        .await?;
    let mut payload = Map::new();
    payload.insert(
        "DeletionTaskId".into(),
        Value::String(format!(
            "task/{}/{}",
            name.to_ascii_lowercase(),
            call.request_id.as_str()
        )),
    );
    Ok(Reply::from_value(Value::Object(payload)))
}

/// GetServiceLinkedRoleTemplate.
pub async fn get_service_linked_role_template(call: &Call<'_>) -> Result<Reply, ApiError> {
    let service = call.params.required("ServiceName")?;
    let template = iam::service_linked_template(service).ok_or_else(|| {
        ApiError::from(iam::IamError::InvalidParameter {
            param: "ServiceName",
            problem: iam::Problem::Value,
        })
    })?;
    let body = serde_json::json!({
        "ServiceLinkedRoleTemplate": {
            "ServiceName": template.service,
            "RoleNamePrefix": template.role_name,
            "MultipleRolesAllowed": false,
            "SystemPolicyName": template.policy,
            "RoleDescriptions": {"RoleDescription": [
                {"Language": "en", "Description": template.description}
            ]},
        }
    });
    Ok(Reply::from_value(body))
}
