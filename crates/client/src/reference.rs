//! Image references: `HOST[:PORT]/NAMESPACE/REPO[:TAG][@DIGEST]`.
//!
//! The host is always written out (there is no default registry): the
//! first path component must look like one (a `.`, a `:PORT`, or
//! `localhost`), so `team/app` is refused rather than sent to `http://team`. The repository
//! follows the OCI Distribution grammar (lower-case components separated
//! by `/`; rampart itself wants exactly `NAMESPACE/REPO` and says so when
//! asked for anything else). Without a tag or digest the tag is `latest`.

use std::fmt;

use crate::{Digest, Error};

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `HOST` or `HOST:PORT`, as written.
    pub host: String,
    /// `NAMESPACE/REPO`.
    pub repository: String,
    /// The tag, when one was written.
    pub tag: Option<String>,
    /// The digest, when one was written (it wins over the tag).
    pub digest: Option<Digest>,
}

/// The longest tag the OCI grammar allows.
const MAX_TAG_LEN: usize = 128;

impl Reference {
    /// Parses a reference.
    pub fn parse(text: &str) -> Result<Reference, Error> {
        let invalid = |reason: &str| Error::InvalidReference {
            reference: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (
                rest,
                Some(Digest::parse(digest).map_err(|_| {
                    invalid("the digest must be sha256:<64 hex> or sha512:<128 hex>")
                })?),
            ),
            None => (text, None),
        };
        let (host, path) = rest
            .split_once('/')
            .ok_or_else(|| invalid("expected HOST[:PORT]/NAMESPACE/REPO[:TAG]"))?;
        if !valid_host(host) {
            return Err(invalid(
                "the first component must be the registry: a host name with a '.', HOST:PORT, or localhost",
            ));
        }
        // A ':' after the last '/' starts the tag.
        let last_slash = path.rfind('/').map_or(0, |i| i.saturating_add(1));
        let (repository, tag) = match path.get(last_slash..).and_then(|t| t.find(':')) {
            Some(colon) => {
                let at = last_slash.saturating_add(colon);
                let repository = path.get(..at).unwrap_or_default();
                let tag = path.get(at.saturating_add(1)..).unwrap_or_default();
                (repository, Some(tag.to_owned()))
            }
            None => (path, None),
        };
        if !valid_repository(repository) {
            return Err(invalid(
                "the repository must be lower-case components ([a-z0-9] joined by '.', '_', '__' or '-') separated by '/'",
            ));
        }
        if let Some(tag) = &tag {
            if !valid_tag(tag) {
                return Err(invalid(
                    "the tag must be 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-'",
                ));
            }
        }
        Ok(Reference {
            host: host.to_owned(),
            repository: repository.to_owned(),
            tag,
            digest,
        })
    }

    /// What goes after `/manifests/`: the digest, else the tag, else
    /// `latest`.
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".to_owned(),
        }
    }

    /// The tag, or `latest` when only a digest (or nothing) was written.
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }

    /// `http://HOST[:PORT]`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.host)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.host, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn valid_host(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        // An IPv6 literal in brackets: `[::1]:5000`.
        Some((name, port)) if !name.is_empty() && !port.contains(']') => (name, Some(port)),
        _ => (host, None),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 253
        && (name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            || (name.starts_with('[') && name.ends_with(']')));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok());
    // `team/app` is a repository without a registry, not host `team`.
    let looks_like_host =
        port.is_some() || name.contains('.') || name == "localhost" || name.starts_with('[');
    name_ok && port_ok && looks_like_host
}

fn valid_repository(repository: &str) -> bool {
    !repository.is_empty() && repository.len() <= 255 && repository.split('/').all(valid_component)
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    let mut run = String::new();
    for &b in bytes {
        if alnum(b) {
            if !(run.is_empty()
                || run == "."
                || run == "_"
                || run == "__"
                || run.bytes().all(|c| c == b'-'))
            {
                return false;
            }
            run.clear();
        } else if matches!(b, b'.' | b'_' | b'-') {
            run.push(char::from(b));
        } else {
            return false;
        }
    }
    true
}

fn valid_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    first_ok
        && tag.len() <= MAX_TAG_LEN
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_host_port_repository_tag_and_digest() {
        let r = Reference::parse("127.0.0.1:5000/team/app:v1").unwrap();
        assert_eq!(r.host, "127.0.0.1:5000");
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.manifest_reference(), "v1");
        assert_eq!(r.base_url(), "http://127.0.0.1:5000");
        assert_eq!(r.to_string(), "127.0.0.1:5000/team/app:v1");

        let r = Reference::parse("demo-registry.cn-hangzhou.cr.rampart.internal/team/app").unwrap();
        assert_eq!(r.host, "demo-registry.cn-hangzhou.cr.rampart.internal");
        assert_eq!(r.tag, None);
        assert_eq!(r.manifest_reference(), "latest");

        let r = Reference::parse(&format!("localhost:5000/a/b.c__d-e@{D}")).unwrap();
        assert_eq!(r.repository, "a/b.c__d-e");
        assert_eq!(r.manifest_reference(), D);
        assert_eq!(r.tag_or_latest(), "latest");

        let r = Reference::parse(&format!("h.io/a/b:v2@{D}")).unwrap();
        assert_eq!(r.tag.as_deref(), Some("v2"));
        assert_eq!(r.manifest_reference(), D);

        let r = Reference::parse("[::1]:5000/ns/repo:x").unwrap();
        assert_eq!(r.host, "[::1]:5000");
    }

    #[test]
    fn rejects_malformed_references() {
        for bad in [
            "app",
            "host/",
            "h.io/Team/app",
            "h.io/team//app",
            "h.io/team/app:",
            "h.io/team/app:-x",
            "h.io/team/app@sha256:abc",
            "host:99999/team/app",
            "host:/team/app",
            "/team/app",
            "h.io/team/-app",
            "h.io/team/a..b",
            "ho st/team/app",
            "team/app",
            "host/team/app",
        ] {
            let err = Reference::parse(bad).unwrap_err();
            assert!(
                matches!(err, Error::InvalidReference { .. }),
                "{bad}: {err}"
            );
        }
        let long = format!("h.io/a/b:{}", "x".repeat(129));
        assert!(Reference::parse(&long).is_err());
    }
}
