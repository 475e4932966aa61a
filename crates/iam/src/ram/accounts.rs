//! Accounts and their aliases (CreateAccount is rampart's own admin verb;
//! Set/Get/ClearAccountAlias are RAM's).

use sqlx::any::AnyQueryResult;
use sqlx::Row;

use super::ID_ATTEMPTS;
use crate::error::{is_unique_violation, Existing, IamError, Missing, Result};
use crate::model::{Account, NewAccount, Timestamp};
use crate::store::{count, ts, Store, Tx, FIRST_ACCOUNT_LOCK};
use crate::{ids, validate};

impl Store {
    /// Creates an account with a random 16-digit id, its alias when one is
    /// given, and its first root access key, whose secret is returned here
    /// and never again. One transaction: a refused alias (malformed, or held
    /// by another account) leaves no account behind.
    pub async fn create_account(&self, alias: Option<&str>) -> Result<NewAccount> {
        if let Some(alias) = alias {
            validate::account_alias(alias)?;
        }
        let mut tx = self.begin_write().await?;
        let created = self.insert_account(&mut tx, alias).await?;
        self.commit(tx).await?;
        Ok(created)
    }

    /// Creates an account (as [`Store::create_account`], without an alias)
    /// only when the store holds none yet: what a server does on its first
    /// start. `None` when some account already exists. Nodes starting
    /// together on one empty PostgreSQL store create exactly one: the check
    /// and the insert run in one transaction under an advisory lock there,
    /// and under SQLite's write lock.
    pub async fn create_first_account(&self) -> Result<Option<NewAccount>> {
        let mut tx = self.begin_write().await?;
        self.advisory_lock(&mut tx, FIRST_ACCOUNT_LOCK).await?;
        if count(&mut tx, "SELECT COUNT(*) FROM accounts", &[]).await? > 0 {
            return Ok(None);
        }
        let created = self.insert_account(&mut tx, None).await?;
        self.commit(tx).await?;
        Ok(Some(created))
    }

    /// Inserts an account row (with a fresh id) and its root key inside `tx`.
    /// `alias` has been validated.
    async fn insert_account(&self, tx: &mut Tx, alias: Option<&str>) -> Result<NewAccount> {
        let now = Timestamp::now();
        if let Some(alias) = alias {
            ensure_alias_free(tx, alias, None).await?;
        }
        let mut created = None;
        for _ in 0..ID_ATTEMPTS {
            let id = ids::account_id();
            let done = sqlx::query(
                "INSERT INTO accounts (account_id, alias, created_at, updated_at)
                 VALUES ($1, $2, $3, $3) ON CONFLICT (account_id) DO NOTHING",
            )
            .bind(&id)
            .bind(alias.map(str::to_string))
            .bind(now.0)
            .execute(&mut **tx)
            .await;
            if alias_conflict(done, alias)?.rows_affected() == 1 {
                created = Some(id);
                break;
            }
        }
        let account_id = created.ok_or_else(|| IamError::internal("no free account id"))?;
        let root_access_key = self.insert_access_key(tx, &account_id, None, now).await?;
        Ok(NewAccount {
            account: Account {
                account_id,
                alias: alias.map(str::to_string),
                create_date: now,
            },
            root_access_key,
        })
    }

    pub async fn get_account(&self, account: &str) -> Result<Account> {
        let row =
            sqlx::query("SELECT account_id, alias, created_at FROM accounts WHERE account_id = $1")
                .bind(account)
                .fetch_optional(&self.inner.pool)
                .await?
                .ok_or_else(|| IamError::missing(Missing::Account, account))?;
        Ok(Account {
            account_id: row.try_get("account_id")?,
            alias: row.try_get("alias")?,
            create_date: ts(&row, "created_at")?,
        })
    }

    /// The account an id or an alias names (`None`: no such account). Logins
    /// that name an account (the registry's `USER@ACCOUNT`) accept either.
    pub async fn resolve_account(&self, id_or_alias: &str) -> Result<Option<String>> {
        let row =
            sqlx::query("SELECT account_id FROM accounts WHERE account_id = $1 OR alias = $1")
                .bind(id_or_alias)
                .fetch_optional(&self.inner.pool)
                .await?;
        Ok(row.map(|r| r.try_get("account_id")).transpose()?)
    }

    /// SetAccountAlias. Aliases are unique across accounts (they name the
    /// account at RAM user logon); setting one replaces the account's
    /// previous alias.
    pub async fn set_account_alias(&self, account: &str, alias: &str) -> Result<()> {
        validate::account_alias(alias)?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        ensure_alias_free(&mut tx, alias, Some(account)).await?;
        let done =
            sqlx::query("UPDATE accounts SET alias = $1, updated_at = $2 WHERE account_id = $3")
                .bind(alias)
                .bind(Timestamp::now().0)
                .bind(account)
                .execute(&mut *tx)
                .await;
        alias_conflict(done, Some(alias))?;
        self.commit(tx).await
    }

    /// GetAccountAlias: `None` when no alias is set (RAM answers an empty
    /// `AccountAlias`).
    pub async fn get_account_alias(&self, account: &str) -> Result<Option<String>> {
        Ok(self.get_account(account).await?.alias)
    }

    /// ClearAccountAlias; clearing an account without an alias succeeds.
    pub async fn clear_account_alias(&self, account: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        sqlx::query("UPDATE accounts SET alias = NULL, updated_at = $1 WHERE account_id = $2")
            .bind(Timestamp::now().0)
            .bind(account)
            .execute(&mut *tx)
            .await?;
        self.commit(tx).await
    }
}

/// Refuses an alias that an account other than `owner` holds (aliases name
/// accounts at RAM user logon, so they are unique across accounts).
async fn ensure_alias_free(tx: &mut Tx, alias: &str, owner: Option<&str>) -> Result<()> {
    let taken =
        sqlx::query("SELECT account_id FROM accounts WHERE alias = $1 AND account_id <> $2")
            .bind(alias)
            .bind(owner.unwrap_or_default())
            .fetch_optional(&mut **tx)
            .await?;
    match taken {
        Some(_) => Err(IamError::exists(Existing::AccountAlias, alias)),
        None => Ok(()),
    }
}

/// The result of a write that sets `alias`, with a unique-index violation
/// (a racing writer took the alias after [`ensure_alias_free`]) reported as
/// the alias being taken.
fn alias_conflict(
    result: Result<AnyQueryResult, sqlx::Error>,
    alias: Option<&str>,
) -> Result<AnyQueryResult> {
    result.map_err(|e| match alias {
        Some(alias) if is_unique_violation(&e) => IamError::exists(Existing::AccountAlias, alias),
        _ => e.into(),
    })
}
