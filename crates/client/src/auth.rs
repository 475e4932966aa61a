//! Who the client is: credentials, where they come from, and the
//! `WWW-Authenticate` challenges that say where to take them.

use std::fmt;

use crate::Error;

/// A registry login: user name and password (for rampart, see the README's
/// "The container registry": `cr_temp_user` + a temporary password,
/// `USER@ACCOUNT`, or the root's `ACCOUNT`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }
}

/// The password never reaches logs.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Where a registry's credentials come from: fixed ones for now; the
/// credential helper (assumed roles, service-linked roles, temporary
/// passwords) will implement this too.
pub trait CredentialSource {
    /// The user name and password for `registry_host` (`HOST[:PORT]` as the
    /// image reference writes it), or `None` for anonymous access.
    fn credentials(&self, registry_host: &str) -> Result<Option<(String, String)>, Error>;
}

/// The same credentials (or none) for every registry.
#[derive(Debug, Clone, Default)]
pub struct StaticCredentials(pub Option<Credentials>);

impl CredentialSource for StaticCredentials {
    fn credentials(&self, _registry_host: &str) -> Result<Option<(String, String)>, Error> {
        Ok(self
            .0
            .as_ref()
            .map(|c| (c.username.clone(), c.password.clone())))
    }
}

/// One parsed `WWW-Authenticate` challenge, e.g.
/// `Bearer realm="http://host/token",service="svc",scope="repository:a/b:pull"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme, lower-cased (`bearer`, `basic`).
    pub scheme: String,
    /// The auth-params in order, names lower-cased.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// Parses one challenge (the first, when a header holds several).
    /// Values may be quoted (with `\` escapes) or bare tokens; commas
    /// inside quotes (`scope="repository:a/b:pull,push"`) stay in the value.
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, mut rest) = match header.split_once(char::is_whitespace) {
            Some((scheme, rest)) => (scheme, rest.trim_start()),
            None => (header, ""),
        };
        if scheme.is_empty()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return None;
        }
        let mut params = Vec::new();
        while !rest.is_empty() {
            let (name, after) = rest.split_once('=')?;
            let name = name.trim().to_ascii_lowercase();
            if name.is_empty() || name.contains(char::is_whitespace) {
                // The start of a second challenge (`Basic realm=…`): stop.
                break;
            }
            let after = after.trim_start();
            let (value, remainder) = if let Some(quoted) = after.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                value.push(escaped);
                            }
                        }
                        '"' => {
                            end = Some(i);
                            break;
                        }
                        c => value.push(c),
                    }
                }
                let end = end?;
                (
                    value,
                    quoted.get(end.saturating_add(1)..).unwrap_or_default(),
                )
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (
                    after.get(..end).unwrap_or_default().trim().to_owned(),
                    after.get(end..).unwrap_or_default(),
                )
            };
            params.push((name, value));
            rest = remainder.trim_start();
            rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        }
        Some(Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params,
        })
    }

    /// The value of an auth-param.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_bearer(&self) -> bool {
        self.scheme == "bearer"
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn parses_the_registry_challenge() {
        let c = Challenge::parse(
            "Bearer realm=\"http://127.0.0.1:5000/token\",service=\"rampart-registry:cn-hangzhou:cri-1\",scope=\"repository:team/app:pull,push\",error=\"insufficient_scope\"",
        )
        .unwrap();
        assert!(c.is_bearer());
        assert_eq!(c.param("realm"), Some("http://127.0.0.1:5000/token"));
        assert_eq!(
            c.param("service"),
            Some("rampart-registry:cn-hangzhou:cri-1")
        );
        assert_eq!(c.param("scope"), Some("repository:team/app:pull,push"));
        assert_eq!(c.param("error"), Some("insufficient_scope"));
    }

    #[test]
    fn parses_spaces_bare_values_escapes_and_basic() {
        let c = Challenge::parse("bearer  realm = \"a\\\"b\" , service=svc,  scope=x").unwrap();
        assert_eq!(c.param("REALM"), Some("a\"b"));
        assert_eq!(c.param("service"), Some("svc"));
        assert_eq!(c.param("scope"), Some("x"));
        let b = Challenge::parse("Basic realm=\"rampart registry\"").unwrap();
        assert_eq!(b.scheme, "basic");
        assert!(!b.is_bearer());
        assert_eq!(Challenge::parse("Bearer").unwrap().params, vec![]);
        assert!(Challenge::parse("Bearer realm=\"unterminated").is_none());
        assert!(Challenge::parse("").is_none());
    }

    #[test]
    fn static_credentials_and_redacted_debug() {
        let creds = Credentials::new("123", "secret");
        assert!(!format!("{creds:?}").contains("secret"));
        let source = StaticCredentials(Some(creds));
        assert_eq!(
            source.credentials("h").unwrap(),
            Some(("123".to_owned(), "secret".to_owned()))
        );
        assert_eq!(StaticCredentials(None).credentials("h").unwrap(), None);
    }
}
