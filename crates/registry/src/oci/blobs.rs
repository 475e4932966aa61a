//! Blobs: `HEAD`/`GET /v2/<name>/blobs/<digest>` (with `Range`), and
//! `DELETE`, which unlinks the blob from the repository.
//!
//! A repository serves a blob only when it is linked there (pushed,
//! mounted) or is one of its manifests. HEAD answers from the metadata
//! alone; GET opens the file and streams it in `Limits::read_chunk`
//! reads, never holding the blob in memory.

use axum::http::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use axum::http::StatusCode;
use axum::response::Response;

use super::body::{self, RangeRequest};
use super::{respond, Ctx, OciError, Registry, DOCKER_CONTENT_DIGEST};
use crate::digest::Digest;
use crate::gate::{Access, Gate};
use crate::name::RepoName;
use crate::oci::Code;
use crate::storage::{BlobStore, StorageError};

/// Parses a digest from a URL or query (`DIGEST_INVALID` otherwise).
pub(crate) fn parse_digest(text: &str) -> Result<Digest, OciError> {
    Digest::parse(text).map_err(|e| OciError::new(Code::DigestInvalid, e.to_string()))
}

fn blob_unknown(digest: &Digest) -> OciError {
    OciError::new(
        Code::BlobUnknown,
        format!("blob {digest} is unknown to this repository"),
    )
}

impl<G: Gate, S: BlobStore + 'static> Registry<G, S> {
    pub(crate) async fn get_blob(
        &self,
        ctx: &Ctx<'_>,
        name: &str,
        digest: &str,
    ) -> Result<Response, OciError> {
        let name = RepoName::parse(name)?;
        let digest = parse_digest(digest)?;
        let repo = self.repo(ctx, name, Access::Pull).await?;
        let size = self
            .db
            .blob_size(&repo.id, &digest)
            .await?
            .ok_or_else(|| blob_unknown(&digest))?;
        let digest_text = digest.to_string();
        if ctx.is_head() {
            let length = size.to_string();
            return Ok(respond(
                StatusCode::OK,
                &[
                    (CONTENT_LENGTH, &length),
                    (CONTENT_TYPE, "application/octet-stream"),
                    (DOCKER_CONTENT_DIGEST, &digest_text),
                    (ACCEPT_RANGES, "bytes"),
                ],
                axum::body::Body::empty(),
            ));
        }
        let (status, range) = match body::range(ctx.header(RANGE), size) {
            RangeRequest::Whole => (StatusCode::OK, None),
            RangeRequest::Part(start, end) => (StatusCode::PARTIAL_CONTENT, Some((start, end))),
            RangeRequest::Unsatisfiable => {
                return Err(StorageError::RangeNotSatisfiable {
                    start: 0,
                    end: 0,
                    size,
                }
                .into())
            }
        };
        let blob = match self.store.get(&digest, range).await {
            Ok(blob) => blob,
            Err(StorageError::BlobUnknown(_)) => return Err(blob_unknown(&digest)),
            Err(e) => return Err(e.into()),
        };
        let length = blob.len().to_string();
        let content_range = format!("bytes {}-{}/{}", blob.start, blob.end, blob.size);
        let mut headers = vec![
            (CONTENT_LENGTH, length.as_str()),
            (CONTENT_TYPE, "application/octet-stream"),
            (DOCKER_CONTENT_DIGEST, digest_text.as_str()),
            (ACCEPT_RANGES, "bytes"),
        ];
        if status == StatusCode::PARTIAL_CONTENT {
            headers.push((CONTENT_RANGE, content_range.as_str()));
        }
        Ok(respond(status, &headers, {
            let (start, len) = (blob.start, blob.len());
            match blob.file {
                Some(path) if len > 0 => body::file(path, start, len, self.limits.read_chunk),
                _ => body::stream(blob.reader, self.limits.read_chunk),
            }
        }))
    }

    pub(crate) async fn delete_blob(
        &self,
        ctx: &Ctx<'_>,
        name: &str,
        digest: &str,
    ) -> Result<Response, OciError> {
        let name = RepoName::parse(name)?;
        let digest = parse_digest(digest)?;
        let repo = self.repo(ctx, name, Access::Delete).await?;
        if !self.db.unlink_blob(&repo.id, &digest).await? {
            return Err(blob_unknown(&digest));
        }
        let digest_text = digest.to_string();
        Ok(respond(
            StatusCode::ACCEPTED,
            &[(CONTENT_LENGTH, "0"), (DOCKER_CONTENT_DIGEST, &digest_text)],
            axum::body::Body::empty(),
        ))
    }
}
