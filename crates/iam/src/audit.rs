//! The audit log: one row per decision (API call, AssumeRole, registry
//! access), written by the HTTP layer. Rows are scoped by account like
//! everything else; reading them back always names the account.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Row};

use crate::error::{IamError, Problem, Result};
use crate::ids;
use crate::model::Timestamp;
use crate::store::{ts, Store};

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

impl Store {
    /// Appends an event. Audit writes do not invalidate policy caches.
    pub async fn record_audit(&self, event: &AuditEvent) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_events (event_id, request_id, occurred_at, account_id,
                 principal_arn, action, resource, decision, deciding_statement, source_ip,
                 error_code, principal_chain, session_id, issued_session_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(ids::event_id())
        .bind(&event.request_id)
        .bind(event.time.0)
        .bind(&event.account_id)
        .bind(&event.principal_arn)
        .bind(&event.action)
        .bind(&event.resource)
        .bind(&event.decision)
        .bind(event.deciding_statement.clone())
        .bind(event.source_ip.clone())
        .bind(event.error_code.clone())
        .bind(chain_text(&event.principal_chain)?)
        .bind(event.session_id.clone())
        .bind(event.issued_session_id.clone())
        .execute(&self.inner.pool)
        .await?;
        Ok(())
    }

    /// Events of one account matching the filter, newest first.
    pub async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
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
                    session_id, issued_session_id
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
            });
        }
        Ok(events)
    }
}
