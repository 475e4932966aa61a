//! The domain's nouns: what operations take and return. Field names follow
//! the RAM response fields they feed (`create_date` → `CreateDate`), so the
//! HTTP layer renders them without thinking.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use auth::Secret;

use crate::error::{IamError, Problem};

/// Seconds since the Unix epoch, UTC. Displays the way RAM writes dates:
/// `2015-01-23T12:33:18Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Timestamp {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
    }

    pub fn seconds(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            (secs % 3600) / 60,
            secs % 60
        )
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `System` (Alibaba's, read-only, shipped with the policy crate) or
/// `Custom` (the account's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyType {
    System,
    Custom,
}

impl PolicyType {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::System => "System",
            PolicyType::Custom => "Custom",
        }
    }

    /// Reads the `PolicyType` parameter (exact case, as RAM does).
    pub fn parse(text: &str) -> Result<PolicyType, IamError> {
        match text {
            "System" => Ok(PolicyType::System),
            "Custom" => Ok(PolicyType::Custom),
            _ => Err(IamError::invalid("PolicyType", Problem::Value)),
        }
    }
}

impl fmt::Display for PolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An access key's status. Inactive keys still exist and still count
/// towards the limit; requests signed with them are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyStatus {
    Active,
    Inactive,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }

    /// Reads the `Status` parameter of UpdateAccessKey.
    pub fn parse(text: &str) -> Result<KeyStatus, IamError> {
        match text {
            "Active" => Ok(KeyStatus::Active),
            "Inactive" => Ok(KeyStatus::Inactive),
            _ => Err(IamError::invalid("Status", Problem::Value)),
        }
    }
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// CreatePolicyVersion's `RotateStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RotateStrategy {
    /// At the version limit, refuse with `LimitExceeded.Policy.Version`.
    #[default]
    None,
    /// At the version limit, delete the oldest version that is not the
    /// default one first.
    DeleteOldestNonDefaultVersionWhenLimitExceeded,
}

impl RotateStrategy {
    pub fn parse(text: &str) -> Result<RotateStrategy, IamError> {
        match text {
            "None" => Ok(RotateStrategy::None),
            "DeleteOldestNonDefaultVersionWhenLimitExceeded" => {
                Ok(RotateStrategy::DeleteOldestNonDefaultVersionWhenLimitExceeded)
            }
            _ => Err(IamError::invalid("RotateStrategy", Problem::Value)),
        }
    }
}

/// Who is acting: the identity a credential names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// The account's root identity (its own access keys).
    Root { account: String },
    /// A RAM user.
    User {
        account: String,
        user_id: String,
        name: String,
    },
    /// A session of a RAM role (STS): decided by the role's attached
    /// policies (a session policy is a further layer the caller adds).
    Role {
        account: String,
        role_id: String,
        name: String,
    },
}

impl Principal {
    pub fn account(&self) -> &str {
        match self {
            Principal::Root { account }
            | Principal::User { account, .. }
            | Principal::Role { account, .. } => account,
        }
    }

    /// The principal's ARN: `acs:ram::A:root`, `acs:ram::A:user/NAME`,
    /// `acs:ram::A:role/lowercased-name`.
    pub fn arn(&self) -> String {
        match self {
            Principal::Root { account } => policy::Entity::root(account).to_string(),
            Principal::User { account, name, .. } => {
                policy::Entity::user(account, name).to_string()
            }
            Principal::Role { account, name, .. } => {
                policy::Entity::role(account, name).to_string()
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub account_id: String,
    pub alias: Option<String>,
    pub create_date: Timestamp,
}

/// A new account and its first root access key (the only time that
/// secret is shown).
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub account: Account,
    pub root_access_key: NewAccessKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub user_id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub mobile_phone: Option<String>,
    pub email: Option<String>,
    pub comments: Option<String>,
    pub create_date: Timestamp,
    pub update_date: Timestamp,
    pub last_login_date: Option<Timestamp>,
}

/// CreateUser's parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateUser {
    pub name: String,
    pub display_name: Option<String>,
    pub mobile_phone: Option<String>,
    pub email: Option<String>,
    pub comments: Option<String>,
}

/// UpdateUser's `New*` parameters; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateUser {
    pub new_name: Option<String>,
    pub new_display_name: Option<String>,
    pub new_mobile_phone: Option<String>,
    pub new_email: Option<String>,
    pub new_comments: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub group_id: String,
    pub name: String,
    pub comments: Option<String>,
    pub create_date: Timestamp,
    pub update_date: Timestamp,
}

/// A group as ListGroupsForUser shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMembership {
    pub group: Group,
    pub join_date: Timestamp,
}

/// A user as ListUsersForGroup shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub user_id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub join_date: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// A 19-digit numeric string.
    pub role_id: String,
    pub name: String,
    /// `acs:ram::ACCOUNT:role/lowercased-name`.
    pub arn: String,
    pub description: Option<String>,
    /// The trust policy (`AssumeRolePolicyDocument`) as the client wrote it.
    pub trust_policy: String,
    pub max_session_duration: i64,
    pub create_date: Timestamp,
    pub update_date: Timestamp,
    /// Sessions of this role issued before this instant are invalid (set by
    /// `Store::revoke_role_sessions`); `None` when never revoked.
    pub revoked_before: Option<Timestamp>,
    /// For a service-linked role, the service it is linked to (its trust
    /// policy and permissions are the service's template and cannot be
    /// changed by users); `None` for every other role.
    pub service_name: Option<String>,
}

/// CreateRole's parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateRole {
    pub name: String,
    pub trust_policy: String,
    pub description: Option<String>,
    /// 3600–43200 seconds; 3600 when absent.
    pub max_session_duration: Option<i64>,
}

/// UpdateRole's `New*` parameters; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateRole {
    pub new_trust_policy: Option<String>,
    pub new_description: Option<String>,
    pub new_max_session_duration: Option<i64>,
}

/// A policy as GetPolicy / ListPolicies describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    pub name: String,
    pub policy_type: PolicyType,
    pub description: Option<String>,
    pub default_version: String,
    /// Attachments within the asking account.
    pub attachment_count: i64,
    pub create_date: Timestamp,
    pub update_date: Timestamp,
}

/// GetPolicy's answer: the policy and its default version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDetail {
    pub policy: PolicyInfo,
    pub default_version: PolicyVersion,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    /// `v1`, `v2`, …; never reused within a policy.
    pub version_id: String,
    pub is_default: bool,
    pub document: String,
    pub create_date: Timestamp,
}

/// CreatePolicy's parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreatePolicy {
    pub name: String,
    pub document: String,
    pub description: Option<String>,
}

/// A policy attached to a user, group or role (ListPoliciesFor*).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedPolicy {
    pub name: String,
    pub policy_type: PolicyType,
    pub description: Option<String>,
    pub default_version: String,
    pub attach_date: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedUser {
    pub user_id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub attach_date: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedGroup {
    pub group_name: String,
    pub comments: Option<String>,
    pub attach_date: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedRole {
    pub role_id: String,
    pub role_name: String,
    pub arn: String,
    pub description: Option<String>,
    pub attach_date: Timestamp,
}

/// ListEntitiesForPolicy's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyEntities {
    pub users: Vec<AttachedUser>,
    pub groups: Vec<AttachedGroup>,
    pub roles: Vec<AttachedRole>,
}

/// An access key without its secret (ListAccessKeys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub status: KeyStatus,
    pub create_date: Timestamp,
}

/// A key just created: the only answer that carries the secret.
#[derive(Debug, Clone)]
pub struct NewAccessKey {
    pub access_key_id: String,
    pub secret: Secret,
    pub status: KeyStatus,
    pub create_date: Timestamp,
}

/// What the HTTP layer needs to authenticate a request signed with a key.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub access_key_id: String,
    pub principal: Principal,
    pub status: KeyStatus,
    /// Decrypted, for signature verification only.
    pub secret: Secret,
}

/// `Marker` and `MaxItems` of a list call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// The `Marker` of the previous page's answer.
    pub marker: Option<String>,
    /// 1–1000; 100 when absent.
    pub max_items: Option<i64>,
}

impl ListOptions {
    pub fn first(max_items: i64) -> ListOptions {
        ListOptions {
            marker: None,
            max_items: Some(max_items),
        }
    }
}

/// One page of a list call: `IsTruncated` and the `Marker` for the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub is_truncated: bool,
    /// Present when `is_truncated`; pass it back as `ListOptions::marker`.
    pub marker: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_like_ram() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp(1_422_016_398).to_string(), "2015-01-23T12:33:18Z");
        assert_eq!(Timestamp(951_782_400).to_string(), "2000-02-29T00:00:00Z");
        assert_eq!(Timestamp(4_102_444_799).to_string(), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn parameters_parse_exactly() {
        assert_eq!(PolicyType::parse("System").ok(), Some(PolicyType::System));
        assert_eq!(
            PolicyType::parse("custom").map_err(|e| e.code().into_owned()),
            Err("InvalidParameter.PolicyType".to_string())
        );
        assert_eq!(KeyStatus::parse("Inactive").ok(), Some(KeyStatus::Inactive));
        assert!(RotateStrategy::parse("Sometimes").is_err());
    }

    #[test]
    fn principal_arns() {
        let root = Principal::Root {
            account: "1234567890123456".into(),
        };
        assert_eq!(root.arn(), "acs:ram::1234567890123456:root");
        let role = Principal::Role {
            account: "1".into(),
            role_id: "2".into(),
            name: "ECSAdmin".into(),
        };
        assert_eq!(role.arn(), "acs:ram::1:role/ecsadmin");
    }
}
