//! Credentials-URI bindings: a secret URL that hands out fresh temporary
//! credentials of one role, in the JSON the Alibaba Cloud credentials
//! libraries read from `ALIBABA_CLOUD_CREDENTIALS_URI`.
//!
//! The libraries send nothing but a GET of the URI, so whoever holds the
//! URI holds the role: the URI carries a binding id and a random secret
//! (about 256 bits). Only the secret's SHA-256 is stored (a digest of a
//! random secret needs no slow hash: there is nothing to guess), and it is
//! compared in constant time. A binding is made by an operator with direct
//! access to the store (`rampart credentials-uri create`), names the role
//! of its own account by name, and is removed to stop it handing out new
//! credentials; sessions it already handed out end with the role's other
//! sessions (RevokeRoleSessions) or at their expiry.

use sha2::{Digest as _, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;
use subtle::ConstantTimeEq as _;

use crate::error::{IamError, Missing, Result};
use crate::ids;
use crate::model::Timestamp;
use crate::ram::role_by_name;
use crate::store::{ts, Store};
use crate::validate;
use crate::Secret;

/// Sessions handed out last this long unless the binding says otherwise
/// (the role's `MaxSessionDuration` still caps it).
pub const DEFAULT_URI_SESSION_SECONDS: i64 = 3600;
const MIN_SESSION: i64 = 900;
const MAX_SESSION: i64 = 43_200;

/// A binding, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsUri {
    /// `cu-` and 20 letters and digits; the first segment of the URI path.
    pub binding_id: String,
    pub account_id: String,
    /// The role, by name (any case), in the binding's account.
    pub role_name: String,
    /// The `RoleSessionName` of every session handed out.
    pub session_name: String,
    /// How long each session lasts (capped by the role's maximum).
    pub duration_seconds: i64,
    pub create_date: Timestamp,
}

/// What `rampart credentials-uri create` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateCredentialsUri {
    pub role_name: String,
    /// Default: `uri-` and the binding id.
    pub session_name: Option<String>,
    /// 900–43200; default 3600.
    pub duration_seconds: Option<i64>,
}

/// A new binding and its secret: the only time the secret is known.
#[derive(Debug, Clone)]
pub struct NewCredentialsUri {
    pub binding: CredentialsUri,
    pub secret: Secret,
}

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn binding_from_row(row: &AnyRow) -> Result<CredentialsUri, sqlx::Error> {
    Ok(CredentialsUri {
        binding_id: row.try_get("binding_id")?,
        account_id: row.try_get("account_id")?,
        role_name: row.try_get("role_name")?,
        session_name: row.try_get("session_name")?,
        duration_seconds: row.try_get("duration_seconds")?,
        create_date: ts(row, "created_at")?,
    })
}

const COLUMNS: &str =
    "binding_id, account_id, role_name, session_name, duration_seconds, created_at";

impl Store {
    /// Makes a binding for the role `input.role_name` of `account` (which
    /// must exist now; `EntityNotExist.Role` otherwise).
    pub async fn create_credentials_uri(
        &self,
        account: &str,
        input: &CreateCredentialsUri,
    ) -> Result<NewCredentialsUri> {
        validate::role_name("RoleName", &input.role_name)?;
        if let Some(name) = &input.session_name {
            validate::session_name("RoleSessionName", name)?;
        }
        let duration = validate::range(
            "DurationSeconds",
            input
                .duration_seconds
                .unwrap_or(DEFAULT_URI_SESSION_SECONDS),
            MIN_SESSION,
            MAX_SESSION,
        )?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let role = role_by_name(&mut tx, account, &input.role_name)
            .await?
            .ok_or_else(|| IamError::missing(Missing::Role, &input.role_name))?;
        let binding_id = ids::credentials_uri_id();
        let secret = ids::credentials_uri_secret();
        let binding = CredentialsUri {
            session_name: input
                .session_name
                .clone()
                .unwrap_or_else(|| format!("uri-{binding_id}")),
            binding_id,
            account_id: account.to_string(),
            role_name: role.name,
            duration_seconds: duration,
            create_date: Timestamp::now(),
        };
        sqlx::query(
            "INSERT INTO credential_uris (binding_id, account_id, role_name, session_name,
                 duration_seconds, secret_sha256, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&binding.binding_id)
        .bind(account)
        .bind(&binding.role_name)
        .bind(&binding.session_name)
        .bind(binding.duration_seconds)
        .bind(digest(&secret))
        .bind(binding.create_date.0)
        .execute(&mut *tx)
        .await?;
        self.commit(tx).await?;
        Ok(NewCredentialsUri {
            binding,
            secret: Secret::new(secret),
        })
    }

    /// The account's bindings, by id (secrets are never shown again).
    pub async fn list_credentials_uris(&self, account: &str) -> Result<Vec<CredentialsUri>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM credential_uris WHERE account_id = $1 ORDER BY binding_id"
        )))
        .bind(account)
        .fetch_all(&self.inner.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(binding_from_row(row)?);
        }
        Ok(out)
    }

    /// Removes a binding: its URI hands out nothing from now on.
    pub async fn delete_credentials_uri(&self, account: &str, binding_id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let done =
            sqlx::query("DELETE FROM credential_uris WHERE account_id = $1 AND binding_id = $2")
                .bind(account)
                .bind(binding_id)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(IamError::missing(Missing::CredentialsUri, binding_id));
        }
        self.commit(tx).await
    }

    /// The binding `binding_id` when `secret` is its secret; `None` when
    /// there is no such binding or the secret is wrong (the caller is not
    /// told which).
    pub async fn open_credentials_uri(
        &self,
        binding_id: &str,
        secret: &str,
    ) -> Result<Option<CredentialsUri>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS}, secret_sha256 FROM credential_uris WHERE binding_id = $1"
        )))
        .bind(binding_id)
        .fetch_optional(&self.inner.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let stored: String = row.try_get("secret_sha256")?;
        let given = digest(secret);
        if !bool::from(stored.as_bytes().ct_eq(given.as_bytes())) {
            return Ok(None);
        }
        Ok(Some(binding_from_row(&row)?))
    }
}
