//! The account alias: SetAccountAlias, GetAccountAlias, ClearAccountAlias.
//! Aliases are unique across the accounts of one rampart.

use serde_json::json;

use crate::error::ApiError;
use crate::reply::Reply;
use crate::rpc::Call;

pub async fn set_account_alias(call: &Call<'_>) -> Result<Reply, ApiError> {
    let alias = call.params.required("AccountAlias")?;
    call.store.set_account_alias(call.account(), alias).await?;
    Ok(Reply::empty())
}

pub async fn get_account_alias(call: &Call<'_>) -> Result<Reply, ApiError> {
    let alias = call.store.get_account_alias(call.account()).await?;
    Ok(Reply::from_value(
        json!({ "AccountAlias": alias.unwrap_or_default() }),
    ))
}

pub async fn clear_account_alias(call: &Call<'_>) -> Result<Reply, ApiError> {
    call.store.clear_account_alias(call.account()).await?;
    Ok(Reply::empty())
}
