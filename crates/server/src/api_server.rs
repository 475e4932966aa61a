//! The HTTP server: state, routes, serving and graceful shutdown.
//!
//! Routes:
//! * `GET /healthz` → `200 ok` (text): the process is serving.
//! * `GET /rampart/credentials/{binding}/{secret}` → fresh temporary
//!   credentials of a role, in the JSON `ALIBABA_CLOUD_CREDENTIALS_URI`
//!   expects ([`crate::sts::credentials_uri`]).
//! * `POST /rampart/authorize` → the authorization API for other services
//!   ([`crate::authorize`], an extension): a service asks whether the
//!   request it received may do what it is about to do.
//! * anything else with `GET` or `POST` → the RPC endpoint
//!   ([`crate::rpc::handle`]); the SDKs post to `/`, but any path is taken
//!   (V3 signs the path, so a client that used another one still verifies).
//! * other methods → `InvalidAction.NotFound` in the Alibaba shape.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use auth::{KeyRing, NonceCache, SealingKey};
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::Request;
use axum::response::Response;
use axum::routing::{any, get};
use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::rpc::router::Router;

/// The default largest request body: a policy document is at most 6144
/// characters, which percent-encoded in a pop-core form body can take up
/// to about 74 KB (4-byte characters, 3 bytes of escape each); 128 KiB
/// leaves room for the other parameters.
pub const DEFAULT_BODY_LIMIT: usize = 128 * 1024;

/// The default capacity of the replay memory: nonces live 15 minutes, so
/// this allows a sustained 1,100 signed requests per second. Memory is
/// reserved lazily by the OS; a full memory refuses requests with
/// `ServiceUnavailable` rather than forget a live nonce.
pub const DEFAULT_NONCE_CAPACITY: usize = 1_000_000;

/// Tunables of the HTTP layer.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// How many nonces the replay memory holds.
    pub nonce_capacity: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            body_limit: DEFAULT_BODY_LIMIT,
            nonce_capacity: DEFAULT_NONCE_CAPACITY,
        }
    }
}

/// What every request shares.
pub struct AppState {
    /// The domain, the decision point and the audit table.
    pub store: iam::Store,
    /// Nonces seen within the skew window.
    pub nonces: Mutex<NonceCache>,
    /// The dispatch table.
    pub router: Router,
    /// Tunables.
    pub config: Config,
    /// The keys STS tokens are sealed and opened with (the first seals).
    /// `None` only when no key could be made: temporary credentials are
    /// then refused with `InternalError`.
    pub sts_keys: Option<KeyRing>,
    /// The clock sessions are issued and checked by.
    pub clock: Clock,
    /// Compiled session policies by their text, so a session's requests
    /// do not parse and compile the same policy each time.
    pub session_rights: SessionRightsCache,
    /// The registry's tables and settings (`None`: Container Registry
    /// actions answer that no registry is configured).
    pub registry: Option<crate::registry::RegistryPlane>,
}

/// Session policies compiled once per text (what `sts::SessionRights::of`
/// depends on), at most [`SessionRightsCache::CAPACITY`] of them (then the
/// map starts over).
#[derive(Debug, Default)]
pub struct SessionRightsCache {
    entries: Mutex<std::collections::HashMap<String, std::sync::Arc<sts::SessionRights>>>,
}

impl SessionRightsCache {
    pub const CAPACITY: usize = 1_000;

    /// The compiled narrowing of a verified session.
    pub fn of(
        &self,
        claims: &sts::Claims,
    ) -> Result<std::sync::Arc<sts::SessionRights>, sts::StsTokenError> {
        let Some(text) = &claims.session_policy else {
            return Ok(std::sync::Arc::new(sts::SessionRights::default()));
        };
        let lock = || {
            self.entries
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(hit) = lock().get(text) {
            return Ok(std::sync::Arc::clone(hit));
        }
        let rights = std::sync::Arc::new(sts::SessionRights::of(claims)?);
        let mut entries = lock();
        if entries.len() >= Self::CAPACITY {
            entries.clear();
        }
        entries.insert(text.clone(), std::sync::Arc::clone(&rights));
        Ok(rights)
    }

    /// Entries held (for tests).
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl AppState {
    /// The state for a store, with every product's actions registered, the
    /// system clock, and a fresh random STS key that lives as long as the
    /// process (so sessions end with it): give a lasting one, shared by
    /// every node, with [`AppState::with_sts_keys`].
    pub fn new(store: iam::Store, config: Config) -> Self {
        let mut router = Router::new();
        crate::ram::register(&mut router);
        crate::sts::register(&mut router);
        crate::cr::register(&mut router);
        let sts_keys = SealingKey::generate("process")
            .and_then(|key| KeyRing::new(vec![key]))
            .ok();
        Self {
            store,
            nonces: Mutex::new(NonceCache::with_capacity(config.nonce_capacity)),
            router,
            config,
            sts_keys,
            clock: Clock::system(),
            session_rights: SessionRightsCache::default(),
            registry: None,
        }
    }

    /// Serves the registry's control plane (Container Registry actions)
    /// and lets the registry listener share this state.
    pub fn with_registry(mut self, plane: crate::registry::RegistryPlane) -> Self {
        self.registry = Some(plane);
        self
    }

    /// The STS key ring: the first key seals new tokens, every key opens.
    pub fn with_sts_keys(mut self, keys: KeyRing) -> Self {
        self.sts_keys = Some(keys);
        self
    }

    /// Another clock (tests shift it; see [`Clock`]).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn rpc(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request<Body>,
) -> Response {
    crate::rpc::handle(&state, peer, request).await
}

async fn authorize(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request<Body>,
) -> Response {
    crate::authorize::handle(&state, peer, request).await
}

async fn credentials_uri(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((binding, secret)): Path<(String, String)>,
) -> Response {
    crate::sts::credentials_uri::handle(&state, peer, &binding, &secret).await
}

/// The axum application. Serve it with connection info (see [`serve`]):
/// the peer address is the `acs:SourceIp` of every decision.
pub fn app(state: Arc<AppState>) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route(crate::sts::credentials_uri::ROUTE, get(credentials_uri))
        .route(crate::authorize::ROUTE, any(authorize))
        .fallback(rpc)
        .with_state(state)
}

/// Serves `state` on `listener` until `shutdown` completes, then stops
/// accepting connections and waits for the requests in flight to finish.
pub async fn serve<F>(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}
