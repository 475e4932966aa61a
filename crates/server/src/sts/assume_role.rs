//! AssumeRole (STS 2015-04-01): parameters read strictly
//! (`sts::AssumeRoleRequest::parse`), the decision made by
//! `sts::assume_role` (root refused, role exists, trust policy, the
//! caller's own `sts:AssumeRole` permission, chain, duration), and the
//! answer `{RequestId, [SourceIdentity], AssumedRoleUser{Arn,
//! AssumedRoleId}, Credentials{AccessKeyId, AccessKeySecret, SecurityToken,
//! Expiration}}`. Nothing is written: the session lives in its token.
//!
//! The audit records the role asked for, the decision and what decided it
//! (the trust policy's statement, or the caller's own policy's), and the id
//! of the session issued. A decision about a role of another account is
//! written to that account's audit table as well.

use policy::Outcome;
use sts::{AssumeRoleError, AssumeRoleParams, AssumeRoleRequest, Caller};

use super::IamSts;
use crate::audit::Verdict;
use crate::error::ApiError;
use crate::ram::authz::Check;
use crate::reply::Reply;
use crate::rpc::Call;

/// How the audit names what decided (or refused) an AssumeRole.
pub(crate) fn verdict(result: &Result<sts::AssumeRoleOutcome, AssumeRoleError>) -> Option<Verdict> {
    match result {
        Ok(outcome) => Some(Verdict {
            outcome: Outcome::Allow,
            deciding: outcome
                .identity
                .as_ref()
                .and_then(|v| v.deciding.clone())
                .or_else(|| {
                    outcome
                        .trust_statement
                        .map(|i| format!("TrustPolicy:Statement[{i}]"))
                }),
        }),
        Err(AssumeRoleError::RootCaller) => Some(Verdict {
            outcome: Outcome::ImplicitDeny,
            deciding: Some("RootCaller".to_owned()),
        }),
        Err(AssumeRoleError::TrustDenied {
            outcome, statement, ..
        }) => Some(Verdict {
            outcome: *outcome,
            deciding: Some(match statement {
                Some(i) => format!("TrustPolicy:Statement[{i}]"),
                None => "TrustPolicy:NoAllow".to_owned(),
            }),
        }),
        Err(AssumeRoleError::IdentityDenied {
            outcome,
            deciding,
            by_session_policy,
            ..
        }) => Some(Verdict {
            outcome: *outcome,
            deciding: deciding.clone().or_else(|| {
                by_session_policy.then(|| format!("{}:NoAllow", sts::session::SESSION_POLICY_NAME))
            }),
        }),
        Err(_) => None,
    }
}

pub async fn assume_role(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let params = AssumeRoleParams {
        role_arn: p.raw("RoleArn"),
        role_session_name: p.raw("RoleSessionName"),
        duration_seconds: p.raw("DurationSeconds"),
        policy: p.raw("Policy"),
        external_id: p.raw("ExternalId"),
        source_identity: p.raw("SourceIdentity"),
    };
    let request = AssumeRoleRequest::parse(&params).map_err(|e| ApiError::from_wire(&e))?;
    let caller = match (call.session, call.principal) {
        (Some(claims), _) => Caller::Session(claims),
        (None, iam::Principal::Root { account }) => Caller::Root { account },
        (
            None,
            iam::Principal::User {
                account,
                user_id,
                name,
            },
        ) => Caller::User {
            account,
            user_id,
            name,
        },
        // A role principal only ever comes with its session.
        (None, iam::Principal::Role { .. }) => {
            return Err(ApiError::internal().with_detail("a role principal without its session"))
        }
    };
    let keys = call
        .sts_keys
        .ok_or_else(|| ApiError::internal().with_detail("no STS key ring is configured"))?;
    let result = sts::assume_role(
        &IamSts(call.store),
        &caller,
        &request,
        call.context,
        keys,
        call.now,
    )
    .await;

    let role_arn = request.role_arn();
    let decided = verdict(&result);
    let role_found = matches!(
        result,
        Ok(_) | Err(AssumeRoleError::TrustDenied { .. } | AssumeRoleError::IdentityDenied { .. })
    );
    call.note(|notes| {
        if let Some(verdict) = decided {
            notes.decision = Some((
                Check {
                    action: sts::ASSUME_ROLE_ACTION.to_owned(),
                    resource: role_arn,
                },
                verdict,
            ));
        }
        if role_found {
            notes.resource_account = Some(request.role_account.clone());
        }
        if let Ok(outcome) = &result {
            notes.issued_session_id = Some(outcome.claims.session_id.clone());
        }
    });

    let outcome = result.map_err(|e| ApiError::from_wire(&e))?;
    let body = serde_json::to_value(&outcome.response)
        .map_err(|e| ApiError::internal().with_detail(format!("rendering AssumeRole: {e}")))?;
    Ok(Reply::from_value(body))
}
