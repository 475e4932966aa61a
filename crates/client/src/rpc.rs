//! A minimal Alibaba Cloud RPC caller: what the credential helper needs of
//! rampart's STS and Container Registry APIs, signed V1 (HMAC-SHA1 over the
//! form, `SecurityToken` for temporary credentials) by `crates/auth`, the
//! code the server verifies with.
//!
//! Every call is a `POST /` with an `application/x-www-form-urlencoded`
//! body holding all parameters (common and business) and `Signature`.
//! A JSON answer with `Code` and a non-2xx status is an [`RpcError::Refused`]
//! carrying the server's `Code`, `Message` and `RequestId` unchanged.

use std::fmt;
use std::time::Duration;

use auth::{Secret, Timestamp};
use reqwest::header::CONTENT_TYPE;
use reqwest::Url;

/// STS 2015-04-01.
pub const STS_VERSION: &str = "2015-04-01";
/// Container Registry (ACR EE) 2018-12-01.
pub const CR_VERSION: &str = "2018-12-01";

/// An AccessKey pair, with the security token of temporary credentials.
#[derive(Clone)]
pub struct AccessKey {
    pub id: String,
    pub secret: Secret,
    pub security_token: Option<String>,
}

impl AccessKey {
    pub fn new(id: impl Into<String>, secret: impl Into<String>) -> AccessKey {
        AccessKey {
            id: id.into(),
            secret: Secret::new(secret.into()),
            security_token: None,
        }
    }
}

/// The secret and the token never reach logs.
impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// No answer: the server is down, the address is wrong, a timeout.
    #[error("cannot reach {endpoint}: {source}")]
    Unreachable {
        endpoint: String,
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an Alibaba error body.
    #[error("{action} refused ({status} {code}): {message}{}", request_id.as_deref().map(|r| format!(" [RequestId {r}]")).unwrap_or_default())]
    Refused {
        action: String,
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
    },
    /// An answer that is not what the API promises.
    #[error("{action}: unexpected answer from {endpoint}: {message}")]
    Protocol {
        action: String,
        endpoint: String,
        message: String,
    },
}

/// A signed-RPC client of one endpoint (`http://HOST:PORT`).
pub struct RpcClient {
    http: reqwest::Client,
    endpoint: Url,
    nonces: auth::NonceSource,
}

impl RpcClient {
    pub fn new(endpoint: &str) -> Result<RpcClient, RpcError> {
        let protocol = |message: String| RpcError::Protocol {
            action: "connect".into(),
            endpoint: endpoint.to_owned(),
            message,
        };
        let with_scheme = if endpoint.contains("://") {
            endpoint.to_owned()
        } else {
            format!("http://{endpoint}")
        };
        let endpoint_url = Url::parse(&with_scheme)
            .and_then(|u| u.join("/"))
            .map_err(|e| protocol(format!("not a URL: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|source| RpcError::Unreachable {
                endpoint: endpoint.to_owned(),
                source,
            })?;
        Ok(RpcClient {
            http,
            endpoint: endpoint_url,
            nonces: auth::NonceSource::new(),
        })
    }

    /// Calls `action` of API `version` with `params`, signed by `key`;
    /// returns the JSON answer of a success.
    pub async fn call(
        &self,
        key: &AccessKey,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<serde_json::Value, RpcError> {
        let body = signed_form(key, &self.nonces.next(), version, action, params);
        let response = self
            .http
            .post(self.endpoint.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|source| RpcError::Unreachable {
                endpoint: self.endpoint.to_string(),
                source,
            })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|source| RpcError::Unreachable {
                endpoint: self.endpoint.to_string(),
                source,
            })?;
        let value: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        let field = |name: &str| {
            value
                .as_ref()
                .and_then(|v| v.get(name))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        if !status.is_success() {
            return Err(RpcError::Refused {
                action: action.to_owned(),
                status: status.as_u16(),
                code: field("Code").unwrap_or_else(|| "(no code)".into()),
                message: field("Message").unwrap_or_else(|| text.chars().take(300).collect()),
                request_id: field("RequestId"),
            });
        }
        value.ok_or_else(|| RpcError::Protocol {
            action: action.to_owned(),
            endpoint: self.endpoint.to_string(),
            message: format!(
                "HTTP {status} without JSON: {}",
                text.chars().take(200).collect::<String>()
            ),
        })
    }

    pub fn endpoint(&self) -> &str {
        self.endpoint.as_str()
    }
}

/// The form body of a V1-signed `POST`: the common parameters, `params`,
/// and `Signature`.
pub fn signed_form(
    key: &AccessKey,
    nonce: &str,
    version: &str,
    action: &str,
    params: &[(&str, &str)],
) -> String {
    let timestamp = Timestamp::now().to_iso8601();
    let mut all: Vec<(&str, &str)> = Vec::with_capacity(params.len().saturating_add(9));
    all.extend_from_slice(&[
        ("Action", action),
        ("Version", version),
        ("AccessKeyId", key.id.as_str()),
        ("Format", "JSON"),
        ("SignatureMethod", auth::v1::SIGNATURE_METHOD),
        ("SignatureVersion", auth::v1::SIGNATURE_VERSION),
        ("SignatureNonce", nonce),
        ("Timestamp", timestamp.as_str()),
    ]);
    if let Some(token) = &key.security_token {
        all.push(("SecurityToken", token.as_str()));
    }
    all.extend_from_slice(params);
    auth::v1::encode_signed("POST", &all, &key.secret)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn decode(form: &str) -> Vec<(String, String)> {
        fn unescape(s: &str) -> String {
            let bytes = s.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'%' {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 3;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap()
        }
        form.split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                (unescape(k), unescape(v))
            })
            .collect()
    }

    #[test]
    fn the_form_verifies_with_the_servers_v1_check() {
        let mut key = AccessKey::new("STS.abc", "s3cret/+=");
        key.security_token = Some("tok en/+".into());
        let form = signed_form(
            &key,
            "n-1",
            STS_VERSION,
            "AssumeRole",
            &[("RoleArn", "acs:ram::1:role/x"), ("RoleSessionName", "a b")],
        );
        let params = decode(&form);
        auth::v1::verify("POST", &params, &key.secret).unwrap();
        assert!(auth::v1::verify("POST", &params, &Secret::new("other")).is_err());
        let request = auth::v1::Request::parse("POST", &params).unwrap();
        assert_eq!(request.security_token(), Some("tok en/+"));
        assert_eq!(request.param("RoleSessionName"), Some("a b"));
        assert!(!format!("{key:?}").contains("s3cret"));
    }

    #[test]
    fn nonces_differ() {
        let n = auth::NonceSource::new();
        assert_ne!(n.next(), n.next());
    }
}
