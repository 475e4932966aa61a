//! Accounts and their aliases (CreateAccount is rampart's own admin verb;
//! Set/Get/ClearAccountAlias are RAM's).

use sqlx::Row;

use super::ID_ATTEMPTS;
use crate::error::{is_unique_violation, Existing, IamError, Missing, Result};
use crate::model::{Account, NewAccount, Timestamp};
use crate::store::{ts, Store};
use crate::{ids, validate};

impl Store {
    /// Creates an account with a random 16-digit id and its first root
    /// access key, whose secret is returned here and never again.
    pub async fn create_account(&self) -> Result<NewAccount> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        let mut created = None;
        for _ in 0..ID_ATTEMPTS {
            let id = ids::account_id();
            let done = sqlx::query(
                "INSERT INTO accounts (account_id, alias, created_at, updated_at)
                 VALUES ($1, NULL, $2, $2) ON CONFLICT (account_id) DO NOTHING",
            )
            .bind(&id)
            .bind(now.0)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                created = Some(id);
                break;
            }
        }
        let account_id = created.ok_or_else(|| IamError::internal("no free account id"))?;
        let root_access_key = self
            .insert_access_key(&mut tx, &account_id, None, now)
            .await?;
        self.commit(tx).await?;
        Ok(NewAccount {
            account: Account {
                account_id,
                alias: None,
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

    /// SetAccountAlias. Aliases are unique across accounts (they name the
    /// account at RAM user logon); setting one replaces the account's
    /// previous alias.
    pub async fn set_account_alias(&self, account: &str, alias: &str) -> Result<()> {
        validate::account_alias(alias)?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let taken =
            sqlx::query("SELECT account_id FROM accounts WHERE alias = $1 AND account_id <> $2")
                .bind(alias)
                .bind(account)
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() {
            return Err(IamError::exists(Existing::AccountAlias, alias));
        }
        let result =
            sqlx::query("UPDATE accounts SET alias = $1, updated_at = $2 WHERE account_id = $3")
                .bind(alias)
                .bind(Timestamp::now().0)
                .bind(account)
                .execute(&mut *tx)
                .await;
        match result {
            Err(e) if is_unique_violation(&e) => {
                return Err(IamError::exists(Existing::AccountAlias, alias))
            }
            other => other?,
        };
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
