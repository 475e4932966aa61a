//! Service principals: platform components (`sae.aliyuncs.com`,
//! `eci.aliyuncs.com`, `cr.aliyuncs.com`, or any service the operator
//! registers) that call rampart as themselves, never as a RAM user.
//!
//! The operator issues a service its keys (`rampart service key create`);
//! a service signs its calls with them like any AccessKey (the id starts
//! with [`SERVICE_KEY_PREFIX`]), and every call names the account it acts
//! for. What a service may do is decided by trust policies alone: the
//! bare service name admits it acting for the role's own account,
//! `ACCOUNT@service` acting for that account (see `policy::trust`).

use auth::Secret;
use sqlx::Row as _;

use crate::error::{IamError, Missing, Problem, Result};
use crate::model::Timestamp;
use crate::secret::{open_secret, seal_secret};
use crate::store::Store;

/// Every service key id starts with this, so a request's signer is known
/// to be a service before any lookup.
pub const SERVICE_KEY_PREFIX: &str = "LTSV";

/// Whether an AccessKeyId names a service key.
pub fn is_service_key_id(access_key_id: &str) -> bool {
    access_key_id.starts_with(SERVICE_KEY_PREFIX)
}

/// The sealing "account" of a service's secrets.
fn owner(service: &str) -> String {
    format!("service:{service}")
}

/// A service key as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceKey {
    pub access_key_id: String,
    pub service: String,
    pub create_date: Timestamp,
}

/// A new key, with its secret (shown once).
#[derive(Debug, Clone)]
pub struct NewServiceKey {
    pub key: ServiceKey,
    pub secret: Secret,
}

/// A service key for signature checks.
#[derive(Debug, Clone)]
pub struct ServiceKeyRecord {
    pub service: String,
    pub secret: Secret,
}

/// Checks a service name: DNS-like, lower case, at least two labels
/// (`sae.aliyuncs.com`, `deploy.example.internal`), at most 128 characters.
pub fn check_service_name(name: &str) -> Result<()> {
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    if name.len() > 128 || !name.contains('.') || !labels_ok {
        return Err(IamError::invalid("ServiceName", Problem::Format));
    }
    Ok(())
}

impl Store {
    /// Issues a key to `service`.
    pub async fn create_service_key(&self, service: &str) -> Result<NewServiceKey> {
        check_service_name(service)?;
        let access_key_id = format!(
            "{SERVICE_KEY_PREFIX}{}",
            crate::ids::access_key_id().trim_start_matches("LTAI")
        );
        let secret = Secret::new(crate::ids::access_key_secret());
        let (key_id, sealed) = seal_secret(
            &self.inner.keyring,
            &owner(service),
            &access_key_id,
            &secret,
        )?;
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO service_keys (access_key_id, service, secret_key_id, secret_sealed, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&access_key_id)
        .bind(service)
        .bind(&key_id)
        .bind(&sealed)
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        self.commit(tx).await?;
        Ok(NewServiceKey {
            key: ServiceKey {
                access_key_id,
                service: service.to_owned(),
                create_date: now,
            },
            secret,
        })
    }

    /// The key `access_key_id`, for signature checks (`None`: no such key).
    pub async fn service_key(&self, access_key_id: &str) -> Result<Option<ServiceKeyRecord>> {
        if !is_service_key_id(access_key_id) {
            return Ok(None);
        }
        let row =
            sqlx::query("SELECT service, secret_sealed FROM service_keys WHERE access_key_id = $1")
                .bind(access_key_id)
                .fetch_optional(&self.inner.pool)
                .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let service: String = row.try_get("service")?;
        let sealed: String = row.try_get("secret_sealed")?;
        let secret = open_secret(
            &self.inner.keyring,
            &sealed,
            &owner(&service),
            access_key_id,
        )?;
        Ok(Some(ServiceKeyRecord { service, secret }))
    }

    /// Every service key, oldest first.
    pub async fn list_service_keys(&self) -> Result<Vec<ServiceKey>> {
        let rows = sqlx::query(
            "SELECT access_key_id, service, created_at FROM service_keys ORDER BY created_at, access_key_id",
        )
        .fetch_all(&self.inner.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ServiceKey {
                    access_key_id: row.try_get("access_key_id")?,
                    service: row.try_get("service")?,
                    create_date: Timestamp(row.try_get("created_at")?),
                })
            })
            .collect()
    }

    /// Withdraws a key: its next request is refused.
    pub async fn delete_service_key(&self, access_key_id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM service_keys WHERE access_key_id = $1")
            .bind(access_key_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(IamError::missing(Missing::ServiceKey, access_key_id));
        }
        self.commit(tx).await
    }
}
