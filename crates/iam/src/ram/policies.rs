//! Policies and their versions: CreatePolicy, GetPolicy, DeletePolicy,
//! ListPolicies, UpdatePolicyDescription, CreatePolicyVersion,
//! GetPolicyVersion, DeletePolicyVersion, ListPolicyVersions,
//! SetDefaultPolicyVersion.
//!
//! System policies come from `policy::SYSTEM_POLICIES` and are read-only:
//! every call that changes a policy looks up custom policies only, so a
//! system policy's name answers `EntityNotExist.Policy` there, as in RAM.

use policy::{Policy, PolicyKind, SystemPolicy, SYSTEM_POLICIES};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use sqlx::Row;

use super::ID_ATTEMPTS;
use crate::error::{
    is_unique_violation, Conflict, Existing, IamError, Limit, Missing, Problem, Result,
};
use crate::model::{
    CreatePolicy, ListOptions, Listing, PolicyDetail, PolicyInfo, PolicyType, PolicyVersion,
    RotateStrategy, Timestamp,
};
use crate::store::{
    count, decode_marker, encode_marker, given, limit_i64, page_size, ts, Store, Tx,
};
use crate::{ids, validate};

/// The date system policies report (they predate every account).
pub(crate) const SYSTEM_POLICY_DATE: Timestamp = Timestamp(1_430_438_400); // 2015-05-01

/// A custom policy's row.
#[derive(Debug, Clone)]
pub(crate) struct CustomPolicy {
    pub(crate) policy_id: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) default_version: String,
    pub(crate) next_version: i64,
    pub(crate) create_date: Timestamp,
    pub(crate) update_date: Timestamp,
}

fn custom_from_row(row: &AnyRow) -> Result<CustomPolicy, sqlx::Error> {
    Ok(CustomPolicy {
        policy_id: row.try_get("policy_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        default_version: row.try_get("default_version")?,
        next_version: row.try_get("next_version")?,
        create_date: ts(row, "created_at")?,
        update_date: ts(row, "updated_at")?,
    })
}

/// The custom policy named `name` in `account`.
pub(crate) async fn custom_policy_meta(
    conn: &mut AnyConnection,
    account: &str,
    name: &str,
) -> Result<Option<CustomPolicy>> {
    let row = sqlx::query(
        "SELECT policy_id, name, description, default_version, next_version,
                created_at, updated_at
         FROM policies WHERE account_id = $1 AND name = $2",
    )
    .bind(account)
    .bind(name)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(row) => Some(custom_from_row(&row)?),
        None => None,
    })
}

async fn custom_policy(
    conn: &mut AnyConnection,
    account: &str,
    name: &str,
) -> Result<CustomPolicy> {
    custom_policy_meta(conn, account, name)
        .await?
        .ok_or_else(|| IamError::missing(Missing::Policy, name))
}

fn system(name: &str) -> Result<&'static SystemPolicy> {
    policy::system_policy(name).ok_or_else(|| IamError::missing(Missing::Policy, name))
}

/// System policies in name order (byte order, like the store's text order).
fn system_sorted() -> Vec<&'static SystemPolicy> {
    let mut all: Vec<&'static SystemPolicy> = SYSTEM_POLICIES.iter().collect();
    all.sort_by(|a, b| a.name.cmp(b.name));
    all
}

fn system_version(p: &SystemPolicy) -> PolicyVersion {
    PolicyVersion {
        version_id: p.version.to_string(),
        is_default: true,
        document: p.document.to_string(),
        create_date: SYSTEM_POLICY_DATE,
    }
}

fn system_info(p: &SystemPolicy, attachment_count: i64) -> PolicyInfo {
    PolicyInfo {
        name: p.name.to_string(),
        policy_type: PolicyType::System,
        description: Some(p.description.to_string()),
        default_version: p.version.to_string(),
        attachment_count,
        create_date: SYSTEM_POLICY_DATE,
        update_date: SYSTEM_POLICY_DATE,
    }
}

fn custom_info(p: &CustomPolicy, attachment_count: i64) -> PolicyInfo {
    PolicyInfo {
        name: p.name.clone(),
        policy_type: PolicyType::Custom,
        description: p.description.clone(),
        default_version: p.default_version.clone(),
        attachment_count,
        create_date: p.create_date,
        update_date: p.update_date,
    }
}

/// Checks a permission policy document: size, then the policy language.
/// Every problem the parser finds goes into the message.
fn check_document(document: &str) -> Result<()> {
    validate::document_length(
        "PolicyDocument",
        document,
        PolicyKind::Permission.max_chars(),
    )?;
    Policy::parse(document, PolicyKind::Permission)
        .map(|_| ())
        .map_err(|e| IamError::MalformedPolicyDocument(e.to_string()))
}

async fn attachment_count(
    conn: &mut AnyConnection,
    account: &str,
    policy_type: PolicyType,
    name: &str,
) -> Result<i64> {
    count(
        conn,
        "SELECT COUNT(*) FROM policy_attachments
         WHERE account_id = $1 AND policy_type = $2 AND policy_name = $3",
        &[account, policy_type.as_str(), name],
    )
    .await
}

async fn version(
    conn: &mut AnyConnection,
    account: &str,
    policy: &CustomPolicy,
    version_num: i64,
) -> Result<Option<PolicyVersion>> {
    let row = sqlx::query(
        "SELECT version_id, document, created_at FROM policy_versions
         WHERE account_id = $1 AND policy_id = $2 AND version_num = $3",
    )
    .bind(account)
    .bind(&policy.policy_id)
    .bind(version_num)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(row) => {
            let version_id: String = row.try_get("version_id")?;
            Some(PolicyVersion {
                is_default: version_id == policy.default_version,
                version_id,
                document: row.try_get("document")?,
                create_date: ts(&row, "created_at")?,
            })
        }
        None => None,
    })
}

async fn insert_version(
    tx: &mut Tx,
    account: &str,
    policy_id: &str,
    num: i64,
    document: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO policy_versions (account_id, policy_id, version_num, version_id, document, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(account)
    .bind(policy_id)
    .bind(num)
    .bind(format!("v{num}"))
    .bind(document)
    .bind(now.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// CreatePolicy: a custom policy whose document becomes version `v1`,
    /// the default. The document must be a valid permission policy.
    pub async fn create_policy(&self, account: &str, input: &CreatePolicy) -> Result<PolicyInfo> {
        validate::policy_name("PolicyName", &input.name)?;
        let description = given(input.description.as_deref());
        validate::optional(description, |v| validate::description("Description", v))?;
        check_document(&input.document)?;

        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        if custom_policy_meta(&mut tx, account, &input.name)
            .await?
            .is_some()
        {
            return Err(IamError::exists(Existing::Policy, &input.name));
        }
        let limit = self.inner.limits.custom_policies;
        let existing = count(
            &mut tx,
            "SELECT COUNT(*) FROM policies WHERE account_id = $1",
            &[account],
        )
        .await?;
        if existing >= limit_i64(limit) {
            return Err(IamError::limit(Limit::Policy, limit));
        }
        let now = Timestamp::now();
        for _ in 0..ID_ATTEMPTS {
            let policy_id = ids::policy_id();
            let result = sqlx::query(
                "INSERT INTO policies (account_id, policy_id, name, description, default_version,
                     next_version, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, 'v1', 2, $5, $5)
                 ON CONFLICT (account_id, policy_id) DO NOTHING",
            )
            .bind(account)
            .bind(&policy_id)
            .bind(&input.name)
            .bind(description.map(str::to_string))
            .bind(now.0)
            .execute(&mut *tx)
            .await;
            let done = match result {
                Err(e) if is_unique_violation(&e) => {
                    return Err(IamError::exists(Existing::Policy, &input.name))
                }
                other => other?,
            };
            if done.rows_affected() == 1 {
                insert_version(&mut tx, account, &policy_id, 1, &input.document, now).await?;
                self.commit(tx).await?;
                return Ok(PolicyInfo {
                    name: input.name.clone(),
                    policy_type: PolicyType::Custom,
                    description: description.map(str::to_string),
                    default_version: "v1".to_string(),
                    attachment_count: 0,
                    create_date: now,
                    update_date: now,
                });
            }
        }
        Err(IamError::internal("no free policy id"))
    }

    /// GetPolicy: the policy and its default version.
    pub async fn get_policy(
        &self,
        account: &str,
        name: &str,
        policy_type: PolicyType,
    ) -> Result<PolicyDetail> {
        validate::policy_name("PolicyName", name)?;
        let mut tx = self.begin_read().await?;
        match policy_type {
            PolicyType::System => {
                let p = system(name)?;
                let attached = attachment_count(&mut tx, account, policy_type, name).await?;
                Ok(PolicyDetail {
                    policy: system_info(p, attached),
                    default_version: system_version(p),
                })
            }
            PolicyType::Custom => {
                let p = custom_policy(&mut tx, account, name).await?;
                let attached = attachment_count(&mut tx, account, policy_type, name).await?;
                let num = validate::version_id(&p.default_version)
                    .map_err(|_| IamError::internal("stored default version id is malformed"))?;
                let default_version = version(&mut tx, account, &p, num)
                    .await?
                    .ok_or_else(|| IamError::internal("a policy's default version is missing"))?;
                Ok(PolicyDetail {
                    policy: custom_info(&p, attached),
                    default_version,
                })
            }
        }
    }

    /// DeletePolicy (custom policies only). Without `cascading_delete` it
    /// is refused while the policy is attached to anything
    /// (`DeleteConflict.Policy.User|Group|Role`) or has versions besides the
    /// default (`DeleteConflict.Policy.Version`); with it, the policy is
    /// detached everywhere and all its versions go with it, in one
    /// transaction.
    pub async fn delete_policy(
        &self,
        account: &str,
        name: &str,
        cascading_delete: bool,
    ) -> Result<()> {
        validate::policy_name("PolicyName", name)?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let p = custom_policy(&mut tx, account, name).await?;
        if !cascading_delete {
            for (principal_type, conflict) in [
                ("User", Conflict::PolicyUser),
                ("Group", Conflict::PolicyGroup),
                ("Role", Conflict::PolicyRole),
            ] {
                let attached = count(
                    &mut tx,
                    "SELECT COUNT(*) FROM policy_attachments
                     WHERE account_id = $1 AND policy_type = 'Custom' AND policy_name = $2
                       AND principal_type = $3",
                    &[account, name, principal_type],
                )
                .await?;
                if attached > 0 {
                    return Err(IamError::conflict(conflict, name));
                }
            }
            let versions = count(
                &mut tx,
                "SELECT COUNT(*) FROM policy_versions WHERE account_id = $1 AND policy_id = $2",
                &[account, &p.policy_id],
            )
            .await?;
            if versions > 1 {
                return Err(IamError::conflict(Conflict::PolicyVersion, name));
            }
        }
        sqlx::query(
            "DELETE FROM policy_attachments
             WHERE account_id = $1 AND policy_type = 'Custom' AND policy_name = $2",
        )
        .bind(account)
        .bind(name)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM policy_versions WHERE account_id = $1 AND policy_id = $2")
            .bind(account)
            .bind(&p.policy_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM policies WHERE account_id = $1 AND policy_id = $2")
            .bind(account)
            .bind(&p.policy_id)
            .execute(&mut *tx)
            .await?;
        self.commit(tx).await
    }

    /// ListPolicies: system policies, then the account's custom ones, each
    /// by name; `policy_type` keeps one kind.
    pub async fn list_policies(
        &self,
        account: &str,
        policy_type: Option<PolicyType>,
        options: &ListOptions,
    ) -> Result<Listing<PolicyInfo>> {
        let size = page_size(options)?;
        let wanted = usize::try_from(size)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        // The marker is "S<name>" or "C<name>": the kind and name last shown.
        let (after_type, after) = match decode_marker(options)? {
            None => (PolicyType::System, String::new()),
            Some(m) => match (m.get(..1), m.get(1..)) {
                (Some("S"), Some(rest)) => (PolicyType::System, rest.to_string()),
                (Some("C"), Some(rest)) => (PolicyType::Custom, rest.to_string()),
                _ => return Err(IamError::invalid("Marker", Problem::Format)),
            },
        };
        let mut tx = self.begin_read().await?;
        let mut items: Vec<PolicyInfo> = Vec::new();
        if policy_type != Some(PolicyType::Custom) && after_type == PolicyType::System {
            let rows = sqlx::query(
                "SELECT policy_name, COUNT(*) AS n FROM policy_attachments
                 WHERE account_id = $1 AND policy_type = 'System' GROUP BY policy_name",
            )
            .bind(account)
            .fetch_all(&mut *tx)
            .await?;
            let mut counts = Vec::with_capacity(rows.len());
            for row in &rows {
                counts.push((
                    row.try_get::<String, _>("policy_name")?,
                    row.try_get::<i64, _>("n")?,
                ));
            }
            for p in system_sorted() {
                if items.len() >= wanted {
                    break;
                }
                if p.name > after.as_str() {
                    let n = counts
                        .iter()
                        .find(|(name, _)| name == p.name)
                        .map_or(0, |(_, n)| *n);
                    items.push(system_info(p, n));
                }
            }
        }
        if policy_type != Some(PolicyType::System) && items.len() < wanted {
            let custom_after = if after_type == PolicyType::Custom {
                after.clone()
            } else {
                String::new()
            };
            let remaining = i64::try_from(wanted - items.len()).unwrap_or(i64::MAX);
            let rows = sqlx::query(
                "SELECT p.policy_id, p.name, p.description, p.default_version, p.next_version,
                        p.created_at, p.updated_at,
                        (SELECT COUNT(*) FROM policy_attachments a
                          WHERE a.account_id = p.account_id AND a.policy_type = 'Custom'
                            AND a.policy_name = p.name) AS attachment_count
                 FROM policies p WHERE p.account_id = $1 AND p.name > $2
                 ORDER BY p.name LIMIT $3",
            )
            .bind(account)
            .bind(custom_after)
            .bind(remaining)
            .fetch_all(&mut *tx)
            .await?;
            for row in &rows {
                let p = custom_from_row(row)?;
                items.push(custom_info(&p, row.try_get::<i64, _>("attachment_count")?));
            }
        }
        let limit = usize::try_from(size).unwrap_or(usize::MAX);
        let is_truncated = items.len() > limit;
        items.truncate(limit);
        let marker = if is_truncated {
            items.last().map(|p| {
                let kind = match p.policy_type {
                    PolicyType::System => "S",
                    PolicyType::Custom => "C",
                };
                encode_marker(&format!("{kind}{}", p.name))
            })
        } else {
            None
        };
        Ok(Listing {
            items,
            is_truncated,
            marker,
        })
    }

    /// UpdatePolicyDescription (custom policies).
    pub async fn update_policy_description(
        &self,
        account: &str,
        name: &str,
        new_description: &str,
    ) -> Result<PolicyInfo> {
        validate::policy_name("PolicyName", name)?;
        validate::optional(given(Some(new_description)), |v| {
            validate::description("NewDescription", v)
        })?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let mut p = custom_policy(&mut tx, account, name).await?;
        p.description = given(Some(new_description)).map(str::to_string);
        p.update_date = Timestamp::now();
        sqlx::query(
            "UPDATE policies SET description = $1, updated_at = $2
             WHERE account_id = $3 AND policy_id = $4",
        )
        .bind(p.description.clone())
        .bind(p.update_date.0)
        .bind(account)
        .bind(&p.policy_id)
        .execute(&mut *tx)
        .await?;
        let attached = attachment_count(&mut tx, account, PolicyType::Custom, name).await?;
        self.commit(tx).await?;
        Ok(custom_info(&p, attached))
    }

    /// CreatePolicyVersion. A policy keeps at most 5 versions; at the limit
    /// the call fails with `LimitExceeded.Policy.Version` unless `rotate`
    /// says to delete the oldest non-default version first. Version ids
    /// count up and are never reused. `set_as_default` makes the new version
    /// the one every attachment uses from the next request on.
    pub async fn create_policy_version(
        &self,
        account: &str,
        name: &str,
        document: &str,
        set_as_default: bool,
        rotate: RotateStrategy,
    ) -> Result<PolicyVersion> {
        validate::policy_name("PolicyName", name)?;
        check_document(document)?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let p = custom_policy(&mut tx, account, name).await?;
        let limit = self.inner.limits.versions_per_policy;
        let versions = count(
            &mut tx,
            "SELECT COUNT(*) FROM policy_versions WHERE account_id = $1 AND policy_id = $2",
            &[account, &p.policy_id],
        )
        .await?;
        if versions >= limit_i64(limit) {
            if rotate != RotateStrategy::DeleteOldestNonDefaultVersionWhenLimitExceeded {
                return Err(IamError::limit(Limit::PolicyVersion, limit));
            }
            let oldest = sqlx::query(
                "SELECT version_num FROM policy_versions
                 WHERE account_id = $1 AND policy_id = $2 AND version_id <> $3
                 ORDER BY version_num LIMIT 1",
            )
            .bind(account)
            .bind(&p.policy_id)
            .bind(&p.default_version)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| IamError::limit(Limit::PolicyVersion, limit))?;
            sqlx::query(
                "DELETE FROM policy_versions
                 WHERE account_id = $1 AND policy_id = $2 AND version_num = $3",
            )
            .bind(account)
            .bind(&p.policy_id)
            .bind(oldest.try_get::<i64, _>("version_num")?)
            .execute(&mut *tx)
            .await?;
        }
        let num = p.next_version;
        let now = Timestamp::now();
        insert_version(&mut tx, account, &p.policy_id, num, document, now).await?;
        let version_id = format!("v{num}");
        let default_version = if set_as_default {
            version_id.clone()
        } else {
            p.default_version.clone()
        };
        sqlx::query(
            "UPDATE policies SET next_version = $1, default_version = $2, updated_at = $3
             WHERE account_id = $4 AND policy_id = $5",
        )
        .bind(num + 1)
        .bind(&default_version)
        .bind(now.0)
        .bind(account)
        .bind(&p.policy_id)
        .execute(&mut *tx)
        .await?;
        self.commit(tx).await?;
        Ok(PolicyVersion {
            version_id,
            is_default: set_as_default,
            document: document.to_string(),
            create_date: now,
        })
    }

    /// GetPolicyVersion.
    pub async fn get_policy_version(
        &self,
        account: &str,
        name: &str,
        policy_type: PolicyType,
        version_id: &str,
    ) -> Result<PolicyVersion> {
        validate::policy_name("PolicyName", name)?;
        let num = validate::version_id(version_id)?;
        match policy_type {
            PolicyType::System => {
                let p = system(name)?;
                if p.version != version_id {
                    return Err(IamError::missing(Missing::PolicyVersion, version_id));
                }
                Ok(system_version(p))
            }
            PolicyType::Custom => {
                let mut tx = self.begin_read().await?;
                let p = custom_policy(&mut tx, account, name).await?;
                version(&mut tx, account, &p, num)
                    .await?
                    .ok_or_else(|| IamError::missing(Missing::PolicyVersion, version_id))
            }
        }
    }

    /// DeletePolicyVersion: any version but the default.
    pub async fn delete_policy_version(
        &self,
        account: &str,
        name: &str,
        version_id: &str,
    ) -> Result<()> {
        validate::policy_name("PolicyName", name)?;
        let num = validate::version_id(version_id)?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let p = custom_policy(&mut tx, account, name).await?;
        if version(&mut tx, account, &p, num).await?.is_none() {
            return Err(IamError::missing(Missing::PolicyVersion, version_id));
        }
        if p.default_version == version_id {
            return Err(IamError::conflict(
                Conflict::PolicyVersionDefault,
                version_id,
            ));
        }
        sqlx::query(
            "DELETE FROM policy_versions WHERE account_id = $1 AND policy_id = $2 AND version_num = $3",
        )
        .bind(account)
        .bind(&p.policy_id)
        .bind(num)
        .execute(&mut *tx)
        .await?;
        self.commit(tx).await
    }

    /// ListPolicyVersions, oldest first.
    pub async fn list_policy_versions(
        &self,
        account: &str,
        name: &str,
        policy_type: PolicyType,
    ) -> Result<Vec<PolicyVersion>> {
        validate::policy_name("PolicyName", name)?;
        match policy_type {
            PolicyType::System => Ok(vec![system_version(system(name)?)]),
            PolicyType::Custom => {
                let mut tx = self.begin_read().await?;
                let p = custom_policy(&mut tx, account, name).await?;
                let rows = sqlx::query(
                    "SELECT version_id, document, created_at FROM policy_versions
                     WHERE account_id = $1 AND policy_id = $2 ORDER BY version_num",
                )
                .bind(account)
                .bind(&p.policy_id)
                .fetch_all(&mut *tx)
                .await?;
                let mut versions = Vec::with_capacity(rows.len());
                for row in &rows {
                    let version_id: String = row.try_get("version_id")?;
                    versions.push(PolicyVersion {
                        is_default: version_id == p.default_version,
                        version_id,
                        document: row.try_get("document")?,
                        create_date: ts(row, "created_at")?,
                    });
                }
                Ok(versions)
            }
        }
    }

    /// SetDefaultPolicyVersion: from the next request on, every principal
    /// the policy is attached to is decided by this version.
    pub async fn set_default_policy_version(
        &self,
        account: &str,
        name: &str,
        version_id: &str,
    ) -> Result<()> {
        validate::policy_name("PolicyName", name)?;
        let num = validate::version_id(version_id)?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let p = custom_policy(&mut tx, account, name).await?;
        if version(&mut tx, account, &p, num).await?.is_none() {
            return Err(IamError::missing(Missing::PolicyVersion, version_id));
        }
        sqlx::query(
            "UPDATE policies SET default_version = $1, updated_at = $2
             WHERE account_id = $3 AND policy_id = $4",
        )
        .bind(version_id)
        .bind(Timestamp::now().0)
        .bind(account)
        .bind(&p.policy_id)
        .execute(&mut *tx)
        .await?;
        self.commit(tx).await
    }
}
