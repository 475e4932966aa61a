//! V3 (`ACS3-HMAC-SHA256`) signatures, the default of every Tea SDK.
//!
//! The client signs a canonical request built from the method, the path,
//! the query, a chosen list of headers and the body's SHA-256, and sends
//!
//! ```text
//! Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<a;b;c>,Signature=<hex>
//! ```
//!
//! where
//!
//! ```text
//! CanonicalRequest = METHOD \n URI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n HashedPayload
//! CanonicalQuery   = join("&", sorted by key: key "=" pct(value))
//! CanonicalHeaders = for each signed header, sorted: name ":" trim(value) \n
//! HashedPayload    = the x-acs-content-sha256 header (hex SHA-256 of the body)
//! StringToSign     = "ACS3-HMAC-SHA256" \n hex(SHA-256(CanonicalRequest))
//! Signature        = hex(HMAC-SHA256(key = secret, StringToSign))
//! ```
//!
//! The SDKs disagree on which headers to sign (Python signs every header it
//! set, `accept` and `user-agent` included; Node signs `host`,
//! `content-type` and `x-acs-*`), so the server rebuilds the canonical
//! headers from the names the `Authorization` header lists, insisting only
//! that the ones which make a request unique and fresh are among them
//! ([`REQUIRED_SIGNED_HEADERS`]).

use std::fmt;

use hmac::Mac as _;
use sha2::{Digest as _, Sha256};

use crate::encode::percent_encode_into;
use crate::mac::keyed;
use crate::time::{clip, Timestamp, TimestampError};
use crate::Secret;

/// The algorithm name in the `Authorization` header and the string to sign.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// `x-acs-content-sha256` of an empty body.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Headers every accepted request must have signed: without them a
/// signature could be replayed against another host or action, or past the
/// skew window, or with another body. Both SDK families sign all of them.
pub const REQUIRED_SIGNED_HEADERS: [&str; 6] = [
    "host",
    "x-acs-action",
    "x-acs-content-sha256",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-version",
];

/// Headers that, when a request carries them, must be signed too: they
/// name the credential (STS key and token), so an unsigned one could be
/// swapped.
pub const SIGNED_IF_PRESENT: [&str; 2] = ["x-acs-accesskey-id", "x-acs-security-token"];

/// Why an `Authorization` header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationError {
    /// The header is empty.
    #[error("Authorization header is empty")]
    Empty,
    /// The scheme is not `ACS3-HMAC-SHA256` (e.g. `ACS3-HMAC-SM3`).
    #[error("unsupported signature algorithm {0:?}; only ACS3-HMAC-SHA256 is accepted")]
    UnsupportedAlgorithm(String),
    /// A comma-separated part is not `Name=value`.
    #[error("Authorization part {0:?} is not of the form Name=value")]
    MalformedPart(String),
    /// A part other than `Credential`, `SignedHeaders`, `Signature`.
    #[error("unknown Authorization field {0:?}; expected Credential, SignedHeaders, Signature")]
    UnknownField(String),
    /// A required field is absent.
    #[error("Authorization lacks {0}")]
    MissingField(&'static str),
    /// A field appears twice.
    #[error("Authorization has {0} more than once")]
    DuplicateField(&'static str),
    /// `Credential=` is empty or holds spaces or control characters (a
    /// missing comma between parts looks like this).
    #[error("Authorization Credential {0:?} is not an AccessKeyId (empty, or has spaces or control characters)")]
    BadCredential(String),
    /// `SignedHeaders` names something that is not a header name.
    #[error("SignedHeaders entry {0:?} is not a header name")]
    BadSignedHeader(String),
    /// `SignedHeaders` names a header twice.
    #[error("SignedHeaders lists {0:?} twice")]
    DuplicateSignedHeader(String),
    /// `Signature` is not 64 lower-case hex digits.
    #[error("Authorization Signature must be 64 lower-case hex digits, got {0:?}")]
    BadSignature(String),
}

/// Why a V3 request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum V3Error {
    /// No `Authorization` header.
    #[error("missing Authorization header")]
    MissingAuthorization,
    /// The `Authorization` header is malformed.
    #[error(transparent)]
    Authorization(#[from] AuthorizationError),
    /// A header that must be signed is not in `SignedHeaders`.
    #[error("header {0:?} must be signed (listed in SignedHeaders)")]
    HeaderNotSigned(String),
    /// A header listed in `SignedHeaders` is not in the request.
    #[error("signed header {0:?} is not present in the request")]
    SignedHeaderMissing(String),
    /// A header the request must carry is absent.
    #[error("missing header {0:?}")]
    MissingHeader(&'static str),
    /// A header that must be single appears more than once.
    #[error("header {0:?} appears more than once")]
    DuplicateHeader(&'static str),
    /// `x-acs-content-sha256` is not a hex SHA-256.
    #[error("x-acs-content-sha256 {0:?} is not a hex SHA-256 digest")]
    MalformedContentSha256(String),
    /// `x-acs-content-sha256` does not match the body received.
    #[error("x-acs-content-sha256 {declared:?} does not match the body, which hashes to {actual}")]
    ContentSha256Mismatch {
        /// The header's value.
        declared: String,
        /// The hex SHA-256 of the body received.
        actual: String,
    },
    /// `x-acs-date` is not `YYYY-MM-DDTHH:MM:SSZ`.
    #[error("header \"x-acs-date\": {0}")]
    Date(#[from] TimestampError),
    /// The signature does not verify. Carries the server's string to sign
    /// for the error message (see [`crate::signature_mismatch_message`]).
    #[error("signature does not match; server string to sign is {string_to_sign:?}")]
    SignatureMismatch {
        /// What the server signed.
        string_to_sign: String,
    },
}

impl V3Error {
    /// The server's string to sign, when the error is a mismatch.
    pub fn string_to_sign(&self) -> Option<&str> {
        match self {
            Self::SignatureMismatch { string_to_sign } => Some(string_to_sign),
            _ => None,
        }
    }
}

/// A request as the V3 signature sees it. Values are as received: the path
/// as on the wire (not decoded), query pairs decoded, header names in any
/// case.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `GET`, `POST`, ... exactly as sent.
    pub method: &'a str,
    /// The request path (`/` for the RPC APIs); empty means `/`.
    pub path: &'a str,
    /// Query parameters, decoded.
    pub query: &'a [(&'a str, &'a str)],
    /// Every header received (name, value).
    pub headers: &'a [(&'a str, &'a str)],
    /// The body received.
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// The first value of header `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The value of a header that must appear exactly once, trimmed.
    fn single_header(&self, name: &'static str) -> Result<&'a str, V3Error> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim());
        let first = values.next().ok_or(V3Error::MissingHeader(name))?;
        if values.next().is_some() {
            return Err(V3Error::DuplicateHeader(name));
        }
        Ok(first)
    }

    /// The parsed `Authorization` header.
    pub fn authorization(&self) -> Result<Authorization, V3Error> {
        let value = match self.single_header("authorization") {
            Err(V3Error::MissingHeader(_)) => return Err(V3Error::MissingAuthorization),
            other => other?,
        };
        Ok(Authorization::parse(value)?)
    }

    /// `x-acs-date`, for the skew check.
    pub fn date(&self) -> Result<Timestamp, V3Error> {
        Ok(Timestamp::parse(self.single_header("x-acs-date")?)?)
    }

    /// `x-acs-signature-nonce`, for the replay check.
    pub fn nonce(&self) -> Result<&'a str, V3Error> {
        self.single_header("x-acs-signature-nonce")
    }
}

/// A parsed `Authorization: ACS3-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    access_key_id: String,
    /// Lower case, sorted, unique.
    signed_headers: Vec<String>,
    signature: [u8; 32],
}

/// Whether `byte` may appear in an HTTP header name (RFC 9110 `tchar`).
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Whether `value` can be an AccessKeyId: printable ASCII without spaces,
/// commas or `=` (which would break the header's syntax).
fn is_access_key_id(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b',' && b != b'=')
}

/// Lower-cases, checks and sorts a list of header names.
fn normalise_header_names<'n>(
    names: impl IntoIterator<Item = &'n str>,
) -> Result<Vec<String>, AuthorizationError> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(AuthorizationError::BadSignedHeader(clip(name)));
        }
        out.push(name.to_ascii_lowercase());
    }
    out.sort_unstable();
    if let Some(pair) = out.windows(2).find(|pair| pair.first() == pair.get(1)) {
        let name = pair.first().cloned().unwrap_or_default();
        return Err(AuthorizationError::DuplicateSignedHeader(name));
    }
    Ok(out)
}

impl Authorization {
    /// Parses the header value. Spaces around the comma-separated parts are
    /// allowed; `SignedHeaders` may be in any order and case (it is
    /// lower-cased and sorted, as the canonical form requires).
    pub fn parse(value: &str) -> Result<Self, AuthorizationError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(AuthorizationError::Empty);
        }
        let (algorithm, rest) = value.split_once(' ').unwrap_or((value, ""));
        if algorithm != ALGORITHM {
            return Err(AuthorizationError::UnsupportedAlgorithm(clip(algorithm)));
        }

        let mut credential = None;
        let mut signed_headers = None;
        let mut signature = None;
        for part in rest.split(',').map(str::trim) {
            if part.is_empty() && rest.trim().is_empty() {
                break;
            }
            let (name, field_value) = part
                .split_once('=')
                .ok_or_else(|| AuthorizationError::MalformedPart(clip(part)))?;
            let (slot, field) = match name.trim() {
                "Credential" => (&mut credential, "Credential"),
                "SignedHeaders" => (&mut signed_headers, "SignedHeaders"),
                "Signature" => (&mut signature, "Signature"),
                other => return Err(AuthorizationError::UnknownField(clip(other))),
            };
            if slot.replace(field_value.trim()).is_some() {
                return Err(AuthorizationError::DuplicateField(field));
            }
        }

        let access_key_id = credential.ok_or(AuthorizationError::MissingField("Credential"))?;
        if !is_access_key_id(access_key_id) {
            return Err(AuthorizationError::BadCredential(clip(access_key_id)));
        }
        let signed_headers =
            signed_headers.ok_or(AuthorizationError::MissingField("SignedHeaders"))?;
        let signed_headers = normalise_header_names(signed_headers.split(';'))?;
        let signature_hex = signature.ok_or(AuthorizationError::MissingField("Signature"))?;
        let bad_signature = || AuthorizationError::BadSignature(clip(signature_hex));
        if !signature_hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad_signature());
        }
        let mut signature = [0_u8; 32];
        hex::decode_to_slice(signature_hex, &mut signature).map_err(|_| bad_signature())?;

        Ok(Self {
            access_key_id: access_key_id.to_owned(),
            signed_headers,
            signature,
        })
    }

    /// `Credential`: the AccessKeyId whose secret signed the request.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// `SignedHeaders`, lower case and sorted.
    pub fn signed_headers(&self) -> &[String] {
        &self.signed_headers
    }

    /// Whether `name` (lower case) is among the signed headers.
    pub fn is_signed(&self, name: &str) -> bool {
        self.signed_headers
            .binary_search_by(|h| h.as_str().cmp(name))
            .is_ok()
    }

    /// The signature, hex-encoded.
    pub fn signature_hex(&self) -> String {
        hex::encode(self.signature)
    }
}

/// The header value: `ACS3-HMAC-SHA256 Credential=...,SignedHeaders=...,Signature=...`.
impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{ALGORITHM} Credential={},SignedHeaders={},Signature={}",
            self.access_key_id,
            self.signed_headers.join(";"),
            self.signature_hex()
        )
    }
}

/// Hex SHA-256 of `body`, the value of `x-acs-content-sha256`.
pub fn content_sha256_hex(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// `key=pct(value)` pairs sorted by key (then value), joined by `&`. Keys
/// are written as they are, as the Tea SDKs do.
pub fn canonical_query_string(query: &[(&str, &str)]) -> String {
    let mut pairs = query.to_vec();
    pairs.sort_unstable();
    let mut out = String::new();
    for (i, (key, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        percent_encode_into(&mut out, value);
    }
    out
}

/// The canonical request over `signed_headers` (lower case, sorted, as
/// [`Authorization::signed_headers`] gives them).
pub fn canonical_request(
    request: &Request<'_>,
    signed_headers: &[String],
) -> Result<String, V3Error> {
    let hashed_payload = request.single_header("x-acs-content-sha256")?;
    let mut out = String::new();
    out.push_str(request.method);
    out.push('\n');
    out.push_str(if request.path.is_empty() {
        "/"
    } else {
        request.path
    });
    out.push('\n');
    out.push_str(&canonical_query_string(request.query));
    out.push('\n');
    for name in signed_headers {
        let mut values: Vec<&str> = request
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect();
        if values.is_empty() {
            return Err(V3Error::SignedHeaderMissing(name.clone()));
        }
        values.sort_unstable();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(hashed_payload);
    Ok(out)
}

/// `ACS3-HMAC-SHA256\n` followed by the hex SHA-256 of the canonical request.
pub fn string_to_sign(canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

fn mac(secret: &Secret, string_to_sign: &str) -> hmac::Hmac<Sha256> {
    let mut mac = keyed::<Sha256>(secret.expose().as_bytes());
    mac.update(string_to_sign.as_bytes());
    mac
}

/// Hex HMAC-SHA256 of `string_to_sign` under `secret` (no `&` appended,
/// unlike V1).
pub fn sign(secret: &Secret, string_to_sign: &str) -> String {
    hex::encode(mac(secret, string_to_sign).finalize().into_bytes())
}

/// The headers the Rust client signs: `host`, `content-type` and every
/// `x-acs-*` header present (the Node SDK's choice, which leaves
/// `user-agent` and `accept` free for proxies to touch).
pub fn default_signed_headers(headers: &[(&str, &str)]) -> Vec<String> {
    let mut names: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .filter(|n| n == "host" || n == "content-type" || n.starts_with("x-acs-"))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Signs `request` as the SDKs do, over [`default_signed_headers`], and
/// returns the `Authorization` header (its `Display` is the header value).
///
/// The request must already carry every header in
/// [`REQUIRED_SIGNED_HEADERS`], with `x-acs-content-sha256` matching the
/// body.
pub fn sign_request(
    request: &Request<'_>,
    access_key_id: &str,
    secret: &Secret,
) -> Result<Authorization, V3Error> {
    let names = default_signed_headers(request.headers);
    sign_request_with_headers(
        request,
        access_key_id,
        secret,
        names.iter().map(String::as_str),
    )
}

/// Like [`sign_request`], over a chosen list of headers (any order and
/// case; the required ones must be among them).
pub fn sign_request_with_headers<'n>(
    request: &Request<'_>,
    access_key_id: &str,
    secret: &Secret,
    signed_headers: impl IntoIterator<Item = &'n str>,
) -> Result<Authorization, V3Error> {
    if !is_access_key_id(access_key_id) {
        return Err(AuthorizationError::BadCredential(clip(access_key_id)).into());
    }
    let signed_headers = normalise_header_names(signed_headers)?;
    check_signed_header_policy(request, &signed_headers)?;
    check_content_sha256(request)?;
    let string_to_sign = string_to_sign(&canonical_request(request, &signed_headers)?);
    Ok(Authorization {
        access_key_id: access_key_id.to_owned(),
        signed_headers,
        signature: mac(secret, &string_to_sign).finalize().into_bytes().into(),
    })
}

/// Requires the headers that must be signed to be signed.
fn check_signed_header_policy(
    request: &Request<'_>,
    signed_headers: &[String],
) -> Result<(), V3Error> {
    let is_signed = |name: &str| signed_headers.iter().any(|h| h == name);
    for name in REQUIRED_SIGNED_HEADERS {
        if !is_signed(name) {
            return Err(V3Error::HeaderNotSigned(name.to_owned()));
        }
    }
    for name in SIGNED_IF_PRESENT {
        if request.header(name).is_some() && !is_signed(name) {
            return Err(V3Error::HeaderNotSigned(name.to_owned()));
        }
    }
    Ok(())
}

/// Checks `x-acs-content-sha256` against the body.
fn check_content_sha256(request: &Request<'_>) -> Result<(), V3Error> {
    let declared = request.single_header("x-acs-content-sha256")?;
    let mut declared_bytes = [0_u8; 32];
    hex::decode_to_slice(declared, &mut declared_bytes)
        .map_err(|_| V3Error::MalformedContentSha256(clip(declared)))?;
    let actual: [u8; 32] = Sha256::digest(request.body).into();
    if declared_bytes == actual {
        Ok(())
    } else {
        Err(V3Error::ContentSha256Mismatch {
            declared: declared.to_owned(),
            actual: hex::encode(actual),
        })
    }
}

/// Verifies `request` against an already parsed `authorization` (parse it
/// first to learn the AccessKeyId and so the secret).
///
/// Checks, in order: the required headers are signed, the body matches
/// `x-acs-content-sha256`, every signed header is present, the signature
/// (in constant time). Freshness ([`Request::date`] with
/// [`crate::check_skew`]) and replay ([`Request::nonce`] with
/// [`crate::NonceCache`]) are the caller's next steps.
pub fn verify_with(
    request: &Request<'_>,
    authorization: &Authorization,
    secret: &Secret,
) -> Result<(), V3Error> {
    check_signed_header_policy(request, &authorization.signed_headers)?;
    check_content_sha256(request)?;
    let string_to_sign =
        string_to_sign(&canonical_request(request, &authorization.signed_headers)?);
    match mac(secret, &string_to_sign).verify_slice(&authorization.signature) {
        Ok(()) => Ok(()),
        Err(_) => Err(V3Error::SignatureMismatch { string_to_sign }),
    }
}

/// Reads the `Authorization` header of `request` and verifies it under
/// `secret` (see [`verify_with`]); returns the parsed header.
pub fn verify(request: &Request<'_>, secret: &Secret) -> Result<Authorization, V3Error> {
    let authorization = request.authorization()?;
    verify_with(request, &authorization, secret)?;
    Ok(authorization)
}

#[cfg(test)]
mod tests;
