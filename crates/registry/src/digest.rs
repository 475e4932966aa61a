//! Content digests in the OCI form `<algorithm>:<hex>`.
//!
//! Only `sha256` (64 hex digits) and `sha512` (128 hex digits) are
//! accepted, with lower-case hex only: the digest is also a file name, and
//! one spelling per content keeps the store content-addressed.

use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;

/// A hash algorithm the registry accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// SHA-256, the OCI default.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name used in digests and in the store's folder layout.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// How many hex digits an encoded digest of this algorithm has.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a string is not a digest (the OCI `DIGEST_INVALID` case).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// No `:` between algorithm and hex.
    #[error("digest {0:?} is not of the form <algorithm>:<hex>")]
    MissingSeparator(String),
    /// An algorithm other than sha256 or sha512.
    #[error("digest algorithm {0:?} is not supported (expected sha256 or sha512)")]
    UnsupportedAlgorithm(String),
    /// The hex part has the wrong number of characters.
    #[error("{algorithm} digest must have {expected} hex digits, found {found}")]
    WrongLength {
        /// The algorithm named in the digest.
        algorithm: Algorithm,
        /// The length that algorithm requires.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// The hex part has a character outside `0-9a-f`.
    #[error("digest hex may only contain 0-9 and a-f, found {found:?} at position {position}")]
    InvalidHex {
        /// The offending character.
        found: char,
        /// Its character position within the hex part.
        position: usize,
    },
}

/// A parsed, validated digest such as `sha256:e3b0c442…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Parses `<algorithm>:<hex>`; the same as [`str::parse`].
    pub fn parse(text: &str) -> Result<Self, DigestError> {
        let (name, hex) = text
            .split_once(':')
            .ok_or_else(|| DigestError::MissingSeparator(text.to_owned()))?;
        let algorithm = Algorithm::from_name(name)
            .ok_or_else(|| DigestError::UnsupportedAlgorithm(name.to_owned()))?;
        Self::from_parts(algorithm, hex)
    }

    /// Builds a digest from an algorithm and its hex encoding.
    pub fn from_parts(algorithm: Algorithm, hex: &str) -> Result<Self, DigestError> {
        if let Some((position, found)) = hex
            .chars()
            .enumerate()
            .find(|(_, c)| !matches!(c, '0'..='9' | 'a'..='f'))
        {
            return Err(DigestError::InvalidHex { found, position });
        }
        if hex.len() != algorithm.hex_len() {
            return Err(DigestError::WrongLength {
                algorithm,
                expected: algorithm.hex_len(),
                found: hex.len(),
            });
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// The digest of `bytes` under `algorithm`.
    pub fn of(algorithm: Algorithm, bytes: &[u8]) -> Self {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(bytes);
        hasher.finish()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The lower-case hex encoding (no algorithm prefix).
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

/// A streaming hash for either algorithm: feed bytes, then take the digest.
#[derive(Clone)]
pub struct Hasher {
    state: State,
}

#[derive(Clone)]
enum State {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A fresh hasher for `algorithm`.
    pub fn new(algorithm: Algorithm) -> Self {
        let state = match algorithm {
            Algorithm::Sha256 => State::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => State::Sha512(sha2::Sha512::new()),
        };
        Hasher { state }
    }

    /// Adds bytes to the hash.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.state {
            State::Sha256(h) => h.update(bytes),
            State::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self.state {
            State::Sha256(h) => (Algorithm::Sha256, hex::encode(h.finalize())),
            State::Sha512(h) => (Algorithm::Sha512, hex::encode(h.finalize())),
        };
        Digest { algorithm, hex }
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let algorithm = match self.state {
            State::Sha256(_) => Algorithm::Sha256,
            State::Sha512(_) => Algorithm::Sha512,
        };
        f.debug_struct("Hasher")
            .field("algorithm", &algorithm)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]
    use super::*;

    const EMPTY_256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn known_vectors() {
        assert_eq!(
            Digest::of(Algorithm::Sha256, b"").to_string(),
            format!("sha256:{EMPTY_256}")
        );
        let d = Digest::of(Algorithm::Sha512, b"abc");
        assert!(d.hex().starts_with("ddaf35a193617aba"));
        assert_eq!(d.hex().len(), 128);
    }

    #[test]
    fn round_trips() {
        for alg in [Algorithm::Sha256, Algorithm::Sha512] {
            let d = Digest::of(alg, b"hello");
            assert_eq!(Digest::parse(&d.to_string()), Ok(d));
        }
    }

    #[test]
    fn streaming_equals_one_shot() {
        let mut h = Hasher::new(Algorithm::Sha512);
        h.update(b"hel");
        h.update(b"lo");
        assert_eq!(h.finish(), Digest::of(Algorithm::Sha512, b"hello"));
    }

    #[test]
    fn rejects_malformed() {
        let upper = format!("sha256:{}", EMPTY_256.to_uppercase());
        let short = format!("sha256:{}", &EMPTY_256[..63]);
        let long512 = format!("sha512:{EMPTY_256}");
        let traversal = format!("sha256:../{}", &EMPTY_256[..61]);
        assert!(matches!(
            Digest::parse(EMPTY_256),
            Err(DigestError::MissingSeparator(_))
        ));
        assert!(matches!(
            Digest::parse(&format!("md5:{EMPTY_256}")),
            Err(DigestError::UnsupportedAlgorithm(_))
        ));
        assert!(matches!(
            Digest::parse(&format!("SHA256:{EMPTY_256}")),
            Err(DigestError::UnsupportedAlgorithm(_))
        ));
        assert!(matches!(
            Digest::parse(&upper),
            Err(DigestError::InvalidHex { .. })
        ));
        assert!(matches!(
            Digest::parse(&short),
            Err(DigestError::WrongLength {
                expected: 64,
                found: 63,
                ..
            })
        ));
        assert!(matches!(
            Digest::parse(&long512),
            Err(DigestError::WrongLength { expected: 128, .. })
        ));
        assert!(matches!(
            Digest::parse(&traversal),
            Err(DigestError::InvalidHex { found: '.', .. })
        ));
        assert!(Digest::parse("sha256:").is_err());
        assert!(Digest::parse("").is_err());
    }
}
