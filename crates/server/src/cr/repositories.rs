//! Repositories and their tags: Create/Get/List/Update/DeleteRepository,
//! ListRepoTag, GetRepoTag, DeleteRepoTag.
//!
//! A repository is named by `RepoId`, or by `RepoNamespaceName` +
//! `RepoName` where ACR accepts both.

use registry::meta::control::{ControlError, Instance, Repository, Thing};
use registry::meta::repo_tags;
use registry::meta::repositories::{self as meta, NewRepository, RepositoryUpdate};
use serde_json::{json, Value};

use super::{api_error, authorize_instance, authorize_repository, db, instance, millis, page};
use crate::error::ApiError;
use crate::reply::Reply;
use crate::rpc::Call;

fn render(repo: &Repository) -> Value {
    json!({
        "InstanceId": repo.instance_id,
        "RepoId": repo.repo_id,
        "RepoName": repo.name,
        "RepoNamespaceName": repo.namespace,
        "RepoType": repo.repo_type,
        "RepoStatus": "NORMAL",
        "RepoBuildType": "MANUAL",
        "Summary": repo.summary,
        "Detail": repo.detail,
        "TagImmutability": repo.tag_immutability,
        "ResourceGroupId": "",
        "CreateTime": millis(repo.created_at),
        "ModifiedTime": millis(repo.updated_at),
    })
}

/// The repository a call names (`RepoId`, else namespace + name).
async fn named(call: &Call<'_>, instance: &Instance) -> Result<Repository, ApiError> {
    let db = db(call)?;
    let found = match call.params.optional("RepoId") {
        Some(id) => meta::get_repository_by_id(db, &instance.instance_id, id).await,
        None => {
            let ns = call.params.required("RepoNamespaceName")?;
            let name = call.params.required("RepoName")?;
            meta::get_repository(db, &instance.instance_id, ns, name).await
        }
    }
    .map_err(api_error)?;
    found.ok_or_else(|| {
        let asked = call
            .params
            .optional("RepoId")
            .map(str::to_owned)
            .unwrap_or_else(|| {
                format!(
                    "{}/{}",
                    call.params.optional("RepoNamespaceName").unwrap_or(""),
                    call.params.optional("RepoName").unwrap_or("")
                )
            });
        api_error(ControlError::NotFound {
            thing: Thing::Repository,
            name: asked,
        })
    })
}

pub async fn create_repository(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let namespace = p.required("RepoNamespaceName")?;
    let name = p.required("RepoName")?;
    let repo_type = p.required("RepoType")?;
    let summary = p.optional("Summary").unwrap_or("");
    let detail = p.optional("Detail").unwrap_or("");
    let immutable = p.optional_bool("TagImmutability")?.unwrap_or(false);
    let instance = instance(call).await?;
    authorize_repository(call, "CreateRepository", &instance, namespace, name).await?;
    let repo = meta::create_repository(
        db(call)?,
        &instance.instance_id,
        &NewRepository {
            namespace,
            name,
            repo_type,
            summary,
            detail,
            tag_immutability: immutable,
        },
    )
    .await
    .map_err(api_error)?;
    super::changed(call);
    Ok(Reply::cr(json!({ "RepoId": repo.repo_id })))
}

pub async fn get_repository(call: &Call<'_>) -> Result<Reply, ApiError> {
    let instance = instance(call).await?;
    let repo = named(call, &instance).await?;
    authorize_repository(
        call,
        "GetRepository",
        &instance,
        &repo.namespace,
        &repo.name,
    )
    .await?;
    Ok(Reply::cr(render(&repo)))
}

pub async fn list_repository(call: &Call<'_>) -> Result<Reply, ApiError> {
    let (page_no, page_size) = page(call)?;
    let instance = instance(call).await?;
    authorize_instance(call, "ListRepository", &instance).await?;
    let (list, total) = meta::list_repositories(
        db(call)?,
        &instance.instance_id,
        call.params.optional("RepoNamespaceName"),
        call.params.optional("RepoName"),
        page_no,
        page_size,
    )
    .await
    .map_err(api_error)?;
    Ok(Reply::cr(json!({
        "Repositories": list.iter().map(render).collect::<Vec<_>>(),
        "PageNo": page_no,
        "PageSize": page_size,
        "TotalCount": total.to_string(),
    })))
}

pub async fn update_repository(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let update = RepositoryUpdate {
        repo_type: p.optional("RepoType"),
        summary: p.raw("Summary"),
        detail: p.raw("Detail"),
        tag_immutability: p.optional_bool("TagImmutability")?,
    };
    let instance = instance(call).await?;
    let repo = named(call, &instance).await?;
    authorize_repository(
        call,
        "UpdateRepository",
        &instance,
        &repo.namespace,
        &repo.name,
    )
    .await?;
    meta::update_repository(db(call)?, &instance.instance_id, &repo.repo_id, update)
        .await
        .map_err(api_error)?;
    super::changed(call);
    Ok(Reply::cr(json!({})))
}

pub async fn delete_repository(call: &Call<'_>) -> Result<Reply, ApiError> {
    let instance = instance(call).await?;
    let repo = named(call, &instance).await?;
    authorize_repository(
        call,
        "DeleteRepository",
        &instance,
        &repo.namespace,
        &repo.name,
    )
    .await?;
    meta::delete_repository(db(call)?, &instance.instance_id, &repo.repo_id)
        .await
        .map_err(api_error)?;
    super::changed(call);
    Ok(Reply::cr(json!({})))
}

fn render_tag(tag: &repo_tags::TagInfo) -> Value {
    // ACR shows digests without their algorithm, and the image id as the
    // same hex.
    let hex = tag
        .digest
        .split_once(':')
        .map_or(tag.digest.as_str(), |(_, hex)| hex);
    json!({
        "Tag": tag.tag,
        "Digest": hex,
        "ImageId": hex,
        "ImageSize": tag.image_size,
        "Status": "NORMAL",
        "ImageCreate": millis(tag.created_at),
        "ImageUpdate": millis(tag.updated_at),
    })
}

pub async fn list_repo_tag(call: &Call<'_>) -> Result<Reply, ApiError> {
    let (page_no, page_size) = page(call)?;
    call.params.required("RepoId")?;
    let instance = instance(call).await?;
    let repo = named(call, &instance).await?;
    authorize_repository(
        call,
        "ListRepositoryTag",
        &instance,
        &repo.namespace,
        &repo.name,
    )
    .await?;
    let (list, total) = repo_tags::list_tags(db(call)?, &repo.repo_id, page_no, page_size)
        .await
        .map_err(api_error)?;
    let images: Vec<Value> = list
        .iter()
        .map(|t| {
            let mut v = render_tag(t);
            // The listing writes its times as text.
            if let Some(map) = v.as_object_mut() {
                map.insert(
                    "ImageCreate".into(),
                    Value::String(millis(t.created_at).to_string()),
                );
                map.insert(
                    "ImageUpdate".into(),
                    Value::String(millis(t.updated_at).to_string()),
                );
            }
            v
        })
        .collect();
    Ok(Reply::cr(json!({
        "Images": images,
        "PageNo": page_no,
        "PageSize": page_size,
        "TotalCount": total.to_string(),
    })))
}

pub async fn get_repo_tag(call: &Call<'_>) -> Result<Reply, ApiError> {
    call.params.required("RepoId")?;
    let tag = call.params.required("Tag")?;
    let instance = instance(call).await?;
    let repo = named(call, &instance).await?;
    authorize_repository(
        call,
        "GetRepositoryTag",
        &instance,
        &repo.namespace,
        &repo.name,
    )
    .await?;
    let info = repo_tags::get_tag(db(call)?, &repo.repo_id, tag)
        .await
        .map_err(api_error)?;
    Ok(Reply::cr(render_tag(&info)))
}

pub async fn delete_repo_tag(call: &Call<'_>) -> Result<Reply, ApiError> {
    call.params.required("RepoId")?;
    let tag = call.params.required("Tag")?;
    let instance = instance(call).await?;
    let repo = named(call, &instance).await?;
    authorize_repository(
        call,
        "DeleteRepositoryTag",
        &instance,
        &repo.namespace,
        &repo.name,
    )
    .await?;
    repo_tags::delete_tag(db(call)?, &repo.repo_id, tag)
        .await
        .map_err(api_error)?;
    super::changed(call);
    Ok(Reply::cr(json!({})))
}
