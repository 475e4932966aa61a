//! The Alibaba error shape, written in exactly one place.
//!
//! Every refusal the RPC endpoint makes, from a missing parameter to a
//! signature mismatch to a domain error out of `iam`, becomes an
//! [`ApiError`]; its [`IntoResponse`] is the only code that writes the
//! error body:
//!
//! ```json
//! {"RequestId":"…","HostId":"…","Code":"…","Message":"…","Recommend":"…"}
//! ```
//!
//! with the HTTP status the code calls for, `Content-Type:
//! application/json;charset=utf-8` and the request id repeated in the
//! `x-acs-request-id` header. The SDKs read `Code` and `Message` (see
//! `shared/protocol/alibaba-openapi.md` §5.2); `HostId` and `Recommend`
//! are there because Alibaba's own responses carry them.
//!
//! The codes and their texts follow Alibaba's gateway (§6.5) and RAM
//! (§7.4) tables. Where Alibaba documents nothing, the choice is written
//! beside the constructor.

use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::request_id::RequestId;

/// The `Content-Type` of every body this server writes.
pub const JSON_CONTENT_TYPE: &str = "application/json;charset=utf-8";

/// The response header that repeats the request id.
pub const REQUEST_ID_HEADER: &str = "x-acs-request-id";

/// The `HostId` when the request named no usable host.
pub const DEFAULT_HOST_ID: &str = "rampart";

/// An error answered in Alibaba's shape. Boxed, so that `Result<_, ApiError>`
/// stays one pointer wide on the success path.
#[derive(Debug, Clone)]
pub struct ApiError(Box<Body>);

#[derive(Debug, Clone)]
struct Body {
    status: StatusCode,
    code: Cow<'static, str>,
    message: String,
    recommend: String,
    request_id: Option<RequestId>,
    host_id: Option<String>,
    /// Why, for the audit log and the server's own logs; never sent.
    detail: Option<String>,
}

impl ApiError {
    /// An error with a status, an Alibaba code and a message.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self(Box::new(Body {
            status,
            code: code.into(),
            message: message.into(),
            recommend: String::new(),
            request_id: None,
            host_id: None,
            detail: None,
        }))
    }

    /// The error an STS type describes (`sts::WireError`: code, status,
    /// message), with its detail kept for the audit log.
    pub fn from_wire(err: &impl sts::WireError) -> Self {
        let status =
            StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut out = Self::new(status, err.code(), err.message());
        out.0.detail = err.detail();
        if status.is_server_error() {
            tracing::error!(code = %out.code(), detail = ?out.0.detail, "STS internal error");
        }
        out
    }

    /// Adds why, for the audit log (never sent to the caller).
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.0.detail = Some(detail.into());
        self
    }

    /// Why, when known: for the audit log, never for the caller.
    pub fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }

    /// Adds a hint for the caller (`Recommend`).
    pub fn recommend(mut self, hint: impl Into<String>) -> Self {
        self.0.recommend = hint.into();
        self
    }

    /// Binds the error to the request it answers (its id and host).
    pub fn for_request(mut self, request_id: &RequestId, host_id: &str) -> Self {
        self.0.request_id = Some(request_id.clone());
        self.0.host_id = Some(host_id.to_owned());
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The Alibaba error code (`SignatureDoesNotMatch`, `EntityNotExist.User`, …).
    pub fn code(&self) -> &str {
        &self.0.code
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    // ---- Gateway errors (protocol §6.5), in the order the endpoint checks.

    /// A required parameter is absent or empty. Alibaba's RPC gateway
    /// answers `Missing<Name>` with `<Name> is mandatory for this action.`
    /// (as in `MissingSecurityToken`); rampart does the same for every
    /// parameter, business ones included (`MissingUserName`).
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("Missing{name}"),
            format!("{name} is mandatory for this action."),
        )
    }

    /// A parameter whose value cannot be what it names (a malformed
    /// number, a bad enum value, a repeated parameter). The code is
    /// `InvalidParameter.<Name>` and the text follows RAM's
    /// `The parameter - "<Name>" …` form.
    pub fn invalid_parameter(name: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("InvalidParameter.{name}"),
            format!("The parameter - \"{name}\" {detail}."),
        )
    }

    /// A parameter appears twice (query and form body, or repeated).
    pub fn duplicate_parameter(name: &str) -> Self {
        Self::invalid_parameter(name, "appears more than once; send each parameter once")
    }

    /// The query or form body cannot be decoded (bad `%` escape, not UTF-8).
    pub fn malformed_parameters(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            format!("The request parameters are malformed: {detail}."),
        )
    }

    /// `SignatureMethod` other than `HMAC-SHA1`.
    pub fn invalid_signature_method(value: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidSignatureMethod",
            format!("Specified signature method is not supported: {value:?}; use HMAC-SHA1."),
        )
    }

    /// `SignatureVersion` other than `1.0`.
    pub fn invalid_signature_version(value: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidSignatureVersion",
            format!("Specified signature version is not supported: {value:?}; use 1.0."),
        )
    }

    /// `Timestamp` / `x-acs-date` is not `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn timestamp_format(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Format",
            format!("Specified time stamp or date value is not well formatted: {detail}."),
        )
    }

    /// The request time is more than 15 minutes from the server's.
    pub fn timestamp_expired(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Expired",
            format!("Specified time stamp or date value is expired: {detail}."),
        )
        .recommend("Sync the client clock (UTC); requests are accepted within 15 minutes of the server time.")
    }

    /// The AccessKeyId is unknown.
    pub fn access_key_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        )
    }

    /// The AccessKey exists but is disabled.
    pub fn access_key_inactive() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidAccessKeyId.Inactive",
            "Specified access key is disabled.",
        )
    }

    /// The signature does not verify. The message is exactly what the SDKs
    /// parse (see `auth::signature_mismatch_message`).
    pub fn signature_mismatch(string_to_sign: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            auth::SIGNATURE_DOES_NOT_MATCH,
            auth::signature_mismatch_message(string_to_sign),
        )
        .recommend(
            "Check the AccessKeySecret, and that the request is signed over exactly what is sent.",
        )
    }

    /// The signature material is malformed or incomplete (V3
    /// `Authorization` header unreadable, a required header unsigned, the
    /// body hash wrong). There is no string to sign to show, so the
    /// message carries what is wrong instead.
    pub fn incomplete_signature(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            auth::INCOMPLETE_SIGNATURE,
            format!("The request signature does not conform to Aliyun standards: {detail}."),
        )
    }

    /// The nonce was seen within the window.
    pub fn nonce_used() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        )
    }

    /// Unknown `Action` for a known version, or a method the endpoint does
    /// not serve.
    pub fn action_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        )
    }

    /// A `Version` that no product served here has.
    pub fn invalid_version() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        )
    }

    /// The caller may not do `action` on `resource`.
    pub fn no_permission(action: &str, resource: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "NoPermission",
            format!(
                "You are not authorized to do this action. Action: {action}, Resource: {resource}"
            ),
        )
        .recommend("Attach a policy that allows this action on this resource to the caller.")
    }

    /// The body is larger than the endpoint accepts. Alibaba documents no
    /// code for this; rampart answers 413 `EntityTooLarge` (OSS's name for
    /// the same condition).
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "EntityTooLarge",
            format!("The request body is larger than the {limit} bytes this endpoint accepts."),
        )
    }

    /// The request could not be checked for replay because the nonce
    /// memory is full of live nonces.
    pub fn service_unavailable(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            format!("The request has failed due to a temporary failure of the server: {detail}."),
        )
    }

    /// Something failed inside the server. The detail goes to the log,
    /// never to the caller.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "The request processing has failed due to some unknown error, exception or failure.",
        )
    }
}

impl From<iam::IamError> for ApiError {
    /// Domain errors carry their own code, status and message; internal
    /// ones are logged here with their source and answered without it.
    fn from(err: iam::IamError) -> Self {
        if let iam::IamError::Internal { context, source } = &err {
            match source {
                Some(source) => {
                    tracing::error!(context, error = %source, "internal error in the store")
                }
                None => tracing::error!(context, "internal error in the store"),
            }
            return Self::internal();
        }
        let status =
            StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(status, err.code(), err.message())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.0.status.as_u16(),
            self.0.code,
            self.0.message
        )
    }
}

impl std::error::Error for ApiError {}

/// A JSON response with the request id in the body and the header. Shared
/// by errors (here) and successes (`crate::reply`).
pub(crate) fn json_response(
    status: StatusCode,
    request_id: &RequestId,
    body: Map<String, Value>,
) -> Response {
    let text = Value::Object(body).to_string();
    let mut response = (status, text).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        headers.insert(REQUEST_ID_HEADER, value);
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = *self.0;
        let request_id = error.request_id.unwrap_or_default();
        let mut body = Map::new();
        body.insert(
            "RequestId".into(),
            Value::String(request_id.as_str().to_owned()),
        );
        body.insert(
            "HostId".into(),
            Value::String(error.host_id.unwrap_or_else(|| DEFAULT_HOST_ID.to_owned())),
        );
        body.insert("Code".into(), Value::String(error.code.into_owned()));
        body.insert("Message".into(), Value::String(error.message));
        body.insert("Recommend".into(), Value::String(error.recommend));
        json_response(error.status, &request_id, body)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn mismatch_message_splits_like_python_core() {
        let err = ApiError::signature_mismatch("GET&%2F&A%3Db");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert_eq!(err.code(), "SignatureDoesNotMatch");
        assert_eq!(err.message().split(':').nth(1), Some("GET&%2F&A%3Db"));
    }

    #[test]
    fn missing_parameter_names_it() {
        let err = ApiError::missing_parameter("UserName");
        assert_eq!(err.code(), "MissingUserName");
        assert_eq!(err.message(), "UserName is mandatory for this action.");
    }

    #[test]
    fn no_permission_names_the_action() {
        let err = ApiError::no_permission("ram:CreateUser", "acs:ram:*:1:user/a");
        assert!(err
            .message()
            .starts_with("You are not authorized to do this action. Action: ram:CreateUser"));
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
    }
}
