//! Access keys: CreateAccessKey, UpdateAccessKey, DeleteAccessKey,
//! ListAccessKeys, GetAccessKeyLastUsed, and the lookup that
//! authenticates requests.
//!
//! Every operation takes `user_name: Option<&str>` as RAM's `UserName`
//! parameter: `Some(name)` is that RAM user's keys, `None` the account's
//! root keys. (When a RAM user calls without `UserName`, RAM means the
//! caller's own keys; the HTTP layer passes the caller's name then.)

use auth::Secret;
use sqlx::AnyConnection;
use sqlx::Row;

use super::{user_id_by_name, ID_ATTEMPTS};
use crate::error::{IamError, Limit, Missing, Result};
use crate::model::{AccessKey, KeyRecord, KeyStatus, NewAccessKey, Principal, Timestamp};
use crate::secret::{open_secret, seal_secret};
use crate::store::{count, limit_i64, opt_ts, ts, Store, Tx};
use crate::{ids, validate};

/// Writes of last-use times are spaced at least this far apart per key.
const LAST_USED_GRANULARITY: i64 = 60;

fn status_of(text: &str) -> Result<KeyStatus> {
    KeyStatus::parse(text).map_err(|_| IamError::internal("unknown access key status in the store"))
}

impl Store {
    /// Resolves the owner of keys: a user's id, or `""` for the root (the
    /// `COALESCE(user_id, '')` form every key query compares with).
    async fn key_owner(
        &self,
        conn: &mut AnyConnection,
        account: &str,
        user_name: Option<&str>,
    ) -> Result<String> {
        match user_name {
            None => Ok(String::new()),
            Some(name) => {
                validate::user_name("UserName", name)?;
                user_id_by_name(conn, account, name)
                    .await?
                    .ok_or_else(|| IamError::missing(Missing::User, name))
            }
        }
    }

    /// Generates, seals and inserts a new key inside `tx`.
    pub(crate) async fn insert_access_key(
        &self,
        tx: &mut Tx,
        account: &str,
        user_id: Option<&str>,
        now: Timestamp,
    ) -> Result<NewAccessKey> {
        let secret = Secret::new(ids::access_key_secret());
        for _ in 0..ID_ATTEMPTS {
            let id = ids::access_key_id();
            let (key_id, sealed) = seal_secret(&self.inner.keyring, account, &id, &secret)?;
            let done = sqlx::query(
                "INSERT INTO access_keys (access_key_id, account_id, user_id, status,
                     secret_key_id, secret_sealed, created_at, last_used_at)
                 VALUES ($1, $2, $3, 'Active', $4, $5, $6, NULL)
                 ON CONFLICT (access_key_id) DO NOTHING",
            )
            .bind(&id)
            .bind(account)
            .bind(user_id.map(str::to_string))
            .bind(key_id)
            .bind(sealed)
            .bind(now.0)
            .execute(&mut **tx)
            .await?;
            if done.rows_affected() == 1 {
                return Ok(NewAccessKey {
                    access_key_id: id,
                    secret,
                    status: KeyStatus::Active,
                    create_date: now,
                });
            }
        }
        Err(IamError::internal("no free access key id"))
    }

    /// CreateAccessKey: a new Active key (at most 2 per user, and 2 for the
    /// root). The only call that returns the secret.
    pub async fn create_access_key(
        &self,
        account: &str,
        user_name: Option<&str>,
    ) -> Result<NewAccessKey> {
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let owner = self.key_owner(&mut tx, account, user_name).await?;
        let existing = count(
            &mut tx,
            "SELECT COUNT(*) FROM access_keys WHERE account_id = $1 AND COALESCE(user_id, '') = $2",
            &[account, &owner],
        )
        .await?;
        let limit = self.inner.limits.access_keys_per_user;
        if existing >= limit_i64(limit) {
            return Err(IamError::limit(Limit::UserAccessKey, limit));
        }
        let owner_id = (!owner.is_empty()).then_some(owner.as_str());
        let key = self
            .insert_access_key(&mut tx, account, owner_id, Timestamp::now())
            .await?;
        self.commit(tx).await?;
        Ok(key)
    }

    /// UpdateAccessKey: sets Active or Inactive.
    pub async fn update_access_key(
        &self,
        account: &str,
        user_name: Option<&str>,
        access_key_id: &str,
        status: KeyStatus,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let owner = self.key_owner(&mut tx, account, user_name).await?;
        let done = sqlx::query(
            "UPDATE access_keys SET status = $1
             WHERE access_key_id = $2 AND account_id = $3 AND COALESCE(user_id, '') = $4",
        )
        .bind(status.as_str())
        .bind(access_key_id)
        .bind(account)
        .bind(&owner)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(IamError::missing(Missing::UserAccessKey, access_key_id));
        }
        self.commit(tx).await
    }

    /// DeleteAccessKey.
    pub async fn delete_access_key(
        &self,
        account: &str,
        user_name: Option<&str>,
        access_key_id: &str,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let owner = self.key_owner(&mut tx, account, user_name).await?;
        let done = sqlx::query(
            "DELETE FROM access_keys
             WHERE access_key_id = $1 AND account_id = $2 AND COALESCE(user_id, '') = $3",
        )
        .bind(access_key_id)
        .bind(account)
        .bind(&owner)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(IamError::missing(Missing::UserAccessKey, access_key_id));
        }
        self.commit(tx).await
    }

    /// ListAccessKeys, oldest first. Secrets are never listed.
    pub async fn list_access_keys(
        &self,
        account: &str,
        user_name: Option<&str>,
    ) -> Result<Vec<AccessKey>> {
        let mut tx = self.begin_read().await?;
        let owner = self.key_owner(&mut tx, account, user_name).await?;
        let rows = sqlx::query(
            "SELECT access_key_id, status, created_at FROM access_keys
             WHERE account_id = $1 AND COALESCE(user_id, '') = $2
             ORDER BY created_at, access_key_id",
        )
        .bind(account)
        .bind(&owner)
        .fetch_all(&mut *tx)
        .await?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            keys.push(AccessKey {
                access_key_id: row.try_get("access_key_id")?,
                status: status_of(&row.try_get::<String, _>("status")?)?,
                create_date: ts(row, "created_at")?,
            });
        }
        Ok(keys)
    }

    /// GetAccessKeyLastUsed: `None` if the key was never used. Recorded to
    /// the minute (see [`Store::record_access_key_use`]).
    pub async fn get_access_key_last_used(
        &self,
        account: &str,
        user_name: Option<&str>,
        access_key_id: &str,
    ) -> Result<Option<Timestamp>> {
        let mut tx = self.begin_read().await?;
        let owner = self.key_owner(&mut tx, account, user_name).await?;
        let row = sqlx::query(
            "SELECT last_used_at FROM access_keys
             WHERE access_key_id = $1 AND account_id = $2 AND COALESCE(user_id, '') = $3",
        )
        .bind(access_key_id)
        .bind(account)
        .bind(&owner)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| IamError::missing(Missing::UserAccessKey, access_key_id))?;
        Ok(opt_ts(&row, "last_used_at")?)
    }

    /// Authentication lookup for the HTTP layer: who a key belongs to, its
    /// status, and its decrypted secret (to verify the request signature
    /// with). `None` if no such key exists. Not scoped by account: the key
    /// id is what names the account.
    ///
    /// Cached under the store's generation like roles and users: any
    /// committed write (here, or on another PostgreSQL node) makes the next
    /// lookup read the database again, so a key deactivated or deleted is
    /// refused on the very next request.
    pub async fn access_key(&self, access_key_id: &str) -> Result<Option<KeyRecord>> {
        let generation = self.inner.changes.current();
        if let Some(generation) = generation {
            if let Some(hit) = self.inner.keys.get(access_key_id, generation) {
                return Ok(hit);
            }
        }
        let record = self.read_access_key(access_key_id).await?;
        if let Some(generation) = generation {
            self.inner
                .keys
                .put(access_key_id.to_string(), generation, record.clone());
        }
        Ok(record)
    }

    async fn read_access_key(&self, access_key_id: &str) -> Result<Option<KeyRecord>> {
        let row = sqlx::query(
            "SELECT k.account_id, k.user_id, k.status, k.secret_sealed,
                    u.name AS user_name
             FROM access_keys k
             LEFT JOIN users u ON u.account_id = k.account_id AND u.user_id = k.user_id
             WHERE k.access_key_id = $1",
        )
        .bind(access_key_id)
        .fetch_optional(&self.inner.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let account: String = row.try_get("account_id")?;
        let user_id: Option<String> = row.try_get("user_id")?;
        let user_name: Option<String> = row.try_get("user_name")?;
        let principal = match (user_id, user_name) {
            (None, _) => Principal::Root {
                account: account.clone(),
            },
            (Some(user_id), Some(name)) => Principal::User {
                account: account.clone(),
                user_id,
                name,
            },
            // A key whose user is gone (foreign keys forbid it): unknown.
            (Some(_), None) => return Ok(None),
        };
        let secret = open_secret(
            &self.inner.keyring,
            &row.try_get::<String, _>("secret_sealed")?,
            &account,
            access_key_id,
        )?;
        Ok(Some(KeyRecord {
            access_key_id: access_key_id.to_string(),
            principal,
            status: status_of(&row.try_get::<String, _>("status")?)?,
            secret,
        }))
    }

    /// Records that a key was just used, for GetAccessKeyLastUsed. Call it
    /// after the request's signature has been verified (a forged request
    /// must not count as use). Cheap on the hot path: a key is written at
    /// most once a minute per process, and the write is a single indexed
    /// UPDATE outside any transaction; it does not invalidate caches.
    pub async fn record_access_key_use(&self, access_key_id: &str) -> Result<()> {
        let now = Timestamp::now().0;
        {
            let mut recent = self
                .inner
                .key_use
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(last) = recent.get(access_key_id) {
                if now - *last < LAST_USED_GRANULARITY {
                    return Ok(());
                }
            }
            if recent.len() >= 100_000 {
                recent.clear();
            }
            recent.insert(access_key_id.to_string(), now);
        }
        sqlx::query("UPDATE access_keys SET last_used_at = $1 WHERE access_key_id = $2")
            .bind(now)
            .bind(access_key_id)
            .execute(&self.inner.pool)
            .await?;
        Ok(())
    }
}
