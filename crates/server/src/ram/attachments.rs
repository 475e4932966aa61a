//! Attaching policies: AttachPolicyTo{User,Group,Role},
//! DetachPolicyFrom{User,Group,Role}, ListPoliciesFor{User,Group,Role},
//! ListEntitiesForPolicy.
//!
//! Attach and Detach were authorized on both the entity and the policy
//! before reaching here (see `authz`).

use serde_json::{json, Map, Value};

use super::{date, policy_type, text, wrapped};
use crate::error::ApiError;
use crate::reply::Reply;
use crate::rpc::Call;

/// Which kind of entity a call names, and its name parameter.
#[derive(Debug, Clone, Copy)]
enum Kind {
    User,
    Group,
    Role,
}

impl Kind {
    fn param(self) -> &'static str {
        match self {
            Kind::User => "UserName",
            Kind::Group => "GroupName",
            Kind::Role => "RoleName",
        }
    }
}

/// `PolicyType`, `PolicyName` and the entity's name, in that order of
/// checking (`ResourceGroupId` is accepted and ignored).
fn attachment_params<'a>(
    call: &'a Call<'a>,
    kind: Kind,
) -> Result<(iam::PolicyType, &'a str, &'a str), ApiError> {
    let p = call.params;
    let name = p.required(kind.param())?;
    let policy_name = p.required("PolicyName")?;
    Ok((policy_type(p)?, policy_name, name))
}

async fn attach(call: &Call<'_>, kind: Kind) -> Result<Reply, ApiError> {
    let (policy, policy_name, name) = attachment_params(call, kind)?;
    let (store, account) = (call.store, call.account());
    match kind {
        Kind::User => {
            store
                .attach_policy_to_user(account, policy, policy_name, name)
                .await?
        }
        Kind::Group => {
            store
                .attach_policy_to_group(account, policy, policy_name, name)
                .await?
        }
        Kind::Role => {
            store
                .attach_policy_to_role(account, policy, policy_name, name)
                .await?
        }
    }
    Ok(Reply::empty())
}

async fn detach(call: &Call<'_>, kind: Kind) -> Result<Reply, ApiError> {
    let (policy, policy_name, name) = attachment_params(call, kind)?;
    let (store, account) = (call.store, call.account());
    match kind {
        Kind::User => {
            store
                .detach_policy_from_user(account, policy, policy_name, name)
                .await?
        }
        Kind::Group => {
            store
                .detach_policy_from_group(account, policy, policy_name, name)
                .await?
        }
        Kind::Role => {
            store
                .detach_policy_from_role(account, policy, policy_name, name)
                .await?
        }
    }
    Ok(Reply::empty())
}

async fn list_for(call: &Call<'_>, kind: Kind) -> Result<Reply, ApiError> {
    let name = call.params.required(kind.param())?;
    let (store, account) = (call.store, call.account());
    let attached = match kind {
        Kind::User => store.list_policies_for_user(account, name).await?,
        Kind::Group => store.list_policies_for_group(account, name).await?,
        Kind::Role => store.list_policies_for_role(account, name).await?,
    };
    let items = attached
        .iter()
        .map(|a| {
            json!({
                "PolicyName": a.name,
                "PolicyType": a.policy_type.as_str(),
                "Description": text(&a.description),
                "DefaultVersion": a.default_version,
                "AttachDate": date(a.attach_date),
            })
        })
        .collect();
    let mut payload = Map::new();
    payload.insert("Policies".into(), wrapped("Policy", items));
    Ok(Reply::from_value(Value::Object(payload)))
}

pub async fn attach_policy_to_user(call: &Call<'_>) -> Result<Reply, ApiError> {
    attach(call, Kind::User).await
}

pub async fn attach_policy_to_group(call: &Call<'_>) -> Result<Reply, ApiError> {
    attach(call, Kind::Group).await
}

pub async fn attach_policy_to_role(call: &Call<'_>) -> Result<Reply, ApiError> {
    attach(call, Kind::Role).await
}

pub async fn detach_policy_from_user(call: &Call<'_>) -> Result<Reply, ApiError> {
    detach(call, Kind::User).await
}

pub async fn detach_policy_from_group(call: &Call<'_>) -> Result<Reply, ApiError> {
    detach(call, Kind::Group).await
}

pub async fn detach_policy_from_role(call: &Call<'_>) -> Result<Reply, ApiError> {
    detach(call, Kind::Role).await
}

pub async fn list_policies_for_user(call: &Call<'_>) -> Result<Reply, ApiError> {
    list_for(call, Kind::User).await
}

pub async fn list_policies_for_group(call: &Call<'_>) -> Result<Reply, ApiError> {
    list_for(call, Kind::Group).await
}

pub async fn list_policies_for_role(call: &Call<'_>) -> Result<Reply, ApiError> {
    list_for(call, Kind::Role).await
}

pub async fn list_entities_for_policy(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("PolicyName")?;
    let kind = policy_type(call.params)?;
    let entities = call
        .store
        .list_entities_for_policy(call.account(), name, kind)
        .await?;
    let users = entities
        .users
        .iter()
        .map(|u| {
            json!({
                "UserId": u.user_id,
                "UserName": u.user_name,
                "DisplayName": text(&u.display_name),
                "AttachDate": date(u.attach_date),
            })
        })
        .collect();
    let groups = entities
        .groups
        .iter()
        .map(|g| {
            json!({
                "GroupName": g.group_name,
                "Comments": text(&g.comments),
                "AttachDate": date(g.attach_date),
            })
        })
        .collect();
    let roles = entities
        .roles
        .iter()
        .map(|r| {
            json!({
                "RoleId": r.role_id,
                "RoleName": r.role_name,
                "Arn": r.arn,
                "Description": text(&r.description),
                "AttachDate": date(r.attach_date),
            })
        })
        .collect();
    let mut payload = Map::new();
    payload.insert("Users".into(), wrapped("User", users));
    payload.insert("Groups".into(), wrapped("Group", groups));
    payload.insert("Roles".into(), wrapped("Role", roles));
    Ok(Reply::from_value(Value::Object(payload)))
}
