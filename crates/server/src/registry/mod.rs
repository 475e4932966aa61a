//! The registry listener's identity side: the [`gate::RamGate`] the OCI
//! data plane asks before every request, and the Docker token service
//! ([`realm`]) that turns registry logins into bearer tokens.
//!
//! The OCI protocol itself is the `registry` crate's; this module decides
//! who the caller is and whether RAM lets them, and audits every decision.

pub mod cache;
pub mod gate;
pub mod realm;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::get;
use registry::meta::Db;
use tokio::net::TcpListener;

use crate::api_server::AppState;

/// The OCI data plane as rampart runs it: decided by RAM, blobs in a local
/// folder.
pub type DataPlane = registry::oci::Registry<gate::RamGate, registry::LocalStore>;

/// The registry listener's application: the token realm and the OCI API.
pub fn app(state: Arc<AppState>, data: Arc<DataPlane>) -> axum::Router {
    axum::Router::new()
        .route(realm::PATH, get(realm::get).post(realm::post))
        .with_state(state)
        .merge(registry::oci::router(data))
}

/// Serves the registry on `listener` until `shutdown` completes.
pub async fn serve<F>(
    listener: TcpListener,
    state: Arc<AppState>,
    data: Arc<DataPlane>,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let service = app(state, data).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The default suffix of instances' default host names
/// (`NAME-registry.REGION.SUFFIX`).
pub const DEFAULT_DOMAIN_SUFFIX: &str = "cr.rampart.internal";

/// How long a bearer token from the realm lives (capped by the caller's
/// own session).
pub const BEARER_SECONDS: i64 = 300;

/// Registry settings of a server.
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    /// Suffix of default host names.
    pub domain_suffix: String,
    /// The instance that serves hosts no instance names (plain
    /// `127.0.0.1:PORT`); `None`: the oldest instance.
    pub default_instance: Option<String>,
    /// Bearer token lifetime in seconds.
    pub bearer_seconds: i64,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        RegistrySettings {
            domain_suffix: DEFAULT_DOMAIN_SUFFIX.to_owned(),
            default_instance: None,
            bearer_seconds: BEARER_SECONDS,
        }
    }
}

/// What the registry needs besides the RAM store.
#[derive(Debug, Clone)]
pub struct RegistryPlane {
    /// The registry's tables (same database as the RAM store).
    pub db: Db,
    pub settings: RegistrySettings,
    /// Control-plane rows the registry listener reads on every request.
    pub cache: Arc<cache::ControlCache>,
}

impl RegistryPlane {
    pub fn new(db: Db, settings: RegistrySettings) -> Self {
        RegistryPlane {
            db,
            settings,
            cache: Arc::default(),
        }
    }
}
