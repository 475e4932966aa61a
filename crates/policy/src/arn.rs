//! Alibaba Cloud Resource Names: `acs:SERVICE:REGION:ACCOUNT:RESOURCE`.
//!
//! Two kinds of text use this shape. Entity ARNs name one thing (a user, a
//! role session, a repository) and are what requests carry; they are parsed
//! into [`Entity`] so callers never pick ARNs apart with string slicing.
//! Resource patterns in policies may hold `*` and `?` anywhere and are only
//! checked for shape here ([`check_pattern`]); matching is `pattern.rs`.
//!
//! Alibaba writes role names lower-cased inside ARNs, so every role ARN this
//! module formats is lower-cased in its role-name part, and [`canonical`]
//! does the same to a role ARN written by hand.

use std::fmt;

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ArnError {
    #[error("an ARN must start with \"acs:\", got \"{0}\"")]
    NotAcs(String),
    #[error("an ARN has five parts acs:SERVICE:REGION:ACCOUNT:RESOURCE, \"{0}\" has {1}")]
    TooFewParts(String, usize),
    #[error("the service part of \"{0}\" is empty")]
    EmptyService(String),
    #[error("the service \"{service}\" in \"{arn}\" may contain only a-z, 0-9 and '-'")]
    BadService { arn: String, service: String },
    #[error(
        "the account \"{account}\" in \"{arn}\" must be digits, a wildcard pattern, or \"system\""
    )]
    BadAccount { arn: String, account: String },
    #[error("the resource part of \"{0}\" is empty")]
    EmptyResource(String),
    #[error("\"{arn}\" is not a {expected} ARN")]
    WrongKind { arn: String, expected: &'static str },
    #[error("the {what} in \"{arn}\" is empty")]
    EmptySegment { arn: String, what: &'static str },
}

/// A parsed ARN. Parts are kept as written (after role canonicalisation).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "acs:{}:{}:{}:{}",
            self.service, self.region, self.account, self.resource
        )
    }
}

/// Splits `acs:s:r:a:rest` without judging the parts; `rest` keeps any
/// further colons.
fn split(text: &str) -> Result<[&str; 4], ArnError> {
    let Some(body) = text.strip_prefix("acs:") else {
        return Err(ArnError::NotAcs(text.to_string()));
    };
    let mut parts = body.splitn(4, ':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(s), Some(r), Some(a), Some(rest)) => Ok([s, r, a, rest]),
        _ => Err(ArnError::TooFewParts(
            text.to_string(),
            1 + body.split(':').count(),
        )),
    }
}

fn service_ok(service: &str) -> bool {
    service
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'*' | b'?'))
}

/// Digits (or a wildcard pattern of them), or `system`, the owner Alibaba
/// writes in the ARNs of system policies (`acs:ram::system:policy/NAME`).
fn account_ok(account: &str) -> bool {
    account == SYSTEM_ACCOUNT
        || account
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'*' | b'?'))
}

/// The pseudo-account that owns system policies.
pub const SYSTEM_ACCOUNT: &str = "system";

impl Arn {
    /// Parses an ARN as written in a request or a policy. Wildcards are
    /// accepted in every part; use [`Entity::parse`] for a concrete entity.
    pub fn parse(text: &str) -> Result<Arn, ArnError> {
        let [service, region, account, resource] = split(text)?;
        if service.is_empty() {
            return Err(ArnError::EmptyService(text.to_string()));
        }
        if !service_ok(service) {
            return Err(ArnError::BadService {
                arn: text.to_string(),
                service: service.to_string(),
            });
        }
        if !account_ok(account) {
            return Err(ArnError::BadAccount {
                arn: text.to_string(),
                account: account.to_string(),
            });
        }
        if resource.is_empty() {
            return Err(ArnError::EmptyResource(text.to_string()));
        }
        let mut arn = Arn {
            service: service.to_string(),
            region: region.to_string(),
            account: account.to_string(),
            resource: resource.to_string(),
        };
        canonicalise_role(&mut arn);
        Ok(arn)
    }
}

fn canonicalise_role(arn: &mut Arn) {
    if arn.service == "ram" {
        if let Some(rest) = arn.resource.strip_prefix("role/") {
            // Only the role name folds; a session name after it keeps its case.
            arn.resource = match rest.split_once('/') {
                Some((name, session)) => format!("role/{}/{session}", name.to_ascii_lowercase()),
                None => format!("role/{}", rest.to_ascii_lowercase()),
            };
        } else if let Some(rest) = arn.resource.strip_prefix("assumed-role/") {
            arn.resource = match rest.split_once('/') {
                Some((name, session)) => {
                    format!("assumed-role/{}/{session}", name.to_ascii_lowercase())
                }
                None => format!("assumed-role/{}", rest.to_ascii_lowercase()),
            };
        }
    }
}

/// The canonical text of an ARN (role names lower-cased), or the text
/// unchanged when it is not an ARN at all (e.g. `*`).
pub fn canonical(text: &str) -> String {
    Arn::parse(text).map_or_else(|_| text.to_string(), |a| a.to_string())
}

/// Checks that a policy `Resource` value has the shape of an ARN pattern:
/// `*` alone, or `acs:` and five parts with a non-empty service and resource.
pub fn check_pattern(text: &str) -> Result<(), ArnError> {
    if text == "*" {
        return Ok(());
    }
    Arn::parse(text).map(|_| ())
}

/// The concrete things rampart names with ARNs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Entity {
    /// An account's root identity: `acs:ram::ACCOUNT:root`.
    Root {
        account: String,
    },
    User {
        account: String,
        name: String,
    },
    Group {
        account: String,
        name: String,
    },
    Role {
        account: String,
        name: String,
    },
    /// A session of an assumed role. Alibaba writes it two ways:
    /// `role/ROLE/SESSION` (AssumeRole) and `assumed-role/ROLE/SESSION`
    /// (GetCallerIdentity); both parse to this.
    AssumedRole {
        account: String,
        role: String,
        session: String,
    },
    Policy {
        account: String,
        name: String,
    },
    CrInstance {
        region: String,
        account: String,
        instance: String,
    },
    CrRepository {
        region: String,
        account: String,
        instance: String,
        namespace: String,
        repository: String,
    },
    OssBucket {
        bucket: String,
    },
    OssObject {
        bucket: String,
        key: String,
    },
    /// A Function Compute service (`acs:fc:REGION:ACCOUNT:services/NAME`).
    FcService {
        region: String,
        account: String,
        service: String,
    },
}

fn non_empty<'a>(arn: &str, value: &'a str, what: &'static str) -> Result<&'a str, ArnError> {
    if value.is_empty() {
        Err(ArnError::EmptySegment {
            arn: arn.to_string(),
            what,
        })
    } else {
        Ok(value)
    }
}

impl Entity {
    pub fn parse(text: &str) -> Result<Entity, ArnError> {
        let arn = Arn::parse(text)?;
        let wrong = |expected| ArnError::WrongKind {
            arn: text.to_string(),
            expected,
        };
        let account = arn.account.clone();
        let own = |s: &str| s.to_string();
        match arn.service.as_str() {
            "ram" => {
                let (kind, rest) = arn.resource.split_once('/').unwrap_or((&arn.resource, ""));
                match kind {
                    "root" if rest.is_empty() => Ok(Entity::Root { account }),
                    "user" => Ok(Entity::User {
                        account,
                        name: own(non_empty(text, rest, "user name")?),
                    }),
                    "group" => Ok(Entity::Group {
                        account,
                        name: own(non_empty(text, rest, "group name")?),
                    }),
                    "policy" => Ok(Entity::Policy {
                        account,
                        name: own(non_empty(text, rest, "policy name")?),
                    }),
                    "role" | "assumed-role" => match rest.split_once('/') {
                        Some((role, session)) => Ok(Entity::AssumedRole {
                            account,
                            role: own(non_empty(text, role, "role name")?),
                            session: own(non_empty(text, session, "session name")?),
                        }),
                        None if kind == "role" => Ok(Entity::Role {
                            account,
                            name: own(non_empty(text, rest, "role name")?),
                        }),
                        None => Err(wrong("assumed-role session")),
                    },
                    _ => Err(wrong("RAM root, user, group, role or policy")),
                }
            }
            "cr" => {
                let region = arn.region.clone();
                if let Some(instance) = arn.resource.strip_prefix("instance/") {
                    return Ok(Entity::CrInstance {
                        region,
                        account,
                        instance: own(non_empty(text, instance, "instance id")?),
                    });
                }
                let Some(path) = arn.resource.strip_prefix("repository/") else {
                    return Err(wrong("Container Registry instance or repository"));
                };
                let mut parts = path.splitn(3, '/');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(instance), Some(namespace), Some(repository)) => {
                        Ok(Entity::CrRepository {
                            region,
                            account,
                            instance: own(non_empty(text, instance, "instance id")?),
                            namespace: own(non_empty(text, namespace, "namespace")?),
                            repository: own(non_empty(text, repository, "repository")?),
                        })
                    }
                    _ => Err(wrong(
                        "Container Registry repository (INSTANCE/NAMESPACE/REPO)",
                    )),
                }
            }
            "oss" => match arn.resource.split_once('/') {
                Some((bucket, key)) => Ok(Entity::OssObject {
                    bucket: own(non_empty(text, bucket, "bucket")?),
                    key: own(non_empty(text, key, "object key")?),
                }),
                None => Ok(Entity::OssBucket {
                    bucket: arn.resource.clone(),
                }),
            },
            "fc" => match arn.resource.strip_prefix("services/") {
                Some(service) => Ok(Entity::FcService {
                    region: arn.region.clone(),
                    account,
                    service: own(non_empty(text, service, "service name")?),
                }),
                None => Err(wrong("Function Compute service")),
            },
            _ => Err(wrong("known entity")),
        }
    }

    /// The account that owns the entity; OSS ARNs carry none.
    pub fn account(&self) -> Option<&str> {
        match self {
            Entity::Root { account }
            | Entity::User { account, .. }
            | Entity::Group { account, .. }
            | Entity::Role { account, .. }
            | Entity::AssumedRole { account, .. }
            | Entity::Policy { account, .. }
            | Entity::CrInstance { account, .. }
            | Entity::CrRepository { account, .. }
            | Entity::FcService { account, .. } => Some(account),
            Entity::OssBucket { .. } | Entity::OssObject { .. } => None,
        }
    }

    pub fn root(account: &str) -> Entity {
        Entity::Root {
            account: account.to_string(),
        }
    }

    pub fn user(account: &str, name: &str) -> Entity {
        Entity::User {
            account: account.to_string(),
            name: name.to_string(),
        }
    }

    pub fn role(account: &str, name: &str) -> Entity {
        Entity::Role {
            account: account.to_string(),
            name: name.to_string(),
        }
    }

    /// The resources that contain this one and that a policy may name
    /// instead of it: a repository's instance. Requests pass them after the
    /// resource itself (see `Request::resources`), which is how seed 001's
    /// `cr:Pull*` on `instance/cri-x` allows pulls from that instance's
    /// repositories.
    pub fn enclosing(&self) -> Vec<Entity> {
        match self {
            Entity::CrRepository {
                region,
                account,
                instance,
                ..
            } => vec![Entity::CrInstance {
                region: region.clone(),
                account: account.clone(),
                instance: instance.clone(),
            }],
            _ => Vec::new(),
        }
    }

    /// The GetCallerIdentity form, `assumed-role/ROLE/SESSION`.
    pub fn assumed_role_identity_arn(&self) -> Option<String> {
        match self {
            Entity::AssumedRole {
                account,
                role,
                session,
            } => Some(format!(
                "acs:ram::{account}:assumed-role/{}/{session}",
                role.to_ascii_lowercase()
            )),
            _ => None,
        }
    }
}

impl fmt::Display for Entity {
    /// The canonical ARN. Assumed-role sessions print in the AssumeRole
    /// response form `role/ROLE/SESSION`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entity::Root { account } => write!(f, "acs:ram::{account}:root"),
            Entity::User { account, name } => write!(f, "acs:ram::{account}:user/{name}"),
            Entity::Group { account, name } => write!(f, "acs:ram::{account}:group/{name}"),
            Entity::Role { account, name } => {
                write!(f, "acs:ram::{account}:role/{}", name.to_ascii_lowercase())
            }
            Entity::AssumedRole {
                account,
                role,
                session,
            } => write!(
                f,
                "acs:ram::{account}:role/{}/{session}",
                role.to_ascii_lowercase()
            ),
            Entity::Policy { account, name } => write!(f, "acs:ram::{account}:policy/{name}"),
            Entity::CrInstance {
                region,
                account,
                instance,
            } => write!(f, "acs:cr:{region}:{account}:instance/{instance}"),
            Entity::CrRepository {
                region,
                account,
                instance,
                namespace,
                repository,
            } => write!(
                f,
                "acs:cr:{region}:{account}:repository/{instance}/{namespace}/{repository}"
            ),
            Entity::OssBucket { bucket } => write!(f, "acs:oss:*:*:{bucket}"),
            Entity::OssObject { bucket, key } => write!(f, "acs:oss:*:*:{bucket}/{key}"),
            Entity::FcService {
                region,
                account,
                service,
            } => write!(f, "acs:fc:{region}:{account}:services/{service}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_kind() {
        for text in [
            "acs:ram::1111111111111111:root",
            "acs:ram::1111111111111111:user/alice",
            "acs:ram::1111111111111111:group/dev",
            "acs:ram::1111111111111111:role/sae-pull",
            "acs:ram::1111111111111111:role/sae-pull/deploy-1",
            "acs:ram::1111111111111111:policy/ReadAll",
            "acs:cr:cn-hangzhou:1111111111111111:instance/cri-abc",
            "acs:cr:cn-hangzhou:1111111111111111:repository/cri-abc/team/app",
            "acs:oss:*:*:my-bucket",
            "acs:oss:*:*:my-bucket/a/b.txt",
            "acs:fc:cn-hangzhou:1111111111111111:services/demo",
        ] {
            let entity = Entity::parse(text).unwrap();
            assert_eq!(entity.to_string(), text);
        }
    }

    #[test]
    fn role_names_fold_but_sessions_do_not() {
        let e = Entity::parse("acs:ram::1:role/MyRole/Session-A").unwrap();
        assert_eq!(e.to_string(), "acs:ram::1:role/myrole/Session-A");
        assert_eq!(
            canonical("acs:ram:*:1:role/AliyunFCDefaultRole"),
            "acs:ram:*:1:role/aliyunfcdefaultrole"
        );
        let same = Entity::parse("acs:ram::1:assumed-role/MyRole/s").unwrap();
        assert_eq!(same, e.clone().with_session("s"));
        assert_eq!(
            same.assumed_role_identity_arn().unwrap(),
            "acs:ram::1:assumed-role/myrole/s"
        );
    }

    #[test]
    fn repositories_are_enclosed_by_their_instance() {
        let repo = Entity::parse("acs:cr:cn-hangzhou:1:repository/cri-x/team/app").unwrap();
        let enclosing: Vec<String> = repo.enclosing().iter().map(ToString::to_string).collect();
        assert_eq!(enclosing, ["acs:cr:cn-hangzhou:1:instance/cri-x"]);
        assert!(Entity::root("1").enclosing().is_empty());
    }

    #[test]
    fn clear_errors() {
        assert!(matches!(
            Arn::parse("arn:aws:iam::1:root"),
            Err(ArnError::NotAcs(_))
        ));
        assert!(matches!(
            Arn::parse("acs:ram::1"),
            Err(ArnError::TooFewParts(_, 4))
        ));
        assert!(matches!(
            Arn::parse("acs::r:1:x"),
            Err(ArnError::EmptyService(_))
        ));
        assert!(matches!(
            Arn::parse("acs:RAM::1:x"),
            Err(ArnError::BadService { .. })
        ));
        assert!(matches!(
            Arn::parse("acs:ram::12ab:x"),
            Err(ArnError::BadAccount { .. })
        ));
        assert!(matches!(
            Arn::parse("acs:ram::1:"),
            Err(ArnError::EmptyResource(_))
        ));
        assert!(matches!(
            Entity::parse("acs:ram::1:user/"),
            Err(ArnError::EmptySegment { .. })
        ));
        assert!(matches!(
            Entity::parse("acs:cr:r:1:repository/cri/ns"),
            Err(ArnError::WrongKind { .. })
        ));
        assert!(Arn::parse("acs:cr:*:16099825******:instance/cri-*").is_ok());
        let system = Entity::parse("acs:ram:*:system:policy/AdministratorAccess").unwrap();
        assert_eq!(system.account(), Some(SYSTEM_ACCOUNT));
        assert!(Arn::parse("acs:ram::System:policy/x").is_err());
        let message = Arn::parse("acs:ram::1").unwrap_err().to_string();
        assert!(message.contains("five parts"), "{message}");
    }

    impl Entity {
        fn with_session(self, s: &str) -> Entity {
            match self {
                Entity::AssumedRole { account, role, .. } => Entity::AssumedRole {
                    account,
                    role,
                    session: s.to_string(),
                },
                other => other,
            }
        }
    }
}
