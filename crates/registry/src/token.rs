//! The registry's sealed credentials: the temporary login password
//! `GetAuthorizationToken` hands out, and the bearer token the Docker
//! token service (the realm) issues. Both are [`auth::KeyRing`] sealed
//! blobs, each under its own purpose, so one can never be passed off as
//! the other or as an STS token.
//!
//! Neither carries a grant that outlives a policy change: a token names
//! *who* (the [`Subject`]) and, for bearer tokens, which scopes the client
//! asked for and was allowed when it was issued. The registry still asks
//! RAM on every request (DESIGN.md decision 1); the scope list only stops
//! a token minted for `pull` from being used to push.
//!
//! A session subject carries its STS claims whole, so a registry request
//! made with a token obtained by a role session is checked exactly like an
//! API call with that session: expiry, revocation, the role still
//! existing, the session policy.

use auth::KeyRing;
use serde::{Deserialize, Serialize};

/// Sealing purpose of the temporary login password.
const LOGIN_PURPOSE: &str = "rampart registry login v1";
/// Sealing purpose of bearer tokens.
const BEARER_PURPOSE: &str = "rampart registry bearer v1";
/// Format version inside both.
const VERSION: u32 = 1;

/// The user name that goes with a temporary login password (what ACR's
/// `GetAuthorizationToken` answers as `TempUsername`).
pub const TEMP_USERNAME: &str = "cr_temp_user";

/// Who a registry credential speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// No credentials: only public repositories, only pulls.
    Anonymous,
    /// An account's root identity.
    Root { account: String },
    /// A RAM user.
    User {
        account: String,
        user_id: String,
        name: String,
    },
    /// A role session (any chain).
    Session(Box<sts::Claims>),
}

impl Subject {
    /// The account the subject belongs to (`None` for anonymous).
    pub fn account(&self) -> Option<&str> {
        match self {
            Subject::Anonymous => None,
            Subject::Root { account } | Subject::User { account, .. } => Some(account),
            Subject::Session(claims) => Some(&claims.account),
        }
    }

    /// The last second (exclusive) the subject itself is valid: a
    /// session's expiry; `None` for long-term identities.
    pub fn expires_at(&self) -> Option<i64> {
        match self {
            Subject::Session(claims) => Some(claims.expires_at.unix_seconds()),
            _ => None,
        }
    }

    /// A name for logs and the token's `sub`.
    pub fn arn(&self) -> String {
        match self {
            Subject::Anonymous => String::new(),
            Subject::Root { account } => format!("acs:ram::{account}:root"),
            Subject::User { account, name, .. } => format!("acs:ram::{account}:user/{name}"),
            Subject::Session(claims) => claims.identity_arn(),
        }
    }
}

/// One scope of a bearer token: `repository:NS/REPO:pull,push` or
/// `registry:catalog:*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

impl Grant {
    /// Whether this grant covers `action` on `kind:name` (`*` covers all).
    pub fn covers(&self, kind: &str, name: &str, action: &str) -> bool {
        self.kind == kind
            && self.name == name
            && self.actions.iter().any(|a| a == action || a == "*")
    }
}

/// Why a scope string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scope {0:?} is not TYPE:NAME:ACTION[,ACTION]")]
pub struct ScopeError(pub String);

/// Parses one resource scope. The name may contain a `host:port`, so the
/// type ends at the first `:` and the actions start after the last one.
/// `repository(plugin)` is read as `repository` (resource classes are
/// deprecated and ignored).
pub fn parse_scope(text: &str) -> Result<Grant, ScopeError> {
    let bad = || ScopeError(text.chars().take(300).collect());
    let (kind, rest) = text.split_once(':').ok_or_else(bad)?;
    let (name, actions) = rest.rsplit_once(':').ok_or_else(bad)?;
    let kind = kind.split_once('(').map_or(kind, |(k, _)| k);
    if kind.is_empty()
        || !kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        || name.is_empty()
    {
        return Err(bad());
    }
    let mut list: Vec<String> = Vec::new();
    for action in actions.split(',') {
        if !action.bytes().all(|b| b.is_ascii_lowercase() || b == b'*') {
            return Err(bad());
        }
        if !action.is_empty() && !list.iter().any(|a| a == action) {
            list.push(action.to_owned());
        }
    }
    Ok(Grant {
        kind: kind.to_owned(),
        name: name.to_owned(),
        actions: list,
    })
}

/// Why a sealed registry credential was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed, altered, or was not issued by this registry")]
    Invalid,
    #[error("the token has expired")]
    Expired,
    #[error("the token could not be sealed: {0}")]
    Seal(String),
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "k")]
enum WireSubject {
    #[serde(rename = "anon")]
    Anonymous,
    #[serde(rename = "root")]
    Root { a: String },
    #[serde(rename = "user")]
    User { a: String, i: String, n: String },
    /// The session's claims as the JSON text STS seals (a string: an
    /// internally tagged enum cannot hold a raw JSON value).
    #[serde(rename = "session")]
    Session { c: String },
}

impl WireSubject {
    fn from(subject: &Subject) -> Result<WireSubject, TokenError> {
        Ok(match subject {
            Subject::Anonymous => WireSubject::Anonymous,
            Subject::Root { account } => WireSubject::Root { a: account.clone() },
            Subject::User {
                account,
                user_id,
                name,
            } => WireSubject::User {
                a: account.clone(),
                i: user_id.clone(),
                n: name.clone(),
            },
            Subject::Session(claims) => {
                let bytes = claims
                    .to_bytes()
                    .ok_or_else(|| TokenError::Seal("session claims".into()))?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| TokenError::Seal("session claims".into()))?;
                WireSubject::Session { c: text }
            }
        })
    }

    fn into_subject(self) -> Result<Subject, TokenError> {
        Ok(match self {
            WireSubject::Anonymous => Subject::Anonymous,
            WireSubject::Root { a } => Subject::Root { account: a },
            WireSubject::User { a, i, n } => Subject::User {
                account: a,
                user_id: i,
                name: n,
            },
            WireSubject::Session { c } => Subject::Session(Box::new(
                sts::Claims::from_bytes(c.as_bytes()).ok_or(TokenError::Invalid)?,
            )),
        })
    }
}

/// A temporary login password: who, for which instance, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginToken {
    pub subject: Subject,
    pub instance_id: String,
    pub issued_at: i64,
    pub expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct WireLogin {
    v: u32,
    s: WireSubject,
    inst: String,
    iat: i64,
    exp: i64,
}

impl LoginToken {
    /// Seals the password.
    pub fn seal(&self, keys: &KeyRing) -> Result<String, TokenError> {
        let wire = WireLogin {
            v: VERSION,
            s: WireSubject::from(&self.subject)?,
            inst: self.instance_id.clone(),
            iat: self.issued_at,
            exp: self.expires_at,
        };
        let bytes = serde_json::to_vec(&wire).map_err(|e| TokenError::Seal(e.to_string()))?;
        keys.seal(LOGIN_PURPOSE, &bytes)
            .map_err(|e| TokenError::Seal(e.to_string()))
    }

    /// Opens a password; refuses anything altered, foreign or expired at `now`.
    pub fn open(sealed: &str, keys: &KeyRing, now: i64) -> Result<LoginToken, TokenError> {
        let bytes = keys
            .open(LOGIN_PURPOSE, sealed)
            .map_err(|_| TokenError::Invalid)?;
        let wire: WireLogin = serde_json::from_slice(&bytes).map_err(|_| TokenError::Invalid)?;
        if wire.v != VERSION {
            return Err(TokenError::Invalid);
        }
        if now >= wire.exp {
            return Err(TokenError::Expired);
        }
        Ok(LoginToken {
            subject: wire.s.into_subject()?,
            instance_id: wire.inst,
            issued_at: wire.iat,
            expires_at: wire.exp,
        })
    }
}

/// A bearer token from the realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerToken {
    pub subject: Subject,
    pub instance_id: String,
    /// What the client asked for and was allowed when the token was made.
    pub access: Vec<Grant>,
    pub issued_at: i64,
    pub expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct WireBearer {
    v: u32,
    s: WireSubject,
    inst: String,
    acc: Vec<Grant>,
    iat: i64,
    exp: i64,
}

impl BearerToken {
    /// Seals the token.
    pub fn seal(&self, keys: &KeyRing) -> Result<String, TokenError> {
        let wire = WireBearer {
            v: VERSION,
            s: WireSubject::from(&self.subject)?,
            inst: self.instance_id.clone(),
            acc: self.access.clone(),
            iat: self.issued_at,
            exp: self.expires_at,
        };
        let bytes = serde_json::to_vec(&wire).map_err(|e| TokenError::Seal(e.to_string()))?;
        keys.seal(BEARER_PURPOSE, &bytes)
            .map_err(|e| TokenError::Seal(e.to_string()))
    }

    /// Opens a token; refuses anything altered, foreign or expired at `now`.
    pub fn open(sealed: &str, keys: &KeyRing, now: i64) -> Result<BearerToken, TokenError> {
        let bytes = keys
            .open(BEARER_PURPOSE, sealed)
            .map_err(|_| TokenError::Invalid)?;
        let wire: WireBearer = serde_json::from_slice(&bytes).map_err(|_| TokenError::Invalid)?;
        if wire.v != VERSION {
            return Err(TokenError::Invalid);
        }
        if now >= wire.exp {
            return Err(TokenError::Expired);
        }
        Ok(BearerToken {
            subject: wire.s.into_subject()?,
            instance_id: wire.inst,
            access: wire.acc,
            issued_at: wire.iat,
            expires_at: wire.exp,
        })
    }

    /// Whether the token's scopes cover `action` on `kind:name`.
    pub fn allows(&self, kind: &str, name: &str, action: &str) -> bool {
        self.access.iter().any(|g| g.covers(kind, name, action))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth::SealingKey;

    fn ring() -> KeyRing {
        KeyRing::new(vec![SealingKey::generate("k1").unwrap()]).unwrap()
    }

    fn user() -> Subject {
        Subject::User {
            account: "1234".into(),
            user_id: "99".into(),
            name: "dev".into(),
        }
    }

    #[test]
    fn scopes_parse_with_ports_and_classes() {
        let g = parse_scope("repository:host:5000/ns/app:pull,push").unwrap();
        assert_eq!(g.kind, "repository");
        assert_eq!(g.name, "host:5000/ns/app");
        assert_eq!(g.actions, vec!["pull", "push"]);
        let g = parse_scope("repository(plugin):ns/app:pull").unwrap();
        assert_eq!(g.kind, "repository");
        let g = parse_scope("registry:catalog:*").unwrap();
        assert!(g.covers("registry", "catalog", "anything"));
        assert!(parse_scope("nocolon").is_err());
        assert!(parse_scope("repository:ns/app").is_err());
        assert!(parse_scope("Repo:ns/app:pull").is_err());
        assert!(parse_scope("repository:ns/app:PULL").is_err());
        assert!(parse_scope(":x:pull").is_err());
    }

    #[test]
    fn bearer_round_trip_and_scope_check() {
        let keys = ring();
        let token = BearerToken {
            subject: user(),
            instance_id: "cri-abc".into(),
            access: vec![parse_scope("repository:ns/app:pull").unwrap()],
            issued_at: 100,
            expires_at: 400,
        };
        let sealed = token.seal(&keys).unwrap();
        let opened = BearerToken::open(&sealed, &keys, 200).unwrap();
        assert_eq!(opened, token);
        assert!(opened.allows("repository", "ns/app", "pull"));
        assert!(!opened.allows("repository", "ns/app", "push"));
        assert!(!opened.allows("repository", "ns/other", "pull"));
        assert_eq!(
            BearerToken::open(&sealed, &keys, 400),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn purposes_do_not_mix_and_tampering_is_refused() {
        let keys = ring();
        let login = LoginToken {
            subject: Subject::Root {
                account: "1".into(),
            },
            instance_id: "cri-x".into(),
            issued_at: 0,
            expires_at: 10,
        };
        let sealed = login.seal(&keys).unwrap();
        assert_eq!(LoginToken::open(&sealed, &keys, 1).unwrap(), login);
        assert_eq!(
            BearerToken::open(&sealed, &keys, 1),
            Err(TokenError::Invalid)
        );
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(bytes).unwrap();
        assert_eq!(
            LoginToken::open(&flipped, &keys, 1),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            LoginToken::open(&sealed_with_other_ring(&login), &keys, 1),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn sessions_round_trip_in_both_tokens() {
        let keys = ring();
        let claims = sts::Claims {
            account: "1111".into(),
            role_id: "300".into(),
            role_name: "Puller".into(),
            session_name: "s1".into(),
            origin: sts::Origin::User {
                account: "2222".into(),
                user_id: "7".into(),
                name: "alice".into(),
            },
            hops: Vec::new(),
            session_policy: Some(r#"{"Version":"1","Statement":[]}"#.into()),
            source_identity: None,
            issued_at: auth::Timestamp::from_unix_seconds(10),
            expires_at: auth::Timestamp::from_unix_seconds(4000),
            session_id: "abc".into(),
        };
        let subject = Subject::Session(Box::new(claims));
        let login = LoginToken {
            subject: subject.clone(),
            instance_id: "cri-1".into(),
            issued_at: 10,
            expires_at: 3000,
        };
        let opened = LoginToken::open(&login.seal(&keys).unwrap(), &keys, 20).unwrap();
        assert_eq!(opened, login);
        let bearer = BearerToken {
            subject,
            instance_id: "cri-1".into(),
            access: vec![parse_scope("repository:a/b:pull").unwrap()],
            issued_at: 10,
            expires_at: 300,
        };
        let opened = BearerToken::open(&bearer.seal(&keys).unwrap(), &keys, 20).unwrap();
        assert_eq!(opened, bearer);
        assert_eq!(opened.subject.expires_at(), Some(4000));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_opens(text in ".{0,400}") {
            let keys = ring();
            proptest::prop_assert!(LoginToken::open(&text, &keys, 0).is_err());
            proptest::prop_assert!(BearerToken::open(&text, &keys, 0).is_err());
        }

        #[test]
        fn any_changed_character_is_refused(at in 0usize..10_000, with in proptest::char::range('0', 'z')) {
            let keys = ring();
            let token = BearerToken {
                subject: user(),
                instance_id: "cri-p".into(),
                access: vec![parse_scope("repository:a/b:pull").unwrap()],
                issued_at: 0,
                expires_at: 100,
            };
            let sealed = token.seal(&keys).unwrap();
            let mut chars: Vec<char> = sealed.chars().collect();
            let i = at % chars.len();
            proptest::prop_assume!(chars[i] != with);
            chars[i] = with;
            let changed: String = chars.into_iter().collect();
            proptest::prop_assert!(BearerToken::open(&changed, &keys, 1).is_err());
        }

        #[test]
        fn scopes_parse_or_refuse_without_panicking(text in ".{0,300}") {
            if let Ok(grant) = parse_scope(&text) {
                proptest::prop_assert!(!grant.kind.is_empty() && !grant.name.is_empty());
                proptest::prop_assert!(grant
                    .actions
                    .iter()
                    .all(|a| a.bytes().all(|b| b.is_ascii_lowercase() || b == b'*')));
            }
        }
    }

    fn sealed_with_other_ring(login: &LoginToken) -> String {
        login.seal(&ring()).unwrap()
    }
}
