//! V1 ("RPC", `SignatureVersion=1.0`, HMAC-SHA1) signatures.
//!
//! The client puts every parameter (business and common) in the query
//! string or a form body, signs them all, and adds the result as one more
//! parameter, `Signature`:
//!
//! ```text
//! canonical    = join("&", sorted by key: pct(key) "=" pct(value))
//! stringToSign = METHOD "&" pct("/") "&" pct(canonical)
//! Signature    = base64(HMAC-SHA1(key = secret "&", stringToSign))
//! ```
//!
//! The server signs over whatever arrived (query ∪ form body) except
//! `Signature`, never over a fixed list, and keeps empty values
//! (aliyun-python-sdk-core sends and signs `SignatureType=`).

use subtle::ConstantTimeEq;

use base64::Engine as _;
use hmac::Mac as _;
use sha1::Sha1;

use crate::encode::percent_encode_into;
use crate::mac::keyed;
use crate::time::{clip, Timestamp, TimestampError};
use crate::Secret;

/// The only `SignatureMethod` V1 accepts.
pub const SIGNATURE_METHOD: &str = "HMAC-SHA1";
/// The only `SignatureVersion` V1 accepts.
pub const SIGNATURE_VERSION: &str = "1.0";
/// The name of the parameter that carries the signature.
pub const SIGNATURE_PARAM: &str = "Signature";

/// Why a V1 request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum V1Error {
    /// A parameter every signed request carries is absent.
    #[error("the input parameter {0:?} that is mandatory for a signed request is not supplied")]
    MissingParameter(&'static str),
    /// A signature parameter appears more than once (the SDKs never
    /// repeat a parameter).
    #[error("parameter {0:?} appears more than once")]
    DuplicateParameter(&'static str),
    /// `SignatureMethod` is not `HMAC-SHA1`.
    #[error("unsupported SignatureMethod {0:?}; only HMAC-SHA1 is accepted")]
    UnsupportedSignatureMethod(String),
    /// `SignatureVersion` is not `1.0`.
    #[error("unsupported SignatureVersion {0:?}; only 1.0 is accepted")]
    UnsupportedSignatureVersion(String),
    /// `Timestamp` is not `YYYY-MM-DDTHH:MM:SSZ`.
    #[error("parameter \"Timestamp\": {0}")]
    Timestamp(#[from] TimestampError),
    /// The signature does not verify. Carries the server's string to sign
    /// for the `SignatureDoesNotMatch` message (see
    /// [`crate::signature_mismatch_message`]).
    #[error("signature does not match; server string to sign is {string_to_sign:?}")]
    SignatureMismatch {
        /// What the server signed.
        string_to_sign: String,
    },
}

impl V1Error {
    /// The server's string to sign, when the error is a mismatch.
    pub fn string_to_sign(&self) -> Option<&str> {
        match self {
            Self::SignatureMismatch { string_to_sign } => Some(string_to_sign),
            _ => None,
        }
    }
}

/// The canonicalised parameters: each pair encoded, sorted by raw key
/// (byte order; equal keys by value), joined with `&`. `Signature` is left
/// out.
pub fn canonical_query<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .filter(|(k, _)| *k != SIGNATURE_PARAM)
        .collect();
    pairs.sort_unstable();
    let mut out = String::new();
    for (i, (key, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        percent_encode_into(&mut out, key);
        out.push('=');
        percent_encode_into(&mut out, value);
    }
    out
}

/// The V1 string to sign for a request made with `method` (`GET`, `POST`,
/// exactly as sent) carrying `params` (decoded). A `Signature` parameter,
/// if present, is left out.
pub fn string_to_sign<K: AsRef<str>, V: AsRef<str>>(method: &str, params: &[(K, V)]) -> String {
    let canonical = canonical_query(params);
    let mut out = String::with_capacity(method.len() + 5 + canonical.len());
    out.push_str(method);
    out.push_str("&%2F&");
    percent_encode_into(&mut out, &canonical);
    out
}

/// The raw HMAC-SHA1 of `string_to_sign` under the key `secret&`.
fn mac(secret: &Secret, string_to_sign: &str) -> hmac::Hmac<Sha1> {
    let mut key = String::with_capacity(secret.expose().len() + 1);
    key.push_str(secret.expose());
    key.push('&');
    let mut mac = keyed::<Sha1>(key.as_bytes());
    mac.update(string_to_sign.as_bytes());
    mac
}

/// The `Signature` value: base64 of HMAC-SHA1 with key `secret + "&"`.
pub fn sign(secret: &Secret, string_to_sign: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(mac(secret, string_to_sign).finalize().into_bytes())
}

/// Signs `params` for `method` and returns the `Signature` value to add.
pub fn sign_params<K: AsRef<str>, V: AsRef<str>>(
    method: &str,
    params: &[(K, V)],
    secret: &Secret,
) -> String {
    sign(secret, &string_to_sign(method, params))
}

/// `params` signed for `method` and written out as a query string or
/// form body: each pair percent-encoded, `Signature` last. The same text
/// serves `GET` (after `?`) and `POST` (as the body).
pub fn encode_signed(method: &str, params: &[(&str, &str)], secret: &Secret) -> String {
    let signature = sign_params(method, params, secret);
    let mut out = String::with_capacity(512);
    for (name, value) in params
        .iter()
        .copied()
        .chain(std::iter::once((SIGNATURE_PARAM, signature.as_str())))
    {
        if !out.is_empty() {
            out.push('&');
        }
        percent_encode_into(&mut out, name);
        out.push('=');
        percent_encode_into(&mut out, value);
    }
    out
}

/// Verifies a V1 request in one step: [`Request::parse`] then
/// [`Request::verify`].
///
/// `params` is everything that arrived (query ∪ form body, decoded),
/// `Signature` included. This checks the shape and the signature only; the
/// caller still checks freshness ([`crate::check_skew`] on
/// [`Request::timestamp`]) and replay ([`crate::NonceCache`]).
pub fn verify<K: AsRef<str>, V: AsRef<str>>(
    method: &str,
    params: &[(K, V)],
    secret: &Secret,
) -> Result<(), V1Error> {
    Request::parse(method, params)?.verify(secret)
}

/// A V1-signed request, checked for shape, not yet for its signature.
///
/// Parse first to learn the `AccessKeyId` (and so the secret), the time and
/// the nonce, then [`verify`](Self::verify).
#[derive(Debug, Clone)]
pub struct Request<'a> {
    method: &'a str,
    params: Vec<(&'a str, &'a str)>,
    signature: &'a str,
    access_key_id: &'a str,
    nonce: &'a str,
    timestamp: Timestamp,
    security_token: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// Reads the signature parameters out of `params` (query ∪ form body,
    /// decoded, `Signature` included): `Signature`, `AccessKeyId`,
    /// `SignatureNonce`, `Timestamp` must each be present once,
    /// `SignatureMethod` must be `HMAC-SHA1` and `SignatureVersion` `1.0`.
    pub fn parse<K: AsRef<str>, V: AsRef<str>>(
        method: &'a str,
        params: &'a [(K, V)],
    ) -> Result<Self, V1Error> {
        let params: Vec<(&'a str, &'a str)> = params
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect();
        let single = |name: &'static str| -> Result<Option<&'a str>, V1Error> {
            let mut found = params.iter().filter(|(k, _)| *k == name).map(|(_, v)| *v);
            let first = found.next();
            if found.next().is_some() {
                return Err(V1Error::DuplicateParameter(name));
            }
            Ok(first)
        };
        let required = |name: &'static str| single(name)?.ok_or(V1Error::MissingParameter(name));

        let signature = required(SIGNATURE_PARAM)?;
        let access_key_id = required("AccessKeyId")?;
        let signature_method = required("SignatureMethod")?;
        if signature_method != SIGNATURE_METHOD {
            return Err(V1Error::UnsupportedSignatureMethod(clip(signature_method)));
        }
        let signature_version = required("SignatureVersion")?;
        if signature_version != SIGNATURE_VERSION {
            return Err(V1Error::UnsupportedSignatureVersion(clip(
                signature_version,
            )));
        }
        let nonce = required("SignatureNonce")?;
        let timestamp = Timestamp::parse(required("Timestamp")?)?;
        let security_token = single("SecurityToken")?;

        let mut params = params;
        params.retain(|(k, _)| *k != SIGNATURE_PARAM);
        Ok(Self {
            method,
            params,
            signature,
            access_key_id,
            nonce,
            timestamp,
            security_token,
        })
    }

    /// `AccessKeyId`: whose secret signs the request.
    pub fn access_key_id(&self) -> &'a str {
        self.access_key_id
    }

    /// `SignatureNonce`, for the replay check.
    pub fn nonce(&self) -> &'a str {
        self.nonce
    }

    /// `Timestamp`, for the skew check.
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// `SecurityToken`, present when the key is an STS key.
    pub fn security_token(&self) -> Option<&'a str> {
        self.security_token
    }

    /// The first value of a parameter (`Signature` is not among them).
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    }

    /// Every signed parameter, in arrival order.
    pub fn params(&self) -> &[(&'a str, &'a str)] {
        &self.params
    }

    /// The server's string to sign for this request.
    pub fn string_to_sign(&self) -> String {
        string_to_sign(self.method, &self.params)
    }

    /// Checks the signature under `secret`, in constant time.
    pub fn verify(&self, secret: &Secret) -> Result<(), V1Error> {
        let string_to_sign = self.string_to_sign();
        let expected = sign(secret, &string_to_sign);
        // Compare the base64 text itself: it is canonical, so a
        // non-canonical encoding of the right bytes is refused too.
        if bool::from(expected.as_bytes().ct_eq(self.signature.as_bytes())) {
            Ok(())
        } else {
            Err(V1Error::SignatureMismatch { string_to_sign })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::message::signature_mismatch_message;
    use proptest::prelude::*;

    const POLICY: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:Get*","Resource":"acs:oss:*:*:my bucket/+x"}]}"#;

    fn secret() -> Secret {
        Secret::new("testsecret")
    }

    fn with_signature<'a>(
        params: &[(&'a str, &'a str)],
        signature: &'a str,
    ) -> Vec<(&'a str, &'a str)> {
        let mut all = params.to_vec();
        all.push(("Signature", signature));
        all
    }

    // §2.4, official (Alibaba docs).
    const DESCRIBE_REGIONS: &[(&str, &str)] = &[
        ("AccessKeyId", "testid"),
        ("Action", "DescribeRegions"),
        ("Format", "XML"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2016-02-23T12:46:24Z"),
        ("Version", "2014-05-26"),
    ];

    // §2.4, official (RPC-mechanism page).
    const DESCRIBE_DEDICATED_HOSTS: &[(&str, &str)] = &[
        ("AccessKeyId", "testid"),
        ("Action", "DescribeDedicatedHosts"),
        ("Format", "JSON"),
        ("RegionId", "cn-beijing"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "edb2b34af0af9a6d14deaf7c1a5315eb"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2023-03-13T08:34:30Z"),
        ("Version", "2014-05-26"),
    ];

    // §2.4, AssumeRole exactly as aliyun-python-sdk-core sends it (in its
    // own, unsorted order).
    fn assume_role(with_signature_type: bool) -> Vec<(&'static str, &'static str)> {
        let mut params = vec![
            ("Action", "AssumeRole"),
            ("Version", "2015-04-01"),
            ("RegionId", "cn-hangzhou"),
            ("Format", "JSON"),
            ("RoleArn", "acs:ram::1234567890123456:role/test-role"),
            ("RoleSessionName", "alice~session"),
            ("DurationSeconds", "3600"),
            ("Policy", POLICY),
            ("AccessKeyId", "testid"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureType", ""),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("Timestamp", "2024-01-01T12:00:00Z"),
        ];
        if !with_signature_type {
            params.retain(|(k, _)| *k != "SignatureType");
        }
        params
    }

    // §2.4, pop-core POST with UTF-8 and an STS token.
    const CREATE_ROLE: &[(&str, &str)] = &[
        ("AccessKeyId", "testid"),
        ("Action", "CreateRole"),
        ("AssumeRolePolicyDocument", "{}"),
        ("Description", "测试 role*~!'()"),
        ("Format", "JSON"),
        ("RoleName", "r1"),
        ("SecurityToken", "CAES+tok/en="),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "nonce-0002"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2024-01-01T12:00:00Z"),
        ("Version", "2015-05-01"),
    ];

    const ASSUME_ROLE_STRING_TO_SIGN: &str = "GET&%2F&AccessKeyId%3Dtestid%26Action%3DAssumeRole%26DurationSeconds%3D3600%26Format%3DJSON%26Policy%3D%257B%2522Version%2522%253A%25221%2522%252C%2522Statement%2522%253A%255B%257B%2522Effect%2522%253A%2522Allow%2522%252C%2522Action%2522%253A%2522oss%253AGet%252A%2522%252C%2522Resource%2522%253A%2522acs%253Aoss%253A%252A%253A%252A%253Amy%2520bucket%252F%252Bx%2522%257D%255D%257D%26RegionId%3Dcn-hangzhou%26RoleArn%3Dacs%253Aram%253A%253A1234567890123456%253Arole%252Ftest-role%26RoleSessionName%3Dalice~session%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureType%3D%26SignatureVersion%3D1.0%26Timestamp%3D2024-01-01T12%253A00%253A00Z%26Version%3D2015-04-01";

    #[test]
    fn encode_signed_is_a_request_that_verifies() {
        let params = [("Action", "GetUser"), ("UserName", "a b/ü")];
        let text = encode_signed("POST", &params, &secret());
        assert!(text.starts_with("Action=GetUser&UserName=a%20b%2F%C3%BC&Signature="));
        let signature = sign_params("POST", &params, &secret());
        assert!(text.ends_with(&format!("&Signature={}", crate::percent_encode(&signature))));
    }

    #[test]
    fn nonce_sources_do_not_repeat() {
        let source = crate::NonceSource::new();
        let a = source.next();
        assert_ne!(a, source.next());
        assert_ne!(crate::NonceSource::new().next(), a);
    }

    #[test]
    fn vector_official_describe_regions() {
        assert_eq!(
            sign_params("GET", DESCRIBE_REGIONS, &secret()),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
        let params = with_signature(DESCRIBE_REGIONS, "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        assert_eq!(verify("GET", &params, &secret()), Ok(()));
    }

    #[test]
    fn vector_official_describe_dedicated_hosts() {
        assert_eq!(
            sign_params("GET", DESCRIBE_DEDICATED_HOSTS, &secret()),
            "9NaGiOspFP5UPcwX8Iwt2YJXXuk="
        );
        let params = with_signature(DESCRIBE_DEDICATED_HOSTS, "9NaGiOspFP5UPcwX8Iwt2YJXXuk=");
        assert_eq!(verify("GET", &params, &secret()), Ok(()));
    }

    #[test]
    fn vector_assume_role_python_core() {
        let params = assume_role(true);
        let s2s = string_to_sign("GET", &params);
        assert!(s2s.starts_with("GET&%2F&AccessKeyId%3Dtestid%26Action%3DAssumeRole%26DurationSeconds%3D3600%26Format%3DJSON%26Policy%3D%257B%2522Version"));
        assert_eq!(s2s, ASSUME_ROLE_STRING_TO_SIGN);
        assert_eq!(sign(&secret(), &s2s), "k/qzlBazG1NeY4Yy/NGdqi0jYA4=");
        let signed = with_signature(&params, "k/qzlBazG1NeY4Yy/NGdqi0jYA4=");
        assert_eq!(verify("GET", &signed, &secret()), Ok(()));
    }

    #[test]
    fn vector_assume_role_without_signature_type() {
        let params = assume_role(false);
        assert_eq!(
            sign_params("GET", &params, &secret()),
            "fLOYkRNYAc+M4noGfd9BOepML+s="
        );
        // Dropping the empty SignatureType from a request signed with it
        // breaks the signature: empty values are signed.
        let signed = with_signature(&params, "k/qzlBazG1NeY4Yy/NGdqi0jYA4=");
        assert!(verify("GET", &signed, &secret()).is_err());
    }

    #[test]
    fn vector_create_role_pop_core_post() {
        assert_eq!(
            sign_params("POST", CREATE_ROLE, &secret()),
            "xHCo+T81jJ8rtn2DuQdRxS/v0vg="
        );
        let signed = with_signature(CREATE_ROLE, "xHCo+T81jJ8rtn2DuQdRxS/v0vg=");
        let request = Request::parse("POST", &signed).unwrap();
        assert_eq!(request.security_token(), Some("CAES+tok/en="));
        assert_eq!(request.access_key_id(), "testid");
        assert_eq!(request.nonce(), "nonce-0002");
        assert_eq!(request.timestamp().to_iso8601(), "2024-01-01T12:00:00Z");
        assert_eq!(request.param("Description"), Some("测试 role*~!'()"));
        assert_eq!(request.param("Signature"), None);
        assert_eq!(request.verify(&secret()), Ok(()));
        // The method is part of the string to sign.
        assert!(verify("GET", &signed, &secret()).is_err());
    }

    #[test]
    fn parameter_order_does_not_matter() {
        let mut params = with_signature(DESCRIBE_REGIONS, "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        params.reverse();
        assert_eq!(verify("GET", &params, &secret()), Ok(()));
    }

    #[test]
    fn owned_strings_work_too() {
        let params: Vec<(String, String)> =
            with_signature(DESCRIBE_REGIONS, "OLeaidS1JvxuMvnyHOwuJ+uX5qY=")
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        assert_eq!(verify("GET", &params, &secret()), Ok(()));
    }

    #[test]
    fn wrong_secret_reports_the_string_to_sign() {
        let signed = with_signature(&assume_role(true), "k/qzlBazG1NeY4Yy/NGdqi0jYA4=");
        let err = verify("GET", &signed, &Secret::new("other")).unwrap_err();
        assert_eq!(err.string_to_sign(), Some(ASSUME_ROLE_STRING_TO_SIGN));
        let message = signature_mismatch_message(err.string_to_sign().unwrap());
        assert_eq!(message.split(':').nth(1), Some(ASSUME_ROLE_STRING_TO_SIGN));
    }

    #[test]
    fn tampered_params_fail() {
        let base = with_signature(DESCRIBE_REGIONS, "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        // Changed value.
        let mut changed = base.clone();
        changed[1].1 = "DeleteEverything";
        assert!(matches!(
            verify("GET", &changed, &secret()),
            Err(V1Error::SignatureMismatch { .. })
        ));
        // Added parameter (even an empty one).
        let mut added = base.clone();
        added.push(("RegionId", ""));
        assert!(verify("GET", &added, &secret()).is_err());
        // Removed parameter.
        let mut removed = base.clone();
        removed.retain(|(k, _)| *k != "Format");
        assert!(verify("GET", &removed, &secret()).is_err());
        // Signature changed in case only.
        let lowered = with_signature(DESCRIBE_REGIONS, "oLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        assert!(verify("GET", &lowered, &secret()).is_err());
        // Non-canonical base64 of the right bytes.
        let unpadded = with_signature(DESCRIBE_REGIONS, "OLeaidS1JvxuMvnyHOwuJ+uX5qY");
        assert!(verify("GET", &unpadded, &secret()).is_err());
        // Empty signature.
        let empty = with_signature(DESCRIBE_REGIONS, "");
        assert!(verify("GET", &empty, &secret()).is_err());
    }

    #[test]
    fn shape_errors() {
        let without = |name: &str| -> Vec<(&str, &str)> {
            with_signature(DESCRIBE_REGIONS, "x")
                .into_iter()
                .filter(|(k, _)| *k != name)
                .collect()
        };
        for name in [
            "Signature",
            "AccessKeyId",
            "SignatureMethod",
            "SignatureVersion",
            "SignatureNonce",
            "Timestamp",
        ] {
            let err = Request::parse("GET", &without(name)).unwrap_err();
            assert_eq!(err, V1Error::MissingParameter(name));
        }

        let mut twice = with_signature(DESCRIBE_REGIONS, "x");
        twice.push(("Signature", "y"));
        assert_eq!(
            Request::parse("GET", &twice).unwrap_err(),
            V1Error::DuplicateParameter("Signature")
        );

        let replace =
            |name: &'static str, value: &'static str| -> Vec<(&'static str, &'static str)> {
                with_signature(DESCRIBE_REGIONS, "x")
                    .into_iter()
                    .map(|(k, v)| if k == name { (k, value) } else { (k, v) })
                    .collect()
            };
        assert_eq!(
            Request::parse("GET", &replace("SignatureMethod", "HMAC-SHA256")).unwrap_err(),
            V1Error::UnsupportedSignatureMethod("HMAC-SHA256".into())
        );
        assert_eq!(
            Request::parse("GET", &replace("SignatureVersion", "2.0")).unwrap_err(),
            V1Error::UnsupportedSignatureVersion("2.0".into())
        );
        assert!(matches!(
            Request::parse("GET", &replace("Timestamp", "2016-02-23 12:46:24")).unwrap_err(),
            V1Error::Timestamp(TimestampError::Malformed { .. })
        ));
    }

    #[test]
    fn canonical_query_sorts_by_raw_key_and_encodes() {
        let params = [("b", "2 3"), ("a", "*"), ("Signature", "zzz"), ("B", "~")];
        assert_eq!(canonical_query(&params), "B=~&a=%2A&b=2%203");
        assert_eq!(
            string_to_sign("POST", &params),
            "POST&%2F&B%3D~%26a%3D%252A%26b%3D2%25203"
        );
    }

    #[test]
    fn long_secrets_work() {
        let long = Secret::new("k".repeat(500));
        let sig = sign_params("GET", DESCRIBE_REGIONS, &long);
        let signed = with_signature(DESCRIBE_REGIONS, &sig);
        assert_eq!(verify("GET", &signed, &long), Ok(()));
    }

    fn request_params() -> impl Strategy<Value = Vec<(String, String)>> {
        // Unique keys (business parameters), arbitrary Unicode values.
        proptest::collection::btree_map("[A-Za-z][A-Za-z0-9._-]{0,12}", any::<String>(), 0..8)
            .prop_map(|extra| {
                let mut params: Vec<(String, String)> = DESCRIBE_REGIONS
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect();
                for (k, v) in extra {
                    if !params.iter().any(|(pk, _)| *pk == k)
                        && k != "Signature"
                        && k != "SecurityToken"
                    {
                        params.push((k, v));
                    }
                }
                params
            })
    }

    proptest! {
        #[test]
        fn sign_then_verify(params in request_params(), secret in any::<String>(), post in any::<bool>()) {
            let method = if post { "POST" } else { "GET" };
            let secret = Secret::new(secret);
            let signature = sign_params(method, &params, &secret);
            let mut signed = params.clone();
            signed.push(("Signature".to_owned(), signature));
            prop_assert_eq!(verify(method, &signed, &secret), Ok(()));
        }

        #[test]
        fn flipping_a_value_byte_fails(
            params in request_params(),
            which in any::<proptest::sample::Index>(),
            at in any::<proptest::sample::Index>(),
            mask in 1_u8..=255,
        ) {
            let secret = secret();
            let signature = sign_params("GET", &params, &secret);
            let mut tampered = params.clone();
            let slot = &mut tampered[which.index(params.len())].1;
            let mut bytes = slot.clone().into_bytes();
            if bytes.is_empty() {
                bytes.push(mask);
            } else {
                let i = at.index(bytes.len());
                bytes[i] ^= mask;
            }
            // A flip that breaks UTF-8 cannot arrive as a decoded parameter;
            // the lossy form still differs from the original.
            *slot = String::from_utf8_lossy(&bytes).into_owned();
            prop_assume!(tampered != params);
            tampered.push(("Signature".to_owned(), signature));
            let result = verify("GET", &tampered, &secret);
            // Tampering a signature parameter may also be a shape error.
            prop_assert!(result.is_err());
        }

        #[test]
        fn flipping_a_signature_byte_fails(
            params in request_params(),
            at in any::<proptest::sample::Index>(),
            mask in 1_u8..=127,
        ) {
            let secret = secret();
            let mut bytes = sign_params("GET", &params, &secret).into_bytes();
            let i = at.index(bytes.len());
            bytes[i] ^= mask;
            let signature = String::from_utf8(bytes).unwrap();
            let mut signed = params.clone();
            signed.push(("Signature".to_owned(), signature));
            prop_assert!(
                matches!(verify("GET", &signed, &secret), Err(V1Error::SignatureMismatch { .. })),
                "tampered signature verified"
            );
        }

        #[test]
        fn verify_never_panics(
            method in ".{0,8}",
            params in proptest::collection::vec((".{0,16}", ".{0,32}"), 0..16),
        ) {
            let _ = verify(&method, &params, &secret());
        }
    }
}
