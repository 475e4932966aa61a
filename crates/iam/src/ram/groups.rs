//! User groups: CreateGroup, GetGroup, UpdateGroup (including rename),
//! DeleteGroup, ListGroups, AddUserToGroup, RemoveUserFromGroup,
//! ListGroupsForUser, ListUsersForGroup.

use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use sqlx::Row;

use super::{user_id_by_name, ID_ATTEMPTS};
use crate::error::{is_unique_violation, Conflict, Existing, IamError, Limit, Missing, Result};
use crate::model::{Group, GroupMember, GroupMembership, ListOptions, Listing, Timestamp};
use crate::store::{
    count, decode_marker, finish_page, given, limit_i64, next_seq, page_size, refuse_if_referenced,
    ts, Store,
};
use crate::{ids, validate};

fn group_from_row(row: &AnyRow) -> Result<Group, sqlx::Error> {
    Ok(Group {
        group_id: row.try_get("group_id")?,
        name: row.try_get("name")?,
        comments: row.try_get("comments")?,
        create_date: ts(row, "created_at")?,
        update_date: ts(row, "updated_at")?,
    })
}

pub(crate) async fn group_id_by_name(
    conn: &mut AnyConnection,
    account: &str,
    name: &str,
) -> Result<Option<String>> {
    let row = sqlx::query("SELECT group_id FROM ram_groups WHERE account_id = $1 AND name = $2")
        .bind(account)
        .bind(name)
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        Some(row) => Some(row.try_get("group_id")?),
        None => None,
    })
}

async fn group_by_name(conn: &mut AnyConnection, account: &str, name: &str) -> Result<Group> {
    let row = sqlx::query(
        "SELECT group_id, name, comments, created_at, updated_at
         FROM ram_groups WHERE account_id = $1 AND name = $2",
    )
    .bind(account)
    .bind(name)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| IamError::missing(Missing::Group, name))?;
    Ok(group_from_row(&row)?)
}

impl Store {
    /// CreateGroup.
    pub async fn create_group(
        &self,
        account: &str,
        name: &str,
        comments: Option<&str>,
    ) -> Result<Group> {
        validate::group_name("GroupName", name)?;
        let comments = given(comments);
        validate::optional(comments, |v| validate::short_text("Comments", v))?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        if group_id_by_name(&mut tx, account, name).await?.is_some() {
            return Err(IamError::exists(Existing::Group, name));
        }
        let limit = self.inner.limits.groups;
        let existing = count(
            &mut tx,
            "SELECT COUNT(*) FROM ram_groups WHERE account_id = $1",
            &[account],
        )
        .await?;
        if existing >= limit_i64(limit) {
            return Err(IamError::limit(Limit::Group, limit));
        }
        let now = Timestamp::now();
        for _ in 0..ID_ATTEMPTS {
            let group_id = ids::group_id();
            let result = sqlx::query(
                "INSERT INTO ram_groups (account_id, group_id, name, comments, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $5)
                 ON CONFLICT (account_id, group_id) DO NOTHING",
            )
            .bind(account)
            .bind(&group_id)
            .bind(name)
            .bind(comments.map(str::to_string))
            .bind(now.0)
            .execute(&mut *tx)
            .await;
            let done = match result {
                Err(e) if is_unique_violation(&e) => {
                    return Err(IamError::exists(Existing::Group, name))
                }
                other => other?,
            };
            if done.rows_affected() == 1 {
                self.commit(tx).await?;
                return Ok(Group {
                    group_id,
                    name: name.to_string(),
                    comments: comments.map(str::to_string),
                    create_date: now,
                    update_date: now,
                });
            }
        }
        Err(IamError::internal("no free group id"))
    }

    /// GetGroup.
    pub async fn get_group(&self, account: &str, name: &str) -> Result<Group> {
        validate::group_name("GroupName", name)?;
        let mut conn = self.inner.pool.acquire().await?;
        group_by_name(&mut conn, account, name).await
    }

    /// UpdateGroup: `NewGroupName` renames (members and policies stay),
    /// `NewComments` replaces the comments (an empty string clears them).
    pub async fn update_group(
        &self,
        account: &str,
        name: &str,
        new_name: Option<&str>,
        new_comments: Option<&str>,
    ) -> Result<Group> {
        validate::group_name("GroupName", name)?;
        if let Some(new_name) = new_name {
            validate::group_name("NewGroupName", new_name)?;
        }
        validate::optional(given(new_comments), |v| {
            validate::short_text("NewComments", v)
        })?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let mut group = group_by_name(&mut tx, account, name).await?;
        if let Some(new_name) = new_name {
            if new_name != group.name {
                if group_id_by_name(&mut tx, account, new_name)
                    .await?
                    .is_some()
                {
                    return Err(IamError::exists(Existing::Group, new_name));
                }
                group.name = new_name.to_string();
            }
        }
        if let Some(comments) = new_comments {
            group.comments = given(Some(comments)).map(str::to_string);
        }
        group.update_date = Timestamp::now();
        let result = sqlx::query(
            "UPDATE ram_groups SET name = $1, comments = $2, updated_at = $3
             WHERE account_id = $4 AND group_id = $5",
        )
        .bind(&group.name)
        .bind(group.comments.clone())
        .bind(group.update_date.0)
        .bind(account)
        .bind(&group.group_id)
        .execute(&mut *tx)
        .await;
        match result {
            Err(e) if is_unique_violation(&e) => {
                return Err(IamError::exists(Existing::Group, &group.name))
            }
            other => other?,
        };
        self.commit(tx).await?;
        Ok(group)
    }

    /// DeleteGroup: refused while it has members or attached policies.
    pub async fn delete_group(&self, account: &str, name: &str) -> Result<()> {
        validate::group_name("GroupName", name)?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let group_id = group_id_by_name(&mut tx, account, name)
            .await?
            .ok_or_else(|| IamError::missing(Missing::Group, name))?;
        let checks: [(&'static str, Conflict); 2] = [
            (
                "SELECT COUNT(*) FROM group_members WHERE account_id = $1 AND group_id = $2",
                Conflict::GroupUser,
            ),
            (
                "SELECT COUNT(*) FROM policy_attachments
                 WHERE account_id = $1 AND principal_type = 'Group' AND principal_id = $2",
                Conflict::GroupPolicy,
            ),
        ];
        refuse_if_referenced(&mut tx, &checks, account, &group_id, name).await?;
        sqlx::query("DELETE FROM ram_groups WHERE account_id = $1 AND group_id = $2")
            .bind(account)
            .bind(&group_id)
            .execute(&mut *tx)
            .await?;
        self.commit(tx).await
    }

    /// ListGroups, by name.
    pub async fn list_groups(
        &self,
        account: &str,
        options: &ListOptions,
    ) -> Result<Listing<Group>> {
        let size = page_size(options)?;
        let after = decode_marker(options)?.unwrap_or_default();
        let rows = sqlx::query(
            "SELECT group_id, name, comments, created_at, updated_at
             FROM ram_groups WHERE account_id = $1 AND name > $2
             ORDER BY name LIMIT $3",
        )
        .bind(account)
        .bind(after)
        .bind(size + 1)
        .fetch_all(&self.inner.pool)
        .await?;
        let mut groups = Vec::with_capacity(rows.len());
        for row in &rows {
            groups.push(group_from_row(row)?);
        }
        Ok(finish_page(groups, size, |g| g.name.clone()))
    }

    /// AddUserToGroup. A user joins at most 5 groups
    /// (`LimitExceeded.User.Group`). The membership is written first and
    /// the limit checked after, inside the transaction: a refused join
    /// rolls back with it.
    pub async fn add_user_to_group(&self, account: &str, group: &str, user: &str) -> Result<()> {
        validate::group_name("GroupName", group)?;
        validate::user_name("UserName", user)?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let group_id = group_id_by_name(&mut tx, account, group)
            .await?
            .ok_or_else(|| IamError::missing(Missing::Group, group))?;
        let user_id = user_id_by_name(&mut tx, account, user)
            .await?
            .ok_or_else(|| IamError::missing(Missing::User, user))?;
        let seq = next_seq(
            &mut tx,
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM group_members WHERE account_id = $1",
            account,
        )
        .await?;
        let done = sqlx::query(
            "INSERT INTO group_members (account_id, group_id, user_id, joined_at, seq)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (account_id, group_id, user_id) DO NOTHING",
        )
        .bind(account)
        .bind(&group_id)
        .bind(&user_id)
        .bind(Timestamp::now().0)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(IamError::exists(Existing::UserGroup, user));
        }
        let limit = self.inner.limits.groups_per_user;
        let joined = count(
            &mut tx,
            "SELECT COUNT(*) FROM group_members WHERE account_id = $1 AND user_id = $2",
            &[account, &user_id],
        )
        .await?;
        if joined > limit_i64(limit) {
            return Err(IamError::limit(Limit::UserGroup, limit));
        }
        self.commit(tx).await
    }

    /// RemoveUserFromGroup.
    pub async fn remove_user_from_group(
        &self,
        account: &str,
        group: &str,
        user: &str,
    ) -> Result<()> {
        validate::group_name("GroupName", group)?;
        validate::user_name("UserName", user)?;
        let mut tx = self.begin_write().await?;
        self.lock_account(&mut tx, account).await?;
        let group_id = group_id_by_name(&mut tx, account, group)
            .await?
            .ok_or_else(|| IamError::missing(Missing::Group, group))?;
        let user_id = user_id_by_name(&mut tx, account, user)
            .await?
            .ok_or_else(|| IamError::missing(Missing::User, user))?;
        let done = sqlx::query(
            "DELETE FROM group_members WHERE account_id = $1 AND group_id = $2 AND user_id = $3",
        )
        .bind(account)
        .bind(&group_id)
        .bind(&user_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(IamError::missing(Missing::UserGroup, user));
        }
        self.commit(tx).await
    }

    /// ListGroupsForUser: the user's groups in the order joined.
    pub async fn list_groups_for_user(
        &self,
        account: &str,
        user: &str,
    ) -> Result<Vec<GroupMembership>> {
        validate::user_name("UserName", user)?;
        let mut tx = self.begin_read().await?;
        let user_id = user_id_by_name(&mut tx, account, user)
            .await?
            .ok_or_else(|| IamError::missing(Missing::User, user))?;
        let rows = sqlx::query(
            "SELECT g.group_id, g.name, g.comments, g.created_at, g.updated_at, m.joined_at
             FROM group_members m
             JOIN ram_groups g ON g.account_id = m.account_id AND g.group_id = m.group_id
             WHERE m.account_id = $1 AND m.user_id = $2
             ORDER BY m.seq",
        )
        .bind(account)
        .bind(&user_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut groups = Vec::with_capacity(rows.len());
        for row in &rows {
            groups.push(GroupMembership {
                group: group_from_row(row)?,
                join_date: ts(row, "joined_at")?,
            });
        }
        Ok(groups)
    }

    /// ListUsersForGroup, by user name.
    pub async fn list_users_for_group(
        &self,
        account: &str,
        group: &str,
        options: &ListOptions,
    ) -> Result<Listing<GroupMember>> {
        validate::group_name("GroupName", group)?;
        let size = page_size(options)?;
        let after = decode_marker(options)?.unwrap_or_default();
        let mut tx = self.begin_read().await?;
        let group_id = group_id_by_name(&mut tx, account, group)
            .await?
            .ok_or_else(|| IamError::missing(Missing::Group, group))?;
        let rows = sqlx::query(
            "SELECT u.user_id, u.name, u.display_name, m.joined_at
             FROM group_members m
             JOIN users u ON u.account_id = m.account_id AND u.user_id = m.user_id
             WHERE m.account_id = $1 AND m.group_id = $2 AND u.name > $3
             ORDER BY u.name LIMIT $4",
        )
        .bind(account)
        .bind(&group_id)
        .bind(after)
        .bind(size + 1)
        .fetch_all(&mut *tx)
        .await?;
        let mut members = Vec::with_capacity(rows.len());
        for row in &rows {
            members.push(GroupMember {
                user_id: row.try_get("user_id")?,
                user_name: row.try_get("name")?,
                display_name: row.try_get("display_name")?,
                join_date: ts(row, "joined_at")?,
            });
        }
        Ok(finish_page(members, size, |m| m.user_name.clone()))
    }
}
