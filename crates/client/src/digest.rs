//! Content digests (`sha256:` and `sha512:`) and a streaming hasher.
//!
//! The same grammar as the registry's (`crates/registry/src/digest.rs`);
//! kept separate so the client does not pull in the server's storage.

use std::fmt;

use sha2::Digest as _;

use crate::Error;

/// A supported digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    /// The name in a digest string and in `blobs/NAME/` of a layout.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

/// A validated digest such as `sha256:e3b0c442…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Parses `ALGORITHM:HEX` (lower-case hex of the algorithm's length).
    pub fn parse(text: &str) -> Result<Digest, Error> {
        let invalid = |reason: &str| Error::Protocol(format!("invalid digest {text:?}: {reason}"));
        let (name, hex) = text
            .split_once(':')
            .ok_or_else(|| invalid("expected ALGORITHM:HEX"))?;
        let algorithm = match name {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ => return Err(invalid("only sha256 and sha512 are supported")),
        };
        if hex.len() != algorithm.hex_len()
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(invalid("wrong length or not lower-case hex"));
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// The digest of `bytes` with `algorithm`.
    pub fn of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(bytes);
        hasher.finish()
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Checks that `bytes` hash to this digest; `what` names them in the
    /// error.
    pub fn verify(&self, what: &str, bytes: &[u8]) -> Result<(), Error> {
        let actual = Digest::of(self.algorithm, bytes);
        if &actual == self {
            Ok(())
        } else {
            Err(Error::DigestMismatch {
                what: what.to_owned(),
                expected: self.to_string(),
                actual: actual.to_string(),
            })
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Hashes bytes as they stream by.
pub struct Hasher(State);

enum State {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn new(algorithm: Algorithm) -> Hasher {
        Hasher(match algorithm {
            Algorithm::Sha256 => State::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => State::Sha512(sha2::Sha512::new()),
        })
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.0 {
            State::Sha256(h) => h.update(bytes),
            State::Sha512(h) => h.update(bytes),
        }
    }

    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self.0 {
            State::Sha256(h) => (Algorithm::Sha256, hex::encode(h.finalize())),
            State::Sha512(h) => (Algorithm::Sha512, hex::encode(h.finalize())),
        };
        Digest { algorithm, hex }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn parses_and_hashes() {
        let empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(Digest::of(Algorithm::Sha256, b"").to_string(), empty);
        let d = Digest::parse(empty).unwrap();
        assert!(d.verify("empty", b"").is_ok());
        assert!(matches!(
            d.verify("x", b"x"),
            Err(Error::DigestMismatch { .. })
        ));
        let sha512 = Digest::of(Algorithm::Sha512, b"abc");
        assert_eq!(Digest::parse(&sha512.to_string()).unwrap(), sha512);
        for bad in [
            "sha256:abc",
            "md5:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
    }
}
