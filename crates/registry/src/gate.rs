//! The contract between the OCI data plane and the identity plane.
//!
//! The data plane (`crate::oci`) speaks the Distribution protocol and
//! knows nothing of RAM. Before it touches anything it asks its [`Gate`]:
//! "this request, from this peer, wants to do this to this repository —
//! may it, and which repository is that?". The gate (implemented by the
//! server, over RAM) reads the `Host` and `Authorization` headers,
//! resolves the instance, opens the bearer token, asks the decision point
//! with the request's `cr:` action, audits the decision, and answers with
//! the repository's id or a refusal the data plane renders as-is.

use std::future::Future;
use std::net::SocketAddr;

use axum::http::HeaderMap;

/// What a registry request wants to do, in RAM's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// `GET /v2/`: only "who are you".
    Base,
    /// Blob or manifest HEAD/GET, referrers: `cr:PullRepository`.
    Pull,
    /// Uploads, manifest PUT: `cr:PushRepository`. A push may create the
    /// repository (when its namespace allows it).
    Push,
    /// `DELETE /v2/<name>/manifests/<tag>`: `cr:DeleteRepositoryTag`.
    DeleteTag,
    /// Manifest delete by digest, blob delete: `cr:DeleteRepository`.
    Delete,
    /// `GET /v2/<name>/tags/list`: `cr:ListRepositoryTag`.
    ListTags,
    /// `GET /v2/_catalog`: `cr:ListRepository` on the instance.
    Catalog,
}

impl Access {
    /// The Docker token scope action this access needs (`pull`, `push`,
    /// `delete`; `*` for the catalog).
    pub fn scope_action(self) -> &'static str {
        match self {
            Access::Base | Access::Pull | Access::ListTags => "pull",
            Access::Push => "push",
            Access::DeleteTag | Access::Delete => "delete",
            Access::Catalog => "*",
        }
    }
}

/// One question to the gate.
#[derive(Debug, Clone, Copy)]
pub struct AccessRequest<'a> {
    /// The request's headers (`Host`, `Authorization`).
    pub headers: &'a HeaderMap,
    /// The TCP peer (`acs:SourceIp`, the endpoint ACL).
    pub peer: SocketAddr,
    /// `namespace/repo` as it appears in the URL, already checked against
    /// the OCI name grammar; `None` for [`Access::Base`] and
    /// [`Access::Catalog`].
    pub repository: Option<&'a str>,
    /// What the request wants.
    pub access: Access,
    /// The HTTP method and path, for the audit event.
    pub method: &'a str,
    pub path: &'a str,
}

/// A yes from the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// The instance the `Host` resolved to.
    pub instance_id: String,
    /// The repository's id (`cr_repositories.repo_id`) when the request
    /// named one; created by the gate for a [`Access::Push`] into a
    /// namespace that auto-creates repositories.
    pub repo_id: Option<String>,
}

/// A no from the gate, rendered by the data plane with the OCI error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 401 `UNAUTHORIZED` with this `WWW-Authenticate` value: no or
    /// insufficient credentials; the client should fetch a token.
    Challenge {
        www_authenticate: String,
        message: String,
    },
    /// 403 `DENIED`: authenticated, and RAM says no (or the endpoint ACL).
    Denied { message: String },
    /// 404 `NAME_UNKNOWN`: no such repository (only said to callers that
    /// may know it).
    NameUnknown { message: String },
    /// 400 `NAME_INVALID`: the name does not fit the instance's layout
    /// (`namespace/repository`).
    NameInvalid { message: String },
    /// 404 (no instance answers to this `Host`).
    UnknownHost { message: String },
    /// 500: the gate could not decide.
    Internal { message: String },
}

/// The identity plane, as the data plane sees it.
pub trait Gate: Send + Sync + 'static {
    /// Decides one request. Called once per HTTP request (twice for a
    /// cross-repository mount: push on the target, pull on the source).
    fn admit(
        &self,
        request: AccessRequest<'_>,
    ) -> impl Future<Output = Result<Admitted, Refusal>> + Send;
}
