//! The content OCI clients write: blob links, manifests and what they
//! name, tags, upload sessions; and the catalog of an instance.
//!
//! Every statement names its repository by `repo_id` (the gate resolved
//! it), uses `$n` placeholders and TEXT/BIGINT values only, so one text
//! runs on SQLite and PostgreSQL. Digests are stored in their text form
//! (`sha256:…`). Writes that must agree with each other (a manifest, its
//! references and its tag; finishing an upload) are one transaction.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};

use super::{flag, now_seconds, Db, MetaError, Tx};
use crate::digest::Digest;

/// Why a content write was refused.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The repository row is gone (deleted while the request ran).
    #[error("the repository does not exist")]
    RepositoryUnknown,
    /// Blobs a manifest names that the repository does not have.
    #[error("blobs unknown to this repository: {}", .0.join(", "))]
    BlobsUnknown(Vec<String>),
    /// Manifests an index names that the repository does not have.
    #[error("manifests unknown to this repository: {}", .0.join(", "))]
    ManifestsUnknown(Vec<String>),
    /// The repository's tags are immutable and this one already names
    /// another manifest.
    #[error("tag {tag} is immutable in this repository and already points to {current}")]
    TagImmutable { tag: String, current: String },
}

impl From<sqlx::Error> for ContentError {
    fn from(e: sqlx::Error) -> Self {
        ContentError::Meta(MetaError::Database(e))
    }
}

/// A manifest as the registry serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRow {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
}

/// A manifest to store.
#[derive(Debug, Clone)]
pub struct NewManifest<'a> {
    pub digest: &'a Digest,
    pub media_type: &'a str,
    pub size: u64,
    pub artifact_type: Option<&'a str>,
    pub subject: Option<&'a Digest>,
    pub annotations: Option<&'a str>,
    /// Config and layers: must be linked in the repository.
    pub blobs: &'a [Digest],
    /// Child manifests (index): must be in the repository.
    pub children: &'a [Digest],
}

/// One entry of a referrers listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub artifact_type: Option<String>,
    /// JSON object text.
    pub annotations: Option<String>,
}

/// An upload session past its age, with the repository it belonged to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleUpload {
    pub upload_id: String,
    pub repo_id: String,
}

/// How many digests go into one `IN (…)` list.
const IN_BATCH: usize = 200;

fn size_of(row: &AnyRow, column: &str) -> Result<u64, sqlx::Error> {
    let n: i64 = row.try_get(column)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Db {
    /// Byte-order collation for sorted listings (tags, catalog): SQLite's
    /// default already is; PostgreSQL's depends on the database locale.
    fn collate(&self) -> &'static str {
        if self.is_postgres() {
            " COLLATE \"C\""
        } else {
            ""
        }
    }

    /// Makes a stored blob visible in a repository (a push or a mount).
    pub async fn link_blob(
        &self,
        repo_id: &str,
        digest: &Digest,
        size: u64,
    ) -> Result<(), MetaError> {
        sqlx::query(
            "INSERT INTO cr_repo_blobs (repo_id, digest, size, linked_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (repo_id, digest) DO NOTHING",
        )
        .bind(repo_id)
        .bind(digest.to_string())
        .bind(to_i64(size))
        .bind(now_seconds())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The size of a blob the repository may serve: a linked blob, or one
    /// of its manifests (Distribution serves those under `/blobs/` too).
    pub async fn blob_size(
        &self,
        repo_id: &str,
        digest: &Digest,
    ) -> Result<Option<u64>, MetaError> {
        let text = digest.to_string();
        let row = sqlx::query(
            "SELECT size FROM cr_repo_blobs WHERE repo_id = $1 AND digest = $2
             UNION ALL
             SELECT size FROM cr_manifests WHERE repo_id = $1 AND digest = $2",
        )
        .bind(repo_id)
        .bind(&text)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| size_of(&r, "size")).transpose()?)
    }

    /// Whether the repository has the blob linked (manifests not counted).
    pub async fn blob_linked(
        &self,
        repo_id: &str,
        digest: &Digest,
    ) -> Result<Option<u64>, MetaError> {
        let row = sqlx::query("SELECT size FROM cr_repo_blobs WHERE repo_id = $1 AND digest = $2")
            .bind(repo_id)
            .bind(digest.to_string())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| size_of(&r, "size")).transpose()?)
    }

    /// Removes a blob's link from a repository; `false` when it had none.
    /// The bytes stay in the shared store (garbage collection's business).
    pub async fn unlink_blob(&self, repo_id: &str, digest: &Digest) -> Result<bool, MetaError> {
        let done = sqlx::query("DELETE FROM cr_repo_blobs WHERE repo_id = $1 AND digest = $2")
            .bind(repo_id)
            .bind(digest.to_string())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores a manifest row, what it names, and optionally points a tag
    /// at it, in one transaction. Refuses (changing nothing) when the
    /// repository lacks a named blob or child manifest, or when the tag is
    /// immutable and already names another manifest. Storing a manifest
    /// the repository already has is not an error.
    pub async fn put_manifest(
        &self,
        repo_id: &str,
        manifest: &NewManifest<'_>,
        tag: Option<&str>,
    ) -> Result<(), ContentError> {
        let digest = manifest.digest.to_string();
        let now = now_seconds();
        let mut tx = self.begin_write().await?;
        let repo = sqlx::query("SELECT tag_immutability FROM cr_repositories WHERE repo_id = $1")
            .bind(repo_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(ContentError::RepositoryUnknown)?;
        let immutable = flag(&repo, "tag_immutability")?;
        let absent = missing(&mut tx, "cr_repo_blobs", repo_id, manifest.blobs).await?;
        if !absent.is_empty() {
            return Err(ContentError::BlobsUnknown(absent));
        }
        let absent = missing(&mut tx, "cr_manifests", repo_id, manifest.children).await?;
        if !absent.is_empty() {
            return Err(ContentError::ManifestsUnknown(absent));
        }
        if let Some(tag) = tag {
            let current = sqlx::query("SELECT digest FROM cr_tags WHERE repo_id = $1 AND tag = $2")
                .bind(repo_id)
                .bind(tag)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get::<String, _>("digest"))
                .transpose()?;
            if let Some(current) = current {
                if immutable && current != digest {
                    return Err(ContentError::TagImmutable {
                        tag: tag.to_owned(),
                        current,
                    });
                }
            }
        }
        sqlx::query(
            "INSERT INTO cr_manifests
                (repo_id, digest, media_type, artifact_type, subject, size, annotations, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (repo_id, digest) DO NOTHING",
        )
        .bind(repo_id)
        .bind(&digest)
        .bind(manifest.media_type)
        .bind(manifest.artifact_type.map(str::to_owned))
        .bind(manifest.subject.map(Digest::to_string))
        .bind(to_i64(manifest.size))
        .bind(manifest.annotations.map(str::to_owned))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let refs = manifest
            .blobs
            .iter()
            .map(|d| (d, "blob"))
            .chain(manifest.children.iter().map(|d| (d, "manifest")));
        for (child, kind) in refs {
            sqlx::query(
                "INSERT INTO cr_manifest_refs (repo_id, manifest_digest, child_digest, child_kind)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (repo_id, manifest_digest, child_digest) DO NOTHING",
            )
            .bind(repo_id)
            .bind(&digest)
            .bind(child.to_string())
            .bind(kind)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(tag) = tag {
            sqlx::query(
                "INSERT INTO cr_tags (repo_id, tag, digest, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $4)
                 ON CONFLICT (repo_id, tag) DO UPDATE SET digest = excluded.digest,
                    updated_at = excluded.updated_at",
            )
            .bind(repo_id)
            .bind(tag)
            .bind(&digest)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await.map_err(MetaError::from)?;
        Ok(())
    }

    /// A manifest of the repository by digest.
    pub async fn manifest_by_digest(
        &self,
        repo_id: &str,
        digest: &Digest,
    ) -> Result<Option<ManifestRow>, MetaError> {
        let row = sqlx::query(
            "SELECT digest, media_type, size FROM cr_manifests WHERE repo_id = $1 AND digest = $2",
        )
        .bind(repo_id)
        .bind(digest.to_string())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| manifest_row(&r)).transpose()?)
    }

    /// The manifest a tag points to.
    pub async fn manifest_by_tag(
        &self,
        repo_id: &str,
        tag: &str,
    ) -> Result<Option<ManifestRow>, MetaError> {
        let row = sqlx::query(
            "SELECT m.digest AS digest, m.media_type AS media_type, m.size AS size
             FROM cr_tags t JOIN cr_manifests m ON m.repo_id = t.repo_id AND m.digest = t.digest
             WHERE t.repo_id = $1 AND t.tag = $2",
        )
        .bind(repo_id)
        .bind(tag)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| manifest_row(&r)).transpose()?)
    }

    /// Up to `limit` tags of the repository in byte order, after `last`.
    pub async fn list_tags(
        &self,
        repo_id: &str,
        limit: u64,
        last: Option<&str>,
    ) -> Result<Vec<String>, MetaError> {
        let c = self.collate();
        let sql = format!(
            "SELECT tag FROM cr_tags WHERE repo_id = $1 AND tag{c} > $2 ORDER BY tag{c} LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(repo_id)
            .bind(last.unwrap_or(""))
            .bind(to_i64(limit))
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<String, _>("tag"))
            .collect::<Result<_, _>>()?)
    }

    /// The manifests of the repository whose `subject` is `digest`,
    /// optionally only those of one artifact type, in digest order.
    pub async fn referrers(
        &self,
        repo_id: &str,
        digest: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Referrer>, MetaError> {
        let base = "SELECT digest, media_type, size, artifact_type, annotations FROM cr_manifests
                    WHERE repo_id = $1 AND subject = $2";
        let rows = match artifact_type {
            Some(t) => {
                sqlx::query(AssertSqlSafe(format!(
                    "{base} AND artifact_type = $3 ORDER BY digest"
                )))
                .bind(repo_id)
                .bind(digest.to_string())
                .bind(t)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!("{base} ORDER BY digest")))
                    .bind(repo_id)
                    .bind(digest.to_string())
                    .fetch_all(self.pool())
                    .await?
            }
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(Referrer {
                digest: r.try_get("digest")?,
                media_type: r.try_get("media_type")?,
                size: size_of(r, "size")?,
                artifact_type: r.try_get("artifact_type")?,
                annotations: r.try_get("annotations")?,
            });
        }
        Ok(out)
    }

    /// Removes a tag (the manifest stays); `false` when there was none.
    pub async fn delete_tag(&self, repo_id: &str, tag: &str) -> Result<bool, MetaError> {
        let done = sqlx::query("DELETE FROM cr_tags WHERE repo_id = $1 AND tag = $2")
            .bind(repo_id)
            .bind(tag)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes a manifest, its tags and its references; `false` (and no
    /// change) when the repository has no such manifest.
    pub async fn delete_manifest(&self, repo_id: &str, digest: &Digest) -> Result<bool, MetaError> {
        let text = digest.to_string();
        let mut tx = self.begin_write().await?;
        for sql in [
            "DELETE FROM cr_tags WHERE repo_id = $1 AND digest = $2",
            "DELETE FROM cr_manifest_refs WHERE repo_id = $1 AND manifest_digest = $2",
        ] {
            sqlx::query(sql)
                .bind(repo_id)
                .bind(&text)
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query("DELETE FROM cr_manifests WHERE repo_id = $1 AND digest = $2")
            .bind(repo_id)
            .bind(&text)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Records that an upload session belongs to a repository.
    pub async fn bind_upload(&self, upload_id: &str, repo_id: &str) -> Result<(), MetaError> {
        sqlx::query("INSERT INTO cr_uploads (upload_id, repo_id, started_at) VALUES ($1, $2, $3)")
            .bind(upload_id)
            .bind(repo_id)
            .bind(now_seconds())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The repository an upload session was opened in.
    pub async fn upload_repo(&self, upload_id: &str) -> Result<Option<String>, MetaError> {
        let row = sqlx::query("SELECT repo_id FROM cr_uploads WHERE upload_id = $1")
            .bind(upload_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get::<String, _>("repo_id")).transpose()?)
    }

    /// Forgets an upload session; `false` when there was none.
    pub async fn delete_upload(&self, upload_id: &str) -> Result<bool, MetaError> {
        let done = sqlx::query("DELETE FROM cr_uploads WHERE upload_id = $1")
            .bind(upload_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// A finished upload: the blob is linked into the session's repository
    /// and the session is forgotten, together.
    pub async fn complete_upload(
        &self,
        upload_id: &str,
        repo_id: &str,
        digest: &Digest,
        size: u64,
    ) -> Result<(), MetaError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO cr_repo_blobs (repo_id, digest, size, linked_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (repo_id, digest) DO NOTHING",
        )
        .bind(repo_id)
        .bind(digest.to_string())
        .bind(to_i64(size))
        .bind(now_seconds())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM cr_uploads WHERE upload_id = $1")
            .bind(upload_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Upload sessions started before `before` (epoch seconds).
    pub async fn uploads_started_before(&self, before: i64) -> Result<Vec<StaleUpload>, MetaError> {
        let rows = sqlx::query("SELECT upload_id, repo_id FROM cr_uploads WHERE started_at < $1")
            .bind(before)
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(StaleUpload {
                upload_id: r.try_get("upload_id")?,
                repo_id: r.try_get("repo_id")?,
            });
        }
        Ok(out)
    }

    /// Up to `limit` repository names (`namespace/name`) of an instance in
    /// byte order, after `last`.
    pub async fn catalog(
        &self,
        instance_id: &str,
        limit: u64,
        last: Option<&str>,
    ) -> Result<Vec<String>, MetaError> {
        let c = self.collate();
        let sql = format!(
            "SELECT namespace || '/' || name AS full_name FROM cr_repositories
             WHERE instance_id = $1 AND (namespace || '/' || name){c} > $2
             ORDER BY (namespace || '/' || name){c} LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(instance_id)
            .bind(last.unwrap_or(""))
            .bind(to_i64(limit))
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<String, _>("full_name"))
            .collect::<Result<_, _>>()?)
    }
}

fn manifest_row(row: &AnyRow) -> Result<ManifestRow, sqlx::Error> {
    Ok(ManifestRow {
        digest: row.try_get("digest")?,
        media_type: row.try_get("media_type")?,
        size: size_of(row, "size")?,
    })
}

/// Which of `digests` have no row in `table` (`cr_repo_blobs`) for the
/// repository.
async fn missing(
    tx: &mut Tx,
    table: &'static str,
    repo_id: &str,
    digests: &[Digest],
) -> Result<Vec<String>, sqlx::Error> {
    let mut absent = Vec::new();
    for batch in digests.chunks(IN_BATCH) {
        let placeholders = (0..batch.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql =
            format!("SELECT digest FROM {table} WHERE repo_id = $1 AND digest IN ({placeholders})");
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(repo_id);
        for d in batch {
            query = query.bind(d.to_string());
        }
        let present = query
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>("digest"))
            .collect::<Result<std::collections::HashSet<_>, _>>()?;
        absent.extend(
            batch
                .iter()
                .map(Digest::to_string)
                .filter(|d| !present.contains(d)),
        );
    }
    Ok(absent)
}
