//! Policies: CreatePolicy, GetPolicy, DeletePolicy, ListPolicies,
//! UpdatePolicyDescription. System policies are read-only: they can be
//! read, listed and attached, never created, changed or deleted.

use serde_json::{json, Map, Value};

use super::policy_versions::render_version;
use super::{check_tags, date, list_options, no_tags, paged, policy_type, text, wrapped};
use crate::error::ApiError;
use crate::reply::Reply;
use crate::rpc::Call;

/// `Policy{PolicyName, PolicyType, Description, DefaultVersion, CreateDate}`
/// plus, outside CreatePolicy, `UpdateDate`.
fn render_policy(policy: &iam::PolicyInfo, with_update: bool) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("PolicyName".into(), Value::String(policy.name.clone()));
    out.insert(
        "PolicyType".into(),
        Value::String(policy.policy_type.as_str().to_owned()),
    );
    out.insert("Description".into(), text(&policy.description));
    out.insert(
        "DefaultVersion".into(),
        Value::String(policy.default_version.clone()),
    );
    out.insert("CreateDate".into(), date(policy.create_date));
    if with_update {
        out.insert("UpdateDate".into(), date(policy.update_date));
    }
    out
}

pub async fn create_policy(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let request = iam::CreatePolicy {
        name: p.required("PolicyName")?.to_owned(),
        document: p.required("PolicyDocument")?.to_owned(),
        description: p.optional("Description").map(str::to_owned),
    };
    check_tags(p)?;
    let policy = call.store.create_policy(call.account(), &request).await?;
    Ok(Reply::from_value(
        json!({ "Policy": render_policy(&policy, false) }),
    ))
}

pub async fn get_policy(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("PolicyName")?;
    let kind = policy_type(call.params)?;
    let detail = call.store.get_policy(call.account(), name, kind).await?;
    let mut policy = render_policy(&detail.policy, true);
    policy.insert(
        "PolicyDocument".into(),
        Value::String(detail.default_version.document.clone()),
    );
    policy.insert(
        "AttachmentCount".into(),
        Value::from(detail.policy.attachment_count),
    );
    Ok(Reply::from_value(json!({
        "Policy": policy,
        "DefaultPolicyVersion": render_version(&detail.default_version),
    })))
}

pub async fn delete_policy(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("PolicyName")?;
    let cascade = call
        .params
        .optional_bool("CascadingDelete")?
        .unwrap_or(false);
    call.store
        .delete_policy(call.account(), name, cascade)
        .await?;
    Ok(Reply::empty())
}

pub async fn list_policies(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let kind = match p.optional("PolicyType") {
        Some(text) => Some(iam::PolicyType::parse(text)?),
        None => None,
    };
    let options = list_options(p)?;
    let tag_filter = check_tags(p)?;
    let mut listing = call
        .store
        .list_policies(call.account(), kind, &options)
        .await?;
    if tag_filter {
        // Nothing is tagged, so a tag filter matches nothing.
        listing = iam::Listing {
            items: Vec::new(),
            is_truncated: false,
            marker: None,
        };
    }
    let items = listing
        .items
        .iter()
        .map(|policy| {
            let mut item = render_policy(policy, true);
            item.insert(
                "AttachmentCount".into(),
                Value::from(policy.attachment_count),
            );
            item.insert("Tags".into(), no_tags());
            Value::Object(item)
        })
        .collect();
    let mut payload = Map::new();
    payload.insert("Policies".into(), wrapped("Policy", items));
    Ok(Reply::from_value(paged(&listing, payload)))
}

pub async fn update_policy_description(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("PolicyName")?;
    let description = call.params.raw("NewDescription").unwrap_or_default();
    let policy = call
        .store
        .update_policy_description(call.account(), name, description)
        .await?;
    Ok(Reply::from_value(
        json!({ "Policy": render_policy(&policy, true) }),
    ))
}
