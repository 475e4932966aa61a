//! Registry metadata in SQL: the control plane ACR's OpenAPI manages
//! (instances, host names, namespaces, repositories, login passwords,
//! endpoint ACLs) and the content OCI clients write (manifests, tags, blob
//! links, upload sessions). The tables are in [`schema`]; they share the
//! RAM store's database and pool (`iam::Store::pool`).

pub mod content;
pub mod control;
pub mod instances;
pub mod logins;
pub mod namespaces;
pub mod repo_tags;
pub mod repositories;
mod schema;

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Row as _, Transaction};

pub use content::{ContentError, ManifestRow, NewManifest, Referrer, StaleUpload};

/// A transaction on the metadata tables.
pub type Tx = Transaction<'static, Any>;

/// Why a metadata operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the registry schema is newer than this build of rampart")]
    SchemaTooNew,
}

/// The registry's handle on the database.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    postgres: bool,
}

/// Epoch seconds now.
pub fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Serialises migrations of the registry schema across processes on
/// PostgreSQL (an advisory lock key of its own).
const MIGRATION_LOCK: i64 = 0x7261_6d70_6372_0001;

impl Db {
    /// Wraps a pool (the RAM store's) and brings the registry tables up to
    /// date. The RAM store must have migrated first (foreign keys name its
    /// `accounts`).
    pub async fn open(pool: AnyPool, postgres: bool) -> Result<Db, MetaError> {
        let db = Db { pool, postgres };
        db.migrate().await?;
        Ok(db)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres
    }

    async fn migrate(&self) -> Result<(), MetaError> {
        let mut tx = self.begin_write().await?;
        if self.postgres {
            sqlx::query("SELECT COUNT(*) AS n FROM (SELECT pg_advisory_xact_lock($1)) AS l")
                .bind(MIGRATION_LOCK)
                .fetch_one(&mut *tx)
                .await?;
        }
        sqlx::query(schema::SCHEMA_MIGRATIONS)
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query("SELECT version FROM registry_schema_migrations")
            .fetch_all(&mut *tx)
            .await?;
        let applied = rows
            .iter()
            .map(|row| row.try_get::<i64, _>("version"))
            .collect::<Result<Vec<_>, _>>()?;
        let newest = schema::MIGRATIONS.last().map_or(0, |(v, _)| *v);
        if applied.iter().any(|v| *v > newest) {
            return Err(MetaError::SchemaTooNew);
        }
        for (version, statements) in schema::MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            for statement in *statements {
                sqlx::query(*statement).execute(&mut *tx).await?;
            }
            sqlx::query(
                "INSERT INTO registry_schema_migrations (version, applied_at) VALUES ($1, $2)",
            )
            .bind(*version)
            .bind(now_seconds())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A write transaction (SQLite: the write lock at once, so a read-then-write
    /// cannot fail on upgrade).
    pub async fn begin_write(&self) -> Result<Tx, MetaError> {
        Ok(if self.postgres {
            self.pool.begin().await?
        } else {
            self.pool.begin_with("BEGIN IMMEDIATE").await?
        })
    }
}

/// Reads a BIGINT flag column as a bool.
pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}
