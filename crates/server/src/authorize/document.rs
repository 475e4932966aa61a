//! The body of an authorization call: the question a service asks and the
//! request it received, as it received it.
//!
//! ```json
//! {
//!   "Action": "fc:ListServices",
//!   "Resource": "acs:fc:cn-hangzhou:1234567890123456:services/*",
//!   "Request": {
//!     "Method": "POST",
//!     "Path": "/",
//!     "Query": "Action=ListServices&Version=2023-03-30",
//!     "Headers": {"host": "fc.example.internal:9000", "authorization": "ACS3-HMAC-SHA256 …"},
//!     "Body": "",
//!     "SourceIp": "10.1.2.3"
//!   }
//! }
//! ```
//!
//! `Query` is the raw query string (still percent-encoded, without `?`);
//! `Headers` maps each header name to its value (or to its values, in the
//! order received); the body is `Body` (text) or `BodyBase64` (bytes),
//! never both, and absent means empty. `SourceIp` is the caller's address
//! as the service saw it (the `acs:SourceIp` of the decision); absent, the
//! service's own address is used.

use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine as _;
use serde::Deserialize;

use crate::error::ApiError;

/// Longest `Action` or `Resource` accepted.
const MAX_NAME_LEN: usize = 1024;

/// What a service asks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Document {
    /// `product:Action`, as in a policy's `Action` (`fc:ListServices`).
    pub action: String,
    /// The ARN the action is about to touch.
    pub resource: String,
    /// The caller's request.
    pub request: Forwarded,
}

/// A header's value or values.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum HeaderValues {
    One(String),
    Many(Vec<String>),
}

/// The caller's request as the service received it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Forwarded {
    pub method: String,
    #[serde(default = "root_path")]
    pub path: String,
    #[serde(default)]
    pub query: String,
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderValues>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub body_base64: Option<String>,
    #[serde(default)]
    pub source_ip: Option<String>,
}

fn root_path() -> String {
    "/".to_owned()
}

fn invalid(detail: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_parameter("Request", detail)
}

impl Document {
    /// Parses and checks a document.
    pub fn parse(text: &[u8]) -> Result<Document, ApiError> {
        let document: Document = serde_json::from_slice(text)
            .map_err(|e| invalid(format_args!("is not an authorization document: {e}")))?;
        let action_ok = document
            .action
            .split_once(':')
            .is_some_and(|(product, name)| {
                let word = |s: &str| {
                    !s.is_empty()
                        && s.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                };
                word(product) && word(name)
            });
        if !action_ok || document.action.len() > MAX_NAME_LEN {
            return Err(invalid(format_args!(
                "names the action {:?}; an action is product:Name without wildcards (fc:ListServices)",
                document.action
            )));
        }
        if document.resource.len() > MAX_NAME_LEN || policy::Arn::parse(&document.resource).is_err()
        {
            return Err(invalid(format_args!(
                "names the resource {:?}; a resource is an ARN (acs:fc:cn-hangzhou:ACCOUNT:services/NAME)",
                document.resource
            )));
        }
        let method = &document.request.method;
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid(format_args!(
                "carries the method {method:?}; a method is upper-case letters (GET, POST)"
            )));
        }
        if !document.request.path.starts_with('/') {
            return Err(invalid("carries a path that does not start with /"));
        }
        Ok(document)
    }

    /// The account the resource belongs to, when it names one.
    pub fn resource_account(&self) -> Option<String> {
        policy::Arn::parse(&self.resource)
            .ok()
            .map(|arn| arn.account)
            .filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()))
    }
}

impl Forwarded {
    /// The headers as (name, value) pairs, in name order.
    pub fn header_pairs(&self) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        for (name, values) in &self.headers {
            match values {
                HeaderValues::One(value) => out.push((name.as_str(), value.as_str())),
                HeaderValues::Many(values) => {
                    out.extend(values.iter().map(|v| (name.as_str(), v.as_str())));
                }
            }
        }
        out
    }

    /// The body's bytes.
    pub fn body_bytes(&self) -> Result<Vec<u8>, ApiError> {
        match (&self.body, &self.body_base64) {
            (Some(_), Some(_)) => Err(invalid("carries both Body and BodyBase64")),
            (Some(text), None) => Ok(text.as_bytes().to_vec()),
            (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| invalid(format_args!("carries a BodyBase64 that is not base64: {e}"))),
            (None, None) => Ok(Vec::new()),
        }
    }

    /// The caller's address, when the service gave it.
    pub fn source_ip(&self) -> Result<Option<IpAddr>, ApiError> {
        self.source_ip
            .as_deref()
            .map(|text| {
                text.parse::<IpAddr>().map_err(|_| {
                    invalid(format_args!(
                        "carries the SourceIp {text:?}, not an IP address"
                    ))
                })
            })
            .transpose()
    }

    /// Whether the body is a form (its parameters are then signed by V1).
    pub fn is_form(&self) -> bool {
        self.header_pairs().iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("content-type")
                && value.split(';').next().is_some_and(|mime| {
                    mime.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
        })
    }

    /// The `Authorization` header, when there is one.
    pub fn authorization(&self) -> Option<&str> {
        self.header_pairs()
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
            .map(|(_, value)| value)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn doc(action: &str, resource: &str) -> String {
        serde_json::json!({
            "Action": action,
            "Resource": resource,
            "Request": {"Method": "GET", "Query": "a=b", "Headers": {"x-acs-date": ["1", "2"], "Host": "h"}}
        })
        .to_string()
    }

    #[test]
    fn parses_and_checks() {
        let ok = Document::parse(
            doc(
                "fc:ListServices",
                "acs:fc:cn-hangzhou:1234567890123456:services/*",
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(ok.request.path, "/");
        assert_eq!(ok.resource_account().as_deref(), Some("1234567890123456"));
        assert_eq!(
            ok.request.header_pairs(),
            vec![("Host", "h"), ("x-acs-date", "1"), ("x-acs-date", "2")]
        );
        assert!(ok.request.body_bytes().unwrap().is_empty());
        for (action, resource) in [
            ("fc:*", "acs:fc:cn-hangzhou:1:services/*"),
            ("ListServices", "acs:fc:cn-hangzhou:1:services/*"),
            ("fc:ListServices", "services/*"),
            ("fc:ListServices", "acs:fc:cn-hangzhou:abc:services/*"),
        ] {
            let err = Document::parse(doc(action, resource).as_bytes()).unwrap_err();
            assert_eq!(
                err.code(),
                "InvalidParameter.Request",
                "{action} {resource}"
            );
        }
        let err = Document::parse(b"{\"Action\": 1}").unwrap_err();
        assert_eq!(err.code(), "InvalidParameter.Request");
    }

    #[test]
    fn body_and_source_ip() {
        let mut forwarded: Forwarded = serde_json::from_value(serde_json::json!({
            "Method": "POST", "BodyBase64": "aGk=", "SourceIp": "10.0.0.1",
            "Headers": {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        }))
        .unwrap();
        assert_eq!(forwarded.body_bytes().unwrap(), b"hi");
        assert_eq!(
            forwarded.source_ip().unwrap(),
            Some("10.0.0.1".parse().unwrap())
        );
        assert!(forwarded.is_form());
        forwarded.body = Some("x".to_owned());
        assert!(forwarded.body_bytes().is_err());
        forwarded.source_ip = Some("nowhere".to_owned());
        assert!(forwarded.source_ip().is_err());
    }
}
