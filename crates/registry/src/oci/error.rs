//! The OCI error body and status codes: every failure of the data plane
//! becomes one [`OciError`], rendered in exactly one place
//! (`IntoResponse`) as `{"errors":[{"code","message","detail"}]}`.

use std::fmt;

use axum::http::header::{HeaderName, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::gate::Refusal;
use crate::manifest::ManifestError;
use crate::meta::{ContentError, MetaError};
use crate::name::{NameError, ReferenceError};
use crate::oci::body::BodyError;
use crate::storage::StorageError;

/// The error codes of the Distribution specification (code-1 … code-14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BlobUnknown => "BLOB_UNKNOWN",
            Code::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            Code::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            Code::DigestInvalid => "DIGEST_INVALID",
            Code::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            Code::ManifestInvalid => "MANIFEST_INVALID",
            Code::ManifestUnknown => "MANIFEST_UNKNOWN",
            Code::NameInvalid => "NAME_INVALID",
            Code::NameUnknown => "NAME_UNKNOWN",
            Code::SizeInvalid => "SIZE_INVALID",
            Code::Unauthorized => "UNAUTHORIZED",
            Code::Denied => "DENIED",
            Code::Unsupported => "UNSUPPORTED",
            Code::TooManyRequests => "TOOMANYREQUESTS",
        }
    }

    /// The status a code is answered with unless a handler says otherwise.
    pub fn status(self) -> StatusCode {
        match self {
            Code::BlobUnknown
            | Code::BlobUploadUnknown
            | Code::ManifestUnknown
            | Code::NameUnknown => StatusCode::NOT_FOUND,
            Code::BlobUploadInvalid
            | Code::DigestInvalid
            | Code::ManifestBlobUnknown
            | Code::ManifestInvalid
            | Code::NameInvalid
            | Code::SizeInvalid => StatusCode::BAD_REQUEST,
            Code::Unauthorized => StatusCode::UNAUTHORIZED,
            Code::Denied => StatusCode::FORBIDDEN,
            Code::Unsupported => StatusCode::METHOD_NOT_ALLOWED,
            Code::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failed request: status, code, message, optional detail, extra
/// headers (`WWW-Authenticate`, `Range`, `Content-Range`, …). Boxed, so
/// `Result<_, OciError>` stays small.
#[derive(Debug)]
pub struct OciError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    status: StatusCode,
    /// `None` for a 500, whose body carries no OCI code.
    code: Option<Code>,
    message: String,
    detail: Option<Value>,
    headers: HeaderMap,
}

impl OciError {
    pub fn new(code: Code, message: impl Into<String>) -> OciError {
        OciError(Box::new(Inner {
            status: code.status(),
            code: Some(code),
            message: message.into(),
            detail: None,
            headers: HeaderMap::new(),
        }))
    }

    /// A server-side failure: logged here, answered as a bare 500.
    pub fn internal(what: &str, error: impl fmt::Display) -> OciError {
        tracing::error!("registry: {what}: {error}");
        OciError(Box::new(Inner {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: None,
            message: format!("internal error while {what}"),
            detail: None,
            headers: HeaderMap::new(),
        }))
    }

    pub fn with_status(mut self, status: StatusCode) -> OciError {
        self.0.status = status;
        self
    }

    pub fn with_detail(mut self, detail: Value) -> OciError {
        self.0.detail = Some(detail);
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: &str) -> OciError {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.0.headers.insert(name, value);
        }
        self
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    pub fn code(&self) -> Option<Code> {
        self.0.code
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }
}

impl fmt::Display for OciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.0.code.map_or("INTERNAL", Code::as_str);
        write!(f, "{} {code}: {}", self.0.status.as_u16(), self.0.message)
    }
}

impl std::error::Error for OciError {}

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        let inner = *self.0;
        let code = inner.code.map_or("UNKNOWN", Code::as_str);
        let mut entry = json!({ "code": code, "message": inner.message });
        if let (Some(detail), Some(map)) = (inner.detail, entry.as_object_mut()) {
            map.insert("detail".to_owned(), detail);
        }
        let body = json!({ "errors": [entry] }).to_string();
        let mut response = (inner.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.extend(inner.headers);
        response
    }
}

impl From<Refusal> for OciError {
    fn from(refusal: Refusal) -> OciError {
        match refusal {
            Refusal::Challenge {
                www_authenticate,
                message,
            } => OciError::new(Code::Unauthorized, message)
                .with_header(WWW_AUTHENTICATE, &www_authenticate),
            Refusal::Denied { message } => OciError::new(Code::Denied, message),
            Refusal::NameUnknown { message } | Refusal::UnknownHost { message } => {
                OciError::new(Code::NameUnknown, message)
            }
            Refusal::NameInvalid { message } => OciError::new(Code::NameInvalid, message),
            Refusal::Internal { message } => OciError::internal("asking the gate", message),
        }
    }
}

impl From<NameError> for OciError {
    fn from(e: NameError) -> OciError {
        OciError::new(Code::NameInvalid, e.to_string())
    }
}

impl From<MetaError> for OciError {
    fn from(e: MetaError) -> OciError {
        OciError::internal("reading or writing registry metadata", e)
    }
}

impl From<ManifestError> for OciError {
    fn from(e: ManifestError) -> OciError {
        let error = OciError::new(Code::ManifestInvalid, e.to_string());
        if e == ManifestError::TooLarge {
            error.with_status(StatusCode::PAYLOAD_TOO_LARGE)
        } else {
            error
        }
    }
}

impl From<ContentError> for OciError {
    fn from(e: ContentError) -> OciError {
        let message = e.to_string();
        match e {
            ContentError::Meta(e) => e.into(),
            ContentError::RepositoryUnknown => OciError::new(Code::NameUnknown, message),
            ContentError::BlobsUnknown(digests) | ContentError::ManifestsUnknown(digests) => {
                OciError::new(Code::ManifestBlobUnknown, message)
                    .with_detail(json!({ "digests": digests }))
            }
            ContentError::TagImmutable { .. } => OciError::new(Code::Denied, message),
        }
    }
}

/// A manifest reference that is neither tag nor digest. Reads answer
/// `MANIFEST_UNKNOWN` (nothing can be stored under it); writes
/// `MANIFEST_INVALID`; a malformed digest is `DIGEST_INVALID`.
pub(crate) fn reference_error(e: ReferenceError, write: bool) -> OciError {
    match e {
        ReferenceError::Digest(d) => OciError::new(Code::DigestInvalid, d.to_string()),
        ReferenceError::Tag(t) if write => OciError::new(Code::ManifestInvalid, t.to_string()),
        ReferenceError::Tag(t) => OciError::new(Code::ManifestUnknown, t.to_string()),
    }
}

impl From<StorageError> for OciError {
    fn from(e: StorageError) -> OciError {
        let message = e.to_string();
        match e {
            StorageError::Digest(_) | StorageError::DigestMismatch { .. } => {
                OciError::new(Code::DigestInvalid, message)
            }
            StorageError::BlobUnknown(_) => OciError::new(Code::BlobUnknown, message),
            StorageError::InvalidUploadId(_) | StorageError::UploadUnknown(_) => {
                OciError::new(Code::BlobUploadUnknown, message)
            }
            StorageError::OffsetMismatch { .. } => OciError::new(Code::BlobUploadInvalid, message)
                .with_status(StatusCode::RANGE_NOT_SATISFIABLE),
            StorageError::RangeNotSatisfiable { size, .. } => {
                OciError::new(Code::SizeInvalid, message)
                    .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .with_header(
                        axum::http::header::CONTENT_RANGE,
                        &format!("bytes */{size}"),
                    )
            }
            StorageError::Io(io) => {
                match io.get_ref().and_then(|e| e.downcast_ref::<BodyError>()) {
                    Some(BodyError::Length { .. }) => {
                        OciError::new(Code::SizeInvalid, io.to_string())
                    }
                    Some(BodyError::Client(_)) => {
                        OciError::new(Code::BlobUploadInvalid, io.to_string())
                    }
                    None => OciError::internal("storing or reading a blob", io),
                }
            }
        }
    }
}
