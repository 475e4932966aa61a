//! HMAC helpers over the RustCrypto crates, without fallible constructors.

use hmac::digest::{Digest, Key};
use hmac::{EagerHash, Hmac, KeyInit};

/// A keyed HMAC instance, ready for `update`.
///
/// HMAC accepts keys of any length: a key longer than the hash's block is
/// first hashed, a shorter one is padded with zeros (RFC 2104 §2). Doing
/// that here lets us use the infallible block-sized constructor instead of
/// `new_from_slice`, whose error case cannot happen for HMAC.
pub(crate) fn keyed<D>(key: &[u8]) -> Hmac<D>
where
    D: EagerHash + Digest,
{
    let mut block = Key::<Hmac<D>>::default();
    let hashed;
    let key = if key.len() > block.len() {
        hashed = D::digest(key);
        hashed.as_slice()
    } else {
        key
    };
    for (slot, byte) in block.iter_mut().zip(key) {
        *slot = *byte;
    }
    <Hmac<D> as KeyInit>::new(&block)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use hmac::Mac;
    use sha1::Sha1;
    use sha2::Sha256;

    /// Our key handling must match the crate's own for every key length
    /// around the block size.
    #[test]
    fn matches_new_from_slice_for_all_key_lengths() {
        for len in 0..200 {
            let key: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let mut ours = keyed::<Sha256>(&key);
            let mut theirs = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
            ours.update(b"message");
            theirs.update(b"message");
            assert_eq!(ours.finalize().into_bytes(), theirs.finalize().into_bytes());

            let mut ours = keyed::<Sha1>(&key);
            let mut theirs = <Hmac<Sha1> as KeyInit>::new_from_slice(&key).unwrap();
            ours.update(b"message");
            theirs.update(b"message");
            assert_eq!(ours.finalize().into_bytes(), theirs.finalize().into_bytes());
        }
    }

    /// RFC 2202 test case 2 (HMAC-SHA1, key "Jefe").
    #[test]
    fn rfc2202_hmac_sha1() {
        let mut mac = keyed::<Sha1>(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    /// RFC 4231 test case 2 (HMAC-SHA256, key "Jefe").
    #[test]
    fn rfc4231_hmac_sha256() {
        let mut mac = keyed::<Sha256>(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
