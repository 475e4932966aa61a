//! RAM, API version `2015-05-01`: the actions of the user, access key,
//! group, role, policy, policy version, attachment and account alias
//! families, one module per family.
//!
//! Each handler reads its parameters strictly (absent required ones are
//! `Missing<Name>`; malformed numbers, booleans and enums are
//! `InvalidParameter.<Name>`; name rules and lengths are `iam`'s, with RAM's
//! codes), calls the store, and renders RAM's JSON: PascalCase fields,
//! XML-derived list wrappers (`Users.User[]`), ids as strings, dates as
//! `YYYY-MM-DDTHH:MM:SSZ`, `IsTruncated`/`Marker` paging. Parameters a
//! handler does not know (`RegionId`, `Format`, the SDKs' extras) are
//! ignored, as Alibaba ignores them.
//!
//! One action is rampart's own, not Alibaba's: `RevokeRoleSessions`
//! (`RoleName`), which ends every session of the role issued so far (see
//! [`roles::revoke_role_sessions`]).
//!
//! Deliberate gaps, written down:
//! * Tags are not stored: `Tag` on CreateRole/CreatePolicy is checked for
//!   shape and otherwise ignored; a `Tag` filter on ListRoles/ListPolicies
//!   matches nothing (nothing is tagged); list items carry `Tags.Tag: []`.
//! * `AllowConsoleLogin` / `NewAllowConsoleLogin` are checked and not
//!   stored (rampart has no console login yet); roles answer `false`.
//! * `ResourceGroupId` on Attach/Detach is ignored (no resource groups).

pub mod access_keys;
pub mod account_alias;
pub mod attachments;
pub mod authz;
pub mod groups;
pub mod policies;
pub mod policy_versions;
pub mod roles;
pub mod users;

use serde_json::{json, Value};

use crate::error::ApiError;
use crate::rpc::params::Params;
use crate::rpc::router::{Route, Router};
use crate::rpc::Call;

/// RAM's API version.
pub const VERSION: &str = "2015-05-01";

/// The values of `PolicyType`.
pub const POLICY_TYPES: [&str; 2] = ["System", "Custom"];

/// The authorizer of every RAM route: [`authz::checks`] for the call.
fn authorize<'a>(call: &'a Call<'a>) -> Result<Vec<authz::Check>, ApiError> {
    let user_name = match call.principal {
        iam::Principal::User { name, .. } => Some(name.as_str()),
        _ => None,
    };
    let caller_arn = call.principal.arn();
    let target = authz::Target {
        account: call.account(),
        caller_user: user_name,
        caller_arn: &caller_arn,
        caller_root: matches!(call.principal, iam::Principal::Root { .. }),
    };
    authz::checks(call.action, &target, call.params).unwrap_or_else(|| {
        // Every registered action has a mapping (a unit test checks it);
        // refuse rather than run an action nobody may be asked about.
        tracing::error!(
            action = call.action,
            "RAM action without an authorization mapping"
        );
        Err(ApiError::internal())
    })
}

macro_rules! ram_routes {
    ($router:expr; $($action:literal => $handler:path),* $(,)?) => {
        $(
            $router.add(Route {
                product: "Ram",
                version: VERSION,
                action: $action,
                authorize,
                handler: |call| Box::pin($handler(call)),
            });
        )*
    };
}

/// Registers every RAM action this server carries.
pub fn register(router: &mut Router) {
    ram_routes!(router;
        // Users.
        "CreateUser" => users::create_user,
        "GetUser" => users::get_user,
        "UpdateUser" => users::update_user,
        "DeleteUser" => users::delete_user,
        "ListUsers" => users::list_users,
        // Access keys.
        "CreateAccessKey" => access_keys::create_access_key,
        "ListAccessKeys" => access_keys::list_access_keys,
        "UpdateAccessKey" => access_keys::update_access_key,
        "DeleteAccessKey" => access_keys::delete_access_key,
        "GetAccessKeyLastUsed" => access_keys::get_access_key_last_used,
        // Groups.
        "CreateGroup" => groups::create_group,
        "GetGroup" => groups::get_group,
        "UpdateGroup" => groups::update_group,
        "DeleteGroup" => groups::delete_group,
        "ListGroups" => groups::list_groups,
        "AddUserToGroup" => groups::add_user_to_group,
        "RemoveUserFromGroup" => groups::remove_user_from_group,
        "ListGroupsForUser" => groups::list_groups_for_user,
        "ListUsersForGroup" => groups::list_users_for_group,
        // Roles.
        "CreateRole" => roles::create_role,
        "GetRole" => roles::get_role,
        "UpdateRole" => roles::update_role,
        "DeleteRole" => roles::delete_role,
        "ListRoles" => roles::list_roles,
        // rampart's extension: end the role's sessions issued so far.
        "RevokeRoleSessions" => roles::revoke_role_sessions,
        // Service-linked roles.
        "CreateServiceLinkedRole" => roles::create_service_linked_role,
        "DeleteServiceLinkedRole" => roles::delete_service_linked_role,
        "GetServiceLinkedRoleTemplate" => roles::get_service_linked_role_template,
        // Policies.
        "CreatePolicy" => policies::create_policy,
        "GetPolicy" => policies::get_policy,
        "DeletePolicy" => policies::delete_policy,
        "ListPolicies" => policies::list_policies,
        "UpdatePolicyDescription" => policies::update_policy_description,
        // Policy versions.
        "CreatePolicyVersion" => policy_versions::create_policy_version,
        "GetPolicyVersion" => policy_versions::get_policy_version,
        "DeletePolicyVersion" => policy_versions::delete_policy_version,
        "ListPolicyVersions" => policy_versions::list_policy_versions,
        "SetDefaultPolicyVersion" => policy_versions::set_default_policy_version,
        // Attachments.
        "AttachPolicyToUser" => attachments::attach_policy_to_user,
        "AttachPolicyToGroup" => attachments::attach_policy_to_group,
        "AttachPolicyToRole" => attachments::attach_policy_to_role,
        "DetachPolicyFromUser" => attachments::detach_policy_from_user,
        "DetachPolicyFromGroup" => attachments::detach_policy_from_group,
        "DetachPolicyFromRole" => attachments::detach_policy_from_role,
        "ListPoliciesForUser" => attachments::list_policies_for_user,
        "ListPoliciesForGroup" => attachments::list_policies_for_group,
        "ListPoliciesForRole" => attachments::list_policies_for_role,
        "ListEntitiesForPolicy" => attachments::list_entities_for_policy,
        // Account alias.
        "SetAccountAlias" => account_alias::set_account_alias,
        "GetAccountAlias" => account_alias::get_account_alias,
        "ClearAccountAlias" => account_alias::clear_account_alias,
    );
}

// ---- Rendering helpers shared by the families.

/// A date as RAM writes it.
pub(crate) fn date(timestamp: iam::Timestamp) -> Value {
    Value::String(timestamp.to_string())
}

/// An optional text field: absent is `""` (the field is always there, with
/// one type, so SDK models never see null for a string).
pub(crate) fn text(value: &Option<String>) -> Value {
    Value::String(value.clone().unwrap_or_default())
}

/// `{"<plural>": {"<singular>": [items]}}` members for a list payload.
pub(crate) fn wrapped(singular: &str, items: Vec<Value>) -> Value {
    let mut inner = serde_json::Map::new();
    inner.insert(singular.to_owned(), Value::Array(items));
    Value::Object(inner)
}

/// `Tags.Tag[]` of a list item: rampart stores no tags yet.
pub(crate) fn no_tags() -> Value {
    json!({"Tag": []})
}

/// `Marker` and `MaxItems` (1–1000, RAM's range).
pub(crate) fn list_options(params: &Params) -> Result<iam::ListOptions, ApiError> {
    Ok(iam::ListOptions {
        marker: params.optional("Marker").map(str::to_owned),
        max_items: params.optional_u32("MaxItems", 1, 1000)?.map(i64::from),
    })
}

/// Adds `IsTruncated` and `Marker` (empty when not truncated) to a list
/// payload.
pub(crate) fn paged<T>(
    listing: &iam::Listing<T>,
    mut payload: serde_json::Map<String, Value>,
) -> Value {
    payload.insert("IsTruncated".into(), Value::Bool(listing.is_truncated));
    payload.insert(
        "Marker".into(),
        Value::String(listing.marker.clone().unwrap_or_default()),
    );
    Value::Object(payload)
}

/// Checks a `Tag` parameter: a JSON array of `{"Key": …, "Value": …}`
/// objects (the SDKs send list parameters as JSON text, protocol §1).
/// Returns whether any tag was given.
pub(crate) fn check_tags(params: &Params) -> Result<bool, ApiError> {
    let Some(text) = params.optional("Tag") else {
        return Ok(false);
    };
    let bad = || {
        ApiError::invalid_parameter(
            "Tag",
            "must be a JSON array of {\"Key\": …, \"Value\": …} objects",
        )
    };
    let value: Value = serde_json::from_str(text).map_err(|_| bad())?;
    let items = value.as_array().ok_or_else(bad)?;
    for item in items {
        let object = item.as_object().ok_or_else(bad)?;
        let key_ok = object
            .get("Key")
            .and_then(Value::as_str)
            .is_some_and(|k| !k.is_empty());
        let value_ok = object.get("Value").is_none_or(Value::is_string);
        if !key_ok || !value_ok || object.keys().any(|k| k != "Key" && k != "Value") {
            return Err(bad());
        }
    }
    Ok(!items.is_empty())
}

/// `PolicyType`, required, as the domain's type.
pub(crate) fn policy_type(params: &Params) -> Result<iam::PolicyType, ApiError> {
    Ok(iam::PolicyType::parse(params.required("PolicyType")?)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn every_route_has_an_authorization_mapping() {
        let mut router = Router::new();
        register(&mut router);
        let target = authz::Target {
            account: "1",
            caller_user: Some("u"),
            caller_arn: "acs:ram::1:user/u",
            caller_root: false,
        };
        let params = Params::default();
        let mut count = 0;
        for route in router.routes() {
            assert!(
                authz::checks(route.action, &target, &params).is_some(),
                "{} has no mapping",
                route.action
            );
            count += 1;
        }
        assert_eq!(count, 51);
    }

    #[test]
    fn tags_are_checked() {
        let ok = Params::from_parts(
            Some("Tag=%5B%7B%22Key%22%3A%22k%22%2C%22Value%22%3A%22v%22%7D%5D"),
            None,
        )
        .unwrap();
        assert!(check_tags(&ok).unwrap());
        let bad = Params::from_parts(Some("Tag=notjson"), None).unwrap();
        assert_eq!(check_tags(&bad).unwrap_err().code(), "InvalidParameter.Tag");
        assert!(!check_tags(&Params::default()).unwrap());
    }
}
