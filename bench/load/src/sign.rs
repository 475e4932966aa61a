//! V1 (HMAC-SHA1) signed query strings, built with `crates/auth`, the
//! same code the server verifies with.
//!
//! Every request gets a fresh `Timestamp` and a `SignatureNonce` that no
//! other request of this process (or of another run) uses: a per-process
//! random prefix plus a shared counter.

use auth::{Secret, Timestamp};

/// Where the nonces come from: unique per request, across tasks, processes
/// and runs.
pub use auth::NonceSource;

/// An AccessKey pair.
#[derive(Clone)]
pub struct Key {
    pub access_key_id: String,
    pub secret: Secret,
}

/// The query string (without `?`) of a `GET` signed with V1 by `key`:
/// the common parameters, `business` (which carries `Action` and
/// `Version`), and `Signature` last. Parameter order in the query does
/// not matter; the signature covers them sorted.
pub fn signed_query(key: &Key, nonce: &str, business: &[(&str, &str)]) -> String {
    let timestamp = Timestamp::now().to_iso8601();
    let mut params: Vec<(&str, &str)> = Vec::with_capacity(business.len() + 6);
    params.extend_from_slice(&[
        ("AccessKeyId", key.access_key_id.as_str()),
        ("Format", "JSON"),
        ("SignatureMethod", auth::v1::SIGNATURE_METHOD),
        ("SignatureVersion", auth::v1::SIGNATURE_VERSION),
        ("SignatureNonce", nonce),
        ("Timestamp", timestamp.as_str()),
    ]);
    params.extend_from_slice(business);
    auth::v1::encode_signed("GET", &params, &key.secret)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    /// What the server does with the query: decode, then verify with the
    /// auth crate's V1 checks.
    fn decode(query: &str) -> Vec<(String, String)> {
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
        query
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                (unescape(k), unescape(v))
            })
            .collect()
    }

    #[test]
    fn signed_query_verifies_with_the_servers_checks() {
        let key = Key {
            access_key_id: "testid".into(),
            secret: Secret::new("testsecret"),
        };
        let nonces = NonceSource::new();
        let query = signed_query(
            &key,
            &nonces.next(),
            &[
                ("Action", "AssumeRole"),
                ("Version", "2015-04-01"),
                ("RoleArn", "acs:ram::1234567890123456:role/load-target"),
                ("RoleSessionName", "loader"),
            ],
        );
        let params = decode(&query);
        auth::v1::verify("GET", &params, &key.secret).unwrap();
        assert!(auth::v1::verify("GET", &params, &Secret::new("other")).is_err());
        let request = auth::v1::Request::parse("GET", &params).unwrap();
        assert_eq!(request.param("Action"), Some("AssumeRole"));
        // A fresh timestamp: within a minute of now.
        assert!((request.timestamp().unix_seconds() - Timestamp::now().unix_seconds()).abs() < 60);
    }

    #[test]
    fn nonces_do_not_repeat() {
        let nonces = NonceSource::new();
        let a = nonces.next();
        let b = nonces.next();
        assert_ne!(a, b);
        assert_ne!(NonceSource::new().next(), a);
    }
}
