//! What a session token says: whose role, which session, how the caller
//! got there, what it is narrowed to, and for how long.
//!
//! The claims are the whole state of a session: nothing about it is stored
//! anywhere else (DESIGN.md, decision 2). They are serialised as a small,
//! versioned JSON object with short member names and sealed (see
//! [`crate::token`]). The session policy rides inside as raw JSON (not an
//! escaped string) with the insignificant whitespace removed, which keeps a
//! 2048-character policy from growing on its way into the token.
//!
//! Any change to what a member means, or a new member a reader must not
//! ignore, takes a new [`CLAIMS_VERSION`]; readers refuse versions they do
//! not know, so a node never half-understands a newer node's token.

use auth::Timestamp;
use policy::Entity;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The version written into every token's claims.
pub const CLAIMS_VERSION: u8 = 1;

/// Who started a chain of role sessions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A RAM user, with its id so that a user deleted and re-created under
    /// the same name does not bring old sessions back.
    User {
        account: String,
        user_id: String,
        name: String,
    },
    /// A platform service acting for an account (`sae.aliyuncs.com` for
    /// account A).
    Service { name: String, acting_for: String },
}

impl Origin {
    /// The account the originating principal belongs to or acts for.
    pub fn account(&self) -> &str {
        match self {
            Origin::User { account, .. } => account,
            Origin::Service { acting_for, .. } => acting_for,
        }
    }

    /// How the audit log names it: the user's ARN, or `A@service` (the
    /// form trust policies use for a service acting for A).
    pub fn arn(&self) -> String {
        match self {
            Origin::User { account, name, .. } => Entity::user(account, name).to_string(),
            Origin::Service { name, acting_for } => format!("{acting_for}@{name}"),
        }
    }
}

/// One earlier role session of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hop {
    pub account: String,
    pub role_name: String,
    pub session_name: String,
}

impl Hop {
    /// `acs:ram::ACCOUNT:role/ROLE` (role name lower-cased).
    pub fn role_arn(&self) -> String {
        Entity::role(&self.account, &self.role_name).to_string()
    }

    /// `acs:ram::ACCOUNT:role/ROLE/SESSION`.
    pub fn session_arn(&self) -> String {
        session_arn(&self.account, &self.role_name, &self.session_name)
    }
}

fn session_arn(account: &str, role: &str, session: &str) -> String {
    Entity::AssumedRole {
        account: account.to_string(),
        role: role.to_string(),
        session: session.to_string(),
    }
    .to_string()
}

/// A role session, as sealed in its SecurityToken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The account that owns the role (and so the session).
    pub account: String,
    pub role_id: String,
    /// As stored in RAM (its case kept; ARNs lower-case it).
    pub role_name: String,
    pub session_name: String,
    /// Who started the chain this session ends.
    pub origin: Origin,
    /// The role sessions between the origin and this one, oldest first;
    /// empty when the origin assumed this role directly.
    pub hops: Vec<Hop>,
    /// The AssumeRole `Policy`, compacted (insignificant whitespace
    /// removed); it can only narrow the role's rights.
    pub session_policy: Option<String>,
    /// Set once at the start of a chain and carried unchanged along it.
    pub source_identity: Option<String>,
    pub issued_at: Timestamp,
    /// The first second at which the session is no longer valid.
    pub expires_at: Timestamp,
    /// 22 random base62 characters: tells sessions apart in audit logs.
    pub session_id: String,
}

impl Claims {
    /// `acs:ram::ACCOUNT:role/ROLE` (role name lower-cased).
    pub fn role_arn(&self) -> String {
        Entity::role(&self.account, &self.role_name).to_string()
    }

    /// The AssumeRole response form `acs:ram::ACCOUNT:role/ROLE/SESSION`.
    pub fn session_arn(&self) -> String {
        session_arn(&self.account, &self.role_name, &self.session_name)
    }

    /// The GetCallerIdentity form `acs:ram::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub fn identity_arn(&self) -> String {
        format!(
            "acs:ram::{}:assumed-role/{}/{}",
            self.account,
            self.role_name.to_ascii_lowercase(),
            self.session_name
        )
    }

    /// `ROLEID:SESSION` (`AssumedRoleId`, and `PrincipalId` in
    /// GetCallerIdentity).
    pub fn assumed_role_id(&self) -> String {
        format!("{}:{}", self.role_id, self.session_name)
    }

    /// How many role sessions the chain holds, this one included: 1 when
    /// the origin assumed this role directly.
    pub fn chain_depth(&self) -> usize {
        self.hops.len().saturating_add(1)
    }

    /// This session as a hop of a session it goes on to open.
    pub fn as_hop(&self) -> Hop {
        Hop {
            account: self.account.clone(),
            role_name: self.role_name.clone(),
            session_name: self.session_name.clone(),
        }
    }

    /// The whole chain for audit: the origin, then every role session up
    /// to and including this one.
    pub fn chain_arns(&self) -> Vec<String> {
        let mut chain = Vec::with_capacity(self.hops.len().saturating_add(2));
        chain.push(self.origin.arn());
        chain.extend(self.hops.iter().map(Hop::session_arn));
        chain.push(self.session_arn());
        chain
    }

    /// Seconds the session was issued for.
    pub fn duration_seconds(&self) -> i64 {
        self.expires_at
            .unix_seconds()
            .saturating_sub(self.issued_at.unix_seconds())
    }

    /// The claims as the bytes a token seals, for other sealed formats that
    /// carry a session (the registry's login and bearer tokens). `None` only
    /// when a stored session policy is not JSON (never, for claims this
    /// crate made).
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        self.encode().ok()
    }

    /// Reads [`Claims::to_bytes`] back; `None` for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Option<Claims> {
        Claims::decode(bytes).ok()
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>, ClaimsError> {
        let policy = match &self.session_policy {
            Some(text) => Some(RawValue::from_string(text.clone()).map_err(|_| ClaimsError)?),
            None => None,
        };
        let wire = Wire {
            v: CLAIMS_VERSION,
            a: self.account.clone(),
            ri: self.role_id.clone(),
            rn: self.role_name.clone(),
            sn: self.session_name.clone(),
            o: match &self.origin {
                Origin::User {
                    account,
                    user_id,
                    name,
                } => WireOrigin::User {
                    a: account.clone(),
                    i: user_id.clone(),
                    n: name.clone(),
                },
                Origin::Service { name, acting_for } => WireOrigin::Service {
                    n: name.clone(),
                    a: acting_for.clone(),
                },
            },
            h: self
                .hops
                .iter()
                .map(|h| WireHop {
                    a: h.account.clone(),
                    rn: h.role_name.clone(),
                    sn: h.session_name.clone(),
                })
                .collect(),
            p: policy,
            si: self.source_identity.clone(),
            iat: self.issued_at.unix_seconds(),
            exp: self.expires_at.unix_seconds(),
            id: self.session_id.clone(),
        };
        serde_json::to_vec(&wire).map_err(|_| ClaimsError)
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Claims, ClaimsError> {
        // Another version either fails to read as this one or is refused
        // here: never read in part.
        let wire: Wire = serde_json::from_slice(bytes).map_err(|_| ClaimsError)?;
        if wire.v != CLAIMS_VERSION {
            return Err(ClaimsError);
        }
        Ok(Claims {
            account: wire.a,
            role_id: wire.ri,
            role_name: wire.rn,
            session_name: wire.sn,
            origin: match wire.o {
                WireOrigin::User { a, i, n } => Origin::User {
                    account: a,
                    user_id: i,
                    name: n,
                },
                WireOrigin::Service { n, a } => Origin::Service {
                    name: n,
                    acting_for: a,
                },
            },
            hops: wire
                .h
                .into_iter()
                .map(|h| Hop {
                    account: h.a,
                    role_name: h.rn,
                    session_name: h.sn,
                })
                .collect(),
            session_policy: wire.p.map(|p| p.get().to_string()),
            source_identity: wire.si,
            issued_at: Timestamp::from_unix_seconds(wire.iat),
            expires_at: Timestamp::from_unix_seconds(wire.exp),
            session_id: wire.id,
        })
    }
}

/// The claims could not be written or read (never says more: a token that
/// does not read is simply malformed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClaimsError;

/// The serialised form. Short names keep the token small; the meaning of
/// each is on [`Claims`].
#[derive(Serialize, Deserialize)]
struct Wire {
    v: u8,
    a: String,
    ri: String,
    rn: String,
    sn: String,
    o: WireOrigin,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    h: Vec<WireHop>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    si: Option<String>,
    iat: i64,
    exp: i64,
    id: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "k")]
enum WireOrigin {
    #[serde(rename = "u")]
    User { a: String, i: String, n: String },
    #[serde(rename = "s")]
    Service { n: String, a: String },
}

#[derive(Serialize, Deserialize)]
struct WireHop {
    a: String,
    rn: String,
    sn: String,
}

/// Removes the whitespace JSON ignores (outside strings). The document
/// means exactly what it meant: string contents, numbers as written and
/// member order are untouched.
pub(crate) fn compact_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Claims {
        Claims {
            account: "2222222222222222".into(),
            role_id: "3000000000000000001".into(),
            role_name: "Role-ACR".into(),
            session_name: "deploy@build.1".into(),
            origin: Origin::Service {
                name: "sae.aliyuncs.com".into(),
                acting_for: "1111111111111111".into(),
            },
            hops: vec![Hop {
                account: "1111111111111111".into(),
                role_name: "role-assume".into(),
                session_name: "first".into(),
            }],
            session_policy: Some(r#"{"Version":"1","Statement":[]}"#.into()),
            source_identity: Some("alice".into()),
            issued_at: Timestamp::from_unix_seconds(1_700_000_000),
            expires_at: Timestamp::from_unix_seconds(1_700_003_600),
            session_id: "0123456789abcdefABCDEF".into(),
        }
    }

    #[test]
    fn round_trip() {
        let claims = sample();
        let bytes = claims.encode().unwrap();
        assert_eq!(Claims::decode(&bytes).unwrap(), claims);
        let mut plain = sample();
        plain.hops.clear();
        plain.session_policy = None;
        plain.source_identity = None;
        plain.origin = Origin::User {
            account: "1".into(),
            user_id: "2".into(),
            name: "alice".into(),
        };
        let bytes = plain.encode().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(!text.contains("\"h\"") && !text.contains("\"p\""), "{text}");
        assert_eq!(Claims::decode(&bytes).unwrap(), plain);
    }

    #[test]
    fn the_policy_is_raw_json_not_an_escaped_string() {
        let text = String::from_utf8(sample().encode().unwrap()).unwrap();
        assert!(
            text.contains(r#""p":{"Version":"1","Statement":[]}"#),
            "{text}"
        );
    }

    #[test]
    fn unknown_versions_and_garbage_are_refused() {
        let text = String::from_utf8(sample().encode().unwrap()).unwrap();
        let newer = text.replacen("\"v\":1", "\"v\":2", 1);
        assert_eq!(Claims::decode(newer.as_bytes()), Err(ClaimsError));
        assert_eq!(Claims::decode(b"{}"), Err(ClaimsError));
        assert_eq!(Claims::decode(b"not json"), Err(ClaimsError));
        assert_eq!(
            Claims::decode(br#"{"v":1,"a":"1"}"#),
            Err(ClaimsError),
            "members missing"
        );
    }

    #[test]
    fn names_and_arns() {
        let c = sample();
        assert_eq!(c.role_arn(), "acs:ram::2222222222222222:role/role-acr");
        assert_eq!(
            c.session_arn(),
            "acs:ram::2222222222222222:role/role-acr/deploy@build.1"
        );
        assert_eq!(
            c.identity_arn(),
            "acs:ram::2222222222222222:assumed-role/role-acr/deploy@build.1"
        );
        assert_eq!(c.assumed_role_id(), "3000000000000000001:deploy@build.1");
        assert_eq!(c.chain_depth(), 2);
        assert_eq!(
            c.chain_arns(),
            vec![
                "1111111111111111@sae.aliyuncs.com".to_string(),
                "acs:ram::1111111111111111:role/role-assume/first".to_string(),
                "acs:ram::2222222222222222:role/role-acr/deploy@build.1".to_string(),
            ]
        );
        assert_eq!(c.duration_seconds(), 3600);
        assert_eq!(c.origin.account(), "1111111111111111");
        assert_eq!(
            c.hops[0].role_arn(),
            "acs:ram::1111111111111111:role/role-assume"
        );
    }

    #[test]
    fn compaction_keeps_strings_intact() {
        let text = "{\n  \"Version\" : \"1\",\n\t\"Statement\": [ {\"Sid\": \"a b \\\" c\\\\\", \"X\": 1.50 } ]\r\n}";
        assert_eq!(
            compact_json(text),
            "{\"Version\":\"1\",\"Statement\":[{\"Sid\":\"a b \\\" c\\\\\",\"X\":1.50}]}"
        );
        assert_eq!(compact_json("{\"k\":\"  \"}"), "{\"k\":\"  \"}");
    }
}
