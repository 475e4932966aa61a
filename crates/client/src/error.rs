//! What can go wrong, one variant per cause the user must act on
//! differently.

use std::path::PathBuf;

/// A failed pull or push.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The image reference does not parse.
    #[error("invalid image reference {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },
    /// The realm refused the credentials, or the registry still wants
    /// authentication after a fresh token (anonymous on a private
    /// repository).
    #[error("unauthorized: {message}")]
    Unauthorized { message: String },
    /// The registry knows who is asking and refuses (HTTP 403 `DENIED`).
    #[error("denied: {message}")]
    Denied { message: String },
    /// A repository, manifest or blob the registry does not have.
    #[error("not found: {message}")]
    NotFound { message: String },
    /// Bytes that do not hash to the digest that named them.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    /// Bytes of another length than their descriptor says.
    #[error("size mismatch for {what}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },
    /// The registry could not be reached, or the connection broke.
    #[error("network: {url}: {source}")]
    Network {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// Any other error answer of the registry or its realm.
    #[error("registry answered {status}{}: {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Registry {
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// An answer that breaks the protocol (a missing header, JSON that
    /// does not parse, a media type we do not know).
    #[error("protocol: {0}")]
    Protocol(String),
    /// An index without a manifest for the wanted platform.
    #[error("no manifest for platform {wanted} in the index (available: {available})")]
    NoMatchingPlatform { wanted: String, available: String },
    /// An OCI image layout that is missing, malformed or ambiguous.
    #[error("image layout {}: {message}", path.display())]
    Layout { path: PathBuf, message: String },
    /// A local file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The credential source failed.
    #[error("credentials: {0}")]
    Credentials(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    pub(crate) fn layout(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        Error::Layout {
            path: path.into(),
            message: message.into(),
        }
    }
}
