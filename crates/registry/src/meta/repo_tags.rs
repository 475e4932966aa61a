//! Tags as ACR's OpenAPI shows them (`ListRepoTag`, `GetRepoTag`,
//! `DeleteRepoTag`): a tag, the manifest it names, and the image's size
//! (the manifest plus every blob it names).

use sqlx::any::AnyRow;
use sqlx::Row as _;

use super::control::{ControlError, Thing};
use super::Db;

/// One tag of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagInfo {
    pub tag: String,
    pub digest: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bytes: the manifest and the blobs it names.
    pub image_size: i64,
}

// The sum is cast back to BIGINT: PostgreSQL sums BIGINTs as NUMERIC,
// which the Any driver cannot read.
const SELECT: &str = "SELECT t.tag, t.digest, t.created_at, t.updated_at,
        CAST(COALESCE(m.size, 0) + COALESCE((
            SELECT SUM(b.size) FROM cr_manifest_refs r
            JOIN cr_repo_blobs b ON b.repo_id = r.repo_id AND b.digest = r.child_digest
            WHERE r.repo_id = t.repo_id AND r.manifest_digest = t.digest
        ), 0) AS BIGINT) AS image_size
    FROM cr_tags t LEFT JOIN cr_manifests m ON m.repo_id = t.repo_id AND m.digest = t.digest";

fn from_row(row: &AnyRow) -> Result<TagInfo, sqlx::Error> {
    Ok(TagInfo {
        tag: row.try_get("tag")?,
        digest: row.try_get("digest")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        image_size: row.try_get("image_size")?,
    })
}

/// A repository's tags, most recently updated first; `page_no` from 1.
pub async fn list_tags(
    db: &Db,
    repo_id: &str,
    page_no: i64,
    page_size: i64,
) -> Result<(Vec<TagInfo>, i64), ControlError> {
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cr_tags WHERE repo_id = $1")
        .bind(repo_id)
        .fetch_one(db.pool())
        .await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE t.repo_id = $1 ORDER BY t.updated_at DESC, t.tag LIMIT $2 OFFSET $3"
    )))
    .bind(repo_id)
    .bind(page_size)
    .bind(page_size.saturating_mul(page_no.saturating_sub(1)))
    .fetch_all(db.pool())
    .await?;
    let list = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    Ok((list, total))
}

/// One tag.
pub async fn get_tag(db: &Db, repo_id: &str, tag: &str) -> Result<TagInfo, ControlError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE t.repo_id = $1 AND t.tag = $2"
    )))
    .bind(repo_id)
    .bind(tag)
    .fetch_optional(db.pool())
    .await?;
    match row {
        Some(row) => Ok(from_row(&row)?),
        None => Err(ControlError::not_found(Thing::Tag, tag)),
    }
}

/// Removes a tag (the manifest stays, reachable by digest).
pub async fn delete_tag(db: &Db, repo_id: &str, tag: &str) -> Result<(), ControlError> {
    let mut tx = db.begin_write().await?;
    let done = sqlx::query("DELETE FROM cr_tags WHERE repo_id = $1 AND tag = $2")
        .bind(repo_id)
        .bind(tag)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(ControlError::not_found(Thing::Tag, tag));
    }
    tx.commit().await?;
    Ok(())
}
