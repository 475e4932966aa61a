//! Who sent the request: the signature checks, in Alibaba's order.
//!
//! 1. The signature material is all there and well formed (V1: the
//!    `Signature`, `AccessKeyId`, `SignatureMethod`, `SignatureVersion`,
//!    `SignatureNonce`, `Timestamp` parameters; V3: the `Authorization`,
//!    `x-acs-date`, `x-acs-signature-nonce`, `x-acs-content-sha256`
//!    headers). Codes: `Missing<Name>`, `InvalidSignatureMethod`,
//!    `InvalidSignatureVersion`, `InvalidTimeStamp.Format`,
//!    `IncompleteSignature`.
//! 2. The request time is within ±15 minutes (`InvalidTimeStamp.Expired`).
//! 3. The AccessKey exists (`InvalidAccessKeyId.NotFound`, 404) and is
//!    active (`InvalidAccessKeyId.Inactive`). For temporary credentials
//!    (`STS.` AccessKeyIds) the lookup is the SecurityToken's own check
//!    (`sts::verify`): `MissingSecurityToken`,
//!    `InvalidSecurityToken.Malformed`, `.MismatchWithAccessKey`,
//!    `.Expired`. The token is the `SecurityToken` parameter (V1, signed
//!    with everything else) or the `x-acs-security-token` header (V3), which
//!    must then be among the signed headers (`IncompleteSignature`
//!    otherwise).
//! 4. The signature verifies (`SignatureDoesNotMatch`, 400, with the
//!    server's string to sign).
//! 5. The nonce was not used within the window (`SignatureNonceUsed`). It
//!    is recorded only now, after the signature verified, so that
//!    unauthenticated traffic cannot fill the bounded nonce memory.
//!
//! The key lookup is a parameter, so this module knows nothing of the
//! store and is tested on its own.

use std::future::Future;
use std::sync::Mutex;

use auth::v1::{self, V1Error};
use auth::v3::{self, V3Error};
use auth::{NonceCache, NonceError, Scheme, Secret, Timestamp, MAX_CLOCK_SKEW, MAX_NONCE_LEN};

use super::params::Params;
use crate::error::ApiError;

/// What the signature checks need to see of a request.
#[derive(Debug, Clone, Copy)]
pub struct SignedInput<'a> {
    /// `GET`, `POST`, … as sent.
    pub method: &'a str,
    /// The path as sent (`/` for the RPC APIs).
    pub path: &'a str,
    /// Every header whose value is text.
    pub headers: &'a [(&'a str, &'a str)],
    /// Query ∪ form body.
    pub params: &'a Params,
    /// The body received.
    pub body: &'a [u8],
}

/// An AccessKey as the store knows it.
#[derive(Debug, Clone)]
pub struct KeyRecord<P> {
    /// Who the key belongs to.
    pub principal: P,
    /// Whether the key may sign requests.
    pub active: bool,
    /// The AccessKeySecret.
    pub secret: Secret,
}

/// A request whose signature verified.
#[derive(Debug, Clone)]
pub struct Authenticated<P> {
    /// Who signed it.
    pub principal: P,
    /// With which AccessKeyId (`acs:AccessId`).
    pub access_key_id: String,
}

/// The V3 header carrying the SecurityToken.
pub const SECURITY_TOKEN_HEADER: &str = "x-acs-security-token";

/// The V1 parameter carrying the SecurityToken.
pub const SECURITY_TOKEN_PARAM: &str = "SecurityToken";

/// The parts of the signature read before the key is known.
enum Material<'a> {
    V1(v1::Request<'a>),
    V3 {
        request: v3::Request<'a>,
        authorization: v3::Authorization,
    },
}

fn v1_error(err: V1Error) -> ApiError {
    match err {
        V1Error::MissingParameter(name) => ApiError::missing_parameter(name),
        V1Error::DuplicateParameter(name) => ApiError::duplicate_parameter(name),
        V1Error::UnsupportedSignatureMethod(value) => ApiError::invalid_signature_method(&value),
        V1Error::UnsupportedSignatureVersion(value) => ApiError::invalid_signature_version(&value),
        V1Error::Timestamp(e) => ApiError::timestamp_format(e),
        V1Error::SignatureMismatch { string_to_sign } => {
            ApiError::signature_mismatch(&string_to_sign)
        }
    }
}

fn v3_error(err: V3Error) -> ApiError {
    match err {
        V3Error::Date(e) => ApiError::timestamp_format(e),
        V3Error::SignatureMismatch { string_to_sign } => {
            ApiError::signature_mismatch(&string_to_sign)
        }
        other => ApiError::incomplete_signature(other),
    }
}

fn check_nonce_length(nonce: &str) -> Result<(), ApiError> {
    if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN {
        return Err(ApiError::invalid_parameter(
            "SignatureNonce",
            format_args!("must be 1 to {MAX_NONCE_LEN} bytes long"),
        ));
    }
    Ok(())
}

/// The SecurityToken a request carries, where its scheme puts it, and only
/// when it is covered by the signature.
fn security_token<'a>(
    material: &Material<'a>,
    params: &'a Params,
    access_key_id: &str,
) -> Result<Option<String>, ApiError> {
    match material {
        Material::V1(_) => Ok(params.optional(SECURITY_TOKEN_PARAM).map(str::to_owned)),
        Material::V3 {
            request,
            authorization,
        } => match request.header(SECURITY_TOKEN_HEADER) {
            Some(token) if authorization.is_signed(SECURITY_TOKEN_HEADER) => {
                Ok(Some(token.to_owned()))
            }
            Some(_) if sts::is_sts_access_key_id(access_key_id) => {
                Err(ApiError::incomplete_signature(
                    "the x-acs-security-token header must be one of the SignedHeaders",
                ))
            }
            _ => Ok(None),
        },
    }
}

/// Runs the checks above on a request signed with `scheme` (V1 or V3;
/// anonymous requests never reach here). `lookup` finds an AccessKey by
/// id, given the request's SecurityToken when it carries a signed one;
/// `nonces` is the server's shared replay memory; `now` is the server's
/// real clock (the freshness window compares it with the client's).
pub async fn authenticate<P, F, Fut>(
    scheme: Scheme,
    input: SignedInput<'_>,
    now: Timestamp,
    nonces: &Mutex<NonceCache>,
    lookup: F,
) -> Result<Authenticated<P>, ApiError>
where
    F: FnOnce(String, Option<String>) -> Fut,
    Fut: Future<Output = Result<Option<KeyRecord<P>>, ApiError>>,
{
    // V3 signs only the query string as its query; the form body is covered
    // by x-acs-content-sha256.
    let query: Vec<(&str, &str)> = input
        .params
        .query_pairs()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();

    // 1. Shape.
    let material = match scheme {
        Scheme::V1 => {
            Material::V1(v1::Request::parse(input.method, input.params.pairs()).map_err(v1_error)?)
        }
        Scheme::V3 | Scheme::Anonymous => {
            let request = v3::Request {
                method: input.method,
                path: input.path,
                query: &query,
                headers: input.headers,
                body: input.body,
            };
            let authorization = request.authorization().map_err(v3_error)?;
            Material::V3 {
                request,
                authorization,
            }
        }
    };
    let (access_key_id, timestamp, nonce) = match &material {
        Material::V1(request) => (
            request.access_key_id().to_owned(),
            request.timestamp(),
            request.nonce(),
        ),
        Material::V3 {
            request,
            authorization,
        } => {
            let date = request.date().map_err(v3_error)?;
            let nonce = request.nonce().map_err(v3_error)?;
            (authorization.access_key_id().to_owned(), date, nonce)
        }
    };
    check_nonce_length(nonce)?;
    let token = security_token(&material, input.params, &access_key_id)?;

    // 2. Freshness.
    auth::check_skew(timestamp, now, MAX_CLOCK_SKEW).map_err(ApiError::timestamp_expired)?;

    // 3. The key.
    let record = lookup(access_key_id.clone(), token)
        .await?
        .ok_or_else(ApiError::access_key_not_found)?;
    if !record.active {
        return Err(ApiError::access_key_inactive());
    }

    // 4. The signature.
    match &material {
        Material::V1(request) => request.verify(&record.secret).map_err(v1_error)?,
        Material::V3 {
            request,
            authorization,
        } => {
            v3::verify_with(request, authorization, &record.secret).map_err(v3_error)?;
        }
    }

    // 5. Replay, scoped to the key: one key's nonces cannot collide with
    // another's.
    let scoped = format!("{access_key_id}/{nonce}");
    let outcome = match nonces.lock() {
        Ok(mut cache) => cache.check_and_insert(&scoped, timestamp, now),
        Err(poisoned) => poisoned
            .into_inner()
            .check_and_insert(&scoped, timestamp, now),
    };
    match outcome {
        Ok(()) => {}
        Err(NonceError::Replayed) => return Err(ApiError::nonce_used()),
        Err(NonceError::Full { capacity }) => {
            return Err(ApiError::service_unavailable(format_args!(
                "the replay memory holds {capacity} live nonces; retry shortly"
            )))
        }
        // The skew check above already refused requests outside the window.
        Err(NonceError::OutsideWindow) => {
            return Err(ApiError::timestamp_expired("outside the nonce window"))
        }
        Err(NonceError::BadLength { .. }) => {
            return Err(ApiError::invalid_parameter(
                "SignatureNonce",
                format_args!(
                    "must be 1 to {} bytes long",
                    MAX_NONCE_LEN.saturating_sub(access_key_id.len() + 1)
                ),
            ))
        }
    }

    Ok(Authenticated {
        principal: record.principal,
        access_key_id,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    const NOW: i64 = 1_704_110_400; // 2024-01-01T12:00:00Z

    fn v1_params(nonce: &str, timestamp: &str, secret: &str) -> Params {
        let mut pairs = vec![
            ("AccessKeyId", "testid".to_owned()),
            ("Action", "GetUser".to_owned()),
            ("Version", "2015-05-01".to_owned()),
            ("Format", "JSON".to_owned()),
            ("SignatureMethod", "HMAC-SHA1".to_owned()),
            ("SignatureVersion", "1.0".to_owned()),
            ("SignatureType", String::new()),
            ("SignatureNonce", nonce.to_owned()),
            ("Timestamp", timestamp.to_owned()),
            ("UserName", "alice".to_owned()),
        ];
        let signature = v1::sign_params("GET", &pairs, &Secret::new(secret));
        pairs.push(("Signature", signature));
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", auth::percent_encode(v)))
            .collect();
        Params::from_parts(Some(&query.join("&")), None).unwrap()
    }

    async fn run(
        params: &Params,
        nonces: &Mutex<NonceCache>,
        active: bool,
    ) -> Result<Authenticated<&'static str>, ApiError> {
        let input = SignedInput {
            method: "GET",
            path: "/",
            headers: &[],
            params,
            body: b"",
        };
        authenticate(
            Scheme::V1,
            input,
            Timestamp::from_unix_seconds(NOW),
            nonces,
            |id, _token| async move {
                Ok((id == "testid").then(|| KeyRecord {
                    principal: "alice",
                    active,
                    secret: Secret::new("testsecret"),
                }))
            },
        )
        .await
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn v1_checks_in_order() {
        let nonces = Mutex::new(NonceCache::with_capacity(16));
        let good = v1_params("n1", "2024-01-01T12:00:00Z", "testsecret");
        let ok = block_on(run(&good, &nonces, true)).unwrap();
        assert_eq!(ok.principal, "alice");
        assert_eq!(ok.access_key_id, "testid");
        // Replay.
        assert_eq!(
            block_on(run(&good, &nonces, true)).unwrap_err().code(),
            "SignatureNonceUsed"
        );
        // Stale (and wrongly signed: the time is checked first).
        let stale = v1_params("n2", "2024-01-01T11:40:00Z", "other");
        assert_eq!(
            block_on(run(&stale, &nonces, true)).unwrap_err().code(),
            "InvalidTimeStamp.Expired"
        );
        // Inactive key (and wrongly signed: the key is checked first).
        let wrong = v1_params("n3", "2024-01-01T12:00:00Z", "other");
        assert_eq!(
            block_on(run(&wrong, &nonces, false)).unwrap_err().code(),
            "InvalidAccessKeyId.Inactive"
        );
        let err = block_on(run(&wrong, &nonces, true)).unwrap_err();
        assert_eq!(err.code(), "SignatureDoesNotMatch");
        assert!(err
            .message()
            .split(':')
            .nth(1)
            .unwrap()
            .starts_with("GET&%2F&AccessKeyId%3Dtestid"));
        // A failed signature does not burn the nonce.
        let retried = v1_params("n3", "2024-01-01T12:00:00Z", "testsecret");
        assert!(block_on(run(&retried, &nonces, true)).is_ok());
        // Malformed time.
        let bad_time = v1_params("n4", "2024-01-01 12:00:00", "testsecret");
        assert_eq!(
            block_on(run(&bad_time, &nonces, true)).unwrap_err().code(),
            "InvalidTimeStamp.Format"
        );
    }

    #[test]
    fn v1_missing_parameter() {
        let nonces = Mutex::new(NonceCache::with_capacity(16));
        let params = Params::from_parts(Some("Signature=x&AccessKeyId=testid"), None).unwrap();
        let err = block_on(run(&params, &nonces, true)).unwrap_err();
        assert_eq!(err.code(), "MissingSignatureMethod");
    }
}
