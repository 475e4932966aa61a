//! Garbage collection of blobs no manifest refers to (`rampart registry gc`).
//!
//! A blob is **live** when any of these holds:
//! * it is a manifest of some repository (`cr_manifests`);
//! * a manifest of some repository names it (`cr_manifest_refs`);
//! * it was linked into a repository (pushed or mounted) within the grace
//!   period — a push uploads its blobs before the manifest that names
//!   them;
//! * its file was written within the grace period (an upload that just
//!   finished and is about to be linked).
//!
//! The collector first drops links older than the grace period that no
//! manifest of their repository names, then deletes every blob file that
//! is not live. It can run while the registry serves: anything a client
//! is in the middle of pushing is younger than the grace period (default
//! one hour; a push that takes longer between its first blob and its
//! manifest should be given a longer one). A blob deleted here and pushed
//! again later is simply uploaded again.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::Row as _;

use crate::digest::Digest;
use crate::meta::{Db, MetaError};
use crate::storage::{BlobStore, LocalStore, StorageError};

/// What a collection did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    pub links_removed: u64,
    pub blobs_removed: u64,
    pub bytes_freed: u64,
    pub blobs_kept: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error(transparent)]
    Meta(#[from] MetaError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("reading the blob folder: {0}")]
    Io(#[from] std::io::Error),
}

impl From<sqlx::Error> for GcError {
    fn from(e: sqlx::Error) -> Self {
        GcError::Meta(MetaError::Database(e))
    }
}

/// Every blob file of a local store: `(digest, size, modified)`.
async fn stored_blobs(root: &Path) -> Result<Vec<(Digest, u64, SystemTime)>, GcError> {
    let mut found = Vec::new();
    let blobs = root.join("blobs");
    let mut algorithms = match tokio::fs::read_dir(&blobs).await {
        Ok(dir) => dir,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e.into()),
    };
    while let Some(algorithm) = algorithms.next_entry().await? {
        let algorithm_name = algorithm.file_name().to_string_lossy().into_owned();
        let mut prefixes = tokio::fs::read_dir(algorithm.path()).await?;
        while let Some(prefix) = prefixes.next_entry().await? {
            let mut files = tokio::fs::read_dir(prefix.path()).await?;
            while let Some(file) = files.next_entry().await? {
                let name = file.file_name().to_string_lossy().into_owned();
                // Anything that does not parse as a digest is not a blob.
                let Ok(digest) = Digest::parse(&format!("{algorithm_name}:{name}")) else {
                    continue;
                };
                let meta = file.metadata().await?;
                found.push((digest, meta.len(), meta.modified().unwrap_or(UNIX_EPOCH)));
            }
        }
    }
    Ok(found)
}

fn seconds(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Collects garbage in `store` (see the module docs); with `dry_run`,
/// only reports.
pub async fn collect(
    db: &Db,
    store: &LocalStore,
    grace: Duration,
    dry_run: bool,
) -> Result<GcReport, GcError> {
    let now = SystemTime::now();
    let cutoff_time = now.checked_sub(grace).unwrap_or(UNIX_EPOCH);
    let cutoff = seconds(cutoff_time);
    let mut report = GcReport::default();

    // 1. Links no manifest of their repository names, older than the grace.
    let orphan_links = "FROM cr_repo_blobs b WHERE b.linked_at <= $1
        AND NOT EXISTS (SELECT 1 FROM cr_manifest_refs r
                        WHERE r.repo_id = b.repo_id AND r.child_digest = b.digest)
        AND NOT EXISTS (SELECT 1 FROM cr_manifests m
                        WHERE m.repo_id = b.repo_id AND m.digest = b.digest)";
    if dry_run {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) {orphan_links}"
        )))
        .bind(cutoff)
        .fetch_one(db.pool())
        .await?;
        report.links_removed = u64::try_from(n).unwrap_or(0);
    } else {
        let mut tx = db.begin_write().await?;
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM cr_repo_blobs WHERE (repo_id, digest) IN (SELECT b.repo_id, b.digest {orphan_links})"
        )))
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        report.links_removed = done.rows_affected();
    }

    // 2. The live set.
    let mut live: HashSet<String> = HashSet::new();
    for query in [
        "SELECT digest AS d FROM cr_manifests",
        "SELECT child_digest AS d FROM cr_manifest_refs",
    ] {
        for row in sqlx::query(query).fetch_all(db.pool()).await? {
            live.insert(row.try_get::<String, _>("d")?);
        }
    }
    // Dry runs keep the links they would have removed out of the live set.
    let recent_links = if dry_run {
        "SELECT digest AS d FROM cr_repo_blobs b WHERE NOT (b.linked_at <= $1 \
         AND NOT EXISTS (SELECT 1 FROM cr_manifest_refs r WHERE r.repo_id = b.repo_id AND r.child_digest = b.digest) \
         AND NOT EXISTS (SELECT 1 FROM cr_manifests m WHERE m.repo_id = b.repo_id AND m.digest = b.digest))"
            .to_owned()
    } else {
        "SELECT digest AS d FROM cr_repo_blobs WHERE $1 = $1".to_owned()
    };
    for row in sqlx::query(sqlx::AssertSqlSafe(recent_links))
        .bind(cutoff)
        .fetch_all(db.pool())
        .await?
    {
        live.insert(row.try_get::<String, _>("d")?);
    }

    // 3. Delete what is not live and not young.
    for (digest, size, modified) in stored_blobs(store.root()).await? {
        if live.contains(&digest.to_string()) || modified > cutoff_time {
            report.blobs_kept += 1;
            continue;
        }
        if !dry_run {
            store.delete(&digest).await?;
        }
        report.blobs_removed += 1;
        report.bytes_freed += size;
    }
    Ok(report)
}
