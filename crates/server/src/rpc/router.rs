//! The dispatch table: (`Version`, `Action`) → handler.
//!
//! Each product registers its actions under its API version (RAM under
//! `2015-05-01`; STS and the registry will add theirs). A request whose
//! version no product has is `InvalidVersion` (400); an action its version
//! does not have is `InvalidAction.NotFound` (404).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use super::Call;
use crate::error::ApiError;
use crate::ram::authz::Check;
use crate::reply::Reply;

/// What a handler returns: its payload or an error.
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<Reply, ApiError>> + Send + 'a>>;

/// An action's handler.
pub type Handler = for<'a> fn(&'a Call<'a>) -> HandlerFuture<'a>;

/// An action's permission questions, asked before the handler runs (see
/// `crate::ram::authz`).
pub type Authorizer = for<'a> fn(&'a Call<'a>) -> Result<Vec<Check>, ApiError>;

/// One action of one product version.
#[derive(Clone, Copy)]
pub struct Route {
    /// The product, for logs (`Ram`).
    pub product: &'static str,
    /// `2015-05-01`.
    pub version: &'static str,
    /// `CreateUser`.
    pub action: &'static str,
    /// What it asks permission for.
    pub authorize: Authorizer,
    /// What it does.
    pub handler: Handler,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("product", &self.product)
            .field("version", &self.version)
            .field("action", &self.action)
            .finish_non_exhaustive()
    }
}

/// Every action served, by version then action name.
#[derive(Debug, Default, Clone)]
pub struct Router {
    versions: BTreeMap<&'static str, BTreeMap<&'static str, Route>>,
}

impl Router {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route; a second route for the same (version, action) replaces
    /// the first.
    pub fn add(&mut self, route: Route) -> &mut Self {
        self.versions
            .entry(route.version)
            .or_default()
            .insert(route.action, route);
        self
    }

    /// The route for a version and an action (exact, case-sensitive, as
    /// Alibaba matches them).
    pub fn lookup(&self, version: &str, action: &str) -> Result<&Route, ApiError> {
        self.versions
            .get(version)
            .ok_or_else(ApiError::invalid_version)?
            .get(action)
            .ok_or_else(ApiError::action_not_found)
    }

    /// Every route, ordered by version then action.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.versions.values().flat_map(BTreeMap::values)
    }
}
