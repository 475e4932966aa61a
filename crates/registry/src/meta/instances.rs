//! Instances, their host names and their endpoints' switches and ACLs.

use sqlx::Row as _;

use super::control::{ControlError, Domain, Instance, Thing};
use super::{now_seconds, Db};

/// What `rampart registry instance create` asks for.
#[derive(Debug, Clone)]
pub struct NewInstance<'a> {
    pub account_id: &'a str,
    pub name: &'a str,
    pub region: &'a str,
    /// The suffix of default host names: `NAME-registry.REGION.SUFFIX`.
    pub domain_suffix: &'a str,
    /// Extra host names (custom domains).
    pub custom_domains: &'a [String],
}

/// The endpoint types ACR knows.
pub const ENDPOINT_TYPES: [&str; 2] = ["internet", "vpc"];

/// An endpoint's switches and ACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub endpoint_type: String,
    pub enabled: bool,
    pub acl_enabled: bool,
    /// `(entry, comment)`, CIDR entries in the order added.
    pub entries: Vec<(String, String)>,
}

fn random_suffix(len: usize) -> Result<String, ControlError> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes)
        .map_err(|_| ControlError::invalid("InstanceId", "the random generator failed"))?;
    Ok(bytes
        .iter()
        .map(|b| {
            char::from(
                ALPHABET
                    .get(usize::from(*b) % ALPHABET.len())
                    .copied()
                    .unwrap_or(b'a'),
            )
        })
        .collect())
}

/// A fresh random id with `prefix` (`cri-`, `crr-`, `crn-`).
pub(crate) fn new_id(prefix: &str) -> Result<String, ControlError> {
    Ok(format!("{prefix}{}", random_suffix(16)?))
}

fn check_instance_name(name: &str) -> Result<(), ControlError> {
    let ok = (3..=30).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ControlError::invalid(
            "InstanceName",
            "must be 3-30 characters of lower-case letters, digits and '-', not starting or ending with '-'",
        ))
    }
}

fn check_region(region: &str) -> Result<(), ControlError> {
    let ok = (2..=32).contains(&region.len())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ControlError::invalid(
            "RegionId",
            "must be 2-32 characters of lower-case letters, digits and '-' (such as cn-hangzhou)",
        ))
    }
}

/// Normalises a host name: lower case, no port, no trailing dot; refuses
/// anything that is not a plain DNS name or IP literal.
pub fn normalize_host(host: &str) -> Option<String> {
    let host = host.trim().trim_end_matches('.');
    // Strip a port (not inside an IPv6 literal).
    let host = if let Some(rest) = host.strip_prefix('[') {
        let (inside, _) = rest.split_once(']')?;
        inside
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(h, _)| h)
    };
    let host = host.to_ascii_lowercase();
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':'));
    ok.then_some(host)
}

/// Creates an instance with its default (`NAME-registry.REGION.SUFFIX`),
/// VPC (`NAME-registry-vpc.REGION.SUFFIX`) and custom host names.
pub async fn create_instance(
    db: &Db,
    new: &NewInstance<'_>,
) -> Result<(Instance, Vec<Domain>), ControlError> {
    check_instance_name(new.name)?;
    check_region(new.region)?;
    let suffix = normalize_host(new.domain_suffix)
        .ok_or_else(|| ControlError::invalid("DomainSuffix", "not a host name"))?;
    let mut domains = vec![
        Domain {
            domain: format!("{}-registry.{}.{suffix}", new.name, new.region),
            kind: "default".into(),
        },
        Domain {
            domain: format!("{}-registry-vpc.{}.{suffix}", new.name, new.region),
            kind: "vpc".into(),
        },
    ];
    for custom in new.custom_domains {
        let domain = normalize_host(custom).ok_or_else(|| {
            ControlError::invalid("Domain", format!("{custom:?} is not a host name"))
        })?;
        if !domains.iter().any(|d| d.domain == domain) {
            domains.push(Domain {
                domain,
                kind: "custom".into(),
            });
        }
    }
    let now = now_seconds();
    let instance = Instance {
        instance_id: new_id("cri-")?,
        account_id: new.account_id.to_owned(),
        name: new.name.to_owned(),
        region: new.region.to_owned(),
        created_at: now,
        updated_at: now,
    };
    let mut tx = db.begin_write().await?;
    let account = sqlx::query("SELECT account_id FROM accounts WHERE account_id = $1")
        .bind(new.account_id)
        .fetch_optional(&mut *tx)
        .await?;
    if account.is_none() {
        return Err(ControlError::invalid(
            "AccountId",
            format!("no account {:?}", new.account_id),
        ));
    }
    let taken = sqlx::query("SELECT instance_id FROM cr_instances WHERE region = $1 AND name = $2")
        .bind(new.region)
        .bind(new.name)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Err(ControlError::exists(Thing::Instance, new.name));
    }
    sqlx::query(
        "INSERT INTO cr_instances (instance_id, account_id, name, region, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&instance.instance_id)
    .bind(&instance.account_id)
    .bind(&instance.name)
    .bind(&instance.region)
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for domain in &domains {
        let taken = sqlx::query("SELECT instance_id FROM cr_domains WHERE domain = $1")
            .bind(&domain.domain)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(ControlError::exists(Thing::Domain, domain.domain.clone()));
        }
        sqlx::query(
            "INSERT INTO cr_domains (domain, instance_id, kind, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&domain.domain)
        .bind(&instance.instance_id)
        .bind(&domain.kind)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok((instance, domains))
}

const INSTANCE_COLUMNS: &str = "instance_id, account_id, name, region, created_at, updated_at";

/// An instance by id.
pub async fn get_instance(db: &Db, instance_id: &str) -> Result<Option<Instance>, ControlError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {INSTANCE_COLUMNS} FROM cr_instances WHERE instance_id = $1"
    )))
    .bind(instance_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.as_ref().map(Instance::from_row).transpose()?)
}

/// An account's instance by id: someone else's is "not found".
pub async fn account_instance(
    db: &Db,
    account_id: &str,
    instance_id: &str,
) -> Result<Instance, ControlError> {
    match get_instance(db, instance_id).await? {
        Some(instance) if instance.account_id == account_id => Ok(instance),
        _ => Err(ControlError::not_found(Thing::Instance, instance_id)),
    }
}

/// An account's instances, oldest first.
pub async fn list_instances(db: &Db, account_id: &str) -> Result<Vec<Instance>, ControlError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {INSTANCE_COLUMNS} FROM cr_instances WHERE account_id = $1 ORDER BY created_at, instance_id"
    )))
    .bind(account_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(Instance::from_row)
        .collect::<Result<_, _>>()?)
}

/// The instance that answers to `host` (any form a `Host` header takes).
pub async fn instance_for_host(db: &Db, host: &str) -> Result<Option<Instance>, ControlError> {
    let Some(host) = normalize_host(host) else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT i.instance_id, i.account_id, i.name, i.region, i.created_at, i.updated_at
         FROM cr_domains d JOIN cr_instances i ON i.instance_id = d.instance_id
         WHERE d.domain = $1",
    )
    .bind(&host)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.as_ref().map(Instance::from_row).transpose()?)
}

/// The oldest instance of the whole registry (the default for hosts no
/// instance names, when none is configured).
pub async fn oldest_instance(db: &Db) -> Result<Option<Instance>, ControlError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {INSTANCE_COLUMNS} FROM cr_instances ORDER BY created_at, instance_id LIMIT 1"
    )))
    .fetch_optional(db.pool())
    .await?;
    Ok(row.as_ref().map(Instance::from_row).transpose()?)
}

/// An instance's host names.
pub async fn domains(db: &Db, instance_id: &str) -> Result<Vec<Domain>, ControlError> {
    let rows = sqlx::query(
        "SELECT domain, kind FROM cr_domains WHERE instance_id = $1 ORDER BY created_at, domain",
    )
    .bind(instance_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Domain {
                domain: row.try_get("domain")?,
                kind: row.try_get("kind")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ControlError::from)
}

/// Checks an `EndpointType` value.
pub fn endpoint_type(value: &str) -> Result<&'static str, ControlError> {
    ENDPOINT_TYPES
        .iter()
        .copied()
        .find(|t| t.eq_ignore_ascii_case(value))
        .ok_or_else(|| ControlError::invalid("EndpointType", "must be internet or vpc"))
}

/// An endpoint's state (no row yet: enabled, ACL off, no entries).
pub async fn endpoint(
    db: &Db,
    instance_id: &str,
    endpoint_type: &str,
) -> Result<Endpoint, ControlError> {
    let row = sqlx::query(
        "SELECT enabled, acl_enabled FROM cr_endpoints WHERE instance_id = $1 AND endpoint_type = $2",
    )
    .bind(instance_id)
    .bind(endpoint_type)
    .fetch_optional(db.pool())
    .await?;
    let (enabled, acl_enabled) = match row {
        Some(row) => (
            super::flag(&row, "enabled")?,
            super::flag(&row, "acl_enabled")?,
        ),
        None => (true, false),
    };
    let rows = sqlx::query(
        "SELECT entry, comment FROM cr_endpoint_acl WHERE instance_id = $1 AND endpoint_type = $2
         ORDER BY created_at, entry",
    )
    .bind(instance_id)
    .bind(endpoint_type)
    .fetch_all(db.pool())
    .await?;
    let entries = rows
        .iter()
        .map(|row| {
            Ok((
                row.try_get::<String, _>("entry")?,
                row.try_get::<Option<String>, _>("comment")?
                    .unwrap_or_default(),
            ))
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(Endpoint {
        endpoint_type: endpoint_type.to_owned(),
        enabled,
        acl_enabled,
        entries,
    })
}

async fn upsert_endpoint(
    tx: &mut super::Tx,
    instance_id: &str,
    endpoint_type: &str,
    enabled: Option<bool>,
    acl_enabled: Option<bool>,
) -> Result<(), ControlError> {
    let now = now_seconds();
    let row = sqlx::query(
        "SELECT enabled, acl_enabled FROM cr_endpoints WHERE instance_id = $1 AND endpoint_type = $2",
    )
    .bind(instance_id)
    .bind(endpoint_type)
    .fetch_optional(&mut **tx)
    .await?;
    let (old_enabled, old_acl) = match &row {
        Some(row) => (
            super::flag(row, "enabled")?,
            super::flag(row, "acl_enabled")?,
        ),
        None => (true, false),
    };
    let enabled = i64::from(enabled.unwrap_or(old_enabled));
    let acl = i64::from(acl_enabled.unwrap_or(old_acl));
    if row.is_some() {
        sqlx::query(
            "UPDATE cr_endpoints SET enabled = $3, acl_enabled = $4, updated_at = $5
             WHERE instance_id = $1 AND endpoint_type = $2",
        )
        .bind(instance_id)
        .bind(endpoint_type)
        .bind(enabled)
        .bind(acl)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    } else {
        sqlx::query(
            "INSERT INTO cr_endpoints (instance_id, endpoint_type, enabled, acl_enabled, updated_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(instance_id)
        .bind(endpoint_type)
        .bind(enabled)
        .bind(acl)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// `UpdateInstanceEndpointStatus`: turns an endpoint on or off.
pub async fn set_endpoint_enabled(
    db: &Db,
    instance_id: &str,
    endpoint_type: &str,
    enabled: bool,
) -> Result<(), ControlError> {
    let mut tx = db.begin_write().await?;
    upsert_endpoint(&mut tx, instance_id, endpoint_type, Some(enabled), None).await?;
    tx.commit().await?;
    Ok(())
}

/// Parses a CIDR entry (`10.0.0.0/8`, `192.168.1.7`, `::1/128`), returning
/// it in canonical text.
pub fn acl_entry(entry: &str) -> Result<String, ControlError> {
    let trimmed = entry.trim();
    if policy::condition::Cidr::parse(trimmed).is_none() {
        return Err(ControlError::invalid(
            "Entry",
            format!("{entry:?} is not an IP address or CIDR block"),
        ));
    }
    Ok(if trimmed.contains('/') {
        trimmed.to_owned()
    } else if trimmed.contains(':') {
        format!("{trimmed}/128")
    } else {
        format!("{trimmed}/32")
    })
}

/// `CreateInstanceEndpointAclPolicy`: adds CIDR entries and turns the ACL
/// on (adding an entry that is there already changes nothing).
pub async fn add_acl_entries(
    db: &Db,
    instance_id: &str,
    endpoint_type: &str,
    entries: &[(String, String)],
) -> Result<(), ControlError> {
    let mut tx = db.begin_write().await?;
    let now = now_seconds();
    for (entry, comment) in entries {
        let entry = acl_entry(entry)?;
        let present = sqlx::query(
            "SELECT entry FROM cr_endpoint_acl WHERE instance_id = $1 AND endpoint_type = $2 AND entry = $3",
        )
        .bind(instance_id)
        .bind(endpoint_type)
        .bind(&entry)
        .fetch_optional(&mut *tx)
        .await?;
        if present.is_none() {
            sqlx::query(
                "INSERT INTO cr_endpoint_acl (instance_id, endpoint_type, entry, comment, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(instance_id)
            .bind(endpoint_type)
            .bind(&entry)
            .bind(comment)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
    }
    upsert_endpoint(&mut tx, instance_id, endpoint_type, None, Some(true)).await?;
    tx.commit().await?;
    Ok(())
}

/// `DeleteInstanceEndpointAclPolicy`: removes entries (each must exist).
pub async fn remove_acl_entries(
    db: &Db,
    instance_id: &str,
    endpoint_type: &str,
    entries: &[String],
) -> Result<(), ControlError> {
    let mut tx = db.begin_write().await?;
    for entry in entries {
        let entry = acl_entry(entry)?;
        let done = sqlx::query(
            "DELETE FROM cr_endpoint_acl WHERE instance_id = $1 AND endpoint_type = $2 AND entry = $3",
        )
        .bind(instance_id)
        .bind(endpoint_type)
        .bind(&entry)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ControlError::not_found(Thing::AclEntry, entry));
        }
    }
    tx.commit().await?;
    Ok(())
}
