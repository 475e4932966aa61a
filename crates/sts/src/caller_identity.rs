//! GetCallerIdentity's answer (protocol §6.3): who signed this request?
//!
//! `UserId` is returned only for an account or a RAM user, `RoleId` only
//! for a role session, as Alibaba's API reference says; the other member
//! is left out rather than sent empty.

use serde::Serialize;

use crate::claims::Claims;

/// `IdentityType` of an account's root identity.
pub const ACCOUNT: &str = "Account";
/// `IdentityType` of a RAM user.
pub const RAM_USER: &str = "RAMUser";
/// `IdentityType` of a role session.
pub const ASSUMED_ROLE_USER: &str = "AssumedRoleUser";

/// GetCallerIdentity's answer, without `RequestId` (the HTTP layer adds it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallerIdentity {
    #[serde(rename = "IdentityType")]
    pub identity_type: &'static str,
    #[serde(rename = "AccountId")]
    pub account_id: String,
    #[serde(rename = "Arn")]
    pub arn: String,
    #[serde(rename = "PrincipalId")]
    pub principal_id: String,
    #[serde(rename = "UserId", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(rename = "RoleId", skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
}

impl CallerIdentity {
    /// An account's root keys: `UserId` and `PrincipalId` are the account id.
    pub fn root(account: &str) -> CallerIdentity {
        CallerIdentity {
            identity_type: ACCOUNT,
            account_id: account.to_string(),
            arn: policy::Entity::root(account).to_string(),
            principal_id: account.to_string(),
            user_id: Some(account.to_string()),
            role_id: None,
        }
    }

    /// A RAM user: `UserId` and `PrincipalId` are the user id.
    pub fn user(account: &str, user_id: &str, name: &str) -> CallerIdentity {
        CallerIdentity {
            identity_type: RAM_USER,
            account_id: account.to_string(),
            arn: policy::Entity::user(account, name).to_string(),
            principal_id: user_id.to_string(),
            user_id: Some(user_id.to_string()),
            role_id: None,
        }
    }

    /// A role session: `Arn` in the `assumed-role/ROLE/SESSION` form,
    /// `PrincipalId` = `ROLEID:SESSION`.
    pub fn session(claims: &Claims) -> CallerIdentity {
        CallerIdentity {
            identity_type: ASSUMED_ROLE_USER,
            account_id: claims.account.clone(),
            arn: claims.identity_arn(),
            principal_id: claims.assumed_role_id(),
            user_id: None,
            role_id: Some(claims.role_id.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(
            serde_json::to_value(CallerIdentity::root("1111111111111111")).unwrap(),
            json!({
                "IdentityType": "Account",
                "AccountId": "1111111111111111",
                "Arn": "acs:ram::1111111111111111:root",
                "PrincipalId": "1111111111111111",
                "UserId": "1111111111111111",
            })
        );
        assert_eq!(
            serde_json::to_value(CallerIdentity::user(
                "1111111111111111",
                "2169593390001234",
                "admin"
            ))
            .unwrap(),
            json!({
                "IdentityType": "RAMUser",
                "AccountId": "1111111111111111",
                "Arn": "acs:ram::1111111111111111:user/admin",
                "PrincipalId": "2169593390001234",
                "UserId": "2169593390001234",
            })
        );
        let claims = crate::claims::tests::sample();
        assert_eq!(
            serde_json::to_value(CallerIdentity::session(&claims)).unwrap(),
            json!({
                "IdentityType": "AssumedRoleUser",
                "AccountId": "2222222222222222",
                "Arn": "acs:ram::2222222222222222:assumed-role/role-acr/deploy@build.1",
                "PrincipalId": "3000000000000000001:deploy@build.1",
                "RoleId": "3000000000000000001",
            })
        );
    }
}
