//! Success bodies: the action's payload plus `RequestId`. RAM and STS never
//! send a `Code` on success (pop-core treats any `Code` outside a short list
//! as an error, protocol §5.1); Container Registry always does, as
//! `"Code": "success"` with `"IsSuccess": true` ([`Reply::cr`]).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use crate::error::json_response;
use crate::request_id::RequestId;

/// An action's successful answer, before the request id is added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply(Map<String, Value>, bool);

impl Reply {
    /// `{"RequestId": …}` alone (mutations without a payload).
    pub fn empty() -> Self {
        Self::default()
    }

    /// A Container Registry answer: the payload with `"Code": "success"`
    /// and `"IsSuccess": true`, as every CR action answers.
    pub fn cr(value: Value) -> Self {
        let mut reply = Self::from_value(value);
        reply
            .0
            .insert("Code".into(), Value::String("success".into()));
        reply.0.insert("IsSuccess".into(), Value::Bool(true));
        reply.1 = true;
        reply
    }

    /// A payload given as a JSON object; anything else is nested under
    /// `Result` (no RAM action answers that way).
    pub fn from_value(value: Value) -> Self {
        match value {
            Value::Object(map) => Self(map, false),
            other => {
                let mut map = Map::new();
                map.insert("Result".into(), other);
                Self(map, false)
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
        if !self.1 {
            body.remove("Code");
        }
        body.insert(
            "RequestId".into(),
            Value::String(request_id.as_str().to_owned()),
        );
        json_response(StatusCode::OK, request_id, body)
    }
}
