//! Blob uploads: `POST /v2/<name>/blobs/uploads/` (a session, a
//! monolithic upload with `?digest=`, or a cross-repository mount with
//! `?mount=&from=`), then `PATCH` chunks, `PUT ?digest=` to finish, `GET`
//! for the status and `DELETE` to cancel, all on
//! `/v2/<name>/blobs/uploads/<uuid>`.
//!
//! A session lives on disk in the blob store and as a `cr_uploads` row
//! naming its repository, so it survives a restart; used under any other
//! repository it is `BLOB_UPLOAD_UNKNOWN`. Bytes stream from the request
//! into the store; the digest is checked before the blob becomes visible.
//! A request that fails leaves the session as it was: a chunk that does
//! not arrive whole is cut off again, and so is the final chunk of a PUT
//! whose digest does not match.
//!
//! Status convention (Distribution's): `Range: 0-<last byte>`, and
//! `0-0` for an empty session.

use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, CONTENT_RANGE, LOCATION, RANGE};
use axum::http::{HeaderName, StatusCode};
use axum::response::Response;

use super::blobs::parse_digest;
use super::body::{self, BodyReader, HashingReader};
use super::{respond, Ctx, OciError, Registry, Repo, DOCKER_CONTENT_DIGEST, DOCKER_UPLOAD_UUID};
use std::collections::HashMap;
use std::sync::Mutex;

use crate::digest::{Algorithm, Digest, Hasher};
use crate::gate::{Access, Gate};
use crate::name::RepoName;
use crate::oci::Code;
use crate::storage::{BlobStore, StorageError, UploadId};

/// Hash state of sessions whose every byte went through this process:
/// `(SHA-256 so far, bytes hashed)`. A session appears here when it is
/// opened, and leaves it on any doubt (a failed or concurrent chunk): the
/// store then hashes the file at the end instead.
#[derive(Default)]
pub(crate) struct Progress {
    sessions: Mutex<HashMap<UploadId, (Hasher, u64)>>,
}

impl Progress {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UploadId, (Hasher, u64)>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn take(&self, id: &UploadId) -> Option<(Hasher, u64)> {
        self.lock().remove(id)
    }

    /// The state, when it covers exactly the bytes before `offset` (a
    /// chunk that starts elsewhere will be refused, and leaves it be).
    fn take_at(&self, id: &UploadId, offset: u64) -> Option<Hasher> {
        let mut sessions = self.lock();
        match sessions.get(id) {
            Some((_, hashed)) if *hashed == offset => sessions.remove(id).map(|(h, _)| h),
            _ => None,
        }
    }

    fn put(&self, id: UploadId, hasher: Hasher, size: u64) {
        self.lock().insert(id, (hasher, size));
    }

    pub(crate) fn ids(&self) -> Vec<UploadId> {
        self.lock().keys().cloned().collect()
    }
}

fn upload_unknown() -> OciError {
    OciError::new(
        Code::BlobUploadUnknown,
        "no such upload session in this repository",
    )
}

fn range_value(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

fn location(repo: &RepoName, id: &UploadId) -> String {
    format!("/v2/{repo}/blobs/uploads/{id}")
}

/// The answer for a session: Location, its UUID and the bytes it holds.
fn session_response(status: StatusCode, repo: &RepoName, id: &UploadId, size: u64) -> Response {
    let location = location(repo, id);
    let range = range_value(size);
    respond(
        status,
        &[
            (LOCATION, &location),
            (RANGE, &range),
            (DOCKER_UPLOAD_UUID, id.as_str()),
            (CONTENT_LENGTH, "0"),
        ],
        Body::empty(),
    )
}

/// 201 for a blob now in the repository.
fn created(repo: &RepoName, digest: &Digest) -> Response {
    let digest = digest.to_string();
    let location = format!("/v2/{repo}/blobs/{digest}");
    respond(
        StatusCode::CREATED,
        &[
            (LOCATION, &location),
            (DOCKER_CONTENT_DIGEST, &digest),
            (CONTENT_LENGTH, "0"),
        ],
        Body::empty(),
    )
}

/// A 416 for a chunk that does not start where the session ends, with
/// where it does end (so the client can resume).
fn out_of_order(repo: &RepoName, id: &UploadId, size: u64, message: String) -> OciError {
    OciError::new(Code::BlobUploadInvalid, message)
        .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
        .with_header(LOCATION, &location(repo, id))
        .with_header(RANGE, &range_value(size))
        .with_header(DOCKER_UPLOAD_UUID, id.as_str())
}

/// The chunk a request carries: where it starts (`Content-Range`) and how
/// long it must be (`Content-Range`, else `Content-Length`).
fn chunk_bounds(ctx: &Ctx<'_>) -> Result<(Option<u64>, Option<u64>), OciError> {
    let length = ctx.content_length();
    let Some(header) = ctx.header(CONTENT_RANGE) else {
        return Ok((None, length));
    };
    let (start, end) = body::content_range(header).ok_or_else(|| {
        OciError::new(
            Code::BlobUploadInvalid,
            format!("Content-Range {header:?} is not <start>-<end>"),
        )
        .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
    })?;
    let span = end - start + 1;
    if length.is_some_and(|l| l != span) {
        return Err(OciError::new(
            Code::SizeInvalid,
            format!("Content-Range {header:?} and Content-Length disagree"),
        ));
    }
    Ok((Some(start), Some(span)))
}

impl<G: Gate, S: BlobStore + 'static> Registry<G, S> {
    /// The session `id` of `repo`, or `BLOB_UPLOAD_UNKNOWN`.
    async fn session(&self, repo: &Repo, id: &str) -> Result<UploadId, OciError> {
        let id = UploadId::parse(id).map_err(|_| upload_unknown())?;
        match self.db.upload_repo(id.as_str()).await? {
            Some(owner) if owner == repo.id => Ok(id),
            _ => Err(upload_unknown()),
        }
    }

    /// Maps a store error on a session; a session whose bytes are gone
    /// (purged) loses its row too.
    async fn session_error(&self, id: &UploadId, error: StorageError) -> OciError {
        if matches!(error, StorageError::UploadUnknown(_)) {
            if let Err(e) = self.db.delete_upload(id.as_str()).await {
                return e.into();
            }
            return upload_unknown();
        }
        error.into()
    }

    pub(crate) async fn start_upload(
        &self,
        ctx: &Ctx<'_>,
        name: &str,
        body: Body,
    ) -> Result<Response, OciError> {
        let name = RepoName::parse(name)?;
        let digest = ctx.query("digest").map(parse_digest).transpose()?;
        let repo = self.repo(ctx, name, Access::Push).await?;
        if let (Some(mount), Some(from)) = (ctx.query("mount"), ctx.query("from")) {
            let digest = parse_digest(mount)?;
            if self.mount(ctx, &repo, &digest, from).await? {
                return Ok(created(&repo.name, &digest));
            }
        } else if let Some(digest) = digest {
            // Monolithic: the body is the whole blob.
            let reader = BodyReader::new(body, ctx.content_length());
            let size = self.store.put(&digest, reader).await?;
            self.db.link_blob(&repo.id, &digest, size).await?;
            return Ok(created(&repo.name, &digest));
        }
        let id = self.store.start_upload().await?;
        if let Err(e) = self.db.bind_upload(id.as_str(), &repo.id).await {
            // Best effort: the session is unusable without its row.
            let _ = self.store.cancel_upload(&id).await;
            return Err(e.into());
        }
        self.progress
            .put(id.clone(), Hasher::new(Algorithm::Sha256), 0);
        Ok(session_response(StatusCode::ACCEPTED, &repo.name, &id, 0))
    }

    /// Appends a chunk, hashing it on the way when the session's hash
    /// state covers exactly the bytes before `offset`.
    async fn append_chunk(
        &self,
        id: &UploadId,
        offset: u64,
        reader: BodyReader,
    ) -> Result<u64, StorageError> {
        let mut reader = HashingReader::new(reader, self.progress.take_at(id, offset));
        let size = self.store.append(id, offset, &mut reader).await?;
        if let Some(hasher) = reader.hasher {
            if offset.checked_add(reader.count) == Some(size) {
                self.progress.put(id.clone(), hasher, size);
            }
        }
        Ok(size)
    }

    /// Turns the session into the blob: without reading it again when its
    /// bytes were hashed as they came, else by having the store hash it.
    async fn finish(&self, id: &UploadId, digest: &Digest) -> Result<u64, StorageError> {
        if let Some((hasher, size)) = self.progress.take(id) {
            // On a mismatch the store decides (hashing the file): the
            // state may lag behind a chunk that bypassed it.
            if digest.algorithm() == Algorithm::Sha256
                && &hasher.finish() == digest
                && self.store.publish_hashed_upload(id, digest, size).await?
            {
                return Ok(size);
            }
        }
        self.store.finish_upload(id, digest).await
    }

    /// Links `digest` from repository `from` into `repo` when the caller
    /// may pull `from` and it has the blob. Any failure to mount is not an
    /// error: the client gets an upload session instead.
    async fn mount(
        &self,
        ctx: &Ctx<'_>,
        repo: &Repo,
        digest: &Digest,
        from: &str,
    ) -> Result<bool, OciError> {
        let Ok(from) = RepoName::parse(from) else {
            return Ok(false);
        };
        let Ok(source) = self.admit(ctx, Some(&from), Access::Pull).await else {
            return Ok(false);
        };
        let Some(source_id) = source.repo_id else {
            return Ok(false);
        };
        if source.instance_id != repo.instance_id {
            return Ok(false);
        }
        let Some(size) = self.db.blob_linked(&source_id, digest).await? else {
            return Ok(false);
        };
        if self.store.stat(digest).await?.is_none() {
            return Ok(false);
        }
        self.db.link_blob(&repo.id, digest, size).await?;
        Ok(true)
    }

    pub(crate) async fn patch_upload(
        &self,
        ctx: &Ctx<'_>,
        name: &str,
        id: &str,
        body: Body,
    ) -> Result<Response, OciError> {
        let name = RepoName::parse(name)?;
        let repo = self.repo(ctx, name, Access::Push).await?;
        let id = self.session(&repo, id).await?;
        let (start, length) = chunk_bounds(ctx)?;
        let offset = match start {
            Some(start) => start,
            // A streamed chunk continues where the session ends.
            None => match self.store.upload_status(&id).await {
                Ok(size) => size,
                Err(e) => return Err(self.session_error(&id, e).await),
            },
        };
        let reader = BodyReader::new(body, length);
        match self.append_chunk(&id, offset, reader).await {
            Ok(size) => Ok(session_response(
                StatusCode::ACCEPTED,
                &repo.name,
                &id,
                size,
            )),
            Err(StorageError::OffsetMismatch { expected, given }) => Err(out_of_order(
                &repo.name,
                &id,
                expected,
                format!("chunk starts at {given}, but the upload holds {expected} bytes"),
            )),
            Err(e) => Err(self.session_error(&id, e).await),
        }
    }

    pub(crate) async fn put_upload(
        &self,
        ctx: &Ctx<'_>,
        name: &str,
        id: &str,
        body: Body,
    ) -> Result<Response, OciError> {
        let name = RepoName::parse(name)?;
        let repo = self.repo(ctx, name, Access::Push).await?;
        let id = self.session(&repo, id).await?;
        let digest = ctx.query("digest").ok_or_else(|| {
            OciError::new(
                Code::DigestInvalid,
                "the digest query parameter is required to finish an upload",
            )
        })?;
        let digest = parse_digest(digest)?;
        let before = match self.store.upload_status(&id).await {
            Ok(size) => size,
            Err(e) => return Err(self.session_error(&id, e).await),
        };
        let has_chunk = !body::is_empty(&body);
        if has_chunk && before == 0 {
            let (start, length) = chunk_bounds(ctx)?;
            if start.unwrap_or(0) == 0 {
                // The whole blob in one PUT (POST, then PUT with the body:
                // what most clients do): written as a monolithic blob, with
                // the whole-blob write path, and the empty session dropped.
                // A failure leaves the session as it was: empty.
                let reader = BodyReader::new(body, length);
                let size = self.store.put(&digest, reader).await?;
                self.progress.take(&id);
                if let Err(e) = self.store.cancel_upload(&id).await {
                    tracing::warn!(upload = %id, error = %e, "could not remove a finished upload session");
                }
                self.db
                    .complete_upload(id.as_str(), &repo.id, &digest, size)
                    .await?;
                return Ok(created(&repo.name, &digest));
            }
        }
        if has_chunk {
            let (start, length) = chunk_bounds(ctx)?;
            let offset = start.unwrap_or(before);
            let reader = BodyReader::new(body, length);
            match self.append_chunk(&id, offset, reader).await {
                Ok(_) => {}
                Err(StorageError::OffsetMismatch { expected, given }) => {
                    return Err(out_of_order(
                        &repo.name,
                        &id,
                        expected,
                        format!("chunk starts at {given}, but the upload holds {expected} bytes"),
                    ))
                }
                Err(e) => return Err(self.session_error(&id, e).await),
            }
        }
        let size = match self.finish(&id, &digest).await {
            Ok(size) => size,
            Err(e) => {
                if has_chunk {
                    // Undo this request's chunk; the session is as it was.
                    if let Err(undo) = self.store.truncate_upload(&id, before).await {
                        return Err(undo.into());
                    }
                }
                return Err(self.session_error(&id, e).await);
            }
        };
        self.db
            .complete_upload(id.as_str(), &repo.id, &digest, size)
            .await?;
        Ok(created(&repo.name, &digest))
    }

    pub(crate) async fn upload_status(
        &self,
        ctx: &Ctx<'_>,
        name: &str,
        id: &str,
    ) -> Result<Response, OciError> {
        let name = RepoName::parse(name)?;
        let repo = self.repo(ctx, name, Access::Push).await?;
        let id = self.session(&repo, id).await?;
        match self.store.upload_status(&id).await {
            Ok(size) => Ok(session_response(
                StatusCode::NO_CONTENT,
                &repo.name,
                &id,
                size,
            )),
            Err(e) => Err(self.session_error(&id, e).await),
        }
    }

    pub(crate) async fn cancel_upload(
        &self,
        ctx: &Ctx<'_>,
        name: &str,
        id: &str,
    ) -> Result<Response, OciError> {
        let name = RepoName::parse(name)?;
        let repo = self.repo(ctx, name, Access::Push).await?;
        let id = self.session(&repo, id).await?;
        self.progress.take(&id);
        match self.store.cancel_upload(&id).await {
            Ok(()) | Err(StorageError::UploadUnknown(_)) => {}
            Err(e) => return Err(e.into()),
        }
        self.db.delete_upload(id.as_str()).await?;
        Ok(super::respond(
            StatusCode::NO_CONTENT,
            &[(CONTENT_LENGTH as HeaderName, "0")],
            Body::empty(),
        ))
    }
}
