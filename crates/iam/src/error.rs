//! One error type for every operation, carrying Alibaba's `Code`, HTTP
//! status and message so the HTTP layer maps it to the wire in one place.
//!
//! Codes and messages follow RAM's published error list (the RAM API
//! "Error messages" page). Where Alibaba documents no code for a situation
//! rampart can reach, the code is built the same way and noted below.

use std::borrow::Cow;
use std::fmt;

use thiserror::Error;

pub type Result<T, E = IamError> = std::result::Result<T, E>;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What an operation found missing (`EntityNotExist.*`, HTTP 404).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Missing {
    /// `EntityNotExist.Account`: rampart's own code; Alibaba's API has no
    /// call that names an account that may not exist.
    Account,
    User,
    Group,
    Role,
    Policy,
    PolicyVersion,
    /// An access key that does not exist for the named user (or root).
    UserAccessKey,
    /// The user is not a member of the group.
    UserGroup,
    UserPolicy,
    GroupPolicy,
    RolePolicy,
    /// `EntityNotExist.CredentialsUri`: rampart's own (a credentials-URI
    /// binding, see `Store::create_credentials_uri`).
    CredentialsUri,
    /// `EntityNotExist.ServiceKey`: rampart's own (a service principal's
    /// key, see `Store::create_service_key`).
    ServiceKey,
}

impl Missing {
    fn suffix(self) -> &'static str {
        match self {
            Missing::Account => "Account",
            Missing::User => "User",
            Missing::Group => "Group",
            Missing::Role => "Role",
            Missing::Policy => "Policy",
            Missing::PolicyVersion => "Policy.Version",
            Missing::UserAccessKey => "User.AccessKey",
            Missing::UserGroup => "User.Group",
            Missing::UserPolicy => "User.Policy",
            Missing::GroupPolicy => "Group.Policy",
            Missing::RolePolicy => "Role.Policy",
            Missing::CredentialsUri => "CredentialsUri",
            Missing::ServiceKey => "ServiceKey",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Missing::Account => "The account does not exist.",
            Missing::User => "The user does not exist.",
            Missing::Group => "The group does not exist.",
            Missing::Role => "The role does not exist.",
            Missing::Policy => "The policy does not exist.",
            Missing::PolicyVersion => "The policy version does not exist.",
            Missing::UserAccessKey => "The user access key does not exist.",
            Missing::UserGroup => "The user has not joined the group.",
            Missing::UserPolicy => "The indicate policy of the user does not exist.",
            Missing::GroupPolicy => "The indicate policy attached to the group does not exist.",
            Missing::RolePolicy => "The indicate policy attached to the role does not exist.",
            Missing::CredentialsUri => "The credentials URI binding does not exist.",
            Missing::ServiceKey => "The service key does not exist.",
        }
    }
}

/// What already exists (`EntityAlreadyExists.*`, HTTP 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Existing {
    User,
    Group,
    Role,
    Policy,
    /// The user is already a member of the group.
    UserGroup,
    UserPolicy,
    GroupPolicy,
    RolePolicy,
    /// Aliases are unique across all accounts.
    AccountAlias,
}

impl Existing {
    fn suffix(self) -> &'static str {
        match self {
            Existing::User => "User",
            Existing::Group => "Group",
            Existing::Role => "Role",
            Existing::Policy => "Policy",
            Existing::UserGroup => "User.Group",
            Existing::UserPolicy => "User.Policy",
            Existing::GroupPolicy => "Group.Policy",
            Existing::RolePolicy => "Role.Policy",
            Existing::AccountAlias => "AccountAlias",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Existing::User => "The user does already EXIST.",
            Existing::Group => "The group does already EXIST.",
            Existing::Role => "The role does already EXIST.",
            Existing::Policy => "The policy does already EXIST.",
            Existing::UserGroup => "The user has already joined the group.",
            Existing::UserPolicy => "The user has already been attached this policy.",
            Existing::GroupPolicy => "The group has already been attached this policy.",
            Existing::RolePolicy => "The role has already been attached this policy.",
            Existing::AccountAlias => "The account alias does already exist.",
        }
    }
}

/// Why a delete was refused (`DeleteConflict.*`, HTTP 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Conflict {
    UserGroup,
    UserAccessKey,
    UserPolicy,
    GroupUser,
    GroupPolicy,
    RolePolicy,
    PolicyUser,
    PolicyGroup,
    /// `DeleteConflict.Policy.Role`: not on Alibaba's list (which names
    /// only users and groups), built the same way for policies attached to
    /// roles.
    PolicyRole,
    /// The policy still has versions besides the default one.
    PolicyVersion,
    /// The default version of a policy cannot be deleted.
    PolicyVersionDefault,
}

impl Conflict {
    fn suffix(self) -> &'static str {
        match self {
            Conflict::UserGroup => "User.Group",
            Conflict::UserAccessKey => "User.AccessKey",
            Conflict::UserPolicy => "User.Policy",
            Conflict::GroupUser => "Group.User",
            Conflict::GroupPolicy => "Group.Policy",
            Conflict::RolePolicy => "Role.Policy",
            Conflict::PolicyUser => "Policy.User",
            Conflict::PolicyGroup => "Policy.Group",
            Conflict::PolicyRole => "Policy.Role",
            Conflict::PolicyVersion => "Policy.Version",
            Conflict::PolicyVersionDefault => "Policy.Version.Default",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Conflict::UserGroup => "The user CAN NOT be in any group while deleting the user.",
            Conflict::UserAccessKey => {
                "The user CAN NOT has any access key while deleting the user."
            }
            Conflict::UserPolicy => {
                "The user CAN NOT has any attached policy while deleting the user."
            }
            Conflict::GroupUser => {
                "The group CAN NOT has any user member while deleting the group."
            }
            Conflict::GroupPolicy => {
                "The entity CAN NOT has any attached policy while deleting the group."
            }
            Conflict::RolePolicy => {
                "The role CAN NOT has any attached policy while deleting the role."
            }
            Conflict::PolicyUser => {
                "The policy CAN NOT been attached to any user while deleting the policy."
            }
            Conflict::PolicyGroup => {
                "The policy CAN NOT been attached to any group while deleting the policy."
            }
            Conflict::PolicyRole => {
                "The policy CAN NOT been attached to any role while deleting the policy."
            }
            Conflict::PolicyVersion => {
                "The policy CAN NOT has any version except the default version."
            }
            Conflict::PolicyVersionDefault => {
                "The default policy version CAN NOT been deleted directly."
            }
        }
    }
}

/// Which limit was reached (`LimitExceeded.*`, HTTP 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    User,
    Group,
    Role,
    Policy,
    PolicyVersion,
    UserAccessKey,
    /// Groups one user may join.
    UserGroup,
    UserPolicy,
    GroupPolicy,
    RolePolicy,
}

impl Limit {
    fn suffix(self) -> &'static str {
        match self {
            Limit::User => "User",
            Limit::Group => "Group",
            Limit::Role => "Role",
            Limit::Policy => "Policy",
            Limit::PolicyVersion => "Policy.Version",
            Limit::UserAccessKey => "User.AccessKey",
            Limit::UserGroup => "User.Group",
            Limit::UserPolicy => "User.Policy",
            Limit::GroupPolicy => "Group.Policy",
            Limit::RolePolicy => "Role.Policy",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Limit::User => "The count of users beyond the current limits.",
            Limit::Group => "The count of groups beyond the current limits.",
            Limit::Role => "The count of roles beyond the current limits.",
            Limit::Policy => "The count of policy beyond the current limits.",
            Limit::PolicyVersion => "The count of policy version beyond the current limits.",
            Limit::UserAccessKey => {
                "The access key count of the user access keys beyond the current limits."
            }
            Limit::UserGroup => {
                "The count of groups the target user joined beyond the current limits."
            }
            Limit::UserPolicy => {
                "The policy count of the user attached policies beyond the current limits."
            }
            Limit::GroupPolicy => "The policy count of the group beyond the current limits.",
            Limit::RolePolicy => {
                "The count of policies attached to the role beyond the current limits."
            }
        }
    }
}

/// What is wrong with a parameter (`InvalidParameter.<Name>[.<Problem>]`, HTTP 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Problem {
    /// `.Length`: empty or longer than allowed.
    Length { min: usize, max: usize },
    /// `.InvalidChars`: a character outside the allowed set.
    InvalidChars,
    /// `.Format`: the value does not have the required shape.
    Format,
    /// `.Range`: a number outside its range.
    Range { min: i64, max: i64 },
    /// No suffix: the value is not one of the allowed words
    /// (`InvalidParameter.PolicyType`).
    Value,
}

/// Every way an operation can fail.
#[derive(Debug, Error)]
pub enum IamError {
    /// A request parameter breaks Alibaba's rules. `param` is the RAM
    /// parameter name as the client sent it (`UserName`, `NewUserName`…).
    #[error("{}", invalid_message(param, problem))]
    InvalidParameter {
        param: &'static str,
        problem: Problem,
    },

    /// A policy document that is not valid RAM policy language; the message
    /// lists every problem with its position.
    #[error("{0}")]
    MalformedPolicyDocument(String),

    /// The caller may not do this (produced by the HTTP layer from a denied
    /// [`crate::Authorization`]; the store itself never says it).
    #[error("You are not authorized to do this action.")]
    NoPermission,

    #[error("{}", .kind.message())]
    EntityNotExist { kind: Missing, name: String },

    #[error("{}", .kind.message())]
    EntityAlreadyExists { kind: Existing, name: String },

    #[error("{}", .kind.message())]
    DeleteConflict { kind: Conflict, name: String },

    #[error("{}", .kind.message())]
    LimitExceeded { kind: Limit, limit: u32 },

    /// Anything that is the server's fault: a database error, a stored
    /// ciphertext that no key opens, a stored policy that no longer parses.
    /// The message never carries the detail (no SQL reaches a client); the
    /// source does, for the server's own logs.
    #[error("An internal error occurred.")]
    Internal {
        context: &'static str,
        #[source]
        source: Option<BoxError>,
    },
}

fn invalid_message(param: &str, problem: &Problem) -> String {
    match problem {
        Problem::Length { min, max } if param == "AccountAlias" => {
            format!("The parameter - \"{param}\" MUST be in the range of {min} and {max}.")
        }
        Problem::Length { .. } => format!("The parameter - \"{param}\" beyond the length limit."),
        Problem::InvalidChars => format!("The parameter - \"{param}\" contains invalid chars."),
        Problem::Format => format!("The format of the parameter - \"{param}\" is incorrect."),
        Problem::Range { min, max } => {
            format!("The parameter - \"{param}\" MUST be in the range of {min} and {max}.")
        }
        Problem::Value => format!("The parameter - \"{param}\" is incorrect."),
    }
}

impl IamError {
    /// Alibaba's `Code` for the error body, e.g. `EntityNotExist.Role`.
    pub fn code(&self) -> Cow<'static, str> {
        match self {
            IamError::InvalidParameter { param, problem } => Cow::Owned(match problem {
                Problem::Length { .. } => format!("InvalidParameter.{param}.Length"),
                Problem::InvalidChars => format!("InvalidParameter.{param}.InvalidChars"),
                Problem::Format => format!("InvalidParameter.{param}.Format"),
                Problem::Range { .. } => format!("InvalidParameter.{param}.Range"),
                Problem::Value => format!("InvalidParameter.{param}"),
            }),
            IamError::MalformedPolicyDocument(_) => Cow::Borrowed("MalformedPolicyDocument"),
            IamError::NoPermission => Cow::Borrowed("NoPermission"),
            IamError::EntityNotExist { kind, .. } => {
                Cow::Owned(format!("EntityNotExist.{}", kind.suffix()))
            }
            IamError::EntityAlreadyExists { kind, .. } => {
                Cow::Owned(format!("EntityAlreadyExists.{}", kind.suffix()))
            }
            IamError::DeleteConflict { kind, .. } => {
                Cow::Owned(format!("DeleteConflict.{}", kind.suffix()))
            }
            IamError::LimitExceeded { kind, .. } => {
                Cow::Owned(format!("LimitExceeded.{}", kind.suffix()))
            }
            IamError::Internal { .. } => Cow::Borrowed("InternalError"),
        }
    }

    /// The HTTP status Alibaba answers with for this code.
    pub fn http_status(&self) -> u16 {
        match self {
            IamError::InvalidParameter { .. } | IamError::MalformedPolicyDocument(_) => 400,
            IamError::NoPermission => 403,
            IamError::EntityNotExist { .. } => 404,
            IamError::EntityAlreadyExists { .. }
            | IamError::DeleteConflict { .. }
            | IamError::LimitExceeded { .. } => 409,
            IamError::Internal { .. } => 500,
        }
    }

    /// The `Message` for the error body (the same text as `Display`).
    pub fn message(&self) -> String {
        self.to_string()
    }

    pub(crate) fn invalid(param: &'static str, problem: Problem) -> IamError {
        IamError::InvalidParameter { param, problem }
    }

    pub(crate) fn missing(kind: Missing, name: impl fmt::Display) -> IamError {
        IamError::EntityNotExist {
            kind,
            name: name.to_string(),
        }
    }

    pub(crate) fn exists(kind: Existing, name: impl fmt::Display) -> IamError {
        IamError::EntityAlreadyExists {
            kind,
            name: name.to_string(),
        }
    }

    pub(crate) fn conflict(kind: Conflict, name: impl fmt::Display) -> IamError {
        IamError::DeleteConflict {
            kind,
            name: name.to_string(),
        }
    }

    pub(crate) fn limit(kind: Limit, limit: u32) -> IamError {
        IamError::LimitExceeded { kind, limit }
    }

    pub(crate) fn internal(context: &'static str) -> IamError {
        IamError::Internal {
            context,
            source: None,
        }
    }

    pub(crate) fn internal_from(
        context: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> IamError {
        IamError::Internal {
            context,
            source: Some(Box::new(source)),
        }
    }
}

impl From<sqlx::Error> for IamError {
    fn from(e: sqlx::Error) -> IamError {
        IamError::internal_from("database", e)
    }
}

/// True when a database error is a unique-constraint violation: a racing
/// writer created the same name first.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_statuses_and_messages() {
        let e = IamError::missing(Missing::Role, "admin");
        assert_eq!(e.code(), "EntityNotExist.Role");
        assert_eq!(e.http_status(), 404);
        assert_eq!(e.message(), "The role does not exist.");

        let e = IamError::invalid("UserName", Problem::InvalidChars);
        assert_eq!(e.code(), "InvalidParameter.UserName.InvalidChars");
        assert_eq!(e.http_status(), 400);
        assert_eq!(
            e.message(),
            "The parameter - \"UserName\" contains invalid chars."
        );

        let e = IamError::conflict(Conflict::UserAccessKey, "alice");
        assert_eq!(e.code(), "DeleteConflict.User.AccessKey");
        assert_eq!(e.http_status(), 409);

        let e = IamError::limit(Limit::UserAccessKey, 2);
        assert_eq!(e.code(), "LimitExceeded.User.AccessKey");

        let e = IamError::invalid("PolicyType", Problem::Value);
        assert_eq!(e.code(), "InvalidParameter.PolicyType");
        assert_eq!(e.message(), "The parameter - \"PolicyType\" is incorrect.");

        let e = IamError::exists(Existing::Role, "r");
        assert_eq!(e.message(), "The role does already EXIST.");
        assert_eq!(e.code(), "EntityAlreadyExists.Role");
    }

    #[test]
    fn internal_errors_do_not_leak_their_source() {
        let source = std::io::Error::other("SELECT secret FROM access_keys failed");
        let e = IamError::internal_from("database", source);
        assert_eq!(e.code(), "InternalError");
        assert_eq!(e.http_status(), 500);
        assert_eq!(e.message(), "An internal error occurred.");
        assert!(!e.message().contains("SELECT"));
    }
}
