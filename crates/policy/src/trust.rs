//! Trust policies: may this caller assume this role?
//!
//! Principal matching follows Alibaba's rules:
//! - `RAM: acs:ram::A:root` admits A's root and every user and role session
//!   of A (each still needs `sts:AssumeRole` in its own policies — that is
//!   the identity check, done by the caller of this module);
//! - `RAM: acs:ram::A:user/N` and `acs:ram::A:role/R` admit that user and
//!   sessions of that role;
//! - `Service: svc.aliyuncs.com` admits the service only while it acts for
//!   the role's own account; `Service: A@svc.aliyuncs.com` admits it while it
//!   acts for account A. A service acting for one account can therefore
//!   never become another account's role by accident.

use crate::condition::Condition;
use crate::document::{Effect, Policy, PolicyKind, Principal};
use crate::evaluate::{Context, Decision, Outcome, StatementRef};

/// Who is asking to assume the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller<'a> {
    Root {
        account: &'a str,
    },
    User {
        account: &'a str,
        name: &'a str,
    },
    /// A session of a role (role chaining).
    RoleSession {
        account: &'a str,
        role: &'a str,
    },
    /// A platform service acting for an account.
    Service {
        name: &'a str,
        acting_for: &'a str,
    },
    /// A user of an identity provider.
    Federated {
        provider: &'a str,
    },
}

impl Caller<'_> {
    fn ram_arns(&self) -> Vec<String> {
        match *self {
            Caller::Root { account } => vec![format!("acs:ram::{account}:root")],
            Caller::User { account, name } => vec![
                format!("acs:ram::{account}:user/{name}"),
                format!("acs:ram::{account}:root"),
            ],
            Caller::RoleSession { account, role } => vec![
                format!("acs:ram::{account}:role/{}", role.to_ascii_lowercase()),
                format!("acs:ram::{account}:root"),
            ],
            Caller::Service { .. } | Caller::Federated { .. } => Vec::new(),
        }
    }
}

fn service_matches(entry: &str, role_account: &str, name: &str, acting_for: &str) -> bool {
    match entry.split_once('@') {
        Some((account, service)) => {
            service.eq_ignore_ascii_case(name)
                && crate::pattern::Pattern::new(account, crate::pattern::Case::Sensitive)
                    .matches(acting_for)
        }
        None => entry.eq_ignore_ascii_case(name) && acting_for == role_account,
    }
}

/// Whether a statement's `Principal` names the caller.
pub fn principal_matches(principal: &Principal, role_account: &str, caller: &Caller<'_>) -> bool {
    if principal.anyone {
        return true;
    }
    match *caller {
        Caller::Service { name, acting_for } => principal
            .service
            .iter()
            .any(|s| service_matches(s, role_account, name, acting_for)),
        Caller::Federated { provider } => principal.federated.iter().any(|p| p.matches(provider)),
        _ => {
            let arns = caller.ram_arns();
            principal
                .ram
                .iter()
                .any(|p| arns.iter().any(|arn| p.matches(arn)))
        }
    }
}

fn conditions_hold(conditions: &[Condition], context: &Context) -> bool {
    conditions.iter().all(|c| c.holds(context.get(&c.key)))
}

/// Decides whether `caller` may perform `action` (normally `sts:AssumeRole`)
/// on a role of `role_account` whose trust policy is `trust`. A Deny that
/// names the caller wins; otherwise an Allow that names it allows.
pub fn decide_trust(
    trust: &Policy,
    role_account: &str,
    caller: &Caller<'_>,
    action: &str,
    context: &Context,
) -> Decision {
    let mut allow = None;
    if trust.kind != PolicyKind::Trust {
        return Decision {
            outcome: Outcome::ImplicitDeny,
            deciding: None,
            missing_allow_in: Some(0),
        };
    }
    for (index, s) in trust.statements.iter().enumerate() {
        let named = s
            .principal
            .as_ref()
            .is_some_and(|p| principal_matches(p, role_account, caller));
        if !(named && s.action.matches(action) && conditions_hold(&s.conditions, context)) {
            continue;
        }
        let at = StatementRef {
            layer: 0,
            policy: 0,
            statement: index,
        };
        match s.effect {
            Effect::Deny => {
                return Decision {
                    outcome: Outcome::ExplicitDeny,
                    deciding: Some(at),
                    missing_allow_in: None,
                }
            }
            Effect::Allow => {
                allow.get_or_insert(at);
            }
        }
    }
    match allow {
        Some(at) => Decision {
            outcome: Outcome::Allow,
            deciding: Some(at),
            missing_allow_in: None,
        },
        None => Decision {
            outcome: Outcome::ImplicitDeny,
            deciding: None,
            missing_allow_in: Some(0),
        },
    }
}
