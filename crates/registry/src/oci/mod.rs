//! The OCI Distribution API (spec v1.1): the HTTP data plane.
//!
//! One axum [`router`] serves every endpoint under `/v2/`. Repository
//! names contain slashes, so the path is split here, from its end (see
//! `Route`), rather than by the route table. Each request then:
//!
//! 1. has its name (and reference or digest) checked against the grammar
//!    — `NAME_INVALID` and friends go out before anyone is asked;
//! 2. asks the [`Gate`] for the [`Access`] it needs (the table is in
//!    `crates/registry/README.md`), which answers with the repository's
//!    id or a refusal rendered as-is (401 with its challenge, 403, 404);
//! 3. does its work against the metadata ([`Db`]) and the blob store.
//!
//! | file | endpoints |
//! |---|---|
//! | `blobs.rs` | blob HEAD/GET (ranges), blob DELETE |
//! | `uploads.rs` | POST (session, monolithic, mount), PATCH, PUT, status GET, cancel DELETE |
//! | `manifests.rs` | manifest HEAD/GET (negotiated), PUT, DELETE; the manifest cache |
//! | `listing.rs` | tags list, catalog, referrers |
//! | `body.rs` | streaming request and response bodies, `Range` grammars |
//! | `error.rs` | the OCI error body, the one mapping of every error to it |

mod blobs;
pub mod body;
pub mod error;
mod listing;
mod manifests;
mod uploads;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, Request, State};
use axum::http::header::{HeaderName, CONTENT_LENGTH};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

pub use error::{Code, OciError};
use manifests::ManifestCache;

use crate::gate::{AccessRequest, Admitted, Gate};
use crate::meta::Db;
use crate::name::RepoName;
use crate::storage::{BlobStore, StorageError, UploadId};

pub use crate::gate::Access;

/// Knobs of the data plane.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest manifest accepted (413 above it).
    pub max_manifest_bytes: usize,
    /// Bytes per read when streaming a blob to a client.
    pub read_chunk: usize,
    /// Bytes of manifests kept in memory (they are immutable, so the cache
    /// never needs invalidating; 0 disables it).
    pub manifest_cache_bytes: usize,
    /// The most tags one `tags/list` page holds when the client asks `n`.
    pub max_tags_page: u64,
    /// Repositories per catalog page (the default and the maximum of `n`).
    pub catalog_page: u64,
    /// Upload sessions older than this are removed by
    /// [`Registry::purge_expired_uploads`].
    pub upload_max_age: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_manifest_bytes: crate::manifest::MAX_MANIFEST_BYTES,
            read_chunk: 1024 * 1024,
            manifest_cache_bytes: 64 * 1024 * 1024,
            max_tags_page: 10_000,
            catalog_page: 1_000,
            upload_max_age: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// The data plane's state: the gate it asks, the blob store, the
/// metadata handle, its limits, the manifest cache.
pub struct Registry<G, S> {
    gate: G,
    store: S,
    db: Db,
    limits: Limits,
    manifests: ManifestCache,
    /// SHA-256 state of upload sessions hashed as their chunks streamed
    /// in (this process only; after a restart the store hashes the file).
    progress: uploads::Progress,
}

impl<G: Gate, S: BlobStore + 'static> Registry<G, S> {
    pub fn new(gate: G, store: S, db: Db, limits: Limits) -> Registry<G, S> {
        let manifests = ManifestCache::new(limits.manifest_cache_bytes);
        Registry {
            gate,
            store,
            db,
            limits,
            manifests,
            progress: uploads::Progress::default(),
        }
    }

    pub fn gate(&self) -> &G {
        &self.gate
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Removes idle upload sessions from the store, and the session rows
    /// whose bytes are gone. Returns how many sessions the store removed.
    /// Meant to run periodically (e.g. hourly).
    pub async fn purge_expired_uploads(&self, now: SystemTime) -> Result<usize, OciError> {
        let removed = self.store.purge_expired_uploads(now).await?;
        for id in self.progress.ids() {
            if let Err(StorageError::UploadUnknown(_)) = self.store.upload_status(&id).await {
                self.progress.take(&id);
            }
        }
        let cutoff = now
            .checked_sub(self.limits.upload_max_age)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        for stale in self.db.uploads_started_before(cutoff).await? {
            let gone = match UploadId::parse(&stale.upload_id) {
                Ok(id) => matches!(
                    self.store.upload_status(&id).await,
                    Err(StorageError::UploadUnknown(_))
                ),
                Err(_) => true,
            };
            if gone {
                self.db.delete_upload(&stale.upload_id).await?;
            }
        }
        Ok(removed)
    }
}

/// The OCI router: every endpoint under `/v2/`. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so the gate
/// sees the peer address (without it the peer reads as `0.0.0.0:0`).
pub fn router<G: Gate, S: BlobStore + 'static>(registry: Arc<Registry<G, S>>) -> Router {
    Router::new()
        .route("/v2", any(handle::<G, S>))
        .route("/v2/", any(handle::<G, S>))
        .route("/v2/{*rest}", any(handle::<G, S>))
        // Blobs stream through; manifests are held to their own limit.
        .layer(DefaultBodyLimit::disable())
        .with_state(registry)
}

async fn handle<G: Gate, S: BlobStore + 'static>(
    State(registry): State<Arc<Registry<G, S>>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let mut response = match registry.dispatch(&parts, body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    response.headers_mut().insert(
        HeaderName::from_static("docker-distribution-api-version"),
        HeaderValue::from_static("registry/2.0"),
    );
    response
}

/// Where a `/v2/…` path leads. Names may contain `/`, so the kind is read
/// from the end of the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    Base,
    Catalog,
    Tags(&'a str),
    Manifest(&'a str, &'a str),
    Blob(&'a str, &'a str),
    Uploads(&'a str),
    Upload(&'a str, &'a str),
    Referrers(&'a str, &'a str),
}

impl<'a> Route<'a> {
    pub(crate) fn parse(path: &'a str) -> Option<Route<'a>> {
        let rest = match path.strip_prefix("/v2") {
            Some("" | "/") => return Some(Route::Base),
            Some(rest) => rest.strip_prefix('/')?,
            None => return None,
        };
        if rest == "_catalog" {
            return Some(Route::Catalog);
        }
        if let Some(name) = rest.strip_suffix("/tags/list") {
            return Some(Route::Tags(name));
        }
        if let Some(name) = rest
            .strip_suffix("/blobs/uploads/")
            .or_else(|| rest.strip_suffix("/blobs/uploads"))
        {
            return Some(Route::Uploads(name));
        }
        let (head, last) = rest.rsplit_once('/')?;
        if let Some(name) = head.strip_suffix("/blobs/uploads") {
            return Some(Route::Upload(name, last));
        }
        if let Some(name) = head.strip_suffix("/blobs") {
            return Some(Route::Blob(name, last));
        }
        if let Some(name) = head.strip_suffix("/manifests") {
            return Some(Route::Manifest(name, last));
        }
        if let Some(name) = head.strip_suffix("/referrers") {
            return Some(Route::Referrers(name, last));
        }
        None
    }
}

/// What every handler needs to know about its request.
pub(crate) struct Ctx<'a> {
    pub parts: &'a Parts,
    pub peer: SocketAddr,
    pub query: Vec<(String, String)>,
}

impl Ctx<'_> {
    /// The first value of a query parameter.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A header as text (`None` when absent or not visible ASCII).
    pub fn header(&self, name: HeaderName) -> Option<&str> {
        self.parts.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_length(&self) -> Option<u64> {
        self.header(CONTENT_LENGTH)
            .and_then(|v| v.trim().parse().ok())
    }

    pub fn is_head(&self) -> bool {
        self.parts.method == Method::HEAD
    }
}

/// A repository the gate admitted: its name and id, and the instance.
pub(crate) struct Repo {
    pub name: RepoName,
    pub id: String,
    pub instance_id: String,
}

impl<G: Gate, S: BlobStore + 'static> Registry<G, S> {
    async fn dispatch(&self, parts: &Parts, body: Body) -> Result<Response, OciError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), |c| c.0);
        let query = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|e| OciError::new(Code::Unsupported, format!("malformed query: {e}")))?
            .0;
        let ctx = Ctx { parts, peer, query };
        let route = Route::parse(parts.uri.path()).ok_or_else(|| {
            OciError::new(Code::Unsupported, "no such endpoint").with_status(StatusCode::NOT_FOUND)
        })?;
        let method = &parts.method;
        match route {
            Route::Base if method == Method::GET || method == Method::HEAD => {
                self.admit(&ctx, None, Access::Base).await?;
                Ok(json_response(StatusCode::OK, "{}".to_owned()))
            }
            Route::Catalog if method == Method::GET => self.catalog(&ctx).await,
            Route::Tags(name) if method == Method::GET => self.tags(&ctx, name).await,
            Route::Referrers(name, digest) if method == Method::GET => {
                self.referrers(&ctx, name, digest).await
            }
            Route::Blob(name, digest) if method == Method::GET || method == Method::HEAD => {
                self.get_blob(&ctx, name, digest).await
            }
            Route::Blob(name, digest) if method == Method::DELETE => {
                self.delete_blob(&ctx, name, digest).await
            }
            Route::Manifest(name, reference) if method == Method::GET || method == Method::HEAD => {
                self.get_manifest(&ctx, name, reference).await
            }
            Route::Manifest(name, reference) if method == Method::PUT => {
                self.put_manifest(&ctx, name, reference, body).await
            }
            Route::Manifest(name, reference) if method == Method::DELETE => {
                self.delete_manifest(&ctx, name, reference).await
            }
            Route::Uploads(name) if method == Method::POST => {
                self.start_upload(&ctx, name, body).await
            }
            Route::Upload(name, id) if method == Method::PATCH => {
                self.patch_upload(&ctx, name, id, body).await
            }
            Route::Upload(name, id) if method == Method::PUT => {
                self.put_upload(&ctx, name, id, body).await
            }
            Route::Upload(name, id) if method == Method::GET => {
                self.upload_status(&ctx, name, id).await
            }
            Route::Upload(name, id) if method == Method::DELETE => {
                self.cancel_upload(&ctx, name, id).await
            }
            _ => Err(OciError::new(
                Code::Unsupported,
                format!("{method} is not supported on this endpoint"),
            )),
        }
    }

    /// Asks the gate.
    async fn admit(
        &self,
        ctx: &Ctx<'_>,
        repository: Option<&RepoName>,
        access: Access,
    ) -> Result<Admitted, OciError> {
        let request = AccessRequest {
            headers: &ctx.parts.headers,
            peer: ctx.peer,
            repository: repository.map(RepoName::as_str),
            access,
            method: ctx.parts.method.as_str(),
            path: ctx.parts.uri.path(),
        };
        Ok(self.gate.admit(request).await?)
    }

    /// Asks the gate for `access` to a (checked) repository name.
    async fn repo(&self, ctx: &Ctx<'_>, name: RepoName, access: Access) -> Result<Repo, OciError> {
        let admitted = self.admit(ctx, Some(&name), access).await?;
        let id = admitted.repo_id.ok_or_else(|| {
            OciError::new(
                Code::NameUnknown,
                format!("repository {name} is not known to the registry"),
            )
        })?;
        Ok(Repo {
            name,
            id,
            instance_id: admitted.instance_id,
        })
    }
}

/// A response with a status, headers and a body. Header values that are
/// not valid are dropped (they are all built from checked names, digests
/// and numbers).
pub(crate) fn respond(status: StatusCode, headers: &[(HeaderName, &str)], body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let map = response.headers_mut();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            map.insert(name.clone(), value);
        }
    }
    response
}

pub(crate) fn json_response(status: StatusCode, body: String) -> Response {
    let length = body.len().to_string();
    respond(
        status,
        &[
            (
                axum::http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            ),
            (CONTENT_LENGTH, &length),
        ],
        Body::from(body),
    )
}

pub(crate) const DOCKER_CONTENT_DIGEST: HeaderName =
    HeaderName::from_static("docker-content-digest");
pub(crate) const DOCKER_UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");
pub(crate) const OCI_SUBJECT: HeaderName = HeaderName::from_static("oci-subject");
pub(crate) const OCI_FILTERS_APPLIED: HeaderName = HeaderName::from_static("oci-filters-applied");

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn routes() {
        assert_eq!(Route::parse("/v2/"), Some(Route::Base));
        assert_eq!(Route::parse("/v2"), Some(Route::Base));
        assert_eq!(Route::parse("/v2/_catalog"), Some(Route::Catalog));
        assert_eq!(Route::parse("/v2/a/b/tags/list"), Some(Route::Tags("a/b")));
        assert_eq!(
            Route::parse("/v2/a/b/manifests/v1"),
            Some(Route::Manifest("a/b", "v1"))
        );
        assert_eq!(
            Route::parse("/v2/a/blobs/uploads/"),
            Some(Route::Uploads("a"))
        );
        assert_eq!(
            Route::parse("/v2/a/blobs/uploads"),
            Some(Route::Uploads("a"))
        );
        assert_eq!(
            Route::parse("/v2/a/blobs/uploads/xyz"),
            Some(Route::Upload("a", "xyz"))
        );
        assert_eq!(
            Route::parse("/v2/a/blobs/sha256:x"),
            Some(Route::Blob("a", "sha256:x"))
        );
        assert_eq!(
            Route::parse("/v2/a/referrers/sha256:x"),
            Some(Route::Referrers("a", "sha256:x"))
        );
        // A repository may be called `manifests`.
        assert_eq!(
            Route::parse("/v2/x/manifests/manifests/latest"),
            Some(Route::Manifest("x/manifests", "latest"))
        );
        assert_eq!(Route::parse("/v2/a"), None);
        assert_eq!(Route::parse("/v3/a/tags/list"), None);
    }
}
