//! The AccessKeySecret, kept out of logs.

use std::fmt;

use zeroize::Zeroize;

/// An AccessKeySecret (long-term or STS).
///
/// Its `Debug` output is redacted, so a secret inside a struct that derives
/// `Debug` never reaches a log line or a panic message. There is no
/// `Display`: the only way to the bytes is [`Secret::expose`], which is
/// easy to find in review. The text is cleared from memory when the
/// `Secret` is dropped. Deliberately not `PartialEq`: secrets are compared
/// only inside signature verification, in constant time.
#[derive(Clone)]
pub struct Secret(String);

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for computing a MAC.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl From<&str> for Secret {
    fn from(secret: &str) -> Self {
        Self(secret.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::new("hunter2-very-secret");
        let shown = format!("{secret:?} {secret:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("redacted"));

        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            id: &'static str,
            secret: Secret,
        }
        let holder = Holder {
            id: "testid",
            secret: Secret::from("hunter2"),
        };
        let shown = format!("{holder:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("testid"));
    }

    #[test]
    fn expose_gives_the_secret_back() {
        assert_eq!(Secret::new(String::from("s3")).expose(), "s3");
    }
}
