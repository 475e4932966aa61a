//! Access-key secrets at rest.
//!
//! A secret must be recoverable (the server recomputes HMAC signatures with
//! it), so it cannot be hashed; it is encrypted instead, with
//! XChaCha20-Poly1305 under a 32-byte master key the server keeps outside
//! the database (a 0600 file in its data folder). Each row stores the id of
//! the key that sealed it, so keys rotate: a [`Keyring`] has one key that
//! seals and any number of older keys that still open. The access key id
//! and account are bound in as associated data, so a ciphertext copied onto
//! another row does not open.
//!
//! Nonces are 24 random bytes (XChaCha's extended nonce makes random nonces
//! safe for any number of messages).

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::Rng;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{IamError, Result};

const NONCE_LEN: usize = 24;

/// A secret string (an AccessKeySecret). `Debug` and `Display` never show
/// it; [`Secret::expose`] does, for the one place that needs it. Cleared
/// from memory when dropped. Deliberately not `PartialEq`: secrets are
/// compared only by signature verification, in constant time, elsewhere.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret text: for signature verification and for the one
    /// CreateAccessKey response that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// A 32-byte master key. Redacted in `Debug`, cleared when dropped.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        MasterKey(Zeroizing::new(bytes))
    }

    /// Reads a key from exactly 32 bytes (e.g. a key file's contents).
    pub fn from_slice(bytes: &[u8]) -> Option<MasterKey> {
        let array: [u8; 32] = bytes.try_into().ok()?;
        Some(MasterKey::from_bytes(array))
    }

    /// A fresh random key, for a server creating its key file.
    pub fn generate() -> MasterKey {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut());
        MasterKey(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&Key::from(*self.0))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// The master keys a store uses: one that seals new secrets, and older ones
/// that still open what they sealed.
#[derive(Debug, Clone)]
pub struct Keyring {
    active_id: String,
    active: MasterKey,
    older: Vec<(String, MasterKey)>,
}

impl Keyring {
    /// A keyring whose active key is `key`, named `id` in every row it seals
    /// (a short name such as `k1` or the key file's date).
    pub fn new(id: impl Into<String>, key: MasterKey) -> Keyring {
        Keyring {
            active_id: id.into(),
            active: key,
            older: Vec::new(),
        }
    }

    /// Adds a retired key that still opens the rows it sealed.
    pub fn with_old_key(mut self, id: impl Into<String>, key: MasterKey) -> Keyring {
        self.older.push((id.into(), key));
        self
    }

    pub fn active_id(&self) -> &str {
        &self.active_id
    }

    fn key(&self, id: &str) -> Option<&MasterKey> {
        if id == self.active_id {
            return Some(&self.active);
        }
        self.older.iter().find(|(k, _)| k == id).map(|(_, key)| key)
    }

    /// Seals `secret` for the row `(account, access_key_id)`: returns the key
    /// id and the hex text of nonce ‖ ciphertext ‖ tag.
    pub(crate) fn seal(
        &self,
        account: &str,
        access_key_id: &str,
        secret: &Secret,
    ) -> Result<(String, String)> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = associated_data(account, access_key_id);
        let ciphertext = self
            .active
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret.expose().as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| IamError::internal("sealing an access key secret"))?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok((self.active_id.clone(), hex::encode(sealed)))
    }

    /// Opens what [`Keyring::seal`] produced for the same row.
    pub(crate) fn open(
        &self,
        key_id: &str,
        sealed_hex: &str,
        account: &str,
        access_key_id: &str,
    ) -> Result<Secret> {
        let key = self
            .key(key_id)
            .ok_or_else(|| IamError::internal("no master key with the stored key id"))?;
        let sealed = hex::decode(sealed_hex)
            .map_err(|_| IamError::internal("stored access key secret is not hex"))?;
        let (nonce, ciphertext) = sealed
            .split_at_checked(NONCE_LEN)
            .ok_or_else(|| IamError::internal("stored access key secret is too short"))?;
        let nonce: [u8; NONCE_LEN] = nonce
            .try_into()
            .map_err(|_| IamError::internal("stored access key nonce has the wrong size"))?;
        let aad = associated_data(account, access_key_id);
        let plain = Zeroizing::new(
            key.cipher()
                .decrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| IamError::internal("an access key secret did not decrypt"))?,
        );
        let text = std::str::from_utf8(&plain)
            .map_err(|_| IamError::internal("a decrypted secret is not UTF-8"))?;
        Ok(Secret::new(text))
    }
}

fn associated_data(account: &str, access_key_id: &str) -> Vec<u8> {
    format!("rampart-iam access-key v1\0{account}\0{access_key_id}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        Keyring::new("k1", MasterKey::from_bytes([7; 32]))
    }

    #[test]
    fn seal_and_open() {
        let secret = Secret::new("PupkTg8jdmau1cXxYacgE736PJj4cA");
        let (id, sealed) = ring().seal("1", "LTAIx", &secret).unwrap();
        assert_eq!(id, "k1");
        assert!(!sealed.contains("PupkTg8"));
        let opened = ring().open(&id, &sealed, "1", "LTAIx").unwrap();
        assert_eq!(opened.expose(), secret.expose());
    }

    #[test]
    fn ciphertexts_are_bound_to_their_row_and_key() {
        let secret = Secret::new("s3cr3t");
        let (id, sealed) = ring().seal("1", "LTAIx", &secret).unwrap();
        assert!(ring().open(&id, &sealed, "1", "LTAIy").is_err());
        assert!(ring().open(&id, &sealed, "2", "LTAIx").is_err());
        assert!(ring().open("k0", &sealed, "1", "LTAIx").is_err());
        let other = Keyring::new("k1", MasterKey::from_bytes([8; 32]));
        assert!(other.open(&id, &sealed, "1", "LTAIx").is_err());
    }

    #[test]
    fn rotated_keys_still_open() {
        let secret = Secret::new("old");
        let (id, sealed) = ring().seal("1", "LTAIx", &secret).unwrap();
        let rotated = Keyring::new("k2", MasterKey::generate())
            .with_old_key("k1", MasterKey::from_bytes([7; 32]));
        let opened = rotated.open(&id, &sealed, "1", "LTAIx").unwrap();
        assert_eq!(opened.expose(), secret.expose());
        assert_eq!(rotated.active_id(), "k2");
    }

    #[test]
    fn nothing_secret_in_debug() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?} {s}").contains("hunter2"));
        let k = MasterKey::from_bytes([0x41; 32]);
        assert!(!format!("{k:?}").contains("65"));
        assert!(!format!("{:?}", Keyring::new("k", k)).contains("65"));
    }
}
