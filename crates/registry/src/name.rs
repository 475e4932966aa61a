//! Repository names, tags and manifest references, as the OCI
//! Distribution specification spells them.
//!
//! A repository name is one or more path components joined by `/`; each
//! component is lower-case alphanumerics with single separators between
//! runs (`.`, `_`, `__`, or any number of `-`). The whole name is at most
//! 255 characters. A tag is `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. A
//! reference (the last part of a manifest URL) is a tag or a digest.
//!
//! Every name is checked here before it reaches the gate or the database,
//! so `..`, upper case or empty components are refused as `NAME_INVALID`
//! without anyone being asked about them.

use std::fmt;

use crate::digest::{Digest, DigestError};

/// The longest repository name accepted.
pub const MAX_NAME_LEN: usize = 255;
/// The longest tag accepted.
pub const MAX_TAG_LEN: usize = 128;

/// Why a repository name is refused (OCI `NAME_INVALID`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the repository name is empty")]
    Empty,
    #[error("the repository name has {len} characters; at most {MAX_NAME_LEN} are allowed")]
    TooLong { len: usize },
    #[error("the repository name has an empty path component (component {index})")]
    EmptyComponent { index: usize },
    #[error(
        "path component {component:?} must be lower-case letters and digits, \
         joined by '.', '_', '__' or dashes ({reason})"
    )]
    InvalidComponent {
        component: String,
        reason: &'static str,
    },
}

/// A repository name that fits the grammar, e.g. `team/app`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoName(String);

impl RepoName {
    /// Checks `text` against the grammar.
    pub fn parse(text: &str) -> Result<RepoName, NameError> {
        if text.is_empty() {
            return Err(NameError::Empty);
        }
        if text.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong { len: text.len() });
        }
        for (index, component) in text.split('/').enumerate() {
            if component.is_empty() {
                return Err(NameError::EmptyComponent { index });
            }
            check_component(component).map_err(|reason| NameError::InvalidComponent {
                component: component.to_owned(),
                reason,
            })?;
        }
        Ok(RepoName(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, by hand.
fn check_component(component: &str) -> Result<(), &'static str> {
    let bytes = component.as_bytes();
    let mut i = 0;
    loop {
        // A run of alphanumerics, at least one.
        let start = i;
        while bytes.get(i).copied().is_some_and(is_alnum) {
            i += 1;
        }
        if i == start {
            return Err(match bytes.get(i) {
                Some(b) if b.is_ascii_uppercase() => "upper case is not allowed",
                Some(b'.' | b'_' | b'-') if i == 0 => "it must start with a letter or digit",
                Some(b'.' | b'_' | b'-') => "separators cannot follow each other",
                Some(_) => "it has a character outside a-z, 0-9, '.', '_', '-'",
                None => "it must end with a letter or digit",
            });
        }
        // A separator, or the end.
        match bytes.get(i) {
            None => return Ok(()),
            Some(b'.') => i += 1,
            Some(b'_') => {
                i += 1;
                if bytes.get(i) == Some(&b'_') {
                    i += 1;
                }
            }
            Some(b'-') => {
                while bytes.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            Some(b) if b.is_ascii_uppercase() => return Err("upper case is not allowed"),
            Some(_) => return Err("it has a character outside a-z, 0-9, '.', '_', '-'"),
        }
    }
}

/// Why a tag is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("the tag is empty")]
    Empty,
    #[error("the tag has {len} characters; at most {MAX_TAG_LEN} are allowed")]
    TooLong { len: usize },
    #[error("tag character {found:?} at position {position} is not allowed (tags are [a-zA-Z0-9_][a-zA-Z0-9._-]*)")]
    InvalidCharacter { found: char, position: usize },
}

/// A tag that fits `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    pub fn parse(text: &str) -> Result<Tag, TagError> {
        if text.is_empty() {
            return Err(TagError::Empty);
        }
        if text.len() > MAX_TAG_LEN {
            return Err(TagError::TooLong { len: text.len() });
        }
        for (position, found) in text.chars().enumerate() {
            let ok = found.is_ascii_alphanumeric()
                || found == '_'
                || (position > 0 && (found == '.' || found == '-'));
            if !ok {
                return Err(TagError::InvalidCharacter { found, position });
            }
        }
        Ok(Tag(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a manifest reference is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// It has a `:`, so it meant to be a digest, and is not one.
    #[error(transparent)]
    Digest(#[from] DigestError),
    #[error(transparent)]
    Tag(#[from] TagError),
}

/// The `<reference>` of `/v2/<name>/manifests/<reference>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    Tag(Tag),
    Digest(Digest),
}

impl Reference {
    /// A digest when the text has a `:` (tags cannot), else a tag.
    pub fn parse(text: &str) -> Result<Reference, ReferenceError> {
        if text.contains(':') {
            Ok(Reference::Digest(Digest::parse(text)?))
        } else {
            Ok(Reference::Tag(Tag::parse(text)?))
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(tag) => tag.fmt(f),
            Reference::Digest(digest) => digest.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_fit() {
        for name in [
            "a",
            "library/ubuntu",
            "team/app",
            "a.b/c_d/e__f/g-h/i---j",
            "0/1/2",
            "my.registry/with-dash/x",
        ] {
            assert!(RepoName::parse(name).is_ok(), "{name}");
        }
        let long = vec!["a"; 128].join("/");
        assert_eq!(long.len(), 255);
        assert!(RepoName::parse(&long).is_ok());
    }

    #[test]
    fn names_refused() {
        assert_eq!(RepoName::parse(""), Err(NameError::Empty));
        assert!(matches!(
            RepoName::parse(&"a".repeat(256)),
            Err(NameError::TooLong { len: 256 })
        ));
        assert!(matches!(
            RepoName::parse("a//b"),
            Err(NameError::EmptyComponent { index: 1 })
        ));
        assert!(matches!(
            RepoName::parse("a/"),
            Err(NameError::EmptyComponent { index: 1 })
        ));
        for bad in [
            "..", "a/..", "a/../b", "a..b", "A", "team/App", "a___b", "-a", "a-", "a.", "_a",
            "a b", "a/%2e", "a:b", "a._b",
        ] {
            assert!(
                matches!(
                    RepoName::parse(bad),
                    Err(NameError::InvalidComponent { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn tags() {
        assert!(Tag::parse("latest").is_ok());
        assert!(Tag::parse("_x.Y-1").is_ok());
        assert!(Tag::parse(&"t".repeat(128)).is_ok());
        assert!(matches!(
            Tag::parse(&"t".repeat(129)),
            Err(TagError::TooLong { .. })
        ));
        assert!(matches!(
            Tag::parse(".x"),
            Err(TagError::InvalidCharacter { found: '.', .. })
        ));
        assert!(matches!(
            Tag::parse("-x"),
            Err(TagError::InvalidCharacter { .. })
        ));
        assert!(matches!(
            Tag::parse("a/b"),
            Err(TagError::InvalidCharacter { .. })
        ));
        assert_eq!(Tag::parse(""), Err(TagError::Empty));
    }

    #[test]
    fn references() {
        assert!(matches!(Reference::parse("v1"), Ok(Reference::Tag(_))));
        let digest = Digest::of(crate::Algorithm::Sha256, b"x").to_string();
        assert!(matches!(
            Reference::parse(&digest),
            Ok(Reference::Digest(_))
        ));
        assert!(matches!(
            Reference::parse("sha256:abc"),
            Err(ReferenceError::Digest(_))
        ));
    }
}
