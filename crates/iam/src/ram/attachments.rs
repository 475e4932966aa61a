//! Attaching policies: AttachPolicyTo{User,Group,Role},
//! DetachPolicyFrom{User,Group,Role}, ListPoliciesFor{User,Group,Role},
//! ListEntitiesForPolicy.
//!
//! Attachments name the principal by id (so renames keep them) and the
//! policy by type and name. Each kind of principal holds at most 20 system
//! and 10 custom policies; the attachment is written first and the limit
//! checked after, so a refused attach rolls back with its transaction.

use policy::Entity;
use sqlx::AnyConnection;
use sqlx::Row;

use super::{custom_policy_meta, group_id_by_name, role_by_name, user_id_by_name};
use crate::error::{Existing, IamError, Limit, Missing, Result};
use crate::model::{
    AttachedGroup, AttachedPolicy, AttachedRole, AttachedUser, PolicyEntities, PolicyType,
    Timestamp,
};
use crate::store::{count, limit_i64, next_seq, ts, Store};
use crate::validate;

/// What a policy can be attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    User,
    Group,
    Role,
}

impl Target {
    fn kind(self) -> &'static str {
        match self {
            Target::User => "User",
            Target::Group => "Group",
            Target::Role => "Role",
        }
    }

    fn missing(self) -> Missing {
        match self {
            Target::User => Missing::User,
            Target::Group => Missing::Group,
            Target::Role => Missing::Role,
        }
    }

    fn missing_attachment(self) -> Missing {
        match self {
            Target::User => Missing::UserPolicy,
            Target::Group => Missing::GroupPolicy,
            Target::Role => Missing::RolePolicy,
        }
    }

    fn existing_attachment(self) -> Existing {
        match self {
            Target::User => Existing::UserPolicy,
            Target::Group => Existing::GroupPolicy,
            Target::Role => Existing::RolePolicy,
        }
    }

    fn limit(self) -> Limit {
        match self {
            Target::User => Limit::UserPolicy,
            Target::Group => Limit::GroupPolicy,
            Target::Role => Limit::RolePolicy,
        }
    }

    fn check_name(self, name: &str) -> Result<()> {
        match self {
            Target::User => validate::user_name("UserName", name),
            Target::Group => validate::group_name("GroupName", name),
            Target::Role => validate::role_name("RoleName", name),
        }
    }

    /// The principal's id, or `EntityNotExist.<kind>`.
    async fn id(self, conn: &mut AnyConnection, account: &str, name: &str) -> Result<String> {
        let id = match self {
            Target::User => user_id_by_name(conn, account, name).await?,
            Target::Group => group_id_by_name(conn, account, name).await?,
            Target::Role => role_by_name(conn, account, name).await?.map(|r| r.role_id),
        };
        id.ok_or_else(|| IamError::missing(self.missing(), name))
    }

    /// The id of a principal whose attachments are about to change: a
    /// service-linked role's permissions are its service's, not the user's
    /// to change (`NoPermission`).
    async fn id_to_change(
        self,
        conn: &mut AnyConnection,
        account: &str,
        name: &str,
    ) -> Result<String> {
        if self == Target::Role {
            let role = role_by_name(conn, account, name)
                .await?
                .ok_or_else(|| IamError::missing(self.missing(), name))?;
            if role.service_name.is_some() {
                return Err(IamError::NoPermission);
            }
            return Ok(role.role_id);
        }
        self.id(conn, account, name).await
    }
}

impl Store {
    async fn attach(
        &self,
        account: &str,
        target: Target,
        principal: &str,
        policy_type: PolicyType,
        policy_name: &str,
    ) -> Result<()> {
        target.check_name(principal)?;
        validate::policy_name("PolicyName", policy_name)?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let principal_id = target.id_to_change(&mut tx, account, principal).await?;
        let policy_exists = match policy_type {
            PolicyType::System => policy::system_policy(policy_name).is_some(),
            PolicyType::Custom => custom_policy_meta(&mut tx, account, policy_name)
                .await?
                .is_some(),
        };
        if !policy_exists {
            return Err(IamError::missing(Missing::Policy, policy_name));
        }
        let seq = next_seq(
            &mut tx,
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM policy_attachments WHERE account_id = $1",
            account,
        )
        .await?;
        let done = sqlx::query(
            "INSERT INTO policy_attachments (account_id, principal_type, principal_id,
                 policy_type, policy_name, attached_at, seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (account_id, principal_type, principal_id, policy_type, policy_name)
             DO NOTHING",
        )
        .bind(account)
        .bind(target.kind())
        .bind(&principal_id)
        .bind(policy_type.as_str())
        .bind(policy_name)
        .bind(Timestamp::now().0)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(IamError::exists(target.existing_attachment(), policy_name));
        }
        let limit = match policy_type {
            PolicyType::System => self.inner.limits.system_policies_per_principal,
            PolicyType::Custom => self.inner.limits.custom_policies_per_principal,
        };
        let attached = count(
            &mut tx,
            "SELECT COUNT(*) FROM policy_attachments
             WHERE account_id = $1 AND principal_type = $2 AND principal_id = $3
               AND policy_type = $4",
            &[account, target.kind(), &principal_id, policy_type.as_str()],
        )
        .await?;
        if attached > limit_i64(limit) {
            return Err(IamError::limit(target.limit(), limit));
        }
        self.commit(tx).await
    }

    async fn detach(
        &self,
        account: &str,
        target: Target,
        principal: &str,
        policy_type: PolicyType,
        policy_name: &str,
    ) -> Result<()> {
        target.check_name(principal)?;
        validate::policy_name("PolicyName", policy_name)?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let principal_id = target.id_to_change(&mut tx, account, principal).await?;
        let done = sqlx::query(
            "DELETE FROM policy_attachments
             WHERE account_id = $1 AND principal_type = $2 AND principal_id = $3
               AND policy_type = $4 AND policy_name = $5",
        )
        .bind(account)
        .bind(target.kind())
        .bind(&principal_id)
        .bind(policy_type.as_str())
        .bind(policy_name)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            // RAM says which is missing: the policy itself, or the attachment.
            let policy_exists = match policy_type {
                PolicyType::System => policy::system_policy(policy_name).is_some(),
                PolicyType::Custom => custom_policy_meta(&mut tx, account, policy_name)
                    .await?
                    .is_some(),
            };
            if !policy_exists {
                return Err(IamError::missing(Missing::Policy, policy_name));
            }
            return Err(IamError::missing(target.missing_attachment(), policy_name));
        }
        self.commit(tx).await
    }

    async fn policies_for(
        &self,
        account: &str,
        target: Target,
        principal: &str,
    ) -> Result<Vec<AttachedPolicy>> {
        target.check_name(principal)?;
        let mut tx = self.begin_read().await?;
        let principal_id = target.id(&mut tx, account, principal).await?;
        let rows = sqlx::query(
            "SELECT a.policy_type, a.policy_name, a.attached_at, p.description, p.default_version
             FROM policy_attachments a
             LEFT JOIN policies p ON a.policy_type = 'Custom'
                 AND p.account_id = a.account_id AND p.name = a.policy_name
             WHERE a.account_id = $1 AND a.principal_type = $2 AND a.principal_id = $3
             ORDER BY a.seq",
        )
        .bind(account)
        .bind(target.kind())
        .bind(&principal_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let policy_type = PolicyType::parse(&row.try_get::<String, _>("policy_type")?)
                .map_err(|_| IamError::internal("unknown policy type in the store"))?;
            let name: String = row.try_get("policy_name")?;
            let (description, default_version) = match policy_type {
                PolicyType::System => match policy::system_policy(&name) {
                    Some(p) => (Some(p.description.to_string()), p.version.to_string()),
                    None => continue, // a system policy no longer shipped
                },
                PolicyType::Custom => (
                    row.try_get::<Option<String>, _>("description")?,
                    row.try_get::<Option<String>, _>("default_version")?
                        .unwrap_or_default(),
                ),
            };
            out.push(AttachedPolicy {
                name,
                policy_type,
                description,
                default_version,
                attach_date: ts(row, "attached_at")?,
            });
        }
        Ok(out)
    }

    /// AttachPolicyToUser.
    pub async fn attach_policy_to_user(
        &self,
        account: &str,
        policy_type: PolicyType,
        policy_name: &str,
        user: &str,
    ) -> Result<()> {
        self.attach(account, Target::User, user, policy_type, policy_name)
            .await
    }

    /// AttachPolicyToGroup.
    pub async fn attach_policy_to_group(
        &self,
        account: &str,
        policy_type: PolicyType,
        policy_name: &str,
        group: &str,
    ) -> Result<()> {
        self.attach(account, Target::Group, group, policy_type, policy_name)
            .await
    }

    /// AttachPolicyToRole.
    pub async fn attach_policy_to_role(
        &self,
        account: &str,
        policy_type: PolicyType,
        policy_name: &str,
        role: &str,
    ) -> Result<()> {
        self.attach(account, Target::Role, role, policy_type, policy_name)
            .await
    }

    /// DetachPolicyFromUser.
    pub async fn detach_policy_from_user(
        &self,
        account: &str,
        policy_type: PolicyType,
        policy_name: &str,
        user: &str,
    ) -> Result<()> {
        self.detach(account, Target::User, user, policy_type, policy_name)
            .await
    }

    /// DetachPolicyFromGroup.
    pub async fn detach_policy_from_group(
        &self,
        account: &str,
        policy_type: PolicyType,
        policy_name: &str,
        group: &str,
    ) -> Result<()> {
        self.detach(account, Target::Group, group, policy_type, policy_name)
            .await
    }

    /// DetachPolicyFromRole.
    pub async fn detach_policy_from_role(
        &self,
        account: &str,
        policy_type: PolicyType,
        policy_name: &str,
        role: &str,
    ) -> Result<()> {
        self.detach(account, Target::Role, role, policy_type, policy_name)
            .await
    }

    /// ListPoliciesForUser, in attachment order.
    pub async fn list_policies_for_user(
        &self,
        account: &str,
        user: &str,
    ) -> Result<Vec<AttachedPolicy>> {
        self.policies_for(account, Target::User, user).await
    }

    /// ListPoliciesForGroup, in attachment order.
    pub async fn list_policies_for_group(
        &self,
        account: &str,
        group: &str,
    ) -> Result<Vec<AttachedPolicy>> {
        self.policies_for(account, Target::Group, group).await
    }

    /// ListPoliciesForRole, in attachment order.
    pub async fn list_policies_for_role(
        &self,
        account: &str,
        role: &str,
    ) -> Result<Vec<AttachedPolicy>> {
        self.policies_for(account, Target::Role, role).await
    }

    /// ListEntitiesForPolicy: the users, groups and roles of this account
    /// the policy is attached to.
    pub async fn list_entities_for_policy(
        &self,
        account: &str,
        policy_name: &str,
        policy_type: PolicyType,
    ) -> Result<PolicyEntities> {
        validate::policy_name("PolicyName", policy_name)?;
        let mut tx = self.begin_read().await?;
        let exists = match policy_type {
            PolicyType::System => policy::system_policy(policy_name).is_some(),
            PolicyType::Custom => custom_policy_meta(&mut tx, account, policy_name)
                .await?
                .is_some(),
        };
        if !exists {
            return Err(IamError::missing(Missing::Policy, policy_name));
        }
        let mut entities = PolicyEntities::default();
        let rows = sqlx::query(
            "SELECT u.user_id, u.name, u.display_name, a.attached_at
             FROM policy_attachments a
             JOIN users u ON u.account_id = a.account_id AND u.user_id = a.principal_id
             WHERE a.account_id = $1 AND a.principal_type = 'User'
               AND a.policy_type = $2 AND a.policy_name = $3
             ORDER BY u.name",
        )
        .bind(account)
        .bind(policy_type.as_str())
        .bind(policy_name)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            entities.users.push(AttachedUser {
                user_id: row.try_get("user_id")?,
                user_name: row.try_get("name")?,
                display_name: row.try_get("display_name")?,
                attach_date: ts(row, "attached_at")?,
            });
        }
        let rows = sqlx::query(
            "SELECT g.name, g.comments, a.attached_at
             FROM policy_attachments a
             JOIN ram_groups g ON g.account_id = a.account_id AND g.group_id = a.principal_id
             WHERE a.account_id = $1 AND a.principal_type = 'Group'
               AND a.policy_type = $2 AND a.policy_name = $3
             ORDER BY g.name",
        )
        .bind(account)
        .bind(policy_type.as_str())
        .bind(policy_name)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            entities.groups.push(AttachedGroup {
                group_name: row.try_get("name")?,
                comments: row.try_get("comments")?,
                attach_date: ts(row, "attached_at")?,
            });
        }
        let rows = sqlx::query(
            "SELECT r.role_id, r.name, r.description, a.attached_at
             FROM policy_attachments a
             JOIN roles r ON r.account_id = a.account_id AND r.role_id = a.principal_id
             WHERE a.account_id = $1 AND a.principal_type = 'Role'
               AND a.policy_type = $2 AND a.policy_name = $3
             ORDER BY r.name_key",
        )
        .bind(account)
        .bind(policy_type.as_str())
        .bind(policy_name)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            let name: String = row.try_get("name")?;
            entities.roles.push(AttachedRole {
                role_id: row.try_get("role_id")?,
                arn: Entity::role(account, &name).to_string(),
                role_name: name,
                description: row.try_get("description")?,
                attach_date: ts(row, "attached_at")?,
            });
        }
        Ok(entities)
    }
}
