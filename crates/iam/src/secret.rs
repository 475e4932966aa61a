//! Access-key secrets at rest.
//!
//! A secret must be recoverable (the server recomputes HMAC signatures with
//! it), so it cannot be hashed; it is sealed instead, with the project's one
//! sealing implementation, [`auth::KeyRing`] (XChaCha20-Poly1305 under a
//! ring of rotating 32-byte keys that the server keeps outside the
//! database). The sealed text names the key that sealed it, so keys rotate:
//! the ring's first key seals, every key still in the ring opens.
//!
//! The purpose the value is sealed for names the account and the access key
//! id, so a sealed secret copied onto another row, or a sealed value made
//! for anything else (an STS token, a registry token), does not open here.
//!
//! Each row also keeps the sealing key's id in a column of its own
//! (`secret_key_id`), so that after a rotation the rows still sealed by a
//! retiring key can be found with a plain query.

use auth::{KeyRing, Secret};
use zeroize::Zeroizing;

use crate::error::{IamError, Result};

/// What an access-key secret is sealed for: this account's key of this id.
fn purpose(account: &str, access_key_id: &str) -> String {
    format!("rampart-iam access-key v1\0{account}\0{access_key_id}")
}

/// Seals `secret` for the row `(account, access_key_id)`: returns the id of
/// the key that sealed it and the sealed text.
pub(crate) fn seal_secret(
    keys: &KeyRing,
    account: &str,
    access_key_id: &str,
    secret: &Secret,
) -> Result<(String, String)> {
    let sealed = keys
        .seal(&purpose(account, access_key_id), secret.expose().as_bytes())
        .map_err(|e| IamError::internal_from("sealing an access key secret", e))?;
    let key_id = KeyRing::key_id_of(&sealed)
        .map_err(|e| IamError::internal_from("sealing an access key secret", e))?
        .to_string();
    Ok((key_id, sealed))
}

/// Opens what [`seal_secret`] produced for the same row.
pub(crate) fn open_secret(
    keys: &KeyRing,
    sealed: &str,
    account: &str,
    access_key_id: &str,
) -> Result<Secret> {
    let plain = keys
        .open(&purpose(account, access_key_id), sealed)
        .map_err(|e| IamError::internal_from("opening a stored access key secret", e))?;
    match String::from_utf8(plain) {
        Ok(text) => Ok(Secret::new(text)),
        Err(e) => {
            drop(Zeroizing::new(e.into_bytes()));
            Err(IamError::internal(
                "a stored access key secret is not UTF-8",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use auth::SealingKey;

    use super::*;

    fn ring(keys: &[(&str, u8)]) -> KeyRing {
        KeyRing::new(
            keys.iter()
                .map(|(id, byte)| SealingKey::new(id, [*byte; 32]).unwrap())
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn seal_and_open() {
        let keys = ring(&[("k1", 7)]);
        let secret = Secret::new("PupkTg8jdmau1cXxYacgE736PJj4cA");
        let (id, sealed) = seal_secret(&keys, "1", "LTAIx", &secret).unwrap();
        assert_eq!(id, "k1");
        assert!(!sealed.contains("PupkTg8"));
        let opened = open_secret(&keys, &sealed, "1", "LTAIx").unwrap();
        assert_eq!(opened.expose(), secret.expose());
    }

    #[test]
    fn sealed_secrets_are_bound_to_their_row_and_key() {
        let keys = ring(&[("k1", 7)]);
        let (_, sealed) = seal_secret(&keys, "1", "LTAIx", &Secret::new("s3cr3t")).unwrap();
        assert!(open_secret(&keys, &sealed, "1", "LTAIy").is_err());
        assert!(open_secret(&keys, &sealed, "2", "LTAIx").is_err());
        assert!(open_secret(&ring(&[("k1", 8)]), &sealed, "1", "LTAIx").is_err());
        assert!(open_secret(&ring(&[("k0", 7)]), &sealed, "1", "LTAIx").is_err());
        // Nor does a value sealed by the same ring for another purpose.
        let token = keys.seal("sts", b"s3cr3t").unwrap();
        let err = open_secret(&keys, &token, "1", "LTAIx").unwrap_err();
        assert_eq!(err.code(), "InternalError");
    }

    #[test]
    fn rotated_keys_still_open() {
        let (_, sealed) =
            seal_secret(&ring(&[("k1", 7)]), "1", "LTAIx", &Secret::new("old")).unwrap();
        let rotated = ring(&[("k2", 9), ("k1", 7)]);
        assert_eq!(
            open_secret(&rotated, &sealed, "1", "LTAIx")
                .unwrap()
                .expose(),
            "old"
        );
        let (id, _) = seal_secret(&rotated, "1", "LTAIy", &Secret::new("new")).unwrap();
        assert_eq!(id, "k2");
    }
}
