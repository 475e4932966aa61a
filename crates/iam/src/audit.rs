//! The audit log: one row per decision (API call, AssumeRole, registry
//! access), written by the HTTP layer. Rows are scoped by account like
//! everything else; reading them back always names the account.
//!
//! Requests do not write their rows themselves: [`Store::queue_audit`]
//! hands the event to one background writer over a bounded channel and
//! returns. The writer takes what arrives within a few milliseconds of
//! the first event (up to [`AUDIT_BATCH`] events) and inserts it in one
//! transaction, so under load many requests share one commit, and no
//! request waits for SQLite's write lock. Nothing is dropped: when the channel is full, `queue_audit` waits
//! for room (backpressure). [`Store::flush_audit`] waits until everything
//! queued before it is in the table ([`Store::list_audit`] calls it, so a
//! store reads its own events), and [`Store::close`] flushes and stops the
//! writer before closing the pool.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyPool, AssertSqlSafe, Row};
use tokio::sync::{mpsc, oneshot};

use crate::error::{IamError, Problem, Result};
use crate::ids;
use crate::model::Timestamp;
use crate::store::{ts, Dialect, Store};

/// Events written in one transaction at most.
pub const AUDIT_BATCH: usize = 256;
/// Events waiting for the writer at most; beyond that `queue_audit` waits.
const AUDIT_QUEUE: usize = 4096;
/// Rows per INSERT statement ([`COLUMNS`] parameters each). On SQLite the
/// placeholders are plain `?` (see `insert_rows`), so binding costs grow
/// with the number of parameters, not its square.
const ROWS_PER_INSERT: usize = 32;
/// How long the writer waits for more events after the first of a batch.
/// Events are already only in memory until their batch commits; this adds
/// at most this much to that window and nothing to any request's latency.
const LINGER: std::time::Duration = std::time::Duration::from_millis(5);
const COLUMNS: usize = 15;

/// One audited decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub request_id: String,
    pub time: Timestamp,
    /// The account whose resources the request touched (or the caller's
    /// account when the request failed before that was known).
    pub account_id: String,
    pub principal_arn: String,
    pub action: String,
    pub resource: String,
    /// `Allow`, `ExplicitDeny`, `ImplicitDeny` (or what the caller chooses
    /// for requests refused before a decision, e.g. `Unauthenticated`).
    pub decision: String,
    /// The statement that decided (see `DecidingStatement`'s `Display`).
    pub deciding_statement: Option<String>,
    pub source_ip: Option<String>,
    /// The error `Code` returned, if the request failed.
    pub error_code: Option<String>,
    /// For a call made with temporary credentials: every principal of the
    /// chain, the one that started it first and the session itself last
    /// (stored as a JSON array). Empty for long-term keys.
    pub principal_chain: Vec<String>,
    /// The id of the session that made the call, for temporary credentials.
    pub session_id: Option<String>,
    /// The id of the session the call issued (AssumeRole, the credentials
    /// URI), so later calls of that session lead back to its issue.
    pub issued_session_id: Option<String>,
    /// The service that asked for the decision on another's behalf (the
    /// authorization API), when one did.
    pub acting_service: Option<String>,
}

/// Which events [`Store::list_audit`] returns: always one account's, newest
/// first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub account_id: String,
    pub principal_arn: Option<String>,
    pub action: Option<String>,
    pub request_id: Option<String>,
    /// Inclusive.
    pub since: Option<Timestamp>,
    /// Exclusive.
    pub until: Option<Timestamp>,
    /// 1–1000; 100 when absent.
    pub limit: Option<i64>,
    /// Matching events to skip first (newest first), to page past `limit`;
    /// none when absent.
    pub offset: Option<i64>,
}

enum Bind {
    Text(String),
    Int(i64),
}

/// The chain column: a JSON array of ARNs, NULL when there is no chain.
fn chain_text(chain: &[String]) -> Result<Option<String>> {
    if chain.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(chain)
        .map(Some)
        .map_err(|e| IamError::internal_from("encoding an audit chain", e))
}

fn chain_from_text(text: Option<String>) -> Result<Vec<String>> {
    match text {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| IamError::internal_from("a stored audit chain does not read", e)),
    }
}

/// What the writer task receives.
pub(crate) enum AuditMsg {
    Event(Box<AuditEvent>),
    /// Answered once every event queued before it is written.
    Flush(oneshot::Sender<()>),
    /// Like `Flush`, then the writer ends.
    Close(oneshot::Sender<()>),
}

/// The sending side, kept in the store.
pub(crate) type AuditSender = mpsc::Sender<AuditMsg>;

/// Starts the writer task on the current Tokio runtime. It holds the pool,
/// not the store, and ends when told to close or when every sender is gone
/// (after writing what is left).
pub(crate) fn spawn_writer(pool: AnyPool, dialect: Dialect) -> AuditSender {
    let (tx, mut rx) = mpsc::channel::<AuditMsg>(AUDIT_QUEUE);
    tokio::spawn(async move {
        let mut batch: Vec<AuditEvent> = Vec::with_capacity(AUDIT_BATCH);
        let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
        let mut closing = false;
        while !closing {
            let Some(first) = rx.recv().await else {
                break;
            };
            // Gather what arrives within LINGER of the first event: under
            // load one commit then carries many requests' events instead
            // of a few. A flush or close ends the wait at once.
            let deadline = tokio::time::Instant::now() + LINGER;
            let mut next = Some(first);
            loop {
                if let Some(msg) = next.take() {
                    match msg {
                        AuditMsg::Event(event) => batch.push(*event),
                        AuditMsg::Flush(done) => waiters.push(done),
                        AuditMsg::Close(done) => {
                            waiters.push(done);
                            closing = true;
                        }
                    }
                }
                if batch.len() >= AUDIT_BATCH || closing || !waiters.is_empty() {
                    break;
                }
                next = match rx.try_recv() {
                    Ok(msg) => Some(msg),
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        match tokio::time::timeout_at(deadline, rx.recv()).await {
                            Ok(Some(msg)) => Some(msg),
                            Ok(None) | Err(_) => break,
                        }
                    }
                };
            }
            if !batch.is_empty() {
                write_batch(&pool, dialect, &batch).await;
                batch.clear();
            }
            for done in waiters.drain(..) {
                let _ = done.send(());
            }
        }
    });
    tx
}

/// Writes a batch in one transaction. If that fails, each event is tried
/// on its own so one bad event cannot take the others with it; an event
/// that still fails is logged in full (it is also in the `rampart::audit`
/// log line the HTTP layer wrote).
async fn write_batch(pool: &AnyPool, dialect: Dialect, batch: &[AuditEvent]) {
    if let Err(err) = insert_in_transaction(pool, dialect, batch).await {
        tracing::warn!(events = batch.len(), error = %err, "audit batch failed; writing its events one by one");
        for event in batch {
            if let Err(err) =
                insert_in_transaction(pool, dialect, std::slice::from_ref(event)).await
            {
                tracing::error!(request_id = %event.request_id, event = ?event, error = %err, "could not write the audit record");
            }
        }
    }
}

async fn insert_in_transaction(
    pool: &AnyPool,
    dialect: Dialect,
    events: &[AuditEvent],
) -> Result<()> {
    let mut tx = match dialect {
        Dialect::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Dialect::Postgres => pool.begin().await?,
    };
    for chunk in events.chunks(ROWS_PER_INSERT) {
        insert_rows(&mut tx, dialect, chunk).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One multi-row INSERT.
async fn insert_rows(
    conn: &mut sqlx::AnyConnection,
    dialect: Dialect,
    events: &[AuditEvent],
) -> Result<()> {
    let mut sql = String::from(
        "INSERT INTO audit_events (event_id, request_id, occurred_at, account_id,
             principal_arn, action, resource, decision, deciding_statement, source_ip,
             error_code, principal_chain, session_id, issued_session_id, acting_service) VALUES ",
    );
    for row in 0..events.len() {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..COLUMNS {
            if column > 0 {
                sql.push_str(", ");
            }
            // SQLite finds a numbered parameter's name by walking a list,
            // and sqlx asks for every parameter's name: with `$N` a batch
            // cost the square of its parameter count. Plain `?` has no name.
            match dialect {
                Dialect::Sqlite => sql.push('?'),
                Dialect::Postgres => sql.push_str(&format!("${}", row * COLUMNS + column + 1)),
            }
        }
        sql.push(')');
    }
    // Only placeholders are formatted into the text; every value is bound.
    let mut query: Query<'_, Any, AnyArguments> = sqlx::query(AssertSqlSafe(sql));
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    for event in events {
        query = query
            .bind(ids::event_id_at(millis))
            .bind(event.request_id.clone())
            .bind(event.time.0)
            .bind(event.account_id.clone())
            .bind(event.principal_arn.clone())
            .bind(event.action.clone())
            .bind(event.resource.clone())
            .bind(event.decision.clone())
            .bind(event.deciding_statement.clone())
            .bind(event.source_ip.clone())
            .bind(event.error_code.clone())
            .bind(chain_text(&event.principal_chain)?)
            .bind(event.session_id.clone())
            .bind(event.issued_session_id.clone())
            .bind(event.acting_service.clone());
    }
    query.execute(conn).await?;
    Ok(())
}

impl Store {
    /// Appends an event now, in its own transaction, and returns once it is
    /// in the table. Audit writes do not invalidate policy caches. The
    /// request path uses [`Store::queue_audit`] instead.
    pub async fn record_audit(&self, event: &AuditEvent) -> Result<()> {
        insert_in_transaction(
            &self.inner.pool,
            self.inner.dialect,
            std::slice::from_ref(event),
        )
        .await
    }

    /// Hands an event to the background writer (see the module docs).
    /// Waits only when the writer is behind by a full queue. After
    /// [`Store::close`] the event is written directly.
    pub async fn queue_audit(&self, event: AuditEvent) -> Result<()> {
        match self
            .inner
            .audit
            .send(AuditMsg::Event(Box::new(event)))
            .await
        {
            Ok(()) => Ok(()),
            Err(mpsc::error::SendError(AuditMsg::Event(event))) => self.record_audit(&event).await,
            Err(_) => Ok(()),
        }
    }

    /// Waits until every event queued before this call is written (or its
    /// failure logged).
    pub async fn flush_audit(&self) {
        let (done, written) = oneshot::channel();
        if self.inner.audit.send(AuditMsg::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    /// Flushes and stops the writer; later events are written directly.
    pub(crate) async fn close_audit(&self) {
        let (done, written) = oneshot::channel();
        if self.inner.audit.send(AuditMsg::Close(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    /// Events of one account matching the filter, newest first.
    /// Events queued through this store are flushed first.
    pub async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        self.flush_audit().await;
        let limit = filter.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(IamError::invalid(
                "MaxItems",
                Problem::Range { min: 1, max: 1000 },
            ));
        }
        let mut sql = String::from(
            "SELECT request_id, occurred_at, account_id, principal_arn, action, resource,
                    decision, deciding_statement, source_ip, error_code, principal_chain,
                    session_id, issued_session_id, acting_service
             FROM audit_events WHERE account_id = $1",
        );
        let mut binds = vec![Bind::Text(filter.account_id.clone())];
        let mut add = |sql: &mut String, clause: &str, value: Bind| {
            binds.push(value);
            sql.push_str(&format!(" AND {clause} ${}", binds.len()));
        };
        if let Some(v) = &filter.principal_arn {
            add(&mut sql, "principal_arn =", Bind::Text(v.clone()));
        }
        if let Some(v) = &filter.action {
            add(&mut sql, "action =", Bind::Text(v.clone()));
        }
        if let Some(v) = &filter.request_id {
            add(&mut sql, "request_id =", Bind::Text(v.clone()));
        }
        if let Some(v) = filter.since {
            add(&mut sql, "occurred_at >=", Bind::Int(v.0));
        }
        if let Some(v) = filter.until {
            add(&mut sql, "occurred_at <", Bind::Int(v.0));
        }
        binds.push(Bind::Int(limit));
        sql.push_str(&format!(
            " ORDER BY occurred_at DESC, event_id DESC LIMIT ${}",
            binds.len()
        ));
        if let Some(offset) = filter.offset {
            if offset < 0 {
                return Err(IamError::invalid("Offset", Problem::Value));
            }
            binds.push(Bind::Int(offset));
            sql.push_str(&format!(" OFFSET ${}", binds.len()));
        }
        // Only fixed clauses and placeholder numbers are ever formatted into
        // the text; every value is bound.
        let mut query: Query<'_, Any, AnyArguments> = sqlx::query(AssertSqlSafe(sql));
        for bind in binds {
            query = match bind {
                Bind::Text(v) => query.bind(v),
                Bind::Int(v) => query.bind(v),
            };
        }
        let rows = query.fetch_all(&self.inner.pool).await?;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            events.push(AuditEvent {
                request_id: row.try_get("request_id")?,
                time: ts(row, "occurred_at")?,
                account_id: row.try_get("account_id")?,
                principal_arn: row.try_get("principal_arn")?,
                action: row.try_get("action")?,
                resource: row.try_get("resource")?,
                decision: row.try_get("decision")?,
                deciding_statement: row.try_get("deciding_statement")?,
                source_ip: row.try_get("source_ip")?,
                error_code: row.try_get("error_code")?,
                principal_chain: chain_from_text(row.try_get("principal_chain")?)?,
                session_id: row.try_get("session_id")?,
                issued_session_id: row.try_get("issued_session_id")?,
                acting_service: row.try_get("acting_service")?,
            });
        }
        Ok(events)
    }
}
