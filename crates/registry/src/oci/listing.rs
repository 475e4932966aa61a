//! Listings: `GET /v2/<name>/tags/list`, `GET /v2/_catalog` and
//! `GET /v2/<name>/referrers/<digest>`.
//!
//! Tags and repositories come in byte order and page with `?n=&last=`;
//! when more remain the answer carries
//! `Link: </v2/…?n=<n>&last=<last>>; rel="next"`. Without `n` the tag list
//! is whole, and the catalog is one page of `Limits::catalog_page`.
//! Referrers are one page (an image index), filtered by `artifactType`
//! when asked, which the answer then says in `OCI-Filters-Applied`.

use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, LINK};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::blobs::parse_digest;
use super::{json_response, respond, Ctx, OciError, Registry, OCI_FILTERS_APPLIED};
use crate::gate::{Access, Gate};
use crate::manifest::OCI_INDEX;
use crate::name::RepoName;
use crate::oci::Code;
use crate::storage::BlobStore;

/// `n` from the query: absent, or a non-negative integer.
fn page_size(ctx: &Ctx<'_>) -> Result<Option<u64>, OciError> {
    ctx.query("n")
        .map(|n| {
            n.parse::<u64>().map_err(|_| {
                OciError::new(
                    Code::Unsupported,
                    format!("n must be a non-negative integer, not {n:?}"),
                )
                .with_status(StatusCode::BAD_REQUEST)
            })
        })
        .transpose()
}

/// Cuts `items` (fetched with one extra) to `limit`, returning the `Link`
/// value for the next page when there is one.
fn paginate(items: &mut Vec<String>, limit: u64, base: &str) -> Option<String> {
    let limit_len = usize::try_from(limit).unwrap_or(usize::MAX);
    if items.len() <= limit_len {
        return None;
    }
    items.truncate(limit_len);
    let last = items.last()?;
    Some(format!("<{base}?n={limit}&last={last}>; rel=\"next\""))
}

fn with_link(mut response: Response, link: Option<String>) -> Response {
    if let Some(value) = link.and_then(|l| axum::http::HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(LINK, value);
    }
    response
}

impl<G: Gate, S: BlobStore + 'static> Registry<G, S> {
    pub(crate) async fn tags(&self, ctx: &Ctx<'_>, name: &str) -> Result<Response, OciError> {
        let name = RepoName::parse(name)?;
        let n = page_size(ctx)?;
        let repo = self.repo(ctx, name, Access::ListTags).await?;
        let last = ctx.query("last").filter(|l| !l.is_empty());
        let limit = n.map_or(u64::MAX / 2, |n| n.min(self.limits.max_tags_page));
        let mut tags = if limit == 0 {
            Vec::new()
        } else {
            self.db
                .list_tags(&repo.id, limit.saturating_add(1), last)
                .await?
        };
        let link = paginate(&mut tags, limit, &format!("/v2/{}/tags/list", repo.name));
        let body = json!({ "name": repo.name.as_str(), "tags": tags }).to_string();
        Ok(with_link(json_response(StatusCode::OK, body), link))
    }

    pub(crate) async fn catalog(&self, ctx: &Ctx<'_>) -> Result<Response, OciError> {
        let n = page_size(ctx)?;
        let admitted = self.admit(ctx, None, Access::Catalog).await?;
        let last = ctx.query("last").filter(|l| !l.is_empty());
        let limit = n.map_or(self.limits.catalog_page, |n| {
            n.min(self.limits.catalog_page)
        });
        let mut names = if limit == 0 {
            Vec::new()
        } else {
            self.db
                .catalog(&admitted.instance_id, limit.saturating_add(1), last)
                .await?
        };
        let link = paginate(&mut names, limit, "/v2/_catalog");
        let body = json!({ "repositories": names }).to_string();
        Ok(with_link(json_response(StatusCode::OK, body), link))
    }

    pub(crate) async fn referrers(
        &self,
        ctx: &Ctx<'_>,
        name: &str,
        digest: &str,
    ) -> Result<Response, OciError> {
        let name = RepoName::parse(name)?;
        let digest = parse_digest(digest)?;
        let repo = self.repo(ctx, name, Access::Pull).await?;
        let artifact_type = ctx.query("artifactType").filter(|t| !t.is_empty());
        let referrers = self.db.referrers(&repo.id, &digest, artifact_type).await?;
        let manifests: Vec<Value> = referrers
            .into_iter()
            .map(|r| {
                let mut entry = Map::new();
                entry.insert("mediaType".into(), r.media_type.into());
                entry.insert("digest".into(), r.digest.into());
                entry.insert("size".into(), r.size.into());
                if let Some(t) = r.artifact_type {
                    entry.insert("artifactType".into(), t.into());
                }
                if let Some(a) = r
                    .annotations
                    .and_then(|a| serde_json::from_str::<Value>(&a).ok())
                {
                    entry.insert("annotations".into(), a);
                }
                Value::Object(entry)
            })
            .collect();
        let body = json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": manifests,
        })
        .to_string();
        let length = body.len().to_string();
        let mut headers = vec![(CONTENT_TYPE, OCI_INDEX), (CONTENT_LENGTH, length.as_str())];
        if artifact_type.is_some() {
            headers.push((OCI_FILTERS_APPLIED, "artifactType"));
        }
        Ok(respond(StatusCode::OK, &headers, body.into()))
    }
}
