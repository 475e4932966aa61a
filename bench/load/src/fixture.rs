//! The fixture, set up through the RAM API with the root key: the RAM user
//! `loader` with its own AccessKey, allowed to call AssumeRole
//! (`AliyunSTSAssumeRoleAccess`) and to read RAM (`AliyunRAMReadOnlyAccess`,
//! for the `ram-read` stand-in), and the role `load-target` trusted by the
//! account (`acs:ram::ACCOUNT:root`).
//!
//! Re-running against the same server is fine: what already exists is
//! reused, and the AccessKey made for the run is deleted at the end.

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::http::Connection;
use crate::sign::{signed_query, Key, NonceSource};

/// The RAM user whose key signs the load.
pub const USER: &str = "loader";
/// The role every AssumeRole names.
pub const ROLE: &str = "load-target";
const RAM_VERSION: &str = "2015-05-01";

/// `DATA_DIR/first-account.json`, as `rampart serve` writes it.
#[derive(Deserialize)]
struct FirstAccount {
    #[serde(rename = "AccountId")]
    account_id: String,
    #[serde(rename = "AccessKeyId")]
    access_key_id: String,
    #[serde(rename = "AccessKeySecret")]
    access_key_secret: String,
}

/// The root key and the account it belongs to.
pub struct Root {
    pub account_id: String,
    pub key: Key,
}

impl Root {
    pub fn read(path: &Path) -> Result<Root, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let first: FirstAccount = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a first-account file: {e}", path.display()))?;
        Ok(Root {
            account_id: first.account_id,
            key: Key {
                access_key_id: first.access_key_id,
                secret: first.access_key_secret.into(),
            },
        })
    }
}

/// What the load needs from the fixture.
pub struct Fixture {
    /// `loader`'s AccessKey, made for this run.
    pub key: Key,
    /// `acs:ram::ACCOUNT:role/load-target`.
    pub role_arn: String,
}

/// An answer that was not a success.
struct Refused {
    status: u16,
    code: String,
    message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.code, self.message)
    }
}

/// Makes RAM calls as the root.
struct Admin<'a> {
    connection: Connection,
    root: &'a Root,
    nonces: &'a NonceSource,
}

impl Admin<'_> {
    /// One signed RAM call. `Err(Ok(refused))` is an API error,
    /// `Err(Err(text))` a transport or format failure.
    async fn call(
        &mut self,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<Value, Result<Refused, String>> {
        let mut business = vec![("Action", action), ("Version", RAM_VERSION)];
        business.extend_from_slice(params);
        let query = signed_query(&self.root.key, &self.nonces.next(), &business);
        let (status, body) = self
            .connection
            .get(&format!("/?{query}"))
            .await
            .map_err(|e| Err(format!("{action}: {e}")))?;
        let value: Value = serde_json::from_slice(&body).map_err(|e| {
            Err(format!(
                "{action}: HTTP {status}, body is not JSON ({e}): {}",
                String::from_utf8_lossy(&body)
            ))
        })?;
        if status.is_success() {
            return Ok(value);
        }
        let text = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        Err(Ok(Refused {
            status: status.as_u16(),
            code: text("Code"),
            message: text("Message"),
        }))
    }

    /// A call whose `EntityAlreadyExists.*` answer is as good as success.
    async fn ensure(&mut self, action: &str, params: &[(&str, &str)]) -> Result<(), String> {
        match self.call(action, params).await {
            Ok(_) => Ok(()),
            Err(Ok(refused)) if refused.code.starts_with("EntityAlreadyExists") => Ok(()),
            Err(Ok(refused)) => Err(format!("{action}: {refused}")),
            Err(Err(text)) => Err(text),
        }
    }

    /// A call that must succeed.
    async fn must(&mut self, action: &str, params: &[(&str, &str)]) -> Result<Value, String> {
        match self.call(action, params).await {
            Ok(value) => Ok(value),
            Err(Ok(refused)) => Err(format!("{action}: {refused}")),
            Err(Err(text)) => Err(text),
        }
    }
}

fn string_at(value: &Value, path: &[&str]) -> Option<String> {
    path.iter()
        .try_fold(value, |v, name| v.get(name))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Creates (or finds) the user, its policies and the role, and makes the
/// user a fresh AccessKey.
pub async fn set_up(
    addr: SocketAddr,
    root: &Root,
    nonces: &NonceSource,
) -> Result<Fixture, String> {
    let mut admin = Admin {
        connection: Connection::open(addr).await?,
        root,
        nonces,
    };
    admin.ensure("CreateUser", &[("UserName", USER)]).await?;
    for policy in ["AliyunSTSAssumeRoleAccess", "AliyunRAMReadOnlyAccess"] {
        admin
            .ensure(
                "AttachPolicyToUser",
                &[
                    ("PolicyType", "System"),
                    ("PolicyName", policy),
                    ("UserName", USER),
                ],
            )
            .await?;
    }
    let trust = serde_json::json!({
        "Version": "1",
        "Statement": [{
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": { "RAM": [format!("acs:ram::{}:root", root.account_id)] },
        }],
    })
    .to_string();
    admin
        .ensure(
            "CreateRole",
            &[("RoleName", ROLE), ("AssumeRolePolicyDocument", &trust)],
        )
        .await?;
    let role = admin.must("GetRole", &[("RoleName", ROLE)]).await?;
    let role_arn = string_at(&role, &["Role", "Arn"])
        .ok_or_else(|| format!("GetRole: no Role.Arn in {role}"))?;
    let created = admin.must("CreateAccessKey", &[("UserName", USER)]).await?;
    let key = match (
        string_at(&created, &["AccessKey", "AccessKeyId"]),
        string_at(&created, &["AccessKey", "AccessKeySecret"]),
    ) {
        (Some(id), Some(secret)) => Key {
            access_key_id: id,
            secret: secret.into(),
        },
        _ => return Err("CreateAccessKey: no AccessKey.{AccessKeyId,AccessKeySecret}".into()),
    };
    Ok(Fixture { key, role_arn })
}

/// Deletes the AccessKey made for the run (the user, policies and role
/// stay: they are reused by the next run).
pub async fn tear_down(
    addr: SocketAddr,
    root: &Root,
    nonces: &NonceSource,
    fixture: &Fixture,
) -> Result<(), String> {
    let mut admin = Admin {
        connection: Connection::open(addr).await?,
        root,
        nonces,
    };
    admin
        .must(
            "DeleteAccessKey",
            &[
                ("UserName", USER),
                ("UserAccessKeyId", &fixture.key.access_key_id),
            ],
        )
        .await
        .map(|_| ())
}
