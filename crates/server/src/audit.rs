//! One audit event per call: who (account, principal ARN), what (action,
//! resources), the decision and the statement that made it, from where
//! (source IP), and how it ended (error code, if any).
//!
//! Every RPC call emits exactly one event, whether it was refused before
//! authentication, denied by policy or carried out. The event always goes
//! to `tracing` (target `rampart::audit`, level INFO). It goes to the
//! store's audit table too once the caller's account is known, that is for
//! every authenticated call: rows are read back per account, and writing
//! rows for unauthenticated noise would let anyone fill the table. A
//! failure to write the row is logged and does not change the answer.
//!
//! A call made with temporary credentials carries its whole chain (the
//! user or service that started it, every role session in between, the
//! session itself) and its session id. AssumeRole and the credentials URI
//! record the id of the session they issued, and AssumeRole across
//! accounts writes its row to both accounts: the caller's, and the one
//! whose role was asked for.
//!
//! `decision` is `Allow`, `ExplicitDeny` or `ImplicitDeny` when the
//! decision point was asked; `Unauthenticated` when the call ended before
//! the caller was known; `NotEvaluated` when an authenticated call ended
//! before any decision (a missing parameter, say).

use std::net::IpAddr;

use crate::ram::authz::Check;
use crate::request_id::RequestId;

/// One decision, as the audit and the endpoint need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Allow, or which kind of deny.
    pub outcome: policy::Outcome,
    /// The statement or rule that decided.
    pub deciding: Option<String>,
}

impl Verdict {
    /// Whether the request may go on.
    pub fn is_allowed(&self) -> bool {
        self.outcome == policy::Outcome::Allow
    }
}

impl From<&iam::Authorization> for Verdict {
    fn from(answer: &iam::Authorization) -> Self {
        let deciding = match (&answer.deciding, &answer.basis) {
            (Some(statement), _) => Some(statement.to_string()),
            (None, iam::Basis::AccountRoot) => Some("AccountRoot".to_owned()),
            (None, iam::Basis::OutsideAccount { .. }) => Some("OutsideAccount".to_owned()),
            (None, iam::Basis::UnknownPrincipal) => Some("UnknownPrincipal".to_owned()),
            (None, iam::Basis::Policies) => None,
        };
        Self {
            outcome: answer.decision.outcome,
            deciding,
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not finished yet.
    Pending,
    /// The handler succeeded.
    Success,
    /// Refused or failed with this Alibaba code and HTTP status.
    Error { code: String, status: u16 },
}

/// The audit record of one call, filled in as the call proceeds.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub request_id: String,
    pub source_ip: IpAddr,
    /// The caller's account, once authenticated.
    pub account: Option<String>,
    /// The caller's ARN, once authenticated.
    pub principal_arn: Option<String>,
    /// `ram:CreateUser` once dispatched; the raw `Action` before that.
    pub action: String,
    /// Every resource asked about, in order.
    pub resources: Vec<String>,
    /// For temporary credentials: the chain, origin first, this session
    /// last (`sts::Claims::chain_arns`).
    pub chain: Vec<String>,
    /// For temporary credentials: the session's id.
    pub session_id: Option<String>,
    /// The session this call issued (AssumeRole, the credentials URI).
    pub issued_session_id: Option<String>,
    /// Another account the call touched (the role's, for AssumeRole across
    /// accounts): its audit table gets the row too.
    pub resource_account: Option<String>,
    /// The service that asked, for a decision made through the
    /// authorization API for services (`crate::authorize`).
    pub acting_service: Option<String>,
    /// Why it was refused or how it was decided, beyond the code: for the
    /// log line only (not stored).
    pub detail: Option<String>,
    /// `Allow`, `ExplicitDeny` or `ImplicitDeny`: the last decision made
    /// (the first denial, or the last of all the allows). `None` when the
    /// call ended before any decision.
    pub decision: Option<&'static str>,
    /// What decided: a statement (`System:AdministratorAccess:v1:Statement[0]`)
    /// or a rule (`AccountRoot`, `OutsideAccount`, `UnknownPrincipal`).
    pub statement: Option<String>,
    pub outcome: Outcome,
}

impl AuditEvent {
    /// A new record for a request from `source_ip`.
    pub fn new(request_id: &RequestId, source_ip: IpAddr) -> Self {
        Self {
            request_id: request_id.as_str().to_owned(),
            source_ip,
            account: None,
            principal_arn: None,
            chain: Vec::new(),
            session_id: None,
            issued_session_id: None,
            resource_account: None,
            acting_service: None,
            detail: None,
            action: String::new(),
            resources: Vec::new(),
            decision: None,
            statement: None,
            outcome: Outcome::Pending,
        }
    }

    /// Notes one decision of the decision point.
    pub fn record_decision(&mut self, check: &Check, verdict: &Verdict) {
        self.resources.push(check.resource.clone());
        self.decision = Some(verdict.outcome.as_str());
        self.statement.clone_from(&verdict.deciding);
    }

    /// The `decision` column: the decision, or why there was none.
    fn decision_text(&self) -> &'static str {
        match (self.decision, &self.account) {
            (Some(decision), _) => decision,
            (None, Some(_)) => "NotEvaluated",
            (None, None) => "Unauthenticated",
        }
    }

    /// Sets how the call ended.
    pub fn finish(&mut self, outcome: Outcome) {
        self.outcome = outcome;
    }

    /// The error code, when the call failed.
    pub fn error_code(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Error { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Writes the event to the log and the store.
    pub async fn emit(&self, store: &iam::Store) {
        let resources = self.resources.join(",");
        tracing::info!(
            target: "rampart::audit",
            request_id = %self.request_id,
            account = %self.account.as_deref().unwrap_or("-"),
            principal = %self.principal_arn.as_deref().unwrap_or("-"),
            action = %self.action,
            resource = %resources,
            decision = %self.decision_text(),
            statement = %self.statement.as_deref().unwrap_or("-"),
            source_ip = %self.source_ip,
            error = %self.error_code().unwrap_or("-"),
            chain = %self.chain.join(" > "),
            session = %self.session_id.as_deref().unwrap_or("-"),
            issued_session = %self.issued_session_id.as_deref().unwrap_or("-"),
            acting_service = %self.acting_service.as_deref().unwrap_or("-"),
            detail = %self.detail.as_deref().unwrap_or("-"),
            "audit"
        );
        let Some(account) = &self.account else {
            return;
        };
        let record = iam::AuditEvent {
            request_id: self.request_id.clone(),
            time: iam::Timestamp::now(),
            account_id: account.clone(),
            principal_arn: self.principal_arn.clone().unwrap_or_default(),
            action: self.action.clone(),
            resource: resources,
            decision: self.decision_text().to_owned(),
            deciding_statement: self.statement.clone(),
            source_ip: Some(self.source_ip.to_string()),
            error_code: self.error_code().map(str::to_owned),
            principal_chain: self.chain.clone(),
            session_id: self.session_id.clone(),
            issued_session_id: self.issued_session_id.clone(),
            acting_service: self.acting_service.clone(),
        };
        // Queued for the store's audit writer (batched, off the request
        // path; waits only when the writer is a full queue behind).
        if let Some(other) = self.resource_account.as_ref().filter(|a| *a != account) {
            let mut copy = record.clone();
            copy.account_id.clone_from(other);
            if let Err(err) = store.queue_audit(copy).await {
                tracing::error!(request_id = %self.request_id, error = %err, "could not write the audit record");
            }
        }
        if let Err(err) = store.queue_audit(record).await {
            tracing::error!(request_id = %self.request_id, error = %err, "could not write the audit record");
        }
    }
}
