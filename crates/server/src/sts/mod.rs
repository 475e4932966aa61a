//! STS, API version `2015-04-01`: AssumeRole and GetCallerIdentity, plus
//! the credentials URI (an HTTP GET route, not an RPC action).
//!
//! The decisions are `sts`'s (the crate); this module reads the
//! parameters, answers the crate's [`sts::StsStore`] questions from
//! `iam` ([`IamSts`]), and renders the answers. Both actions are open to
//! every authenticated caller: AssumeRole decides for itself (trust policy,
//! then the caller's own `sts:AssumeRole` permission), and anyone may ask
//! who they are. Neither goes through the RAM permission checks.

pub mod assume_role;
pub mod caller_identity;
pub mod credentials_uri;
pub mod service_identity;

use policy::{Decision, Outcome};
use sts::{Caller, IdentityVerdict, RoleRecord, StsStore};

use crate::audit::Verdict;
use crate::error::ApiError;
use crate::ram::authz::Check;
use crate::rpc::router::{Route, Router};
use crate::rpc::Call;

/// STS's API version.
pub const VERSION: &str = "2015-04-01";

/// STS actions ask the RAM decision point nothing before their handler.
fn no_checks<'a>(_call: &'a Call<'a>) -> Result<Vec<Check>, ApiError> {
    Ok(Vec::new())
}

/// Registers STS's actions.
pub fn register(router: &mut Router) {
    router.add(Route {
        product: "Sts",
        version: VERSION,
        action: "AssumeRole",
        authorize: no_checks,
        handler: |call| Box::pin(assume_role::assume_role(call)),
    });
    router.add(Route {
        product: "Sts",
        version: VERSION,
        action: service_identity::ACTION,
        authorize: no_checks,
        handler: |call| Box::pin(service_identity::refuse_non_service(call)),
    });
    router.add(Route {
        product: "Sts",
        version: VERSION,
        action: "GetCallerIdentity",
        authorize: no_checks,
        handler: |call| Box::pin(caller_identity::get_caller_identity(call)),
    });
}

/// `sts::StsStore` over the IAM store: what STS asks, answered by `iam`.
#[derive(Debug, Clone, Copy)]
pub struct IamSts<'a>(pub &'a iam::Store);

fn timestamp(t: iam::Timestamp) -> auth::Timestamp {
    auth::Timestamp::from_unix_seconds(t.seconds())
}

impl StsStore for IamSts<'_> {
    type Error = iam::IamError;

    async fn role(&self, account: &str, name: &str) -> Result<Option<RoleRecord>, iam::IamError> {
        Ok(self
            .0
            .role_record(account, name)
            .await?
            .map(|role| RoleRecord {
                account: account.to_owned(),
                role_id: role.role_id,
                name: role.name,
                trust_policy: role.trust_policy,
                max_session_duration: role.max_session_duration,
                revoked_before: role.revoked_before.map(timestamp),
            }))
    }

    async fn identity_allows(
        &self,
        caller: &Caller<'_>,
        role_arn: &str,
        context: &policy::Context,
    ) -> Result<IdentityVerdict, iam::IamError> {
        let principal = match caller {
            Caller::User {
                account,
                user_id,
                name,
            } => iam::Principal::User {
                account: (*account).to_owned(),
                user_id: (*user_id).to_owned(),
                name: (*name).to_owned(),
            },
            Caller::Session(claims) => iam::Principal::Role {
                account: claims.account.clone(),
                role_id: claims.role_id.clone(),
                name: claims.role_name.clone(),
            },
            // Never asked for these (see the trait); deny if it ever were.
            Caller::Root { .. } | Caller::Service { .. } => {
                return Ok(IdentityVerdict {
                    decision: Decision {
                        outcome: Outcome::ImplicitDeny,
                        deciding: None,
                        missing_allow_in: Some(0),
                    },
                    deciding: None,
                })
            }
        };
        let answer = self
            .0
            .authorize(&principal, sts::ASSUME_ROLE_ACTION, &[role_arn], context)
            .await?;
        let deciding = Verdict::from(&answer).deciding;
        Ok(IdentityVerdict {
            decision: answer.decision,
            deciding,
        })
    }

    async fn user_exists(&self, account: &str, user_id: &str) -> Result<bool, iam::IamError> {
        Ok(self.0.user_by_id(account, user_id).await?.is_some())
    }

    fn parsed_trust_policy(&self, role: &RoleRecord) -> Option<std::sync::Arc<policy::Policy>> {
        self.0.trust_policy(&role.trust_policy)
    }
}
