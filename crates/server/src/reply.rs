//! Success bodies: the action's payload plus `RequestId`, never a `Code`
//! (pop-core treats any `Code` outside a short list as an error, protocol
//! §5.1).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use crate::error::json_response;
use crate::request_id::RequestId;

/// An action's successful answer, before the request id is added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply(Map<String, Value>);

impl Reply {
    /// `{"RequestId": …}` alone (mutations without a payload).
    pub fn empty() -> Self {
        Self::default()
    }

    /// A payload given as a JSON object; anything else is nested under
    /// `Result` (no RAM action answers that way).
    pub fn from_value(value: Value) -> Self {
        match value {
            Value::Object(map) => Self(map),
            other => {
                let mut map = Map::new();
                map.insert("Result".into(), other);
                Self(map)
            }
        }
    }

    /// The payload's members.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The HTTP response: 200, JSON, with `RequestId` in the body and the
    /// `x-acs-request-id` header.
    pub fn into_response(self, request_id: &RequestId) -> Response {
        let mut body = self.0;
        body.remove("Code");
        body.insert(
            "RequestId".into(),
            Value::String(request_id.as_str().to_owned()),
        );
        json_response(StatusCode::OK, request_id, body)
    }
}
