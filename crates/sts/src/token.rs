//! SecurityTokens and the credentials derived from them.
//!
//! ```text
//! SecurityToken   = KeyRing::seal(TOKEN_PURPOSE, claims)        "v1.<key id>.<base64url>"
//! AccessKeyId     = "STS." base62(first 16 bytes of KeyRing::derive(key id, ID_LABEL, token))
//! AccessKeySecret = base62(KeyRing::derive(key id, SECRET_LABEL, token))
//! ```
//!
//! Nothing is stored when credentials are issued. A node that receives a
//! request signed with them opens the token with its key ring, recomputes
//! the AccessKeyId and checks it is the one the request names, recomputes
//! the secret and verifies the signature with it, exactly as it would with
//! a long-term key read from the store. The holder cannot forge any of the
//! three: the token is authenticated encryption under a server key, and
//! the id and secret are MACs of the token under the same key.
//!
//! Keys rotate through the ring: the first key seals, every key in the ring
//! opens and derives (the token names its key), so tokens sealed before a
//! rotation keep working until their key is removed from the ring.

use std::borrow::Cow;

use auth::sealed::MAX_SEALED_LEN;
use auth::{KeyRing, SealError, Secret, Timestamp};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::claims::Claims;
use crate::encode::{base62_16, base62_32, first_16};
use crate::error::WireError;

/// The associated data every token is sealed with: an STS token can never
/// be accepted where another sealed value (a registry token, an
/// access-key secret at rest) is expected, nor the other way round.
pub const TOKEN_PURPOSE: &str = "rampart/sts/security-token/v1";
/// The derivation label of the AccessKeyId.
pub const ID_LABEL: &str = "rampart/sts/access-key-id/v1";
/// The derivation label of the AccessKeySecret.
pub const SECRET_LABEL: &str = "rampart/sts/access-key-secret/v1";
/// Every temporary AccessKeyId starts with this, as Alibaba's do.
pub const ACCESS_KEY_PREFIX: &str = "STS.";

/// Whether an AccessKeyId names temporary credentials (and so must come
/// with a SecurityToken and be checked by [`verify`]).
pub fn is_sts_access_key_id(access_key_id: &str) -> bool {
    access_key_id.starts_with(ACCESS_KEY_PREFIX)
}

/// Temporary credentials, as AssumeRole returns them.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub access_key_secret: Secret,
    pub security_token: String,
    pub expiration: Timestamp,
}

impl Serialize for Credentials {
    /// `{"AccessKeyId","AccessKeySecret","SecurityToken","Expiration"}`,
    /// `Expiration` as `YYYY-MM-DDTHH:MM:SSZ` (protocol §0.5).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Credentials", 4)?;
        s.serialize_field("AccessKeyId", &self.access_key_id)?;
        s.serialize_field("AccessKeySecret", self.access_key_secret.expose())?;
        s.serialize_field("SecurityToken", &self.security_token)?;
        s.serialize_field("Expiration", &self.expiration.to_iso8601())?;
        s.end()
    }
}

/// Why temporary credentials were refused (protocol §6.5, §6.6).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StsTokenError {
    /// An `STS.` AccessKeyId came without a SecurityToken.
    #[error("SecurityToken is mandatory for this action.")]
    Missing,
    /// Not a token this ring sealed: bad shape, an unknown or retired key,
    /// altered bytes, a token made for something else, unreadable claims.
    #[error("Specified SecurityToken is malformed.")]
    Malformed { reason: &'static str },
    /// A genuine token presented with an AccessKeyId that is not its own.
    #[error("Specified SecurityToken mismatch with the AccessKey.")]
    MismatchWithAccessKey,
    /// The session's expiry has passed.
    #[error("Specified SecurityToken is expired.")]
    Expired { expired_at: Timestamp },
}

impl WireError for StsTokenError {
    fn code(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            StsTokenError::Missing => "MissingSecurityToken",
            StsTokenError::Malformed { .. } => "InvalidSecurityToken.Malformed",
            StsTokenError::MismatchWithAccessKey => "InvalidSecurityToken.MismatchWithAccessKey",
            StsTokenError::Expired { .. } => "InvalidSecurityToken.Expired",
        })
    }

    /// All 400, as in the gateway table (§6.5; some product docs list 403
    /// for `Expired`, the gateway's 400 is what STS itself answers).
    fn http_status(&self) -> u16 {
        400
    }

    fn detail(&self) -> Option<String> {
        match self {
            StsTokenError::Malformed { reason } => Some((*reason).to_string()),
            StsTokenError::Expired { expired_at } => Some(format!("expired at {expired_at}")),
            StsTokenError::Missing | StsTokenError::MismatchWithAccessKey => None,
        }
    }
}

/// Why credentials could not be issued. Always the server's fault
/// (`InternalError`): the claims were checked before.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IssueError {
    #[error("the session claims could not be sealed: {0}")]
    Seal(#[from] SealError),
    #[error("the session claims could not be serialised")]
    Encode,
    #[error("the sealed token would be {0} bytes, more than a node accepts")]
    TooLarge(usize),
}

impl WireError for IssueError {
    fn code(&self) -> Cow<'static, str> {
        Cow::Borrowed("InternalError")
    }

    fn http_status(&self) -> u16 {
        500
    }

    fn message(&self) -> String {
        crate::error::INTERNAL_MESSAGE.to_string()
    }

    fn detail(&self) -> Option<String> {
        Some(self.to_string())
    }
}

fn derive_id(keys: &KeyRing, key_id: &str, token: &str) -> Result<String, SealError> {
    let mac = keys.derive(key_id, ID_LABEL, token.as_bytes())?;
    Ok(format!("{ACCESS_KEY_PREFIX}{}", base62_16(first_16(&mac))))
}

fn derive_secret(keys: &KeyRing, key_id: &str, token: &str) -> Result<Secret, SealError> {
    let mac = Zeroizing::new(keys.derive(key_id, SECRET_LABEL, token.as_bytes())?);
    Ok(Secret::new(base62_32(&mac)))
}

/// Seals `claims` under the ring's active key and derives the credentials
/// that go with the token. Writes nothing anywhere.
pub fn issue(claims: &Claims, keys: &KeyRing) -> Result<Credentials, IssueError> {
    let plaintext = claims.encode().map_err(|_| IssueError::Encode)?;
    let token = keys.seal(TOKEN_PURPOSE, &plaintext)?;
    if token.len() > MAX_SEALED_LEN {
        return Err(IssueError::TooLarge(token.len()));
    }
    let key_id = KeyRing::key_id_of(&token)?;
    Ok(Credentials {
        access_key_id: derive_id(keys, key_id, &token)?,
        access_key_secret: derive_secret(keys, key_id, &token)?,
        expiration: claims.expires_at,
        security_token: token,
    })
}

/// A token that verified: the session it names and the AccessKeySecret to
/// check the request's signature with.
#[derive(Debug, Clone)]
pub struct Verified {
    pub claims: Claims,
    pub secret: Secret,
}

/// Checks temporary credentials: `security_token` (the V1 `SecurityToken`
/// parameter or the V3 `x-acs-security-token` header) must be a token this
/// ring sealed, `access_key_id` must be the one derived from it, and `now`
/// must be before its expiry. Returns the claims and the derived secret;
/// the caller then verifies the request signature with that secret, and
/// asks [`crate::session_still_valid`] whether the session was revoked.
///
/// Checked in this order: token present, AccessKeyId of the `STS.` form,
/// token opens, claims read, AccessKeyId matches, not expired. A session
/// is valid while `now < expires_at`: at the `Expiration` second it has
/// expired.
pub fn verify(
    access_key_id: &str,
    security_token: Option<&str>,
    now: Timestamp,
    keys: &KeyRing,
) -> Result<Verified, StsTokenError> {
    let token = match security_token {
        Some(token) if !token.is_empty() => token,
        _ => return Err(StsTokenError::Missing),
    };
    if !is_sts_access_key_id(access_key_id) {
        return Err(StsTokenError::MismatchWithAccessKey);
    }
    let plaintext = keys.open(TOKEN_PURPOSE, token).map_err(|e| match e {
        SealError::UnknownKey(_) => StsTokenError::Malformed {
            reason: "sealed with a key this node does not hold (retired or foreign)",
        },
        SealError::Tampered => StsTokenError::Malformed {
            reason: "altered, or not sealed as an STS token",
        },
        _ => StsTokenError::Malformed {
            reason: "not a sealed token",
        },
    })?;
    let claims = Claims::decode(&plaintext).map_err(|_| StsTokenError::Malformed {
        reason: "the claims do not read (unknown version?)",
    })?;
    let malformed = |_| StsTokenError::Malformed {
        reason: "the key that sealed it cannot derive",
    };
    let key_id = KeyRing::key_id_of(token).map_err(malformed)?;
    let expected = derive_id(keys, key_id, token).map_err(malformed)?;
    if !bool::from(expected.as_bytes().ct_eq(access_key_id.as_bytes())) {
        return Err(StsTokenError::MismatchWithAccessKey);
    }
    if now >= claims.expires_at {
        return Err(StsTokenError::Expired {
            expired_at: claims.expires_at,
        });
    }
    let secret = derive_secret(keys, key_id, token).map_err(malformed)?;
    Ok(Verified { claims, secret })
}

#[cfg(test)]
mod tests {
    use auth::SealingKey;

    use super::*;
    use crate::claims::tests::sample;

    fn ring(keys: &[(&str, u8)]) -> KeyRing {
        KeyRing::new(
            keys.iter()
                .map(|(id, b)| SealingKey::new(id, [*b; 32]).unwrap())
                .collect(),
        )
        .unwrap()
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_seconds(seconds)
    }

    #[test]
    fn issue_then_verify() {
        let keys = ring(&[("k1", 1)]);
        let claims = sample();
        let creds = issue(&claims, &keys).unwrap();
        assert!(creds.access_key_id.starts_with("STS."));
        assert_eq!(creds.access_key_id.len(), 4 + 22);
        assert_eq!(creds.access_key_secret.expose().len(), 44);
        assert!(creds.security_token.starts_with("v1.k1."));
        assert_eq!(creds.expiration, claims.expires_at);

        let verified = verify(
            &creds.access_key_id,
            Some(&creds.security_token),
            claims.issued_at,
            &keys,
        )
        .unwrap();
        assert_eq!(verified.claims, claims);
        assert_eq!(
            verified.secret.expose(),
            creds.access_key_secret.expose(),
            "any node derives the same secret"
        );

        let again = issue(&claims, &keys).unwrap();
        assert_ne!(again.access_key_id, creds.access_key_id, "fresh per issue");
        assert_ne!(
            again.access_key_secret.expose(),
            creds.access_key_secret.expose()
        );
    }

    #[test]
    fn wire_shape_of_credentials() {
        let keys = ring(&[("k1", 1)]);
        let mut claims = sample();
        claims.expires_at = at(1_428_580_339);
        let creds = issue(&claims, &keys).unwrap();
        let json = serde_json::to_value(&creds).unwrap();
        // Sorted here: a map's order depends on whether serde_json was built
        // with `preserve_order` (a `cargo test --workspace` build is, through
        // cedar-policy-core in bench/policy).
        let mut members: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        members.sort_unstable();
        assert_eq!(
            members,
            [
                "AccessKeyId",
                "AccessKeySecret",
                "Expiration",
                "SecurityToken"
            ]
        );
        assert_eq!(json["Expiration"], "2015-04-09T11:52:19Z");
        assert_eq!(json["AccessKeySecret"], creds.access_key_secret.expose());
        assert!(!format!("{creds:?}").contains(creds.access_key_secret.expose()));
    }

    #[test]
    fn missing_token_and_long_term_keys() {
        let keys = ring(&[("k1", 1)]);
        let creds = issue(&sample(), &keys).unwrap();
        let now = sample().issued_at;
        for token in [None, Some("")] {
            let err = verify(&creds.access_key_id, token, now, &keys).unwrap_err();
            assert_eq!(err, StsTokenError::Missing);
            assert_eq!(err.code(), "MissingSecurityToken");
            assert_eq!(err.http_status(), 400);
            assert_eq!(err.message(), "SecurityToken is mandatory for this action.");
        }
        let err = verify("LTAI5tExample", Some(&creds.security_token), now, &keys).unwrap_err();
        assert_eq!(err, StsTokenError::MismatchWithAccessKey);
    }

    #[test]
    fn a_token_paired_with_another_key_id_is_refused() {
        let keys = ring(&[("k1", 1)]);
        let a = issue(&sample(), &keys).unwrap();
        let b = issue(&sample(), &keys).unwrap();
        let err = verify(
            &a.access_key_id,
            Some(&b.security_token),
            sample().issued_at,
            &keys,
        )
        .unwrap_err();
        assert_eq!(err, StsTokenError::MismatchWithAccessKey);
        assert_eq!(err.code(), "InvalidSecurityToken.MismatchWithAccessKey");
        assert_eq!(
            err.message(),
            "Specified SecurityToken mismatch with the AccessKey."
        );
    }

    #[test]
    fn every_altered_byte_of_token_or_key_id_is_refused() {
        let keys = ring(&[("k1", 1), ("k2", 2)]);
        let creds = issue(&sample(), &keys).unwrap();
        let now = sample().issued_at;
        let token = creds.security_token.as_bytes();
        for i in 0..token.len() {
            for flip in [0x01u8, 0x20, 0x80] {
                let mut bytes = token.to_vec();
                bytes[i] ^= flip;
                let Ok(text) = String::from_utf8(bytes) else {
                    continue;
                };
                let err = verify(&creds.access_key_id, Some(&text), now, &keys).unwrap_err();
                assert_eq!(err.code(), "InvalidSecurityToken.Malformed", "byte {i}");
            }
        }
        let id = creds.access_key_id.as_bytes();
        for i in 0..id.len() {
            let mut bytes = id.to_vec();
            bytes[i] ^= 0x01;
            let text = String::from_utf8(bytes).unwrap();
            let err = verify(&text, Some(&creds.security_token), now, &keys).unwrap_err();
            assert_eq!(err, StsTokenError::MismatchWithAccessKey, "byte {i}");
        }
    }

    #[test]
    fn expiry_is_exclusive_at_the_expiration_second() {
        let keys = ring(&[("k1", 1)]);
        let claims = sample();
        let creds = issue(&claims, &keys).unwrap();
        let check = |now| {
            verify(
                &creds.access_key_id,
                Some(&creds.security_token),
                now,
                &keys,
            )
        };
        let last = at(claims.expires_at.unix_seconds() - 1);
        assert!(check(last).is_ok(), "valid through the second before");
        let err = check(claims.expires_at).unwrap_err();
        assert_eq!(
            err,
            StsTokenError::Expired {
                expired_at: claims.expires_at
            }
        );
        assert_eq!(err.code(), "InvalidSecurityToken.Expired");
        assert_eq!(err.message(), "Specified SecurityToken is expired.");
        assert!(check(at(claims.expires_at.unix_seconds() + 86_400)).is_err());
    }

    #[test]
    fn rotation() {
        let old = ring(&[("k1", 1)]);
        let before = issue(&sample(), &old).unwrap();
        let rotated = ring(&[("k2", 2), ("k1", 1)]);
        let after = issue(&sample(), &rotated).unwrap();
        assert!(
            after.security_token.starts_with("v1.k2."),
            "the new key seals"
        );
        let now = sample().issued_at;
        for creds in [&before, &after] {
            let v = verify(
                &creds.access_key_id,
                Some(&creds.security_token),
                now,
                &rotated,
            )
            .unwrap();
            assert_eq!(v.secret.expose(), creds.access_key_secret.expose());
        }
        let retired = ring(&[("k2", 2)]);
        let err = verify(
            &before.access_key_id,
            Some(&before.security_token),
            now,
            &retired,
        )
        .unwrap_err();
        assert_eq!(err.code(), "InvalidSecurityToken.Malformed");
        assert!(verify(
            &after.access_key_id,
            Some(&after.security_token),
            now,
            &retired
        )
        .is_ok());
    }

    #[test]
    fn the_largest_possible_session_still_fits() {
        // Longest names everywhere, the deepest chain, and a 2048-character
        // session policy of four-byte characters: every node must still
        // accept the token (auth refuses sealed values over 16 KiB).
        let long = |c: char| std::iter::repeat_n(c, 64).collect::<String>();
        let mut claims = sample();
        claims.role_name = long('r');
        claims.session_name = long('s');
        claims.source_identity = Some(long('i'));
        claims.origin = crate::claims::Origin::User {
            account: "1".repeat(16),
            user_id: "2".repeat(19),
            name: long('u'),
        };
        claims.hops = (0..4)
            .map(|_| crate::claims::Hop {
                account: "1".repeat(16),
                role_name: long('r'),
                session_name: long('s'),
            })
            .collect();
        let frame = r#"{"Version":"1","Statement":[{"Sid":"","Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        let sid: String = std::iter::repeat_n('😀', 2048 - frame.chars().count()).collect();
        let policy = frame.replacen("\"Sid\":\"\"", &format!("\"Sid\":\"{sid}\""), 1);
        assert_eq!(policy.chars().count(), 2048);
        claims.session_policy = Some(policy);
        let creds = issue(&claims, &ring(&[("k1", 1)])).unwrap();
        let len = creds.security_token.len();
        assert!(len < MAX_SEALED_LEN, "{len}");
        assert!(len < 13_000, "{len}");
        println!("largest possible token: {len} bytes");
        let v = verify(
            &creds.access_key_id,
            Some(&creds.security_token),
            claims.issued_at,
            &ring(&[("k1", 1)]),
        )
        .unwrap();
        assert_eq!(v.claims, claims);
    }

    #[test]
    fn tokens_of_other_purposes_do_not_open() {
        let keys = ring(&[("k1", 1)]);
        let other = keys
            .seal("rampart/registry/token/v1", &sample().encode().unwrap())
            .unwrap();
        let id = derive_id(&keys, "k1", &other).unwrap();
        let err = verify(&id, Some(&other), sample().issued_at, &keys).unwrap_err();
        assert_eq!(err.code(), "InvalidSecurityToken.Malformed");
    }
}
