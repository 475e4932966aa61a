//! AssumeRole: may this caller become this role, for how long, and with
//! which credentials?
//!
//! The checks run in a fixed order, and the first that fails answers:
//!
//! 1. the caller is authenticated (done by the HTTP layer before);
//! 2. root keys are refused (`NoPermission`, "Roles may not be assumed by
//!    root accounts.");
//! 3. the role exists (`EntityNotExist.Role`, 404);
//! 4. the role's trust policy admits the caller (`policy::decide_trust`,
//!    with `sts:ExternalId`, `sts:SourceIdentity` and the request's own
//!    keys such as `acs:SourceIp`), else `NoPermission`;
//! 5. a RAM user or role session also needs its own policies to allow
//!    `sts:AssumeRole` on the role's ARN (for a role session: its role's
//!    policies narrowed by its session policy); trust alone is not enough.
//!    A service acting for an account needs only the trust policy, which
//!    names it;
//! 6. the chain: at most [`MAX_CHAIN_DEPTH`] role sessions from the
//!    original principal (`InvalidParameter.RoleChain`), and a source
//!    identity set earlier in the chain cannot change
//!    (`InvalidParameter.SourceIdentity`);
//! 7. the duration: 900 s up to the role's `MaxSessionDuration` (default
//!    3600 s), and at most 3600 s for a session opened by a role session
//!    (`InvalidParameter.DurationSeconds`);
//! 8. the credentials are issued; nothing is written. A session issued in
//!    the second a revocation stamped (`revoked_before` = now + 1) counts
//!    as issued at the stamp, so it is not refused by the revocation it
//!    followed.
//!
//! Checks that only concern well-authorized callers (chain, duration) come
//! after the authorization checks, so a caller that may not assume a role
//! learns nothing about it beyond `NoPermission`.

use std::borrow::Cow;

use auth::{KeyRing, Timestamp};
use policy::{keys, Context, Outcome, Request};
use serde::Serialize;
use thiserror::Error;

use crate::claims::{Claims, Origin};
use crate::encode::base62_16;
use crate::error::{WireError, INTERNAL_MESSAGE, NO_PERMISSION_MESSAGE, ROOT_MESSAGE};
use crate::params::{AssumeRoleRequest, ParamError, DEFAULT_DURATION_SECONDS};
use crate::session::SessionRights;
use crate::store::{Caller, IdentityVerdict, RoleRecord, StoreFailure, StsStore};
use crate::token::{issue, Credentials, IssueError};

/// The action trust and identity policies are asked about.
pub const ASSUME_ROLE_ACTION: &str = "sts:AssumeRole";

/// Most role sessions a chain may hold, counted from the original
/// principal: user → role 1 → … → role 5. Alibaba documents no limit;
/// this one bounds the token's size and the audit trail, and is far above
/// any chain the scenarios need (two hops).
pub const MAX_CHAIN_DEPTH: usize = 5;

/// Longest session opened by a role session (role chaining), whatever the
/// role's `MaxSessionDuration`: a chain cannot stretch itself.
pub const CHAINED_MAX_DURATION_SECONDS: i64 = 3600;

/// Longest session RAM lets a role allow (`MaxSessionDuration` ≤ 43200).
pub const MAX_ROLE_SESSION_SECONDS: i64 = 43_200;

/// `AssumedRoleUser` of the response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssumedRoleUser {
    /// `acs:ram::ACCOUNT:role/ROLE/SESSION`, role name lower-cased.
    #[serde(rename = "Arn")]
    pub arn: String,
    /// `ROLEID:SESSION`.
    #[serde(rename = "AssumedRoleId")]
    pub assumed_role_id: String,
}

/// AssumeRole's answer, without `RequestId` (the HTTP layer adds it):
/// `{"SourceIdentity"?, "AssumedRoleUser": {…}, "Credentials": {…}}`.
#[derive(Debug, Clone, Serialize)]
pub struct AssumeRoleResponse {
    /// Only when the session has one.
    #[serde(rename = "SourceIdentity", skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    #[serde(rename = "AssumedRoleUser")]
    pub assumed_role_user: AssumedRoleUser,
    #[serde(rename = "Credentials")]
    pub credentials: Credentials,
}

/// What an allowed AssumeRole produced: the answer, and what the audit log
/// records about it.
#[derive(Debug, Clone)]
pub struct AssumeRoleOutcome {
    pub response: AssumeRoleResponse,
    /// The new session (its chain, session id, expiry).
    pub claims: Claims,
    /// The index of the trust-policy statement that admitted the caller.
    pub trust_statement: Option<usize>,
    /// The caller's identity-policy verdict; `None` for a service.
    pub identity: Option<IdentityVerdict>,
}

/// Why AssumeRole refused.
#[derive(Debug, Error)]
pub enum AssumeRoleError {
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error("{ROOT_MESSAGE}")]
    RootCaller,
    #[error("The specified Role not exists.")]
    RoleNotFound { role_arn: String },
    /// The trust policy does not name the caller (or a Deny in it does).
    #[error("{NO_PERMISSION_MESSAGE}")]
    TrustDenied {
        role_arn: String,
        caller: String,
        outcome: Outcome,
        statement: Option<usize>,
    },
    /// The caller's own policies (or its session policy) do not allow
    /// `sts:AssumeRole` on the role.
    #[error("{NO_PERMISSION_MESSAGE}")]
    IdentityDenied {
        role_arn: String,
        caller: String,
        outcome: Outcome,
        /// The deciding statement (identity layer), when one decided.
        deciding: Option<String>,
        /// The caller's session policy is what refused.
        by_session_policy: bool,
    },
    #[error("The role chain would hold {depth} role sessions; at most {max} are allowed.")]
    ChainTooLong { depth: usize, max: usize },
    #[error("The parameter SourceIdentity cannot change within a role chain.")]
    SourceIdentityChanged { current: String, requested: String },
    /// A stored trust policy (or a sealed session policy) no longer parses.
    #[error("{INTERNAL_MESSAGE}")]
    PolicyUnreadable { what: String, problems: String },
    #[error("{INTERNAL_MESSAGE}")]
    Store(#[source] StoreFailure),
    #[error("{INTERNAL_MESSAGE}")]
    Issue(#[from] IssueError),
}

impl WireError for AssumeRoleError {
    fn code(&self) -> Cow<'static, str> {
        match self {
            AssumeRoleError::Param(e) => e.code(),
            AssumeRoleError::RootCaller
            | AssumeRoleError::TrustDenied { .. }
            | AssumeRoleError::IdentityDenied { .. } => Cow::Borrowed("NoPermission"),
            AssumeRoleError::RoleNotFound { .. } => Cow::Borrowed("EntityNotExist.Role"),
            AssumeRoleError::ChainTooLong { .. } => Cow::Borrowed("InvalidParameter.RoleChain"),
            AssumeRoleError::SourceIdentityChanged { .. } => {
                Cow::Borrowed("InvalidParameter.SourceIdentity")
            }
            AssumeRoleError::PolicyUnreadable { .. }
            | AssumeRoleError::Store(_)
            | AssumeRoleError::Issue(_) => Cow::Borrowed("InternalError"),
        }
    }

    fn http_status(&self) -> u16 {
        match self {
            AssumeRoleError::Param(e) => e.http_status(),
            AssumeRoleError::RootCaller
            | AssumeRoleError::TrustDenied { .. }
            | AssumeRoleError::IdentityDenied { .. } => 403,
            AssumeRoleError::RoleNotFound { .. } => 404,
            AssumeRoleError::ChainTooLong { .. }
            | AssumeRoleError::SourceIdentityChanged { .. } => 400,
            AssumeRoleError::PolicyUnreadable { .. }
            | AssumeRoleError::Store(_)
            | AssumeRoleError::Issue(_) => 500,
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            AssumeRoleError::Param(e) => e.detail(),
            AssumeRoleError::RootCaller => None,
            AssumeRoleError::RoleNotFound { role_arn } => {
                Some(format!("{role_arn} does not exist"))
            }
            AssumeRoleError::TrustDenied {
                role_arn,
                caller,
                outcome,
                statement,
            } => Some(match statement {
                Some(i) => format!(
                    "the trust policy of {role_arn} denies {caller} (Statement[{i}], {})",
                    outcome.as_str()
                ),
                None => format!("the trust policy of {role_arn} does not name {caller}"),
            }),
            AssumeRoleError::IdentityDenied {
                role_arn,
                caller,
                outcome,
                deciding,
                by_session_policy,
            } => Some(format!(
                "{} of {caller} {} sts:AssumeRole on {role_arn}{}",
                if *by_session_policy {
                    "the session policy"
                } else {
                    "the policies"
                },
                match outcome {
                    Outcome::ExplicitDeny => "deny",
                    _ => "do not allow",
                },
                deciding
                    .as_ref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            )),
            AssumeRoleError::ChainTooLong { .. }
            | AssumeRoleError::SourceIdentityChanged { .. } => Some(self.to_string()),
            AssumeRoleError::PolicyUnreadable { what, problems } => {
                Some(format!("{what} no longer parses: {problems}"))
            }
            AssumeRoleError::Store(e) => Some(format!("store: {e}")),
            AssumeRoleError::Issue(e) => Some(e.to_string()),
        }
    }
}

/// A fresh session id: 22 random base62 characters.
pub fn new_session_id() -> String {
    // The thread's CSPRNG (ChaCha12, seeded and reseeded from the OS):
    // a system call per session cost more than the rest of the id.
    let mut bytes = [0u8; 16];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
    base62_16(bytes)
}

/// When a session issued at `now` counts as issued, given its role's
/// revocation stamp.
///
/// A revocation stamps the role with "issued before the next second"
/// (`revoked_before` = now + 1): a session issued in that same second,
/// after the revocation, would be refused at once. Such a session counts as
/// issued at the stamp. Only that one second is bridged: a stamp further
/// ahead (a clock stepped back) keeps refusing, as revocation promises.
pub fn issue_time(now: Timestamp, revoked_before: Option<Timestamp>) -> Timestamp {
    match revoked_before {
        Some(stamp)
            if stamp > now && stamp.unix_seconds().saturating_sub(now.unix_seconds()) <= 1 =>
        {
            stamp
        }
        _ => now,
    }
}

/// Decides AssumeRole for `caller` and, when allowed, issues the session.
///
/// `context` holds the request's own condition keys (`acs:SourceIp`,
/// `acs:CurrentTime`, `acs:SecureTransport`, `acs:AccessId`,
/// `acs:PrincipalARN`…), as the HTTP layer fills them for every decision;
/// `sts:ExternalId` and `sts:SourceIdentity` are added here. `now` is the
/// server's clock: the session is issued at `now` and expires
/// `DurationSeconds` later.
pub async fn assume_role<S: StsStore>(
    store: &S,
    caller: &Caller<'_>,
    request: &AssumeRoleRequest,
    context: &Context,
    ring: &KeyRing,
    now: Timestamp,
) -> Result<AssumeRoleOutcome, AssumeRoleError> {
    if let Caller::Root { .. } = caller {
        return Err(AssumeRoleError::RootCaller);
    }
    let role_arn = request.role_arn();
    let role = store
        .role(&request.role_account, &request.role_name)
        .await
        .map_err(|e| AssumeRoleError::Store(Box::new(e)))?
        .ok_or_else(|| AssumeRoleError::RoleNotFound {
            role_arn: role_arn.clone(),
        })?;

    // The source identity the new session will carry: set once, at the
    // start of the chain.
    let inherited = match caller {
        Caller::Session(claims) => claims.source_identity.as_deref(),
        _ => None,
    };
    let source_identity = request.source_identity.as_deref().or(inherited);
    let mut context = context.clone();
    if let Some(external_id) = &request.external_id {
        context.set(keys::EXTERNAL_ID, external_id.as_str());
    }
    if let Some(source_identity) = source_identity {
        context.set(keys::SOURCE_IDENTITY, source_identity);
    }

    let parsed = store.parsed_trust_policy(&role);
    let trust_statement = check_trust(&role, parsed.as_deref(), &role_arn, caller, &context)?;
    let identity = check_identity(store, caller, &role_arn, &context).await?;

    let chained = matches!(caller, Caller::Session(_));
    if let Caller::Session(claims) = caller {
        let depth = claims.chain_depth().saturating_add(1);
        if depth > MAX_CHAIN_DEPTH {
            return Err(AssumeRoleError::ChainTooLong {
                depth,
                max: MAX_CHAIN_DEPTH,
            });
        }
        if let (Some(current), Some(requested)) = (inherited, request.source_identity.as_deref()) {
            if current != requested {
                return Err(AssumeRoleError::SourceIdentityChanged {
                    current: current.to_string(),
                    requested: requested.to_string(),
                });
            }
        }
    }

    let mut max = role.max_session_duration.min(MAX_ROLE_SESSION_SECONDS);
    if chained {
        max = max.min(CHAINED_MAX_DURATION_SECONDS);
    }
    let duration = request
        .duration_seconds
        .unwrap_or_else(|| DEFAULT_DURATION_SECONDS.min(max));
    if duration > max {
        return Err(ParamError::DurationSeconds { max, chained }.into());
    }

    let (origin, hops) = match caller {
        Caller::User {
            account,
            user_id,
            name,
        } => (
            Origin::User {
                account: (*account).to_string(),
                user_id: (*user_id).to_string(),
                name: (*name).to_string(),
            },
            Vec::new(),
        ),
        Caller::Service { name, acting_for } => (
            Origin::Service {
                name: (*name).to_string(),
                acting_for: (*acting_for).to_string(),
            },
            Vec::new(),
        ),
        Caller::Session(claims) => {
            let mut hops = claims.hops.clone();
            hops.push(claims.as_hop());
            (claims.origin.clone(), hops)
        }
        Caller::Root { .. } => return Err(AssumeRoleError::RootCaller),
    };
    let issued_at = issue_time(now, role.revoked_before);
    let claims = Claims {
        account: role.account.clone(),
        role_id: role.role_id.clone(),
        role_name: role.name.clone(),
        session_name: request.session_name.clone(),
        origin,
        hops,
        session_policy: request.policy.as_ref().map(|p| p.text().to_string()),
        source_identity: source_identity.map(str::to_string),
        issued_at,
        expires_at: Timestamp::from_unix_seconds(issued_at.unix_seconds().saturating_add(duration)),
        session_id: new_session_id(),
    };
    let credentials = issue(&claims, ring)?;
    let response = AssumeRoleResponse {
        source_identity: claims.source_identity.clone(),
        assumed_role_user: AssumedRoleUser {
            arn: claims.session_arn(),
            assumed_role_id: claims.assumed_role_id(),
        },
        credentials,
    };
    Ok(AssumeRoleOutcome {
        response,
        claims,
        trust_statement,
        identity,
    })
}

fn check_trust(
    role: &RoleRecord,
    parsed: Option<&policy::Policy>,
    role_arn: &str,
    caller: &Caller<'_>,
    context: &Context,
) -> Result<Option<usize>, AssumeRoleError> {
    let fresh;
    let trust = match parsed {
        Some(trust) => trust,
        None => {
            fresh = policy::Policy::parse(&role.trust_policy, policy::PolicyKind::Trust).map_err(
                |e| AssumeRoleError::PolicyUnreadable {
                    what: format!("the trust policy of {role_arn}"),
                    problems: e.to_string(),
                },
            )?;
            &fresh
        }
    };
    let decision = policy::decide_trust(
        trust,
        &role.account,
        &caller.trust_caller(),
        ASSUME_ROLE_ACTION,
        context,
    );
    let statement = decision.deciding.map(|r| r.statement);
    if decision.is_allowed() {
        Ok(statement)
    } else {
        Err(AssumeRoleError::TrustDenied {
            role_arn: role_arn.to_string(),
            caller: caller.arn(),
            outcome: decision.outcome,
            statement,
        })
    }
}

async fn check_identity<S: StsStore>(
    store: &S,
    caller: &Caller<'_>,
    role_arn: &str,
    context: &Context,
) -> Result<Option<IdentityVerdict>, AssumeRoleError> {
    let narrowing = match caller {
        Caller::User { .. } => SessionRights::default(),
        Caller::Session(claims) => {
            SessionRights::of(claims).map_err(|_| AssumeRoleError::PolicyUnreadable {
                what: format!("the session policy of {}", claims.session_arn()),
                problems: "sealed session policy does not parse".into(),
            })?
        }
        Caller::Service { .. } | Caller::Root { .. } => return Ok(None),
    };
    let verdict = store
        .identity_allows(caller, role_arn, context)
        .await
        .map_err(|e| AssumeRoleError::Store(Box::new(e)))?;
    let resources = [role_arn];
    let request = Request {
        action: ASSUME_ROLE_ACTION,
        resources: &resources,
        context,
    };
    let decision = narrowing.narrow(verdict.decision, &request);
    if decision.is_allowed() {
        return Ok(Some(verdict));
    }
    let by_session_policy =
        decision.deciding.is_some_and(|r| r.layer == 1) || decision.missing_allow_in == Some(1);
    Err(AssumeRoleError::IdentityDenied {
        role_arn: role_arn.to_string(),
        caller: caller.arn(),
        outcome: decision.outcome,
        deciding: if by_session_policy {
            None
        } else {
            verdict.deciding
        },
        by_session_policy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_statuses_and_messages() {
        let cases: Vec<(AssumeRoleError, &str, u16, &str)> = vec![
            (
                AssumeRoleError::RootCaller,
                "NoPermission",
                403,
                "Roles may not be assumed by root accounts.",
            ),
            (
                AssumeRoleError::RoleNotFound {
                    role_arn: "acs:ram::1:role/x".into(),
                },
                "EntityNotExist.Role",
                404,
                "The specified Role not exists.",
            ),
            (
                AssumeRoleError::TrustDenied {
                    role_arn: "acs:ram::1:role/x".into(),
                    caller: "acs:ram::2:user/u".into(),
                    outcome: Outcome::ImplicitDeny,
                    statement: None,
                },
                "NoPermission",
                403,
                NO_PERMISSION_MESSAGE,
            ),
            (
                AssumeRoleError::ChainTooLong { depth: 6, max: 5 },
                "InvalidParameter.RoleChain",
                400,
                "The role chain would hold 6 role sessions; at most 5 are allowed.",
            ),
            (
                AssumeRoleError::Param(ParamError::DurationSeconds {
                    max: 43_200,
                    chained: false,
                }),
                "InvalidParameter.DurationSeconds",
                400,
                "The Min/Max value of DurationSeconds is 15min/12hr.",
            ),
            (
                AssumeRoleError::Issue(IssueError::Encode),
                "InternalError",
                500,
                "STS Server Internal Error happened.",
            ),
        ];
        for (err, code, status, message) in cases {
            assert_eq!(err.code(), code);
            assert_eq!(err.http_status(), status);
            assert_eq!(err.message(), message);
        }
        let denied = AssumeRoleError::TrustDenied {
            role_arn: "acs:ram::1:role/x".into(),
            caller: "acs:ram::2:user/u".into(),
            outcome: Outcome::ImplicitDeny,
            statement: None,
        };
        assert_eq!(
            denied.detail().unwrap(),
            "the trust policy of acs:ram::1:role/x does not name acs:ram::2:user/u"
        );
    }
}
