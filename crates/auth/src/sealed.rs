//! Sealed blobs: authenticated encryption under a ring of rotating keys.
//!
//! STS security tokens and registry bearer tokens must verify on any node
//! without a lookup (DESIGN.md, decision 2), and must not be forgeable or
//! readable by their holders. A sealed blob is
//!
//! ```text
//! "v1." key-id "." base64url(nonce[24] || XChaCha20-Poly1305(plaintext, aad = purpose))
//! ```
//!
//! The key id names which key of the [`KeyRing`] sealed it, so keys can
//! rotate: the newest key seals, every key still in the ring opens. The
//! `purpose` is bound as associated data, so a registry token can never be
//! replayed as an STS token even under the same key.
//!
//! [`KeyRing::derive`] gives purpose-specific secrets from the same keys
//! (HMAC-SHA256), e.g. the AccessKeySecret that goes with an STS token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::Mac;
use sha2::Sha256;
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

use crate::mac::keyed;

const FORMAT: &str = "v1";
const NONCE_LEN: usize = 24;
/// Sealed blobs longer than this are refused before any work is done.
pub const MAX_SEALED_LEN: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SealError {
    #[error("the sealed value is malformed")]
    Malformed,
    #[error("the sealed value was made with key \"{0}\", which is not (or no longer) trusted")]
    UnknownKey(String),
    #[error("the sealed value was altered or was not made for this purpose")]
    Tampered,
    #[error("key ids are 1-32 characters of [A-Za-z0-9_-]; got \"{0}\"")]
    BadKeyId(String),
    #[error("a key ring needs at least one key")]
    Empty,
    #[error("the random number generator failed")]
    Random,
}

/// One 32-byte key and its id. The key bytes never reach `Debug` output
/// and are cleared from memory when the key is dropped.
#[derive(Clone)]
pub struct SealingKey {
    id: String,
    key: [u8; 32],
}

impl Drop for SealingKey {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingKey")
            .field("id", &self.id)
            .field("key", &"<redacted>")
            .finish()
    }
}

fn id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl SealingKey {
    pub fn new(id: &str, key: [u8; 32]) -> Result<SealingKey, SealError> {
        if !id_ok(id) {
            return Err(SealError::BadKeyId(id.to_string()));
        }
        Ok(SealingKey {
            id: id.to_string(),
            key,
        })
    }

    /// A fresh random key.
    pub fn generate(id: &str) -> Result<SealingKey, SealError> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut()).map_err(|_| SealError::Random)?;
        SealingKey::new(id, *key)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.key
    }
}

/// The keys a node trusts; the first one seals.
#[derive(Debug, Clone)]
pub struct KeyRing {
    keys: Vec<SealingKey>,
}

impl KeyRing {
    /// `keys[0]` is the active key; the others still open and derive.
    pub fn new(keys: Vec<SealingKey>) -> Result<KeyRing, SealError> {
        if keys.is_empty() {
            return Err(SealError::Empty);
        }
        Ok(KeyRing { keys })
    }

    pub fn active(&self) -> Option<&SealingKey> {
        self.keys.first()
    }

    fn key(&self, id: &str) -> Result<&SealingKey, SealError> {
        self.keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| SealError::UnknownKey(id.chars().take(32).collect()))
    }

    /// Encrypts and authenticates `plaintext` for `purpose` under the
    /// active key.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<String, SealError> {
        let key = self.active().ok_or(SealError::Empty)?;
        let mut nonce = [0u8; NONCE_LEN];
        // Random nonces from the thread's CSPRNG (ChaCha12 seeded from the
        // OS): XChaCha's 192-bit nonces make collisions negligible, and a
        // system call per seal cost more than the sealing.
        rand::Rng::fill_bytes(&mut rand::rng(), &mut nonce);
        let cipher = XChaCha20Poly1305::new(&key.key.into());
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| SealError::Malformed)?;
        let mut body = Vec::with_capacity(NONCE_LEN + sealed.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&sealed);
        Ok(format!(
            "{FORMAT}.{}.{}",
            key.id,
            URL_SAFE_NO_PAD.encode(body)
        ))
    }

    /// The key id a sealed value claims, without opening it.
    pub fn key_id_of(sealed: &str) -> Result<&str, SealError> {
        let mut parts = sealed.splitn(3, '.');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(FORMAT), Some(id), Some(_)) if id_ok(id) => Ok(id),
            _ => Err(SealError::Malformed),
        }
    }

    /// Checks and decrypts a sealed value made for `purpose`.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        if sealed.len() > MAX_SEALED_LEN {
            return Err(SealError::Malformed);
        }
        let id = KeyRing::key_id_of(sealed)?;
        let key = self.key(id)?;
        let encoded = sealed
            .get(FORMAT.len() + 1 + id.len() + 1..)
            .ok_or(SealError::Malformed)?;
        let body = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| SealError::Malformed)?;
        if body.len() < NONCE_LEN + 16 {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::Malformed)?;
        let cipher = XChaCha20Poly1305::new(&key.key.into());
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| SealError::Tampered)
    }

    /// A 32-byte secret bound to `key_id`, `label` and `data`
    /// (HMAC-SHA256 under the key). Used for values that must be
    /// recomputable from a sealed blob, such as an STS AccessKeySecret.
    pub fn derive(&self, key_id: &str, label: &str, data: &[u8]) -> Result<[u8; 32], SealError> {
        let key = self.key(key_id)?;
        let mut mac = keyed::<Sha256>(&key.key);
        mac.update(label.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        Ok(mac.finalize().into_bytes().into())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn ring(ids: &[(&str, u8)]) -> KeyRing {
        KeyRing::new(
            ids.iter()
                .map(|(id, b)| SealingKey::new(id, [*b; 32]).unwrap())
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn round_trip_and_purpose_binding() {
        let r = ring(&[("k1", 1)]);
        let sealed = r.seal("sts", b"claims").unwrap();
        assert!(sealed.starts_with("v1.k1."));
        assert_eq!(r.open("sts", &sealed).unwrap(), b"claims");
        assert_eq!(r.open("registry", &sealed), Err(SealError::Tampered));
        assert_ne!(
            r.seal("sts", b"claims").unwrap(),
            sealed,
            "fresh nonce each time"
        );
    }

    #[test]
    fn rotation_keeps_old_tokens_valid_until_the_key_leaves() {
        let old = ring(&[("k1", 1)]);
        let sealed = old.seal("sts", b"x").unwrap();
        let rotated = ring(&[("k2", 2), ("k1", 1)]);
        assert_eq!(rotated.open("sts", &sealed).unwrap(), b"x");
        assert!(rotated.seal("sts", b"y").unwrap().starts_with("v1.k2."));
        let retired = ring(&[("k2", 2)]);
        assert_eq!(
            retired.open("sts", &sealed),
            Err(SealError::UnknownKey("k1".into()))
        );
        // Same id, different key bytes: refused as tampered.
        let impostor = ring(&[("k1", 9)]);
        assert_eq!(impostor.open("sts", &sealed), Err(SealError::Tampered));
    }

    #[test]
    fn derive_depends_on_every_input() {
        let r = ring(&[("k1", 1), ("k2", 2)]);
        let a = r.derive("k1", "secret", b"t").unwrap();
        assert_ne!(a, r.derive("k2", "secret", b"t").unwrap());
        assert_ne!(a, r.derive("k1", "id", b"t").unwrap());
        assert_ne!(a, r.derive("k1", "secret", b"u").unwrap());
        assert_eq!(a, r.derive("k1", "secret", b"t").unwrap());
        assert!(r.derive("k9", "secret", b"t").is_err());
    }

    #[test]
    fn malformed_inputs() {
        let r = ring(&[("k1", 1)]);
        for bad in [
            "",
            "v1",
            "v1.k1",
            "v2.k1.AAAA",
            "v1.k1.!!!!",
            "v1.k1.AAAA",
            "v1..AAAA",
        ] {
            assert!(r.open("sts", bad).is_err(), "{bad}");
        }
        assert!(SealingKey::new("bad id", [0; 32]).is_err());
        assert!(KeyRing::new(Vec::new()).is_err());
        assert!(!format!("{:?}", ring(&[("k1", 7)])).contains("7, 7"));
    }

    proptest::proptest! {
        #[test]
        fn any_altered_byte_is_refused(msg in proptest::collection::vec(0u8.., 0..200), pos in 0usize..400, flip in 1u8..) {
            let r = ring(&[("k1", 1)]);
            let sealed = r.seal("sts", &msg).unwrap();
            let mut bytes = sealed.into_bytes();
            let i = pos % bytes.len();
            bytes[i] ^= flip;
            if let Ok(text) = String::from_utf8(bytes) {
                proptest::prop_assert!(r.open("sts", &text).is_err());
            }
        }

        #[test]
        fn open_never_panics(s in "\\PC{0,300}") {
            let r = ring(&[("k1", 1)]);
            let _ = r.open("sts", &s);
        }
    }
}
