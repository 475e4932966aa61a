//! GetCallerIdentity (STS 2015-04-01): who signed this request. Open to
//! every authenticated caller, whatever its policies say.
//!
//! `{RequestId, IdentityType, AccountId, Arn, PrincipalId, UserId | RoleId}`:
//! `Account` for root keys, `RAMUser` for a user's keys, `AssumedRoleUser`
//! for temporary credentials (`Arn` = `acs:ram::A:assumed-role/ROLE/SESSION`
//! of the last hop of a chain).

use sts::CallerIdentity;

use crate::error::ApiError;
use crate::reply::Reply;
use crate::rpc::Call;

pub async fn get_caller_identity(call: &Call<'_>) -> Result<Reply, ApiError> {
    let identity = match (call.session, call.principal) {
        (Some(claims), _) => CallerIdentity::session(claims),
        (None, iam::Principal::Root { account }) => CallerIdentity::root(account),
        (
            None,
            iam::Principal::User {
                account,
                user_id,
                name,
            },
        ) => CallerIdentity::user(account, user_id, name),
        (None, iam::Principal::Role { .. }) => {
            return Err(ApiError::internal().with_detail("a role principal without its session"))
        }
    };
    let body = serde_json::to_value(&identity).map_err(|e| {
        ApiError::internal().with_detail(format!("rendering GetCallerIdentity: {e}"))
    })?;
    Ok(Reply::from_value(body))
}
