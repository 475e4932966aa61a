//! Access keys: CreateAccessKey, ListAccessKeys, UpdateAccessKey,
//! DeleteAccessKey, GetAccessKeyLastUsed.
//!
//! `UserName` is optional in every one: without it the call acts on the
//! caller's own keys (a RAM user's, or the account's root keys when the
//! root calls), as in Alibaba.

use serde_json::{json, Map, Value};

use super::{date, wrapped};
use crate::error::ApiError;
use crate::reply::Reply;
use crate::rpc::Call;

/// The user whose keys the call names: `UserName`, else the caller when it
/// is a RAM user, else `None` (the root's own keys, when the root calls).
/// A role session has no keys of its own: it must name the user.
fn owner<'a>(call: &'a Call<'a>) -> Result<Option<&'a str>, ApiError> {
    if let Some(name) = call.params.optional("UserName") {
        return Ok(Some(name));
    }
    match call.principal {
        iam::Principal::User { name, .. } => Ok(Some(name.as_str())),
        iam::Principal::Root { .. } => Ok(None),
        iam::Principal::Role { .. } => Err(ApiError::missing_parameter("UserName")),
    }
}

pub async fn create_access_key(call: &Call<'_>) -> Result<Reply, ApiError> {
    let key = call
        .store
        .create_access_key(call.account(), owner(call)?)
        .await?;
    Ok(Reply::from_value(json!({
        "AccessKey": {
            "AccessKeyId": key.access_key_id,
            "AccessKeySecret": key.secret.expose(),
            "Status": key.status.as_str(),
            "CreateDate": date(key.create_date),
        }
    })))
}

pub async fn list_access_keys(call: &Call<'_>) -> Result<Reply, ApiError> {
    let keys = call
        .store
        .list_access_keys(call.account(), owner(call)?)
        .await?;
    let items: Vec<Value> = keys
        .iter()
        .map(|k| {
            json!({
                "AccessKeyId": k.access_key_id,
                "Status": k.status.as_str(),
                "CreateDate": date(k.create_date),
            })
        })
        .collect();
    let mut payload = Map::new();
    payload.insert("AccessKeys".into(), wrapped("AccessKey", items));
    Ok(Reply::from_value(Value::Object(payload)))
}

pub async fn update_access_key(call: &Call<'_>) -> Result<Reply, ApiError> {
    let id = call.params.required("UserAccessKeyId")?;
    let status = iam::KeyStatus::parse(call.params.required("Status")?)?;
    call.store
        .update_access_key(call.account(), owner(call)?, id, status)
        .await?;
    Ok(Reply::empty())
}

pub async fn delete_access_key(call: &Call<'_>) -> Result<Reply, ApiError> {
    let id = call.params.required("UserAccessKeyId")?;
    call.store
        .delete_access_key(call.account(), owner(call)?, id)
        .await?;
    Ok(Reply::empty())
}

pub async fn get_access_key_last_used(call: &Call<'_>) -> Result<Reply, ApiError> {
    let id = call.params.required("UserAccessKeyId")?;
    let last = call
        .store
        .get_access_key_last_used(call.account(), owner(call)?, id)
        .await?;
    // Never used: an empty date, as Alibaba answers for a fresh key.
    let last_used = last.map_or_else(|| Value::String(String::new()), date);
    Ok(Reply::from_value(
        json!({ "AccessKeyLastUsed": { "LastUsedDate": last_used } }),
    ))
}
