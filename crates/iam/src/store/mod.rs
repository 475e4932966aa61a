//! The store: one implementation over sqlx's `Any` driver for SQLite and
//! PostgreSQL, the transaction discipline every write follows, migrations,
//! and the small helpers the operation modules share (pagination, rows).

pub(crate) mod cache;
mod listen;
mod schema;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth::KeyRing;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::AnyConnection;
use sqlx::{Any, AnyPool, Row};
use tokio::task::JoinHandle;

use self::cache::GenerationCache;
use crate::authorize::Cache;
use crate::error::{Conflict, IamError, Missing, Problem, Result};
use crate::model::{KeyRecord, ListOptions, Listing, Role, Timestamp, User};

pub(crate) type Tx = sqlx::Transaction<'static, Any>;

/// The channel PostgreSQL nodes announce committed writes on, and the
/// statement that does it (NOTIFY takes no bind parameters).
pub(crate) const NOTIFY_CHANNEL: &str = "rampart_iam";
const NOTIFY: &str = "NOTIFY rampart_iam";

/// Arbitrary constants naming the advisory locks held on PostgreSQL while
/// migrating, and while creating the first account.
const MIGRATION_LOCK: i64 = 0x0072_616d_7061_7274; // "rampart"
pub(crate) const FIRST_ACCOUNT_LOCK: i64 = 0x0072_616d_7061_7275;

/// Quotas, Alibaba's by default (protocol §7.3; RAM's error page for groups).
/// Tests lower them to reach the limits quickly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub users: u32,
    pub groups: u32,
    pub roles: u32,
    pub custom_policies: u32,
    pub versions_per_policy: u32,
    pub access_keys_per_user: u32,
    pub groups_per_user: u32,
    /// System policies attached to one user, group or role.
    pub system_policies_per_principal: u32,
    /// Custom policies attached to one user, group or role.
    pub custom_policies_per_principal: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            users: 5000,
            groups: 50,
            roles: 1000,
            custom_policies: 1500,
            versions_per_policy: 5,
            access_keys_per_user: 2,
            groups_per_user: 5,
            system_policies_per_principal: 20,
            custom_policies_per_principal: 10,
        }
    }
}

/// How a store is opened beyond its URL and keys.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    pub limits: Limits,
    /// Pool size; 4 for SQLite (one writer at a time anyway), 10 for
    /// PostgreSQL when absent.
    pub max_connections: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// The IAM store and service: every RAM operation, authentication lookups,
/// the decision point and the audit log. Cheap to clone (one shared pool).
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) pool: AnyPool,
    pub(crate) dialect: Dialect,
    pub(crate) keyring: KeyRing,
    pub(crate) limits: Limits,
    pub(crate) changes: Arc<Changes>,
    pub(crate) cache: Cache,
    /// Roles by account and lower-cased name, as `Store::role_record`
    /// read them (`None`: no such role).
    pub(crate) roles: GenerationCache<Option<Role>>,
    /// Users by account and id, as `Store::user_by_id` read them.
    pub(crate) users: GenerationCache<Option<User>>,
    /// Access keys by id, as `Store::access_key` read them (`None`: no
    /// such key), secrets already opened. Every request signed with a
    /// long-term key reads one.
    pub(crate) keys: GenerationCache<Option<KeyRecord>>,
    /// access key id → epoch second of the last recorded use.
    pub(crate) key_use: Mutex<HashMap<String, i64>>,
    /// Trust policies parsed for AssumeRole, by their text (see
    /// `Store::trust_policy`).
    pub(crate) trust_policies: cache::TextMemo<Arc<policy::Policy>>,
    /// The audit writer's queue (`crate::audit`).
    pub(crate) audit: crate::audit::AuditSender,
    listener: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self.listener.take() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dialect", &self.inner.dialect)
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the store at `url` and brings its schema
    /// up to date: `sqlite://PATH?mode=rwc` (the embedded default) or
    /// `postgres://USER@HOST:PORT/DB`. `keys` seal and open access-key
    /// secrets (the ring's first key seals; every key in it opens). On PostgreSQL this also starts the task that listens for
    /// other nodes' writes; call it within a Tokio runtime.
    pub async fn open(url: &str, keys: KeyRing) -> Result<Store> {
        Store::open_with(url, keys, StoreOptions::default()).await
    }

    pub async fn open_with(url: &str, keys: KeyRing, options: StoreOptions) -> Result<Store> {
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else {
            return Err(IamError::internal(
                "unsupported database URL (use sqlite://PATH?mode=rwc or postgres://...)",
            ));
        };
        sqlx::any::install_default_drivers();
        let mut pool_options = AnyPoolOptions::new()
            .max_connections(options.max_connections.unwrap_or(match dialect {
                Dialect::Sqlite => 4,
                Dialect::Postgres => 10,
            }))
            .acquire_timeout(Duration::from_secs(30))
            // No ping before handing out a pooled connection: on SQLite it
            // is a round trip to the connection's thread on every query,
            // and a connection that did break fails its query instead
            // (the error answers InternalError and the pool replaces it).
            .test_before_acquire(false);
        if dialect == Dialect::Sqlite {
            pool_options = pool_options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // Every pooled connection: wait for the writer instead of
                    // failing at once, enforce foreign keys, write ahead.
                    // `synchronous = NORMAL` with WAL syncs the log only at
                    // checkpoints, not at every commit: the database is never
                    // corrupted, and a power loss (not a crash of rampart,
                    // which loses nothing) can lose the commits made since
                    // the last checkpoint. The checkpoint runs once the log
                    // passes 1000 pages (about 4 MB; SQLite's default, made
                    // explicit), from the commit that crosses it.
                    for pragma in [
                        "PRAGMA busy_timeout = 10000",
                        "PRAGMA foreign_keys = ON",
                        "PRAGMA journal_mode = WAL",
                        "PRAGMA synchronous = NORMAL",
                        "PRAGMA wal_autocheckpoint = 1000",
                    ] {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            });
        }
        let pool = pool_options
            .connect(url)
            .await
            .map_err(|e| IamError::internal_from("connecting to the database", e))?;
        let changes = Arc::new(Changes::default());
        let listener = match dialect {
            Dialect::Postgres => Some(listen::spawn(url, Arc::clone(&changes)).await?),
            Dialect::Sqlite => None,
        };
        let audit = crate::audit::spawn_writer(pool.clone(), dialect);
        let store = Store {
            inner: Arc::new(Inner {
                pool,
                dialect,
                keyring: keys,
                limits: options.limits,
                changes,
                cache: Cache::default(),
                roles: GenerationCache::default(),
                users: GenerationCache::default(),
                keys: GenerationCache::default(),
                key_use: Mutex::new(HashMap::new()),
                trust_policies: cache::TextMemo::default(),
                audit,
                listener,
            }),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Writes the audit events still queued, stops the audit writer, then
    /// closes the pool (waits for connections in use to come back).
    pub async fn close(&self) {
        self.close_audit().await;
        self.inner.pool.close().await;
    }

    /// The connection pool, for the registry's metadata tables, which live
    /// in the same database (their own migrations, see the registry crate).
    pub fn pool(&self) -> sqlx::AnyPool {
        self.inner.pool.clone()
    }

    /// Whether the database is PostgreSQL (else SQLite).
    pub fn is_postgres(&self) -> bool {
        self.inner.dialect == Dialect::Postgres
    }

    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Applies missing migrations. Both engines take a lock first
    /// (SQLite's write lock via `BEGIN IMMEDIATE`, a transaction-scoped
    /// advisory lock on PostgreSQL), so two processes opening the same
    /// database at once apply each migration exactly once.
    async fn migrate(&self) -> Result<()> {
        let mut tx = self.begin_write().await?;
        self.advisory_lock(&mut tx, MIGRATION_LOCK).await?;
        sqlx::query(schema::SCHEMA_MIGRATIONS)
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query("SELECT version FROM schema_migrations")
            .fetch_all(&mut *tx)
            .await?;
        let mut applied = Vec::with_capacity(rows.len());
        for row in &rows {
            applied.push(row.try_get::<i64, _>("version")?);
        }
        let newest = schema::MIGRATIONS.last().map_or(0, |(v, _)| *v);
        if applied.iter().any(|v| *v > newest) {
            return Err(IamError::internal(
                "the database schema is newer than this build of rampart",
            ));
        }
        for (version, statements) in schema::MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            for statement in *statements {
                sqlx::query(*statement).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(*version)
                .bind(Timestamp::now().0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes
    /// could fail on upgrade without waiting.
    pub(crate) async fn begin_write(&self) -> Result<Tx> {
        Ok(match self.inner.dialect {
            Dialect::Sqlite => self.inner.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.inner.pool.begin().await?,
        })
    }

    /// Starts a read-only transaction, so reads made of several queries see
    /// one snapshot.
    pub(crate) async fn begin_read(&self) -> Result<Tx> {
        Ok(match self.inner.dialect {
            Dialect::Sqlite => self.inner.pool.begin().await?,
            Dialect::Postgres => {
                self.inner
                    .pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?
            }
        })
    }

    /// Serialises the transactions that take the lock `key` until they end:
    /// a transaction-scoped advisory lock on PostgreSQL. On SQLite a write
    /// transaction already holds the database's write lock, so nothing more
    /// is needed.
    pub(crate) async fn advisory_lock(&self, tx: &mut Tx, key: i64) -> Result<()> {
        if self.inner.dialect == Dialect::Postgres {
            // Wrapped in COUNT: the Any driver cannot carry a `void` column.
            sqlx::query("SELECT COUNT(*) AS n FROM (SELECT pg_advisory_xact_lock($1)) AS l")
                .bind(key)
                .fetch_one(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// The first statement of every write to an account: locks the
    /// account's row, which serialises writers of one account on
    /// PostgreSQL (so "count, then insert" limit checks and "look, then
    /// insert" name checks cannot race) and proves the account exists.
    pub(crate) async fn lock_account(&self, tx: &mut Tx, account: &str) -> Result<()> {
        let done = sqlx::query("UPDATE accounts SET updated_at = updated_at WHERE account_id = $1")
            .bind(account)
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(IamError::missing(Missing::Account, account));
        }
        Ok(())
    }

    /// Commits a write and invalidates compiled policy sets: here by bumping
    /// the generation after the commit (never before: a reader could
    /// otherwise cache the old state under the new number), on other
    /// PostgreSQL nodes by the NOTIFY that PostgreSQL delivers at commit.
    pub(crate) async fn commit(&self, mut tx: Tx) -> Result<()> {
        if self.inner.dialect == Dialect::Postgres {
            sqlx::query(NOTIFY).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.inner.changes.bump();
        Ok(())
    }
}

/// What tells cached policy sets they are stale.
#[derive(Debug)]
pub(crate) struct Changes {
    /// Bumped after every committed write through this store and for every
    /// NOTIFY from another node; a compiled set remembers the value it was
    /// built at and is rebuilt when the value has moved.
    generation: AtomicU64,
    /// False while the PostgreSQL listener is reconnecting: other nodes'
    /// writes may go unheard, so nothing cached is used.
    trusted: AtomicBool,
}

impl Default for Changes {
    fn default() -> Changes {
        Changes {
            generation: AtomicU64::new(0),
            trusted: AtomicBool::new(true),
        }
    }
}

impl Changes {
    pub(crate) fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The current generation, or `None` while cached values must not be
    /// trusted (the PostgreSQL listener is reconnecting).
    pub(crate) fn current(&self) -> Option<u64> {
        let generation = self.generation();
        self.trusted().then_some(generation)
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn trusted(&self) -> bool {
        self.trusted.load(Ordering::Acquire)
    }

    pub(crate) fn set_trusted(&self, trusted: bool) {
        self.trusted.store(trusted, Ordering::Release);
    }
}

/// `MaxItems`: 1–1000, 100 when absent.
pub(crate) fn page_size(options: &ListOptions) -> Result<i64> {
    crate::validate::range("MaxItems", options.max_items.unwrap_or(100), 1, 1000)
}

/// Markers are opaque to clients: the hex of the last name returned.
pub(crate) fn encode_marker(key: &str) -> String {
    hex::encode(key.as_bytes())
}

pub(crate) fn decode_marker(options: &ListOptions) -> Result<Option<String>> {
    let Some(marker) = options.marker.as_deref().filter(|m| !m.is_empty()) else {
        return Ok(None);
    };
    let bad = || IamError::invalid("Marker", Problem::Format);
    let bytes = hex::decode(marker).map_err(|_| bad())?;
    String::from_utf8(bytes).map(Some).map_err(|_| bad())
}

/// Cuts a fetched page (asked for `size + 1` rows) to `size` and sets
/// `IsTruncated` and the next marker.
pub(crate) fn finish_page<T>(
    mut items: Vec<T>,
    size: i64,
    key: impl Fn(&T) -> String,
) -> Listing<T> {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let is_truncated = items.len() > size;
    items.truncate(size);
    let marker = if is_truncated {
        items.last().map(|last| encode_marker(&key(last)))
    } else {
        None
    };
    Listing {
        items,
        is_truncated,
        marker,
    }
}

/// Reads a BIGINT epoch-seconds column.
pub(crate) fn ts(row: &AnyRow, column: &str) -> Result<Timestamp, sqlx::Error> {
    Ok(Timestamp(row.try_get::<i64, _>(column)?))
}

pub(crate) fn opt_ts(row: &AnyRow, column: &str) -> Result<Option<Timestamp>, sqlx::Error> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(Timestamp))
}

/// `COUNT(*)` of a query with text parameters.
pub(crate) async fn count(
    conn: &mut AnyConnection,
    sql: &'static str,
    params: &[&str],
) -> Result<i64> {
    let mut query = sqlx::query(sql);
    for p in params {
        query = query.bind(p.to_string());
    }
    let row = query.fetch_one(conn).await?;
    Ok(row.try_get::<i64, _>(0)?)
}

/// Refuses a deletion while anything still refers to the entity: each
/// check is a `COUNT(*)` over `(account, id)` and the conflict it reports.
pub(crate) async fn refuse_if_referenced(
    conn: &mut AnyConnection,
    checks: &[(&'static str, Conflict)],
    account: &str,
    id: &str,
    name: &str,
) -> Result<()> {
    for &(sql, conflict) in checks {
        if count(&mut *conn, sql, &[account, id]).await? > 0 {
            return Err(IamError::conflict(conflict, name));
        }
    }
    Ok(())
}

/// The next value of a per-account ordering column (`seq`). Race-free
/// because the caller holds the account's lock.
pub(crate) async fn next_seq(
    conn: &mut AnyConnection,
    sql: &'static str,
    account: &str,
) -> Result<i64> {
    let row = sqlx::query(sql).bind(account).fetch_one(conn).await?;
    Ok(row.try_get::<i64, _>(0)?)
}

/// Optional text input: an empty string means "not given".
pub(crate) fn given(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// Whole-number limit as stored and compared.
pub(crate) fn limit_i64(limit: u32) -> i64 {
    i64::from(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_names_the_listened_channel() {
        assert_eq!(NOTIFY.strip_prefix("NOTIFY "), Some(NOTIFY_CHANNEL));
    }

    #[test]
    fn markers_round_trip_and_reject_garbage() {
        let options = ListOptions {
            marker: Some(encode_marker("u-é")),
            max_items: None,
        };
        assert_eq!(decode_marker(&options).unwrap().as_deref(), Some("u-é"));
        let bad = ListOptions {
            marker: Some("zz".into()),
            max_items: None,
        };
        assert_eq!(
            decode_marker(&bad).unwrap_err().code(),
            "InvalidParameter.Marker.Format"
        );
        assert_eq!(decode_marker(&ListOptions::default()).unwrap(), None);
    }

    #[test]
    fn pages_are_cut_and_marked() {
        let page = finish_page(vec!["a", "b", "c"], 2, |s| s.to_string());
        assert_eq!(page.items, ["a", "b"]);
        assert!(page.is_truncated);
        assert_eq!(page.marker, Some(encode_marker("b")));
        let page = finish_page(vec!["a", "b"], 2, |s| s.to_string());
        assert!(!page.is_truncated);
        assert_eq!(page.marker, None);
        assert_eq!(page_size(&ListOptions::default()).unwrap(), 100);
    }
}
