//! Manifests: `HEAD`/`GET`/`PUT`/`DELETE /v2/<name>/manifests/<reference>`.
//!
//! A GET costs one indexed query (tag → manifest row is a join); the
//! bytes come from a small in-memory cache keyed by digest — manifests
//! are immutable, so it never needs invalidating — else from the blob
//! store, where every manifest is also kept under its digest.
//!
//! Content negotiation: when the request's `Accept` lists media types and
//! none of them (nor a wildcard) matches the stored manifest's type, the
//! answer is 404 `MANIFEST_UNKNOWN`, as Distribution does; no `Accept`, or
//! `*/*`, gets the manifest as stored. Manifests are never converted.
//!
//! A PUT is checked before anything is visible: the body must be a
//! manifest of a known kind, at most `Limits::max_manifest_bytes`, hash to
//! the digest in the URL when one is given, and name only blobs and child
//! manifests the repository already has (`MANIFEST_BLOB_UNKNOWN`). The
//! manifest row, its references and its tag are written in one
//! transaction; an immutable tag already naming another manifest is
//! refused with 403 `DENIED`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::body::Body;
use axum::http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use tokio::io::AsyncReadExt;

use super::body::BodyReader;
use super::error::reference_error;
use super::{respond, Ctx, OciError, Registry, DOCKER_CONTENT_DIGEST, OCI_SUBJECT};
use crate::digest::{Algorithm, Digest};
use crate::gate::{Access, Gate};
use crate::manifest::{self, ManifestError};
use crate::meta::{ManifestRow, NewManifest};
use crate::name::{Reference, RepoName};
use crate::oci::Code;
use crate::storage::BlobStore;

/// Manifest bytes by digest, up to a byte budget, oldest out first.
pub struct ManifestCache {
    capacity: usize,
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    entries: HashMap<String, Bytes>,
    order: VecDeque<String>,
    bytes: usize,
}

impl ManifestCache {
    pub fn new(capacity: usize) -> ManifestCache {
        ManifestCache {
            capacity,
            inner: Mutex::new(CacheInner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, digest: &str) -> Option<Bytes> {
        if self.capacity == 0 {
            return None;
        }
        self.lock().entries.get(digest).cloned()
    }

    pub fn insert(&self, digest: String, bytes: Bytes) {
        // One entry never takes more than a quarter of the budget.
        if bytes.len() > self.capacity / 4 {
            return;
        }
        let mut inner = self.lock();
        if inner.entries.contains_key(&digest) {
            return;
        }
        while inner.bytes + bytes.len() > self.capacity {
            let Some(old) = inner.order.pop_front() else {
                break;
            };
            if let Some(gone) = inner.entries.remove(&old) {
                inner.bytes = inner.bytes.saturating_sub(gone.len());
            }
        }
        inner.bytes += bytes.len();
        inner.order.push_back(digest.clone());
        inner.entries.insert(digest, bytes);
    }
}

fn manifest_unknown(reference: &Reference) -> OciError {
    OciError::new(
        Code::ManifestUnknown,
        format!("manifest {reference} is unknown to this repository"),
    )
}

/// Whether `Accept` admits `media_type` (see the module docs).
fn acceptable(ctx: &Ctx<'_>, media_type: &str) -> bool {
    let mut listed = false;
    for value in ctx.parts.headers.get_all(ACCEPT) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for item in value.split(',') {
            let mut params = item.split(';');
            let essence = params.next().unwrap_or("").trim();
            if essence.is_empty() {
                continue;
            }
            listed = true;
            let refused = params.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            let matches = essence == "*/*"
                || essence.eq_ignore_ascii_case(media_type)
                || essence.strip_suffix("/*").is_some_and(|major| {
                    media_type
                        .split('/')
                        .next()
                        .is_some_and(|m| m.eq_ignore_ascii_case(major))
                });
            if matches {
                return true;
            }
        }
    }
    !listed
}

impl<G: Gate, S: BlobStore + 'static> Registry<G, S> {
    async fn manifest_bytes(&self, row: &ManifestRow) -> Result<Bytes, OciError> {
        if let Some(bytes) = self.manifests.get(&row.digest) {
            return Ok(bytes);
        }
        let digest = Digest::parse(&row.digest)
            .map_err(|e| OciError::internal("reading a stored manifest digest", e))?;
        let mut blob = self
            .store
            .get(&digest, None)
            .await
            .map_err(|e| OciError::internal("opening a stored manifest", e))?;
        let capacity = usize::try_from(blob.len()).unwrap_or(0);
        let mut bytes = Vec::with_capacity(capacity);
        blob.reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| OciError::internal("reading a stored manifest", e))?;
        let bytes = Bytes::from(bytes);
        self.manifests.insert(row.digest.clone(), bytes.clone());
        Ok(bytes)
    }

    pub(crate) async fn get_manifest(
        &self,
        ctx: &Ctx<'_>,
        name: &str,
        reference: &str,
    ) -> Result<Response, OciError> {
        let name = RepoName::parse(name)?;
        let reference = Reference::parse(reference).map_err(|e| reference_error(e, false))?;
        let repo = self.repo(ctx, name, Access::Pull).await?;
        let row = match &reference {
            Reference::Tag(tag) => self.db.manifest_by_tag(&repo.id, tag.as_str()).await?,
            Reference::Digest(digest) => self.db.manifest_by_digest(&repo.id, digest).await?,
        }
        .ok_or_else(|| manifest_unknown(&reference))?;
        if !acceptable(ctx, &row.media_type) {
            return Err(OciError::new(
                Code::ManifestUnknown,
                format!(
                    "manifest {reference} is a {}, which the request's Accept header does not list",
                    row.media_type
                ),
            ));
        }
        let length = row.size.to_string();
        let headers = [
            (CONTENT_TYPE, row.media_type.as_str()),
            (CONTENT_LENGTH, length.as_str()),
            (DOCKER_CONTENT_DIGEST, row.digest.as_str()),
        ];
        if ctx.is_head() {
            return Ok(respond(StatusCode::OK, &headers, Body::empty()));
        }
        let bytes = self.manifest_bytes(&row).await?;
        Ok(respond(StatusCode::OK, &headers, Body::from(bytes)))
    }

    pub(crate) async fn put_manifest(
        &self,
        ctx: &Ctx<'_>,
        name: &str,
        reference: &str,
        body: Body,
    ) -> Result<Response, OciError> {
        let name = RepoName::parse(name)?;
        let reference = Reference::parse(reference).map_err(|e| reference_error(e, true))?;
        let repo = self.repo(ctx, name, Access::Push).await?;
        let max = self.limits.max_manifest_bytes;
        let too_large = || OciError::from(ManifestError::TooLarge);
        if ctx
            .content_length()
            .is_some_and(|l| l > u64::try_from(max).unwrap_or(u64::MAX))
        {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        BodyReader::new(body, ctx.content_length())
            .take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| OciError::from(crate::storage::StorageError::Io(e)))?;
        if bytes.len() > max {
            return Err(too_large());
        }
        let parsed = manifest::parse(ctx.header(CONTENT_TYPE), &bytes)?;
        let algorithm = match &reference {
            Reference::Digest(d) => d.algorithm(),
            Reference::Tag(_) => Algorithm::Sha256,
        };
        let digest = Digest::of(algorithm, &bytes);
        if let Reference::Digest(expected) = &reference {
            if expected != &digest {
                return Err(OciError::new(
                    Code::DigestInvalid,
                    format!("the manifest hashes to {digest}, not {expected}"),
                ));
            }
        }
        let size = self.store.put(&digest, bytes.as_slice()).await?;
        let tag = match &reference {
            Reference::Tag(tag) => Some(tag.as_str()),
            Reference::Digest(_) => None,
        };
        let record = NewManifest {
            digest: &digest,
            media_type: parsed.kind.media_type(),
            size,
            artifact_type: parsed.artifact_type.as_deref(),
            subject: parsed.subject.as_ref(),
            annotations: parsed.annotations.as_deref(),
            blobs: &parsed.blobs,
            children: &parsed.children,
        };
        self.db.put_manifest(&repo.id, &record, tag).await?;
        let digest_text = digest.to_string();
        self.manifests
            .insert(digest_text.clone(), Bytes::from(bytes));
        let location = format!("/v2/{}/manifests/{digest_text}", repo.name);
        let subject = parsed.subject.as_ref().map(Digest::to_string);
        let mut headers = vec![
            (LOCATION, location.as_str()),
            (DOCKER_CONTENT_DIGEST, digest_text.as_str()),
            (CONTENT_LENGTH, "0"),
        ];
        if let Some(subject) = &subject {
            headers.push((OCI_SUBJECT, subject.as_str()));
        }
        Ok(respond(StatusCode::CREATED, &headers, Body::empty()))
    }

    pub(crate) async fn delete_manifest(
        &self,
        ctx: &Ctx<'_>,
        name: &str,
        reference: &str,
    ) -> Result<Response, OciError> {
        let name = RepoName::parse(name)?;
        let reference = Reference::parse(reference).map_err(|e| reference_error(e, false))?;
        let access = match reference {
            Reference::Tag(_) => Access::DeleteTag,
            Reference::Digest(_) => Access::Delete,
        };
        let repo = self.repo(ctx, name, access).await?;
        let deleted = match &reference {
            Reference::Tag(tag) => self.db.delete_tag(&repo.id, tag.as_str()).await?,
            Reference::Digest(digest) => self.db.delete_manifest(&repo.id, digest).await?,
        };
        if !deleted {
            return Err(manifest_unknown(&reference));
        }
        Ok(respond(
            StatusCode::ACCEPTED,
            &[(CONTENT_LENGTH, "0")],
            Body::empty(),
        ))
    }
}
