//! A session at request time: is it still valid, and what may it do?
//!
//! A token that verifies proves what was true when it was issued. Whether
//! it still counts is decided on every request (DESIGN.md, decision 1):
//!
//! * the role must still exist, and be the same role (a role deleted and
//!   re-created under the same name has a new id and does not inherit the
//!   old one's sessions);
//! * the role's revoked-before stamp, when set, must not be later than the
//!   session's issue time;
//! * a chain started by a RAM user ends when that user is deleted.
//!
//! Intermediate roles of a chain are not consulted: each hop was checked
//! when it was taken, and the session's rights come from its own role
//! only.
//!
//! What a valid session may do is its role's *current* policies narrowed
//! by the session policy sealed in its token: `policy::decide` over two
//! layers, where every layer must allow and a Deny in either wins.

use std::borrow::Cow;
use std::sync::Arc;

use auth::Timestamp;
use policy::{Decision, Outcome, Policy, PolicyId, PolicyKind, PolicySet, Request, StatementRef};
use thiserror::Error;

use crate::claims::{Claims, Origin};
use crate::error::{WireError, INTERNAL_MESSAGE};
use crate::store::{StoreFailure, StsStore};
use crate::token::StsTokenError;

/// Why a session that verified no longer counts.
#[derive(Debug, Error)]
pub enum SessionError {
    #[error("Specified SecurityToken is expired.")]
    Expired { expired_at: Timestamp },
    /// The role is gone (or was re-created: another id).
    #[error("Specified SecurityToken is no longer valid: its role no longer exists.")]
    RoleDeleted { role_arn: String },
    /// The role's sessions were revoked after this one was issued.
    #[error("Specified SecurityToken is no longer valid: the role's sessions were revoked.")]
    Revoked {
        role_arn: String,
        revoked_before: Timestamp,
        issued_at: Timestamp,
    },
    /// The RAM user that started the chain was deleted.
    #[error("Specified SecurityToken is no longer valid: the user who started the session no longer exists.")]
    OriginDeleted { origin: String },
    #[error("{INTERNAL_MESSAGE}")]
    Store(#[source] StoreFailure),
}

impl WireError for SessionError {
    /// Revocation answers as expiry does (`InvalidSecurityToken.Expired`,
    /// 400): Alibaba documents no code of its own for it, and to the
    /// holder the effect is the same, get new credentials. The message
    /// says which.
    fn code(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            SessionError::Store(_) => "InternalError",
            _ => "InvalidSecurityToken.Expired",
        })
    }

    fn http_status(&self) -> u16 {
        match self {
            SessionError::Store(_) => 500,
            _ => 400,
        }
    }

    fn detail(&self) -> Option<String> {
        Some(match self {
            SessionError::Expired { expired_at } => format!("expired at {expired_at}"),
            SessionError::RoleDeleted { role_arn } => format!("{role_arn} no longer exists"),
            SessionError::Revoked {
                role_arn,
                revoked_before,
                issued_at,
            } => format!(
                "sessions of {role_arn} issued before {revoked_before} are revoked; this one was issued at {issued_at}"
            ),
            SessionError::OriginDeleted { origin } => format!("{origin} no longer exists"),
            SessionError::Store(e) => format!("store: {e}"),
        })
    }
}

/// Whether a verified session still counts at `now` (see the module
/// documentation). Call it on every request made with temporary
/// credentials, after [`crate::verify`] and before authorizing.
pub async fn session_still_valid<S: StsStore>(
    store: &S,
    claims: &Claims,
    now: Timestamp,
) -> Result<(), SessionError> {
    if now >= claims.expires_at {
        return Err(SessionError::Expired {
            expired_at: claims.expires_at,
        });
    }
    let failure = |e: S::Error| SessionError::Store(Box::new(e));
    let role = store
        .role(&claims.account, &claims.role_name)
        .await
        .map_err(failure)?;
    let role = match role {
        Some(role) if role.role_id == claims.role_id => role,
        _ => {
            return Err(SessionError::RoleDeleted {
                role_arn: claims.role_arn(),
            })
        }
    };
    if let Some(revoked_before) = role.revoked_before {
        if revoked_before > claims.issued_at {
            return Err(SessionError::Revoked {
                role_arn: claims.role_arn(),
                revoked_before,
                issued_at: claims.issued_at,
            });
        }
    }
    // The hook for "the originating user no longer exists". A service
    // acting for an account is not stored, so there is nothing to check.
    match &claims.origin {
        Origin::User {
            account, user_id, ..
        } => {
            if !store.user_exists(account, user_id).await.map_err(failure)? {
                return Err(SessionError::OriginDeleted {
                    origin: claims.origin.arn(),
                });
            }
        }
        Origin::Service { .. } => {}
    }
    Ok(())
}

/// The name session policies carry in decisions and explanations.
pub const SESSION_POLICY_NAME: &str = "SessionPolicy";

/// A session's own narrowing: its session policy, compiled once per
/// request (or cached by the caller per token).
#[derive(Debug, Clone, Default)]
pub struct SessionRights {
    session: Option<PolicySet>,
}

impl SessionRights {
    /// Compiles the session policy sealed in `claims`. It was checked when
    /// the session was issued; if it no longer reads (a newer policy
    /// grammar), the token is refused rather than the narrowing dropped.
    pub fn of(claims: &Claims) -> Result<SessionRights, StsTokenError> {
        let session = match &claims.session_policy {
            None => None,
            Some(text) => {
                let policy = Policy::parse(text, PolicyKind::Session).map_err(|_| {
                    StsTokenError::Malformed {
                        reason: "the sealed session policy no longer parses",
                    }
                })?;
                Some(session_set(Arc::new(policy)))
            }
        };
        Ok(SessionRights { session })
    }

    /// Rights narrowed by an already compiled session policy.
    pub fn from_policy(policy: Option<Arc<Policy>>) -> SessionRights {
        SessionRights {
            session: policy.map(session_set),
        }
    }

    /// The compiled session policy (layer 1), if the session has one.
    pub fn session_policy(&self) -> Option<&PolicySet> {
        self.session.as_ref()
    }

    /// Decides a request of the session: the role's current policies as
    /// layer 0, the session policy as layer 1.
    pub fn decide(&self, role_policies: &PolicySet, request: &Request<'_>) -> Decision {
        match &self.session {
            Some(session) => policy::decide(&[role_policies, session], request),
            None => policy::decide(&[role_policies], request),
        }
    }

    /// Narrows a layer-0 decision made elsewhere (such as
    /// `iam::Store::authorize` for the role, which also applies the account
    /// boundary) by the session policy. The result is what [`decide`]
    /// would give over both layers: a Deny in either wins, both must allow.
    ///
    /// [`decide`]: SessionRights::decide
    pub fn narrow(&self, identity: Decision, request: &Request<'_>) -> Decision {
        let Some(session) = &self.session else {
            return identity;
        };
        if identity.outcome == Outcome::ExplicitDeny {
            return identity;
        }
        let own = policy::decide(&[session], request);
        let relayer = |r: StatementRef| StatementRef { layer: 1, ..r };
        match (identity.outcome, own.outcome) {
            (_, Outcome::ExplicitDeny) => Decision {
                deciding: own.deciding.map(relayer),
                ..own
            },
            (Outcome::Allow, Outcome::Allow) => identity,
            (Outcome::Allow, _) => Decision {
                outcome: Outcome::ImplicitDeny,
                deciding: None,
                missing_allow_in: Some(1),
            },
            _ => Decision {
                outcome: Outcome::ImplicitDeny,
                deciding: None,
                missing_allow_in: Some(0),
            },
        }
    }
}

fn session_set(policy: Arc<Policy>) -> PolicySet {
    PolicySet::new([(PolicyId::new(SESSION_POLICY_NAME, ""), policy)])
}

#[cfg(test)]
mod tests {
    use policy::Context;

    use super::*;

    fn set(text: &str) -> PolicySet {
        PolicySet::new([(
            PolicyId::new("p", "v1"),
            Arc::new(Policy::parse(text, PolicyKind::Permission).unwrap()),
        )])
    }

    fn rights(text: &str) -> SessionRights {
        SessionRights::from_policy(Some(Arc::new(
            Policy::parse(text, PolicyKind::Session).unwrap(),
        )))
    }

    const ALLOW_FC: &str =
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"fc:*","Resource":"*"}]}"#;
    const ALLOW_LIST: &str =
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"fc:List*","Resource":"*"}]}"#;
    const DENY_LIST: &str =
        r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"fc:List*","Resource":"*"}]}"#;

    fn request<'a>(action: &'a str, ctx: &'a Context) -> Request<'a> {
        Request {
            action,
            resources: &["acs:fc:cn-hangzhou:1:services/s"],
            context: ctx,
        }
    }

    #[test]
    fn a_session_policy_only_narrows() {
        let ctx = Context::new();
        let role = set(ALLOW_FC);
        let none = SessionRights::default();
        assert!(none
            .decide(&role, &request("fc:UpdateService", &ctx))
            .is_allowed());
        let narrowed = rights(ALLOW_LIST);
        assert!(narrowed
            .decide(&role, &request("fc:ListServices", &ctx))
            .is_allowed());
        let d = narrowed.decide(&role, &request("fc:UpdateService", &ctx));
        assert_eq!(d.outcome, Outcome::ImplicitDeny);
        assert_eq!(d.missing_allow_in, Some(1));
        // The session policy cannot widen: the role allows nothing of ram.
        let wide = rights(
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        );
        assert!(!wide
            .decide(&role, &request("ram:CreateUser", &ctx))
            .is_allowed());
        let deny = rights(DENY_LIST);
        let d = deny.decide(&role, &request("fc:ListServices", &ctx));
        assert_eq!(d.outcome, Outcome::ExplicitDeny);
        assert_eq!(d.deciding.unwrap().layer, 1);
    }

    #[test]
    fn narrow_matches_two_layer_decide() {
        let ctx = Context::new();
        for role in [ALLOW_FC, ALLOW_LIST, DENY_LIST] {
            for session in [ALLOW_FC, ALLOW_LIST, DENY_LIST] {
                for action in ["fc:ListServices", "fc:UpdateService", "oss:GetObject"] {
                    let role = set(role);
                    let rights = rights(session);
                    let r = request(action, &ctx);
                    let layered = rights.decide(&role, &r);
                    let narrowed = rights.narrow(policy::decide(&[&role], &r), &r);
                    assert_eq!(narrowed, layered, "{session} / {action}");
                }
            }
        }
    }

    #[test]
    fn sealed_policies_compile_from_claims() {
        let mut claims = crate::claims::tests::sample();
        claims.session_policy = Some(ALLOW_LIST.into());
        let rights = SessionRights::of(&claims).unwrap();
        assert_eq!(rights.session_policy().unwrap().len(), 1);
        claims.session_policy = Some(r#"{"Version":"1"}"#.into());
        assert_eq!(
            SessionRights::of(&claims).unwrap_err().code(),
            "InvalidSecurityToken.Malformed"
        );
        claims.session_policy = None;
        assert!(SessionRights::of(&claims)
            .unwrap()
            .session_policy()
            .is_none());
    }
}
