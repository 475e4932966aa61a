//! Policy versions: CreatePolicyVersion, GetPolicyVersion,
//! DeletePolicyVersion, ListPolicyVersions, SetDefaultPolicyVersion.

use serde_json::{json, Map, Value};

use super::{date, policy_type, wrapped};
use crate::error::ApiError;
use crate::reply::Reply;
use crate::rpc::Call;

/// `{VersionId, IsDefaultVersion, PolicyDocument, CreateDate}`.
pub(crate) fn render_version(version: &iam::PolicyVersion) -> Value {
    json!({
        "VersionId": version.version_id,
        "IsDefaultVersion": version.is_default,
        "PolicyDocument": version.document,
        "CreateDate": date(version.create_date),
    })
}

pub async fn create_policy_version(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let name = p.required("PolicyName")?;
    let document = p.required("PolicyDocument")?;
    let set_as_default = p.optional_bool("SetAsDefault")?.unwrap_or(false);
    let rotate = match p.optional("RotateStrategy") {
        Some(text) => iam::RotateStrategy::parse(text)?,
        None => iam::RotateStrategy::default(),
    };
    let version = call
        .store
        .create_policy_version(call.account(), name, document, set_as_default, rotate)
        .await?;
    Ok(Reply::from_value(
        json!({ "PolicyVersion": render_version(&version) }),
    ))
}

pub async fn get_policy_version(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let name = p.required("PolicyName")?;
    let kind = policy_type(p)?;
    let version_id = p.required("VersionId")?;
    let version = call
        .store
        .get_policy_version(call.account(), name, kind, version_id)
        .await?;
    Ok(Reply::from_value(
        json!({ "PolicyVersion": render_version(&version) }),
    ))
}

pub async fn delete_policy_version(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("PolicyName")?;
    let version_id = call.params.required("VersionId")?;
    call.store
        .delete_policy_version(call.account(), name, version_id)
        .await?;
    Ok(Reply::empty())
}

pub async fn list_policy_versions(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("PolicyName")?;
    let kind = policy_type(call.params)?;
    let versions = call
        .store
        .list_policy_versions(call.account(), name, kind)
        .await?;
    let mut payload = Map::new();
    payload.insert(
        "PolicyVersions".into(),
        wrapped(
            "PolicyVersion",
            versions.iter().map(render_version).collect(),
        ),
    );
    Ok(Reply::from_value(Value::Object(payload)))
}

pub async fn set_default_policy_version(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("PolicyName")?;
    let version_id = call.params.required("VersionId")?;
    call.store
        .set_default_policy_version(call.account(), name, version_id)
        .await?;
    Ok(Reply::empty())
}
