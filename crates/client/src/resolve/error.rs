//! Why registry credentials could not be resolved: one variant per cause
//! the operator fixes differently.

use std::path::PathBuf;

use crate::rpc::RpcError;

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The config file is missing, does not parse, or an entry lacks what
    /// its mode needs.
    #[error("credential helper config {}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    /// No entry names this registry host (nor an instance of that id).
    #[error("no credential helper entry for registry {host:?}")]
    NoEntry { host: String },
    /// A service key file that cannot be read or holds no key.
    #[error("service key file {}: {message}", path.display())]
    ServiceKey { path: PathBuf, message: String },
    /// rampart's API could not be reached.
    #[error("rampart at {endpoint} is unreachable ({step}): {}", causes(source))]
    Unreachable {
        endpoint: String,
        step: String,
        #[source]
        source: reqwest::Error,
    },
    /// rampart refused a step (an AssumeRole, GetAuthorizationToken): its
    /// Code and Message as it sent them.
    #[error("{step} was refused: {code}: {message}{}", request_id.as_deref().map(|r| format!(" (RequestId {r})")).unwrap_or_default())]
    Refused {
        step: String,
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
    },
    /// An answer without the fields the API promises.
    #[error("{step}: {message}")]
    Protocol { step: String, message: String },
    /// The worker thread or its runtime failed.
    #[error("credential resolution failed: {0}")]
    Runtime(String),
}

impl ResolveError {
    pub(crate) fn from_rpc(step: &str, error: RpcError) -> ResolveError {
        match error {
            RpcError::Unreachable { endpoint, source } => ResolveError::Unreachable {
                endpoint,
                step: step.to_owned(),
                source,
            },
            RpcError::Refused {
                status,
                code,
                message,
                request_id,
                ..
            } => ResolveError::Refused {
                step: step.to_owned(),
                status,
                code,
                message,
                request_id,
            },
            RpcError::Protocol { message, .. } => ResolveError::Protocol {
                step: step.to_owned(),
                message,
            },
        }
    }

    /// Whether the cause is that no entry matches (docker's "credentials
    /// not found").
    pub fn is_no_entry(&self) -> bool {
        matches!(self, ResolveError::NoEntry { .. })
    }
}

/// An error and its causes, `: `-joined ("error sending request: …:
/// Connection refused").
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        next = cause.source();
    }
    text
}
