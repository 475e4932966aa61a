//! Blob storage: the interface every engine implements, and its errors.
//!
//! The interface is shaped by the OCI distribution API — monolithic puts,
//! chunked upload sessions, ranged reads — but knows nothing of HTTP.
//! Engines promise that a blob is visible only once its bytes are durable
//! and verified against its digest.

mod local;

use std::future::Future;
use std::time::SystemTime;
use std::{fmt, io};

use tokio::io::AsyncRead;

pub use local::{LocalStore, LocalStoreOptions};

use crate::digest::{Digest, DigestError};

/// What can go wrong in a blob store.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A malformed digest (OCI `DIGEST_INVALID`).
    #[error(transparent)]
    Digest(#[from] DigestError),
    /// The bytes did not hash to the promised digest (OCI `DIGEST_INVALID`).
    /// Nothing was stored.
    #[error("content hashes to {actual}, not the expected {expected}")]
    DigestMismatch {
        /// The digest the caller promised.
        expected: Digest,
        /// The digest of the bytes received.
        actual: Digest,
    },
    /// No blob under this digest (OCI `BLOB_UNKNOWN`).
    #[error("blob {0} is unknown")]
    BlobUnknown(Digest),
    /// The text is not an upload id this store could have issued
    /// (OCI `BLOB_UPLOAD_INVALID`).
    #[error("{0:?} is not a valid upload id")]
    InvalidUploadId(String),
    /// No upload session with this id (OCI `BLOB_UPLOAD_UNKNOWN`).
    #[error("upload {0} is unknown")]
    UploadUnknown(UploadId),
    /// A chunk did not start where the session ends (OCI: 416).
    #[error("chunk starts at offset {given} but the upload has {expected} bytes")]
    OffsetMismatch {
        /// The session's current size, where the next chunk must start.
        expected: u64,
        /// The offset the chunk claimed.
        given: u64,
    },
    /// A range that selects no byte of the blob (HTTP 416).
    #[error("range {start}-{end} is not satisfiable for a blob of {size} bytes")]
    RangeNotSatisfiable {
        /// First byte asked for.
        start: u64,
        /// Last byte asked for (inclusive).
        end: u64,
        /// The blob's size.
        size: u64,
    },
    /// The underlying filesystem or object store failed.
    #[error("storage I/O failed: {0}")]
    Io(#[from] io::Error),
}

/// An upload session id: 32 lower-case hex digits (128 random bits).
///
/// Parsing is the only way to get one from outside, and it admits nothing
/// but hex, so an id is always safe to use as a path component.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UploadId(String);

impl UploadId {
    const LEN: usize = 32;

    /// A fresh random id.
    pub fn random() -> Result<Self, StorageError> {
        let mut bytes = [0u8; Self::LEN / 2];
        getrandom::fill(&mut bytes)
            .map_err(|e| StorageError::Io(io::Error::other(format!("no randomness: {e}"))))?;
        Ok(UploadId(hex::encode(bytes)))
    }

    /// Validates an id received from a client.
    pub fn parse(text: &str) -> Result<Self, StorageError> {
        let ok =
            text.len() == Self::LEN && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if ok {
            Ok(UploadId(text.to_owned()))
        } else {
            Err(StorageError::InvalidUploadId(text.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An open blob, or a byte range of one.
pub struct BlobRead {
    /// The size of the whole blob.
    pub size: u64,
    /// First byte the reader yields.
    pub start: u64,
    /// Last byte the reader yields (inclusive); meaningless for an empty
    /// blob read whole, where the reader yields nothing.
    pub end: u64,
    /// The bytes `start..=end`.
    pub reader: Box<dyn AsyncRead + Send + Unpin>,
    /// The file holding the whole blob, when the store keeps it in one: the
    /// HTTP layer may read it on a thread of its own rather than through
    /// `reader` (one copy fewer per byte).
    pub file: Option<std::path::PathBuf>,
}

impl BlobRead {
    /// How many bytes the reader yields.
    pub fn len(&self) -> u64 {
        if self.size == 0 {
            0
        } else {
            self.end - self.start + 1
        }
    }

    /// Whether the reader yields nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for BlobRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobRead")
            .field("size", &self.size)
            .field("start", &self.start)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

/// Resolves an optional inclusive range against a blob size, as HTTP does:
/// an end past the blob is clamped to its last byte; a start past it, or a
/// start after the end, selects nothing and is refused.
pub(crate) fn resolve_range(
    range: Option<(u64, u64)>,
    size: u64,
) -> Result<(u64, u64), StorageError> {
    match range {
        None => Ok((0, size.saturating_sub(1))),
        Some((start, end)) if start <= end && start < size => Ok((start, end.min(size - 1))),
        Some((start, end)) => Err(StorageError::RangeNotSatisfiable { start, end, size }),
    }
}

/// A content-addressed blob store.
///
/// Every write path verifies the digest before the blob becomes visible,
/// and never shows a partial blob, whatever happens midway.
pub trait BlobStore: Send + Sync {
    /// Stores the bytes of `reader` as `expected`. Fails with
    /// [`StorageError::DigestMismatch`], storing nothing, if they hash to
    /// anything else. Returns the blob's size. Storing a blob that already
    /// exists is not an error.
    fn put<R>(
        &self,
        expected: &Digest,
        reader: R,
    ) -> impl Future<Output = Result<u64, StorageError>> + Send
    where
        R: AsyncRead + Send + Unpin;

    /// Opens a blob, whole or the inclusive byte range `(start, end)`.
    fn get(
        &self,
        digest: &Digest,
        range: Option<(u64, u64)>,
    ) -> impl Future<Output = Result<BlobRead, StorageError>> + Send;

    /// The blob's size, or `None` if it is not stored.
    fn stat(
        &self,
        digest: &Digest,
    ) -> impl Future<Output = Result<Option<u64>, StorageError>> + Send;

    /// Removes a blob.
    fn delete(&self, digest: &Digest) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Opens an empty upload session.
    fn start_upload(&self) -> impl Future<Output = Result<UploadId, StorageError>> + Send;

    /// Appends the bytes of `reader` to a session. `offset` must equal the
    /// session's current size ([`StorageError::OffsetMismatch`] otherwise).
    /// Returns the new size. If the chunk fails midway the session is left
    /// as it was before it.
    fn append<R>(
        &self,
        id: &UploadId,
        offset: u64,
        reader: R,
    ) -> impl Future<Output = Result<u64, StorageError>> + Send
    where
        R: AsyncRead + Send + Unpin;

    /// Cuts a session back to `size` bytes (no-op when it holds fewer):
    /// how a request that appended and then failed undoes its chunk.
    fn truncate_upload(
        &self,
        id: &UploadId,
        size: u64,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// How many bytes a session holds.
    fn upload_status(
        &self,
        id: &UploadId,
    ) -> impl Future<Output = Result<u64, StorageError>> + Send;

    /// Verifies the session's bytes against `digest` and turns them into
    /// that blob; the session is gone afterwards. On a digest mismatch
    /// nothing is stored and the session is kept as it was.
    fn finish_upload(
        &self,
        id: &UploadId,
        digest: &Digest,
    ) -> impl Future<Output = Result<u64, StorageError>> + Send;

    /// Turns a session into the blob `digest` without hashing it again:
    /// the caller hashed every byte of the session as it was appended and
    /// vouches for the digest. Only when the session holds exactly `size`
    /// bytes (what the caller hashed); otherwise nothing happens and the
    /// answer is `false` (the caller then uses [`BlobStore::finish_upload`]).
    fn publish_hashed_upload(
        &self,
        id: &UploadId,
        digest: &Digest,
        size: u64,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;

    /// Abandons a session and its bytes.
    fn cancel_upload(&self, id: &UploadId)
        -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Removes every session started before `now` minus the store's
    /// maximum upload age. Returns how many were removed.
    fn purge_expired_uploads(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<usize, StorageError>> + Send;
}
