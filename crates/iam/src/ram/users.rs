//! RAM users: CreateUser, GetUser, UpdateUser (including rename),
//! DeleteUser, ListUsers.

use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use sqlx::Row;

use super::ID_ATTEMPTS;
use crate::error::{is_unique_violation, Conflict, Existing, IamError, Limit, Missing, Result};
use crate::model::{CreateUser, ListOptions, Listing, Timestamp, UpdateUser, User};
use crate::store::cache::scoped;
use crate::store::{
    count, decode_marker, finish_page, given, limit_i64, opt_ts, page_size, refuse_if_referenced,
    ts, Store,
};
use crate::{ids, validate};

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        mobile_phone: row.try_get("mobile_phone")?,
        email: row.try_get("email")?,
        comments: row.try_get("comments")?,
        create_date: ts(row, "created_at")?,
        update_date: ts(row, "updated_at")?,
        last_login_date: opt_ts(row, "last_login_at")?,
    })
}

/// The id of the user named `name` in `account`.
pub(crate) async fn user_id_by_name(
    conn: &mut AnyConnection,
    account: &str,
    name: &str,
) -> Result<Option<String>> {
    let row = sqlx::query("SELECT user_id FROM users WHERE account_id = $1 AND name = $2")
        .bind(account)
        .bind(name)
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        Some(row) => Some(row.try_get("user_id")?),
        None => None,
    })
}

async fn user_by_name(conn: &mut AnyConnection, account: &str, name: &str) -> Result<User> {
    let row = sqlx::query(
        "SELECT user_id, name, display_name, mobile_phone, email, comments,
                created_at, updated_at, last_login_at
         FROM users WHERE account_id = $1 AND name = $2",
    )
    .bind(account)
    .bind(name)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| IamError::missing(Missing::User, name))?;
    Ok(user_from_row(&row)?)
}

impl Store {
    /// CreateUser.
    pub async fn create_user(&self, account: &str, input: &CreateUser) -> Result<User> {
        validate::user_name("UserName", &input.name)?;
        let display_name = given(input.display_name.as_deref());
        let mobile_phone = given(input.mobile_phone.as_deref());
        let email = given(input.email.as_deref());
        let comments = given(input.comments.as_deref());
        validate::optional(display_name, |v| validate::short_text("DisplayName", v))?;
        validate::optional(mobile_phone, |v| validate::mobile_phone("MobilePhone", v))?;
        validate::optional(email, |v| validate::email("Email", v))?;
        validate::optional(comments, |v| validate::short_text("Comments", v))?;

        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        if user_id_by_name(&mut tx, account, &input.name)
            .await?
            .is_some()
        {
            return Err(IamError::exists(Existing::User, &input.name));
        }
        let limit = self.inner.limits.users;
        let existing = count(
            &mut tx,
            "SELECT COUNT(*) FROM users WHERE account_id = $1",
            &[account],
        )
        .await?;
        if existing >= limit_i64(limit) {
            return Err(IamError::limit(Limit::User, limit));
        }
        let now = Timestamp::now();
        for _ in 0..ID_ATTEMPTS {
            let user_id = ids::user_id();
            let result = sqlx::query(
                "INSERT INTO users (account_id, user_id, name, display_name, mobile_phone,
                     email, comments, created_at, updated_at, last_login_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, NULL)
                 ON CONFLICT (account_id, user_id) DO NOTHING",
            )
            .bind(account)
            .bind(&user_id)
            .bind(&input.name)
            .bind(display_name.map(str::to_string))
            .bind(mobile_phone.map(str::to_string))
            .bind(email.map(str::to_string))
            .bind(comments.map(str::to_string))
            .bind(now.0)
            .execute(&mut *tx)
            .await;
            let done = match result {
                Err(e) if is_unique_violation(&e) => {
                    return Err(IamError::exists(Existing::User, &input.name))
                }
                other => other?,
            };
            if done.rows_affected() == 1 {
                self.commit(tx).await?;
                return Ok(User {
                    user_id,
                    name: input.name.clone(),
                    display_name: display_name.map(str::to_string),
                    mobile_phone: mobile_phone.map(str::to_string),
                    email: email.map(str::to_string),
                    comments: comments.map(str::to_string),
                    create_date: now,
                    update_date: now,
                    last_login_date: None,
                });
            }
        }
        Err(IamError::internal("no free user id"))
    }

    /// GetUser.
    pub async fn get_user(&self, account: &str, name: &str) -> Result<User> {
        validate::user_name("UserName", name)?;
        let mut conn = self.inner.pool.acquire().await?;
        user_by_name(&mut conn, account, name).await
    }

    /// The user with this id in `account`, or `None` (a deleted user, or an
    /// id that never existed). STS asks it on every request of a session
    /// whose chain a RAM user started, so it is served from a cache stamped
    /// with the store's generation: a deletion is seen by the next lookup.
    pub async fn user_by_id(&self, account: &str, user_id: &str) -> Result<Option<User>> {
        let key = scoped(account, user_id);
        let generation = self.inner.changes.current();
        if let Some(generation) = generation {
            if let Some(hit) = self.inner.users.get(&key, generation) {
                return Ok(hit);
            }
        }
        let row = sqlx::query(
            "SELECT user_id, name, display_name, mobile_phone, email, comments,
                    created_at, updated_at, last_login_at
             FROM users WHERE account_id = $1 AND user_id = $2",
        )
        .bind(account)
        .bind(user_id)
        .fetch_optional(&self.inner.pool)
        .await?;
        let user = match row {
            Some(row) => Some(user_from_row(&row)?),
            None => None,
        };
        if let Some(generation) = generation {
            self.inner.users.put(key, generation, user.clone());
        }
        Ok(user)
    }

    /// UpdateUser. `New*` fields that are `None` stay as they are; an empty
    /// string clears an optional field. A rename keeps the user's id, keys,
    /// groups and policies.
    pub async fn update_user(
        &self,
        account: &str,
        name: &str,
        update: &UpdateUser,
    ) -> Result<User> {
        validate::user_name("UserName", name)?;
        if let Some(new_name) = &update.new_name {
            validate::user_name("NewUserName", new_name)?;
        }
        validate::optional(given(update.new_display_name.as_deref()), |v| {
            validate::short_text("NewDisplayName", v)
        })?;
        validate::optional(given(update.new_mobile_phone.as_deref()), |v| {
            validate::mobile_phone("NewMobilePhone", v)
        })?;
        validate::optional(given(update.new_email.as_deref()), |v| {
            validate::email("NewEmail", v)
        })?;
        validate::optional(given(update.new_comments.as_deref()), |v| {
            validate::short_text("NewComments", v)
        })?;

        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let mut user = user_by_name(&mut tx, account, name).await?;
        if let Some(new_name) = &update.new_name {
            if *new_name != user.name {
                if user_id_by_name(&mut tx, account, new_name).await?.is_some() {
                    return Err(IamError::exists(Existing::User, new_name));
                }
                user.name = new_name.clone();
            }
        }
        let set = |field: &mut Option<String>, new: &Option<String>| {
            if let Some(new) = new {
                *field = given(Some(new)).map(str::to_string);
            }
        };
        set(&mut user.display_name, &update.new_display_name);
        set(&mut user.mobile_phone, &update.new_mobile_phone);
        set(&mut user.email, &update.new_email);
        set(&mut user.comments, &update.new_comments);
        user.update_date = Timestamp::now();
        let result = sqlx::query(
            "UPDATE users SET name = $1, display_name = $2, mobile_phone = $3, email = $4,
                 comments = $5, updated_at = $6
             WHERE account_id = $7 AND user_id = $8",
        )
        .bind(&user.name)
        .bind(user.display_name.clone())
        .bind(user.mobile_phone.clone())
        .bind(user.email.clone())
        .bind(user.comments.clone())
        .bind(user.update_date.0)
        .bind(account)
        .bind(&user.user_id)
        .execute(&mut *tx)
        .await;
        match result {
            Err(e) if is_unique_violation(&e) => {
                return Err(IamError::exists(Existing::User, &user.name))
            }
            other => other?,
        };
        self.commit(tx).await?;
        Ok(user)
    }

    /// DeleteUser: refused while the user is in a group, has access keys or
    /// has policies attached (RAM deletes nothing implicitly).
    pub async fn delete_user(&self, account: &str, name: &str) -> Result<()> {
        validate::user_name("UserName", name)?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let user_id = user_id_by_name(&mut tx, account, name)
            .await?
            .ok_or_else(|| IamError::missing(Missing::User, name))?;
        let checks: [(&'static str, Conflict); 3] = [
            (
                "SELECT COUNT(*) FROM group_members WHERE account_id = $1 AND user_id = $2",
                Conflict::UserGroup,
            ),
            (
                "SELECT COUNT(*) FROM access_keys WHERE account_id = $1 AND user_id = $2",
                Conflict::UserAccessKey,
            ),
            (
                "SELECT COUNT(*) FROM policy_attachments
                 WHERE account_id = $1 AND principal_type = 'User' AND principal_id = $2",
                Conflict::UserPolicy,
            ),
        ];
        refuse_if_referenced(&mut tx, &checks, account, &user_id, name).await?;
        sqlx::query("DELETE FROM users WHERE account_id = $1 AND user_id = $2")
            .bind(account)
            .bind(&user_id)
            .execute(&mut *tx)
            .await?;
        self.commit(tx).await
    }

    /// ListUsers, by name.
    pub async fn list_users(&self, account: &str, options: &ListOptions) -> Result<Listing<User>> {
        let size = page_size(options)?;
        let after = decode_marker(options)?.unwrap_or_default();
        let rows = sqlx::query(
            "SELECT user_id, name, display_name, mobile_phone, email, comments,
                    created_at, updated_at, last_login_at
             FROM users WHERE account_id = $1 AND name > $2
             ORDER BY name LIMIT $3",
        )
        .bind(account)
        .bind(after)
        .bind(size + 1)
        .fetch_all(&self.inner.pool)
        .await?;
        let mut users = Vec::with_capacity(rows.len());
        for row in &rows {
            users.push(user_from_row(row)?);
        }
        Ok(finish_page(users, size, |u| u.name.clone()))
    }
}
