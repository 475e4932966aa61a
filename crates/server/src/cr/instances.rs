//! Instances and their endpoints: GetInstance, ListInstance,
//! GetInstanceEndpoint, ListInstanceEndpoint, UpdateInstanceEndpointStatus,
//! Create/DeleteInstanceEndpointAclPolicy.
//!
//! Endpoints: `internet` answers on the instance's default and custom
//! host names, `vpc` on its `-registry-vpc.` name. An endpoint is enabled
//! with no ACL until configured; once its ACL is on, only sources inside
//! one of its CIDR entries reach it (the registry listener refuses the
//! rest with 403 `DENIED`).

use registry::meta::control::Instance;
use registry::meta::instances::{self as meta, Endpoint};
use serde_json::{json, Value};

use super::{api_error, authorize, authorize_instance, db, instance, millis, page};
use crate::error::ApiError;
use crate::reply::Reply;
use crate::rpc::Call;

/// The status rampart's instances are always in.
const RUNNING: &str = "RUNNING";
/// What `InstanceSpecification` says.
const SPECIFICATION: &str = "Enterprise_Basic";

fn render_listed(instance: &Instance) -> Value {
    json!({
        "InstanceId": instance.instance_id,
        "InstanceName": instance.name,
        "InstanceStatus": RUNNING,
        "InstanceSpecification": SPECIFICATION,
        "InstanceIssue": "",
        "RegionId": instance.region,
        "ResourceGroupId": "",
        "CreateTime": millis(instance.created_at).to_string(),
        "ModifiedTime": millis(instance.updated_at).to_string(),
        "Tags": [],
    })
}

pub async fn get_instance(call: &Call<'_>) -> Result<Reply, ApiError> {
    let instance = instance(call).await?;
    authorize_instance(call, "GetInstance", &instance).await?;
    Ok(Reply::cr(json!({
        "InstanceId": instance.instance_id,
        "InstanceName": instance.name,
        "InstanceStatus": RUNNING,
        "InstanceSpecification": SPECIFICATION,
        "InstanceIssue": "",
        "ResourceGroupId": "",
        "CreateTime": millis(instance.created_at),
        "ModifiedTime": millis(instance.updated_at),
        "Tags": [],
    })))
}

pub async fn list_instance(call: &Call<'_>) -> Result<Reply, ApiError> {
    let (page_no, page_size) = page(call)?;
    let account_arn = format!("acs:cr:*:{}:*", call.account());
    authorize(call, "ListInstance", &[&account_arn]).await?;
    let name = call.params.optional("InstanceName");
    let all = meta::list_instances(db(call)?, call.account())
        .await
        .map_err(api_error)?;
    let matching: Vec<&Instance> = all
        .iter()
        .filter(|i| name.is_none_or(|n| i.name == n))
        .collect();
    let total = matching.len();
    let start = usize::try_from(page_size.saturating_mul(page_no - 1)).unwrap_or(usize::MAX);
    let items: Vec<Value> = matching
        .into_iter()
        .skip(start)
        .take(usize::try_from(page_size).unwrap_or(30))
        .map(render_listed)
        .collect();
    Ok(Reply::cr(json!({
        "Instances": items,
        "PageNo": page_no,
        "PageSize": page_size,
        "TotalCount": total,
    })))
}

/// `EndpointType` (default `internet`).
fn endpoint_type(call: &Call<'_>) -> Result<&'static str, ApiError> {
    meta::endpoint_type(call.params.optional("EndpointType").unwrap_or("internet"))
        .map_err(api_error)
}

/// `ModuleName`: `Registry` (the default) is the only module rampart has.
fn check_module(call: &Call<'_>) -> Result<(), ApiError> {
    match call.params.optional("ModuleName") {
        None => Ok(()),
        Some(m) if m.eq_ignore_ascii_case("registry") => Ok(()),
        Some(_) => Err(ApiError::invalid_parameter(
            "ModuleName",
            "rampart serves only the Registry module",
        )),
    }
}

async fn domains_of(
    call: &Call<'_>,
    instance: &Instance,
    endpoint_type: &str,
) -> Result<Vec<Value>, ApiError> {
    let domains = meta::domains(db(call)?, &instance.instance_id)
        .await
        .map_err(api_error)?;
    Ok(domains
        .into_iter()
        .filter(|d| (d.kind == "vpc") == (endpoint_type == "vpc"))
        .map(|d| {
            let kind = if d.kind == "custom" { "USER" } else { "SYSTEM" };
            json!({"Domain": d.domain, "Type": kind})
        })
        .collect())
}

fn status(endpoint: &Endpoint) -> &'static str {
    if endpoint.enabled {
        RUNNING
    } else {
        "STOPPED"
    }
}

pub async fn get_instance_endpoint(call: &Call<'_>) -> Result<Reply, ApiError> {
    let kind = endpoint_type(call)?;
    check_module(call)?;
    let instance = instance(call).await?;
    authorize_instance(call, "GetInstanceEndpoint", &instance).await?;
    let endpoint = meta::endpoint(db(call)?, &instance.instance_id, kind)
        .await
        .map_err(api_error)?;
    let entries: Vec<Value> = endpoint
        .entries
        .iter()
        .map(|(entry, comment)| json!({"Entry": entry, "Comment": comment}))
        .collect();
    Ok(Reply::cr(json!({
        "Enable": endpoint.enabled,
        "Status": status(&endpoint),
        "AclEnable": endpoint.acl_enabled,
        "AclEntries": entries,
        "Domains": domains_of(call, &instance, kind).await?,
    })))
}

pub async fn list_instance_endpoint(call: &Call<'_>) -> Result<Reply, ApiError> {
    check_module(call)?;
    let instance = instance(call).await?;
    authorize_instance(call, "ListInstanceEndpoint", &instance).await?;
    let mut endpoints = Vec::new();
    for kind in meta::ENDPOINT_TYPES {
        let endpoint = meta::endpoint(db(call)?, &instance.instance_id, kind)
            .await
            .map_err(api_error)?;
        let entries: Vec<Value> = endpoint
            .entries
            .iter()
            .map(|(entry, _)| json!({"Entry": entry}))
            .collect();
        endpoints.push(json!({
            "EndpointType": kind,
            "Enable": endpoint.enabled,
            "Status": status(&endpoint),
            "AclEnable": endpoint.acl_enabled,
            "AclEntries": entries,
            "Domains": domains_of(call, &instance, kind).await?,
            "LinkedVpcs": [],
        }));
    }
    Ok(Reply::cr(json!({ "Endpoints": endpoints })))
}

pub async fn update_instance_endpoint_status(call: &Call<'_>) -> Result<Reply, ApiError> {
    let kind = endpoint_type(call)?;
    check_module(call)?;
    let enable = call
        .params
        .optional_bool("Enable")?
        .ok_or_else(|| ApiError::missing_parameter("Enable"))?;
    let instance = instance(call).await?;
    authorize_instance(call, "UpdateInstanceEndpointStatus", &instance).await?;
    meta::set_endpoint_enabled(db(call)?, &instance.instance_id, kind, enable)
        .await
        .map_err(api_error)?;
    super::changed(call);
    Ok(Reply::cr(json!({})))
}

/// `Entry` (with `Comment`) and/or `Entries` (a JSON array of
/// `{"Entry", "Comment"}`, as the newer SDKs send it).
fn entries(call: &Call<'_>) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    if let Some(entry) = call.params.optional("Entry") {
        out.push((
            entry.to_owned(),
            call.params.optional("Comment").unwrap_or("").to_owned(),
        ));
    }
    if let Some(text) = call.params.optional("Entries") {
        let list: Vec<Value> = serde_json::from_str(text).map_err(|_| {
            ApiError::invalid_parameter(
                "Entries",
                "must be a JSON array of {\"Entry\", \"Comment\"}",
            )
        })?;
        for item in list {
            let entry = item.get("Entry").and_then(Value::as_str).ok_or_else(|| {
                ApiError::invalid_parameter("Entries", "every item needs an Entry")
            })?;
            let comment = item.get("Comment").and_then(Value::as_str).unwrap_or("");
            out.push((entry.to_owned(), comment.to_owned()));
        }
    }
    if out.is_empty() {
        return Err(ApiError::missing_parameter("Entry"));
    }
    Ok(out)
}

pub async fn create_acl_policy(call: &Call<'_>) -> Result<Reply, ApiError> {
    let kind = endpoint_type(call)?;
    check_module(call)?;
    let list = entries(call)?;
    let instance = instance(call).await?;
    authorize_instance(call, "CreateInstanceEndpointAclPolicy", &instance).await?;
    meta::add_acl_entries(db(call)?, &instance.instance_id, kind, &list)
        .await
        .map_err(api_error)?;
    super::changed(call);
    Ok(Reply::cr(json!({})))
}

pub async fn delete_acl_policy(call: &Call<'_>) -> Result<Reply, ApiError> {
    let kind = endpoint_type(call)?;
    check_module(call)?;
    let list: Vec<String> = entries(call)?.into_iter().map(|(e, _)| e).collect();
    let instance = instance(call).await?;
    authorize_instance(call, "DeleteInstanceEndpointAclPolicy", &instance).await?;
    meta::remove_acl_entries(db(call)?, &instance.instance_id, kind, &list)
        .await
        .map_err(api_error)?;
    super::changed(call);
    Ok(Reply::cr(json!({})))
}
