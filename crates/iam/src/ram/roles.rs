//! RAM roles: CreateRole, GetRole, UpdateRole, DeleteRole, ListRoles.
//!
//! Role names are unique in an account without regard to case, and looked
//! up the same way, because a role's ARN lower-cases its name: `Admin` and
//! `admin` would otherwise be two roles with one ARN.

use policy::{Entity, Policy, PolicyKind};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use sqlx::Row;

use super::ID_ATTEMPTS;
use crate::error::{is_unique_violation, Conflict, Existing, IamError, Limit, Missing, Result};
use crate::model::{CreateRole, ListOptions, Listing, Role, Timestamp, UpdateRole};
use crate::store::cache::scoped;
use crate::store::{
    count, decode_marker, finish_page, given, limit_i64, opt_ts, page_size, ts, Store,
};
use crate::{ids, validate};

pub(crate) const DEFAULT_MAX_SESSION_DURATION: i64 = 3600;
const MIN_SESSION: i64 = 3600;
const MAX_SESSION: i64 = 43_200;

fn role_from_row(account: &str, row: &AnyRow) -> Result<Role, sqlx::Error> {
    let name: String = row.try_get("name")?;
    Ok(Role {
        role_id: row.try_get("role_id")?,
        arn: Entity::role(account, &name).to_string(),
        name,
        description: row.try_get("description")?,
        trust_policy: row.try_get("trust_policy")?,
        max_session_duration: row.try_get("max_session_duration")?,
        create_date: ts(row, "created_at")?,
        update_date: ts(row, "updated_at")?,
        revoked_before: opt_ts(row, "revoked_before")?,
        service_name: row.try_get("service_name")?,
    })
}

/// The role named `name` (any case) in `account`.
pub(crate) async fn role_by_name(
    conn: &mut AnyConnection,
    account: &str,
    name: &str,
) -> Result<Option<Role>> {
    let row = sqlx::query(
        "SELECT role_id, name, description, trust_policy, max_session_duration,
                created_at, updated_at, revoked_before, service_name
         FROM roles WHERE account_id = $1 AND name_key = $2",
    )
    .bind(account)
    .bind(name.to_ascii_lowercase())
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(row) => Some(role_from_row(account, &row)?),
        None => None,
    })
}

/// Checks a trust policy: its size, then the policy language.
fn check_trust_policy(param: &'static str, document: &str) -> Result<()> {
    validate::document_length(param, document, PolicyKind::Trust.max_chars())?;
    Policy::parse(document, PolicyKind::Trust)
        .map(|_| ())
        .map_err(|e| IamError::MalformedPolicyDocument(e.to_string()))
}

impl Store {
    /// CreateRole. The trust policy (`AssumeRolePolicyDocument`) must be a
    /// valid trust policy; `MaxSessionDuration` is 3600–43200, 3600 when
    /// absent. The RoleId is a random 19-digit number.
    pub async fn create_role(&self, account: &str, input: &CreateRole) -> Result<Role> {
        validate::role_name("RoleName", &input.name)?;
        let description = given(input.description.as_deref());
        validate::optional(description, |v| validate::description("Description", v))?;
        let max_session = validate::range(
            "MaxSessionDuration",
            input
                .max_session_duration
                .unwrap_or(DEFAULT_MAX_SESSION_DURATION),
            MIN_SESSION,
            MAX_SESSION,
        )?;
        check_trust_policy("AssumeRolePolicyDocument", &input.trust_policy)?;

        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        if role_by_name(&mut tx, account, &input.name).await?.is_some() {
            return Err(IamError::exists(Existing::Role, &input.name));
        }
        let limit = self.inner.limits.roles;
        let existing = count(
            &mut tx,
            "SELECT COUNT(*) FROM roles WHERE account_id = $1",
            &[account],
        )
        .await?;
        if existing >= limit_i64(limit) {
            return Err(IamError::limit(Limit::Role, limit));
        }
        let now = Timestamp::now();
        for _ in 0..ID_ATTEMPTS {
            let role_id = ids::role_id();
            let result = sqlx::query(
                "INSERT INTO roles (account_id, role_id, name, name_key, description,
                     trust_policy, max_session_duration, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
                 ON CONFLICT (account_id, role_id) DO NOTHING",
            )
            .bind(account)
            .bind(&role_id)
            .bind(&input.name)
            .bind(input.name.to_ascii_lowercase())
            .bind(description.map(str::to_string))
            .bind(&input.trust_policy)
            .bind(max_session)
            .bind(now.0)
            .execute(&mut *tx)
            .await;
            let done = match result {
                Err(e) if is_unique_violation(&e) => {
                    return Err(IamError::exists(Existing::Role, &input.name))
                }
                other => other?,
            };
            if done.rows_affected() == 1 {
                self.commit(tx).await?;
                return Ok(Role {
                    role_id,
                    arn: Entity::role(account, &input.name).to_string(),
                    name: input.name.clone(),
                    description: description.map(str::to_string),
                    trust_policy: input.trust_policy.clone(),
                    max_session_duration: max_session,
                    create_date: now,
                    update_date: now,
                    revoked_before: None,
                    service_name: None,
                });
            }
        }
        Err(IamError::internal("no free role id"))
    }

    /// GetRole (the name in any case).
    pub async fn get_role(&self, account: &str, name: &str) -> Result<Role> {
        validate::role_name("RoleName", name)?;
        let mut conn = self.inner.pool.acquire().await?;
        role_by_name(&mut conn, account, name)
            .await?
            .ok_or_else(|| IamError::missing(Missing::Role, name))
    }

    /// UpdateRole: a new trust policy, description (empty clears it) or
    /// maximum session duration. RAM roles cannot be renamed.
    pub async fn update_role(
        &self,
        account: &str,
        name: &str,
        update: &UpdateRole,
    ) -> Result<Role> {
        validate::role_name("RoleName", name)?;
        validate::optional(given(update.new_description.as_deref()), |v| {
            validate::description("NewDescription", v)
        })?;
        if let Some(seconds) = update.new_max_session_duration {
            validate::range("NewMaxSessionDuration", seconds, MIN_SESSION, MAX_SESSION)?;
        }
        if let Some(document) = &update.new_trust_policy {
            check_trust_policy("NewAssumeRolePolicyDocument", document)?;
        }
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let mut role = role_by_name(&mut tx, account, name)
            .await?
            .ok_or_else(|| IamError::missing(Missing::Role, name))?;
        if role.service_name.is_some() {
            // A service-linked role is its service's template.
            return Err(IamError::NoPermission);
        }
        if let Some(document) = &update.new_trust_policy {
            role.trust_policy = document.clone();
        }
        if let Some(description) = &update.new_description {
            role.description = given(Some(description)).map(str::to_string);
        }
        if let Some(seconds) = update.new_max_session_duration {
            role.max_session_duration = seconds;
        }
        role.update_date = Timestamp::now();
        sqlx::query(
            "UPDATE roles SET trust_policy = $1, description = $2, max_session_duration = $3,
                 updated_at = $4
             WHERE account_id = $5 AND role_id = $6",
        )
        .bind(&role.trust_policy)
        .bind(role.description.clone())
        .bind(role.max_session_duration)
        .bind(role.update_date.0)
        .bind(account)
        .bind(&role.role_id)
        .execute(&mut *tx)
        .await?;
        self.commit(tx).await?;
        Ok(role)
    }

    /// DeleteRole: refused while policies are attached.
    pub async fn delete_role(&self, account: &str, name: &str) -> Result<()> {
        validate::role_name("RoleName", name)?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let role = role_by_name(&mut tx, account, name)
            .await?
            .ok_or_else(|| IamError::missing(Missing::Role, name))?;
        if role.service_name.is_some() {
            // Only DeleteServiceLinkedRole removes a service-linked role.
            return Err(IamError::NoPermission);
        }
        let attached = count(
            &mut tx,
            "SELECT COUNT(*) FROM policy_attachments
             WHERE account_id = $1 AND principal_type = 'Role' AND principal_id = $2",
            &[account, &role.role_id],
        )
        .await?;
        if attached > 0 {
            return Err(IamError::conflict(Conflict::RolePolicy, name));
        }
        sqlx::query("DELETE FROM roles WHERE account_id = $1 AND role_id = $2")
            .bind(account)
            .bind(&role.role_id)
            .execute(&mut *tx)
            .await?;
        self.commit(tx).await
    }

    /// The role `name` (any case) of `account`, or `None`: what STS reads
    /// on every request made with a session of the role. Served from a
    /// cache stamped with the store's generation, so a committed change to
    /// the role (a revocation, a deletion, here or on another node) is seen
    /// by the next lookup.
    pub async fn role_record(&self, account: &str, name: &str) -> Result<Option<Role>> {
        let key = scoped(account, &name.to_ascii_lowercase());
        let generation = self.inner.changes.current();
        if let Some(generation) = generation {
            if let Some(hit) = self.inner.roles.get(&key, generation) {
                return Ok(hit);
            }
        }
        let mut conn = self.inner.pool.acquire().await?;
        let role = role_by_name(&mut conn, account, name).await?;
        if let Some(generation) = generation {
            self.inner.roles.put(key, generation, role.clone());
        }
        Ok(role)
    }

    /// A role's trust policy parsed, from a memo keyed by its text (a
    /// parse depends on nothing else), so AssumeRole does not parse the
    /// same document on every call. `None` when it does not parse (the
    /// caller reports that with its own parse).
    pub fn trust_policy(&self, text: &str) -> Option<std::sync::Arc<policy::Policy>> {
        self.inner
            .trust_policies
            .get_or_try(text, |text| {
                policy::Policy::parse(text, policy::PolicyKind::Trust).map(std::sync::Arc::new)
            })
            .ok()
    }

    /// RevokeRoleSessions (a rampart extension): sessions of the role issued
    /// before `before` are invalid from now on. The stamp only moves
    /// forward: a later call with an earlier instant (a clock stepped back)
    /// never brings revoked sessions back. Returns the role with its stamp.
    pub async fn revoke_role_sessions(
        &self,
        account: &str,
        name: &str,
        before: Timestamp,
    ) -> Result<Role> {
        validate::role_name("RoleName", name)?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let mut role = role_by_name(&mut tx, account, name)
            .await?
            .ok_or_else(|| IamError::missing(Missing::Role, name))?;
        let stamp = role.revoked_before.map_or(before, |old| old.max(before));
        sqlx::query("UPDATE roles SET revoked_before = $1 WHERE account_id = $2 AND role_id = $3")
            .bind(stamp.0)
            .bind(account)
            .bind(&role.role_id)
            .execute(&mut *tx)
            .await?;
        self.commit(tx).await?;
        role.revoked_before = Some(stamp);
        Ok(role)
    }

    /// ListRoles, by (lower-cased) name.
    pub async fn list_roles(&self, account: &str, options: &ListOptions) -> Result<Listing<Role>> {
        let size = page_size(options)?;
        let after = decode_marker(options)?.unwrap_or_default();
        let rows = sqlx::query(
            "SELECT role_id, name, description, trust_policy, max_session_duration,
                    created_at, updated_at, revoked_before, service_name
             FROM roles WHERE account_id = $1 AND name_key > $2
             ORDER BY name_key LIMIT $3",
        )
        .bind(account)
        .bind(after)
        .bind(size + 1)
        .fetch_all(&self.inner.pool)
        .await?;
        let mut roles = Vec::with_capacity(rows.len());
        for row in &rows {
            roles.push(role_from_row(account, row)?);
        }
        Ok(finish_page(roles, size, |r| r.name.to_ascii_lowercase()))
    }
}
