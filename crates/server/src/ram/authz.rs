//! What a RAM API call asks permission for: the RAM action (`ram:CreateUser`)
//! and the resources it touches, as ARNs.
//!
//! Every RAM call is authorized before its handler runs, by asking the
//! decision point (`iam::Store::authorize`) once per [`Check`]; all must be
//! allowed. Most calls make one check. Calls that relate two things make
//! one per thing, each with the same RAM action:
//!
//! * `AttachPolicyTo*` / `DetachPolicyFrom*`: the user, group or role **and**
//!   the policy. So a user allowed to attach only some policies (say
//!   `acs:ram:*:A:policy/ReadOnly*`) cannot attach `AdministratorAccess`
//!   to itself, even though it may manage itself.
//! * `AddUserToGroup` / `RemoveUserFromGroup`: the group and the user.
//!
//! Resource forms (Alibaba's, with `*` as the region since RAM is global):
//!
//! | thing | ARN |
//! |---|---|
//! | user | `acs:ram:*:ACCOUNT:user/NAME` |
//! | group | `acs:ram:*:ACCOUNT:group/NAME` |
//! | role | `acs:ram:*:ACCOUNT:role/NAME` (role name lower-cased, as the policy engine compares roles) |
//! | custom policy | `acs:ram:*:ACCOUNT:policy/NAME` |
//! | system policy | `acs:ram:*:system:policy/NAME` |
//! | account-wide (List*, alias) | `acs:ram:*:ACCOUNT:*` |
//!
//! System policies belong to no account: the decision point lets their
//! ARNs past the account boundary, so the root may attach them and a user's
//! or role's own policies decide for it, like any other resource.
//!
//! Access-key calls without `UserName` act on the caller itself, so they
//! check the caller's own user ARN (the root identity is not subject to
//! policies in its own account; the decision point knows that). A role
//! session has no access keys of its own: without `UserName` its access-key
//! calls are `MissingUserName` (they would otherwise reach the account's
//! root keys).
//!
//! `RevokeRoleSessions` is rampart's own action (an extension of RAM
//! 2015-05-01, see the crate README): `ram:RevokeRoleSessions` on the role.
//!
//! STS and the registry will follow the same pattern: one module that maps
//! each action of the product to its checks.

use super::POLICY_TYPES;
use crate::error::ApiError;
use crate::rpc::params::Params;

/// One permission question: may the caller do `action` on `resource`?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `ram:CreateUser`.
    pub action: String,
    /// The resource ARN.
    pub resource: String,
}

/// Who is calling, as far as resource naming cares.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The caller's account: every resource of a RAM call is in it.
    pub account: &'a str,
    /// The caller's RAM user name, when the caller is a RAM user (access-key
    /// calls without `UserName` act on it).
    pub caller_user: Option<&'a str>,
    /// The caller's own ARN (used when it has no user name, e.g. the root).
    pub caller_arn: &'a str,
    /// Whether the caller is the account's root identity.
    pub caller_root: bool,
}

fn arn(account: &str, kind: &str, name: &str) -> String {
    format!("acs:ram:*:{account}:{kind}/{name}")
}

/// `acs:ram:*:ACCOUNT:user/NAME`.
pub fn user_arn(account: &str, name: &str) -> String {
    arn(account, "user", name)
}

/// `acs:ram:*:ACCOUNT:group/NAME`.
pub fn group_arn(account: &str, name: &str) -> String {
    arn(account, "group", name)
}

/// `acs:ram:*:ACCOUNT:role/name` (lower-cased role name).
pub fn role_arn(account: &str, name: &str) -> String {
    arn(account, "role", &name.to_ascii_lowercase())
}

/// The policy's ARN; system policies live in the pseudo-account `system`.
pub fn policy_arn(account: &str, name: &str, system: bool) -> String {
    if system {
        arn("system", "policy", name)
    } else {
        arn(account, "policy", name)
    }
}

/// `acs:ram:*:ACCOUNT:*`: list actions and account-wide settings.
pub fn account_arn(account: &str) -> String {
    format!("acs:ram:*:{account}:*")
}

/// The policy a call names, with its `PolicyType` (required where Alibaba
/// requires it; `Custom` where the call only works on custom policies).
fn named_policy(
    target: &Target<'_>,
    params: &Params,
    type_required: bool,
) -> Result<String, ApiError> {
    let name = params.required("PolicyName")?;
    let system = if type_required {
        params.required("PolicyType")?;
        params.optional_choice("PolicyType", &POLICY_TYPES)? == Some("System")
    } else {
        false
    };
    Ok(policy_arn(target.account, name, system))
}

/// The user an access-key call acts on: `UserName`, or the caller (a RAM
/// user, or the root for its own keys). A role session must name a user.
fn key_owner(target: &Target<'_>, params: &Params) -> Result<String, ApiError> {
    match params.optional("UserName").or(target.caller_user) {
        Some(name) => Ok(user_arn(target.account, name)),
        None if target.caller_root => Ok(target.caller_arn.to_owned()),
        None => Err(ApiError::missing_parameter("UserName")),
    }
}

/// The checks for RAM `action` with `params`, or the missing-parameter
/// error that prevents naming its resources. `None` for an action that is
/// not a RAM action served here.
pub fn checks(
    action: &str,
    target: &Target<'_>,
    params: &Params,
) -> Option<Result<Vec<Check>, ApiError>> {
    let account = target.account;
    let one = |resource: Result<String, ApiError>| resource.map(|r| vec![r]);
    let user = || params.required("UserName").map(|n| user_arn(account, n));
    let group = || params.required("GroupName").map(|n| group_arn(account, n));
    let role = || params.required("RoleName").map(|n| role_arn(account, n));
    let all = || Ok(account_arn(account));
    let resources: Result<Vec<String>, ApiError> = match action {
        // Users.
        "CreateUser"
        | "GetUser"
        | "UpdateUser"
        | "DeleteUser"
        | "ListGroupsForUser"
        | "ListPoliciesForUser" => one(user()),
        "ListUsers" => one(all()),
        // Access keys.
        "CreateAccessKey"
        | "ListAccessKeys"
        | "UpdateAccessKey"
        | "DeleteAccessKey"
        | "GetAccessKeyLastUsed" => one(key_owner(target, params)),
        // Groups.
        "CreateGroup"
        | "GetGroup"
        | "UpdateGroup"
        | "DeleteGroup"
        | "ListUsersForGroup"
        | "ListPoliciesForGroup" => one(group()),
        "ListGroups" => one(all()),
        "AddUserToGroup" | "RemoveUserFromGroup" => group().and_then(|g| Ok(vec![g, user()?])),
        // Roles.
        "CreateRole"
        | "GetRole"
        | "UpdateRole"
        | "DeleteRole"
        | "ListPoliciesForRole"
        | "RevokeRoleSessions"
        | "DeleteServiceLinkedRole" => one(role()),
        // The role a service's template names.
        "CreateServiceLinkedRole" => params.required("ServiceName").and_then(|s| {
            iam::service_linked_template(s)
                .map(|t| vec![role_arn(account, t.role_name)])
                .ok_or_else(|| {
                    ApiError::invalid_parameter(
                        "ServiceName",
                        "no service-linked role template for this service",
                    )
                })
        }),
        "GetServiceLinkedRoleTemplate" => one(all()),
        "ListRoles" => one(all()),
        // Policies and their versions.
        "CreatePolicy"
        | "DeletePolicy"
        | "UpdatePolicyDescription"
        | "CreatePolicyVersion"
        | "DeletePolicyVersion"
        | "SetDefaultPolicyVersion" => one(named_policy(target, params, false)),
        "GetPolicy" | "GetPolicyVersion" | "ListPolicyVersions" | "ListEntitiesForPolicy" => {
            one(named_policy(target, params, true))
        }
        "ListPolicies" => one(all()),
        // Attachments: the entity and the policy.
        "AttachPolicyToUser" | "DetachPolicyFromUser" => {
            user().and_then(|u| Ok(vec![u, named_policy(target, params, true)?]))
        }
        "AttachPolicyToGroup" | "DetachPolicyFromGroup" => {
            group().and_then(|g| Ok(vec![g, named_policy(target, params, true)?]))
        }
        "AttachPolicyToRole" | "DetachPolicyFromRole" => {
            role().and_then(|r| Ok(vec![r, named_policy(target, params, true)?]))
        }
        // Account alias.
        "SetAccountAlias" | "GetAccountAlias" | "ClearAccountAlias" => one(all()),
        _ => return None,
    };
    let ram_action = format!("ram:{action}");
    Some(resources.map(|list| {
        list.into_iter()
            .map(|resource| Check {
                action: ram_action.clone(),
                resource,
            })
            .collect()
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    const TARGET: Target<'static> = Target {
        account: "1111111111111111",
        caller_user: Some("bob"),
        caller_arn: "acs:ram::1111111111111111:user/bob",
        caller_root: false,
    };

    fn run(action: &str, query: &str) -> Result<Vec<(String, String)>, String> {
        let params = Params::from_parts(Some(query), None).unwrap();
        checks(action, &TARGET, &params)
            .expect("a RAM action")
            .map(|list| list.into_iter().map(|c| (c.action, c.resource)).collect())
            .map_err(|e| e.code().to_owned())
    }

    #[test]
    fn single_resources() {
        assert_eq!(
            run("CreateUser", "UserName=alice").unwrap(),
            [(
                "ram:CreateUser".into(),
                "acs:ram:*:1111111111111111:user/alice".into()
            )]
        );
        assert_eq!(
            run("GetRole", "RoleName=AdminRole").unwrap()[0].1,
            "acs:ram:*:1111111111111111:role/adminrole"
        );
        assert_eq!(
            run("ListUsers", "").unwrap()[0].1,
            "acs:ram:*:1111111111111111:*"
        );
        assert_eq!(run("CreateUser", "").unwrap_err(), "MissingUserName");
    }

    #[test]
    fn access_keys_default_to_the_caller() {
        assert_eq!(
            run("CreateAccessKey", "").unwrap()[0].1,
            "acs:ram:*:1111111111111111:user/bob"
        );
        assert_eq!(
            run("ListAccessKeys", "UserName=carol").unwrap()[0].1,
            "acs:ram:*:1111111111111111:user/carol"
        );
    }

    #[test]
    fn role_sessions_must_name_the_user_of_access_key_calls() {
        let session = Target {
            account: "1111111111111111",
            caller_user: None,
            caller_arn: "acs:ram::1111111111111111:role/builder",
            caller_root: false,
        };
        let none = Params::default();
        for action in ["CreateAccessKey", "ListAccessKeys", "DeleteAccessKey"] {
            let err = checks(action, &session, &none).unwrap().unwrap_err();
            assert_eq!(err.code(), "MissingUserName", "{action}");
        }
        let named = Params::from_parts(Some("UserName=carol"), None).unwrap();
        assert_eq!(
            checks("CreateAccessKey", &session, &named)
                .unwrap()
                .unwrap()[0]
                .resource,
            "acs:ram:*:1111111111111111:user/carol"
        );
        let root = Target {
            caller_user: None,
            caller_arn: "acs:ram::1111111111111111:root",
            caller_root: true,
            ..session
        };
        assert_eq!(
            checks("CreateAccessKey", &root, &none).unwrap().unwrap()[0].resource,
            "acs:ram::1111111111111111:root"
        );
    }

    #[test]
    fn revoking_sessions_is_asked_on_the_role() {
        assert_eq!(
            run("RevokeRoleSessions", "RoleName=Fc-Admin").unwrap(),
            [(
                "ram:RevokeRoleSessions".into(),
                "acs:ram:*:1111111111111111:role/fc-admin".into()
            )]
        );
        assert_eq!(
            run("RevokeRoleSessions", "").unwrap_err(),
            "MissingRoleName"
        );
    }

    #[test]
    fn attach_checks_entity_and_policy() {
        let checks = run(
            "AttachPolicyToUser",
            "UserName=bob&PolicyName=AdministratorAccess&PolicyType=System",
        )
        .unwrap();
        assert_eq!(
            checks,
            [
                (
                    "ram:AttachPolicyToUser".into(),
                    "acs:ram:*:1111111111111111:user/bob".into()
                ),
                (
                    "ram:AttachPolicyToUser".into(),
                    "acs:ram:*:system:policy/AdministratorAccess".into()
                ),
            ]
        );
        let custom = run(
            "DetachPolicyFromRole",
            "RoleName=R&PolicyName=p1&PolicyType=Custom",
        )
        .unwrap();
        assert_eq!(custom[1].1, "acs:ram:*:1111111111111111:policy/p1");
        assert_eq!(
            run("AttachPolicyToGroup", "GroupName=g&PolicyName=p").unwrap_err(),
            "MissingPolicyType"
        );
        assert_eq!(
            run(
                "AttachPolicyToGroup",
                "GroupName=g&PolicyName=p&PolicyType=Bogus"
            )
            .unwrap_err(),
            "InvalidParameter.PolicyType"
        );
    }

    #[test]
    fn group_membership_checks_both() {
        let checks = run("AddUserToGroup", "GroupName=g&UserName=u").unwrap();
        assert_eq!(checks.len(), 2);
        assert_eq!(checks[1].1, "acs:ram:*:1111111111111111:user/u");
    }

    #[test]
    fn unknown_actions_are_not_ram_s() {
        let params = Params::default();
        assert!(checks("AssumeRole", &TARGET, &params).is_none());
    }
}
