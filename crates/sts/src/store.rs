//! What STS needs to know that only the store knows, as a small trait.
//!
//! STS does not depend on `iam`: the three questions below are all it
//! asks, and answering them is a few lines over `iam::Store` in the HTTP
//! layer (a newtype around `&iam::Store`, since neither the trait nor the
//! store belongs to the server crate). Keeping the trait here keeps this
//! crate pure and fast to build, and lets the decision be tested against an
//! in-memory fake with no database.

use std::future::Future;
use std::sync::Arc;

use auth::Timestamp;
use policy::{Context, Decision};

use crate::claims::Claims;

/// Who is calling AssumeRole, as authenticated by the HTTP layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller<'a> {
    /// An account's root keys (refused: roles are not assumed by root).
    Root { account: &'a str },
    /// A RAM user's long-term keys.
    User {
        account: &'a str,
        user_id: &'a str,
        name: &'a str,
    },
    /// Temporary credentials of a role session (role chaining). The claims
    /// come from [`crate::verify`], and the session must have passed
    /// [`crate::session_still_valid`].
    Session(&'a Claims),
    /// A platform service (`sae.aliyuncs.com`) acting for an account.
    Service { name: &'a str, acting_for: &'a str },
}

impl Caller<'_> {
    /// The account the caller belongs to or acts for.
    pub fn account(&self) -> &str {
        match self {
            Caller::Root { account } | Caller::User { account, .. } => account,
            Caller::Session(claims) => &claims.account,
            Caller::Service { acting_for, .. } => acting_for,
        }
    }

    /// How the audit log names the caller.
    pub fn arn(&self) -> String {
        match self {
            Caller::Root { account } => policy::Entity::root(account).to_string(),
            Caller::User { account, name, .. } => policy::Entity::user(account, name).to_string(),
            Caller::Session(claims) => claims.session_arn(),
            Caller::Service { name, acting_for } => format!("{acting_for}@{name}"),
        }
    }

    /// The caller as trust policies see it.
    pub(crate) fn trust_caller(&self) -> policy::Caller<'_> {
        match self {
            Caller::Root { account } => policy::Caller::Root { account },
            Caller::User { account, name, .. } => policy::Caller::User { account, name },
            Caller::Session(claims) => policy::Caller::RoleSession {
                account: &claims.account,
                role: &claims.role_name,
            },
            Caller::Service { name, acting_for } => policy::Caller::Service { name, acting_for },
        }
    }
}

/// A role, as AssumeRole and the request-time checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRecord {
    pub account: String,
    pub role_id: String,
    /// As created (case kept).
    pub name: String,
    /// The trust policy (`AssumeRolePolicyDocument`) as stored.
    pub trust_policy: String,
    /// `MaxSessionDuration`, seconds (3600–43200).
    pub max_session_duration: i64,
    /// Sessions issued before this instant are invalid: set when an
    /// administrator revokes the role's sessions. `None`: never revoked.
    pub revoked_before: Option<Timestamp>,
}

/// The caller's own policies on `sts:AssumeRole` for one role ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityVerdict {
    /// The decision of the caller's identity policies alone (layer 0): for
    /// a role session, its role's policies, without the session policy.
    pub decision: Decision,
    /// The statement that decided, as the audit log should name it
    /// (`Custom:AssumeAny:v1:Statement[0]`), when one did.
    pub deciding: Option<String>,
}

/// The store's side of STS. Every method may fail (the database is down);
/// the failure becomes `InternalError` and nothing is issued.
pub trait StsStore: Sync {
    type Error: std::error::Error + Send + Sync + 'static;

    /// The role `name` of `account`, with role names compared without
    /// regard to case as RAM does; `None` when there is none.
    fn role(
        &self,
        account: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<RoleRecord>, Self::Error>> + Send;

    /// Whether the caller's identity policies allow `sts:AssumeRole` on
    /// `role_arn` (`acs:ram::ACCOUNT:role/lowercased-name`) with the
    /// request's `context`: `iam::Store::authorize` for a RAM user, or for
    /// the role of a role session. Only ever asked for [`Caller::User`] and
    /// [`Caller::Session`]. Must not apply a session policy: STS applies
    /// the caller's session policy on top of this answer itself.
    fn identity_allows(
        &self,
        caller: &Caller<'_>,
        role_arn: &str,
        context: &Context,
    ) -> impl Future<Output = Result<IdentityVerdict, Self::Error>> + Send;

    /// Whether the RAM user with this id still exists in `account`: a
    /// chain started by a user ends when the user is deleted.
    fn user_exists(
        &self,
        account: &str,
        user_id: &str,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// The role's trust policy already parsed, if the store keeps parsed
    /// ones (a cache keyed by the text); `None` makes STS parse
    /// `role.trust_policy` itself, which is also how a policy that no
    /// longer parses is reported.
    fn parsed_trust_policy(&self, role: &RoleRecord) -> Option<Arc<policy::Policy>> {
        let _ = role;
        None
    }
}

/// A store failure, kept for the server's logs.
pub type StoreFailure = Box<dyn std::error::Error + Send + Sync + 'static>;
