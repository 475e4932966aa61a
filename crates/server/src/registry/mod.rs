//! The registry listener's identity side: the [`gate::RamGate`] the OCI
//! data plane asks before every request, and the Docker token service
//! ([`realm`]) that turns registry logins into bearer tokens.
//!
//! The OCI protocol itself is the `registry` crate's; this module decides
//! who the caller is and whether RAM lets them, and audits every decision.

pub mod gate;
pub mod realm;

use registry::meta::Db;

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
}
