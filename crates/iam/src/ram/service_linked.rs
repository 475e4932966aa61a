//! Service-linked roles: roles a service owns inside an account
//! (`CreateServiceLinkedRole`, `DeleteServiceLinkedRole`,
//! `GetServiceLinkedRoleTemplate`). The trust policy admits the service
//! alone, acting for the role's own account (the bare service name, see
//! `policy::trust`), and the permissions are the service's system policy;
//! neither can be changed by users (UpdateRole, DeleteRole and policy
//! attachments on such a role are `NoPermission`). A service may have its
//! role made the first time it needs it ([`Store::ensure_service_linked_role`]).

use policy::Entity;

use super::role_by_name;
use crate::error::{Existing, IamError, Missing, Problem, Result};
use crate::model::{Role, Timestamp};
use crate::store::{next_seq, Store};
use crate::{ids, validate};

/// What a service's linked role is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceLinkedTemplate {
    /// `eci.aliyuncs.com`.
    pub service: &'static str,
    /// `AliyunServiceRoleForECI`.
    pub role_name: &'static str,
    /// The system policy attached to it.
    pub policy: &'static str,
    pub description: &'static str,
}

/// The templates rampart knows.
pub const SERVICE_LINKED_TEMPLATES: [ServiceLinkedTemplate; 1] = [ServiceLinkedTemplate {
    service: "eci.aliyuncs.com",
    role_name: "AliyunServiceRoleForECI",
    policy: "AliyunServiceRolePolicyForECI",
    description: "Elastic Container Instance uses this role to pull images from Container Registry in your account.",
}];

/// The template of `service`, if it has one.
pub fn service_linked_template(service: &str) -> Option<&'static ServiceLinkedTemplate> {
    SERVICE_LINKED_TEMPLATES
        .iter()
        .find(|t| t.service == service)
}

fn template_or_invalid(service: &str) -> Result<&'static ServiceLinkedTemplate> {
    service_linked_template(service).ok_or(IamError::invalid("ServiceName", Problem::Value))
}

/// The trust policy of a service's linked role.
fn trust_policy(service: &str) -> String {
    serde_json::json!({
        "Version": "1",
        "Statement": [{
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"Service": [service]}
        }]
    })
    .to_string()
}

impl Store {
    /// CreateServiceLinkedRole: the service's role, with its trust policy
    /// and its system policy attached, in one transaction. A second role
    /// for the same service (`CustomSuffix`) is not allowed.
    pub async fn create_service_linked_role(
        &self,
        account: &str,
        service: &str,
        description: Option<&str>,
        custom_suffix: Option<&str>,
    ) -> Result<Role> {
        let template = template_or_invalid(service)?;
        if custom_suffix.is_some_and(|s| !s.is_empty()) {
            return Err(IamError::invalid("CustomSuffix", Problem::Value));
        }
        let description = description.filter(|d| !d.is_empty());
        validate::optional(description, |v| validate::description("Description", v))?;
        let description = description.unwrap_or(template.description);
        let trust = trust_policy(service);
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        if role_by_name(&mut tx, account, template.role_name)
            .await?
            .is_some()
        {
            return Err(IamError::exists(Existing::Role, template.role_name));
        }
        let role_id = ids::role_id();
        sqlx::query(
            "INSERT INTO roles (account_id, role_id, name, name_key, description,
                 trust_policy, max_session_duration, created_at, updated_at, service_name)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
        )
        .bind(account)
        .bind(&role_id)
        .bind(template.role_name)
        .bind(template.role_name.to_ascii_lowercase())
        .bind(description)
        .bind(&trust)
        .bind(super::roles::DEFAULT_MAX_SESSION_DURATION)
        .bind(now.0)
        .bind(service)
        .execute(&mut *tx)
        .await?;
        let seq = next_seq(
            &mut tx,
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM policy_attachments WHERE account_id = $1",
            account,
        )
        .await?;
        sqlx::query(
            "INSERT INTO policy_attachments (account_id, principal_type, principal_id,
                 policy_type, policy_name, attached_at, seq)
             VALUES ($1, 'Role', $2, 'System', $3, $4, $5)",
        )
        .bind(account)
        .bind(&role_id)
        .bind(template.policy)
        .bind(now.0)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
        self.commit(tx).await?;
        Ok(Role {
            role_id,
            name: template.role_name.to_owned(),
            arn: Entity::role(account, template.role_name).to_string(),
            description: Some(description.to_owned()),
            trust_policy: trust,
            max_session_duration: super::roles::DEFAULT_MAX_SESSION_DURATION,
            create_date: now,
            update_date: now,
            revoked_before: None,
            service_name: Some(service.to_owned()),
        })
    }

    /// The service's linked role in `account`, made now if the service has
    /// a template and the role does not exist yet (what happens the first
    /// time a service needs it). `None`: the role `name` is not the
    /// service's linked role.
    pub async fn ensure_service_linked_role(
        &self,
        account: &str,
        service: &str,
        name: &str,
    ) -> Result<Option<Role>> {
        let Some(template) = service_linked_template(service) else {
            return Ok(None);
        };
        if !template.role_name.eq_ignore_ascii_case(name) {
            return Ok(None);
        }
        if let Some(role) = self.role_record(account, name).await? {
            return Ok(Some(role));
        }
        match self
            .create_service_linked_role(account, service, None, None)
            .await
        {
            Ok(role) => Ok(Some(role)),
            // Made meanwhile by another request.
            Err(IamError::EntityAlreadyExists { .. }) => self.role_record(account, name).await,
            Err(e) => Err(e),
        }
    }

    /// DeleteServiceLinkedRole: the role and its attachment. Sessions of
    /// the role stop working at their next request (the role is gone).
    pub async fn delete_service_linked_role(&self, account: &str, name: &str) -> Result<()> {
        validate::role_name("RoleName", name)?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let role = role_by_name(&mut tx, account, name)
            .await?
            .ok_or_else(|| IamError::missing(Missing::Role, name))?;
        if role.service_name.is_none() {
            return Err(IamError::invalid("RoleName", Problem::Value));
        }
        sqlx::query(
            "DELETE FROM policy_attachments
             WHERE account_id = $1 AND principal_type = 'Role' AND principal_id = $2",
        )
        .bind(account)
        .bind(&role.role_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM roles WHERE account_id = $1 AND role_id = $2")
            .bind(account)
            .bind(&role.role_id)
            .execute(&mut *tx)
            .await?;
        self.commit(tx).await
    }
}
