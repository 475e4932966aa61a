//! Namespaces: Create/Get/List/Update/DeleteNamespace.

use registry::meta::control::Namespace;
use registry::meta::namespaces::{self as meta, NamespaceSettings};
use serde_json::{json, Value};

use super::{api_error, authorize_instance, authorize_repository, db, instance, page};
use crate::error::ApiError;
use crate::reply::Reply;
use crate::rpc::Call;

fn render(namespace: &Namespace) -> Value {
    json!({
        "InstanceId": namespace.instance_id,
        "NamespaceId": namespace.namespace_id,
        "NamespaceName": namespace.name,
        "NamespaceStatus": "NORMAL",
        "AutoCreateRepo": namespace.auto_create_repo,
        "DefaultRepoType": namespace.default_repo_type,
        "ResourceGroupId": "",
    })
}

fn not_found(name: &str) -> ApiError {
    api_error(registry::meta::control::ControlError::NotFound {
        thing: registry::meta::control::Thing::Namespace,
        name: name.to_owned(),
    })
}

pub async fn create_namespace(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("NamespaceName")?;
    let auto = call.params.optional_bool("AutoCreateRepo")?.unwrap_or(true);
    let kind = call.params.optional("DefaultRepoType").unwrap_or("PRIVATE");
    let instance = instance(call).await?;
    authorize_repository(call, "CreateNamespace", &instance, name, "").await?;
    meta::create_namespace(
        db(call)?,
        &instance.instance_id,
        name,
        NamespaceSettings {
            auto_create_repo: auto,
            default_repo_type: kind,
        },
    )
    .await
    .map_err(api_error)?;
    super::changed(call);
    Ok(Reply::cr(json!({})))
}

pub async fn get_namespace(call: &Call<'_>) -> Result<Reply, ApiError> {
    let instance = instance(call).await?;
    let db = db(call)?;
    let found = match (
        call.params.optional("NamespaceName"),
        call.params.optional("NamespaceId"),
    ) {
        (Some(name), _) => meta::get_namespace(db, &instance.instance_id, name).await,
        (None, Some(id)) => meta::get_namespace_by_id(db, &instance.instance_id, id).await,
        (None, None) => return Err(ApiError::missing_parameter("NamespaceName")),
    }
    .map_err(api_error)?;
    let asked = call
        .params
        .optional("NamespaceName")
        .or(call.params.optional("NamespaceId"))
        .unwrap_or("");
    let Some(namespace) = found else {
        return Err(not_found(asked));
    };
    authorize_repository(call, "GetNamespace", &instance, &namespace.name, "").await?;
    Ok(Reply::cr(render(&namespace)))
}

pub async fn list_namespace(call: &Call<'_>) -> Result<Reply, ApiError> {
    let (page_no, page_size) = page(call)?;
    let instance = instance(call).await?;
    authorize_instance(call, "ListNamespace", &instance).await?;
    let (list, total) = meta::list_namespaces(
        db(call)?,
        &instance.instance_id,
        call.params.optional("NamespaceName"),
        page_no,
        page_size,
    )
    .await
    .map_err(api_error)?;
    Ok(Reply::cr(json!({
        "Namespaces": list.iter().map(render).collect::<Vec<_>>(),
        "PageNo": page_no,
        "PageSize": page_size,
        "TotalCount": total.to_string(),
    })))
}

pub async fn update_namespace(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("NamespaceName")?;
    let auto = call.params.optional_bool("AutoCreateRepo")?;
    let kind = call.params.optional("DefaultRepoType");
    let instance = instance(call).await?;
    authorize_repository(call, "UpdateNamespace", &instance, name, "").await?;
    meta::update_namespace(db(call)?, &instance.instance_id, name, auto, kind)
        .await
        .map_err(api_error)?;
    super::changed(call);
    Ok(Reply::cr(json!({})))
}

pub async fn delete_namespace(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("NamespaceName")?;
    let instance = instance(call).await?;
    authorize_repository(call, "DeleteNamespace", &instance, name, "").await?;
    meta::delete_namespace(db(call)?, &instance.instance_id, name)
        .await
        .map_err(api_error)?;
    super::changed(call);
    Ok(Reply::cr(json!({})))
}
