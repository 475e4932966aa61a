//! Alibaba Cloud request signatures, checked and made exactly as the
//! official SDKs make them.
//!
//! # Why this crate exists
//!
//! rampart must accept requests from the unmodified Alibaba Cloud SDKs, and
//! those SDKs authenticate every call by signing it with an AccessKeySecret
//! the server also knows. Two schemes reach the server (see
//! `shared/protocol/alibaba-openapi.md` §1–3):
//!
//! * **V1, "RPC"** ([`v1`]): aliyun-python-sdk-core, @alicloud/pop-core, the
//!   Tea SDKs in `signature_algorithm='v2'` mode and every credentials
//!   provider put all parameters in the query or a form body, sign the
//!   sorted, percent-encoded set with HMAC-SHA1 (key `secret&`), and add
//!   the base64 result as the `Signature` parameter.
//! * **V3, `ACS3-HMAC-SHA256`** ([`v3`]): the default of every Tea SDK signs a
//!   canonical request (method, path, query, chosen headers, body hash)
//!   with HMAC-SHA256 and sends it in the `Authorization` header.
//!
//! A request with neither is anonymous (only `AssumeRoleWithOIDC/SAML`);
//! [`detect`] tells the three apart.
//!
//! # What the server checks, in order
//!
//! 1. Shape: [`v1::Request::parse`] or [`v3::Request::authorization`]
//!    yields the AccessKeyId (to look up the secret), the time and the
//!    nonce, or a precise error.
//! 2. Freshness: [`check_skew`] keeps the request within
//!    [`MAX_CLOCK_SKEW`] (±15 minutes, inclusive) of the server clock
//!    (`InvalidTimeStamp.Expired`).
//! 3. The signature, recomputed from what arrived and compared in constant
//!    time. On mismatch the error carries the server's string to sign, and
//!    [`signature_mismatch_message`] turns it into the `Message` that
//!    aliyun-python-sdk-core parses (it splits on `:` and compares; a
//!    message without one crashes it).
//! 4. Replay: [`NonceCache::check_and_insert`] refuses a nonce seen within
//!    the window (`SignatureNonceUsed`). This comes after the signature so
//!    that unauthenticated requests cannot fill the bounded cache.
//!
//! # Sealed tokens
//!
//! [`sealed`] holds the other half of the crate's job: values the server
//! hands out and must later trust without a lookup (STS security tokens,
//! registry bearer tokens) are sealed with XChaCha20-Poly1305 under a
//! [`KeyRing`] of rotating keys, bound to their purpose.
//!
//! Everything here is pure: no I/O, no clock reads except
//! [`Timestamp::now`] for callers that want it, no async. Secrets travel as
//! [`Secret`], whose `Debug` output is redacted.

mod encode;
mod mac;
mod message;
mod nonce;
pub mod sealed;
mod secret;
mod time;
pub mod v1;
pub mod v3;

pub use encode::{hex_digit_upper, percent_encode, percent_encode_into};
pub use message::{
    incomplete_signature_message, signature_mismatch_message, INCOMPLETE_SIGNATURE,
    INCOMPLETE_SIGNATURE_PREFIX, SIGNATURE_DOES_NOT_MATCH, SIGNATURE_MISMATCH_PREFIX,
};
pub use nonce::{NonceCache, NonceError, NonceSource, MAX_NONCE_LEN};
pub use sealed::{KeyRing, SealError, SealingKey};
pub use secret::Secret;
pub use time::{check_skew, SkewError, Timestamp, TimestampError, MAX_CLOCK_SKEW};

/// How a request is authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Authorization: ACS3-...` header.
    V3,
    /// A `Signature` parameter in the query or form body.
    V1,
    /// Neither (the OIDC and SAML role assumptions).
    Anonymous,
}

/// Tells the schemes apart as the protocol does: an `Authorization` header
/// starting with `ACS3-` is V3 (even an algorithm this crate then refuses),
/// else a `Signature` parameter (query ∪ form body) is V1, else anonymous.
pub fn detect<K: AsRef<str>, V: AsRef<str>>(
    authorization: Option<&str>,
    params: &[(K, V)],
) -> Scheme {
    if authorization.is_some_and(|value| value.trim_start().starts_with("ACS3-")) {
        Scheme::V3
    } else if params
        .iter()
        .any(|(k, _)| k.as_ref() == v1::SIGNATURE_PARAM)
    {
        Scheme::V1
    } else {
        Scheme::Anonymous
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_schemes() {
        let none: [(&str, &str); 0] = [];
        let signed = [("Action", "AssumeRole"), ("Signature", "x")];
        assert_eq!(
            detect(Some("ACS3-HMAC-SHA256 Credential=a"), &signed),
            Scheme::V3
        );
        assert_eq!(
            detect(Some("ACS3-HMAC-SM3 Credential=a"), &none),
            Scheme::V3
        );
        assert_eq!(detect(Some("Bearer x"), &signed), Scheme::V1);
        assert_eq!(detect(None, &signed), Scheme::V1);
        assert_eq!(
            detect(None, &[("Action", "AssumeRoleWithOIDC")]),
            Scheme::Anonymous
        );
        assert_eq!(detect(None, &none), Scheme::Anonymous);
    }
}
