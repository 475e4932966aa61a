//! An OCI Distribution client: what `rampart pull` and `rampart push` are
//! made of, and what the credential helper will test itself with.
//!
//! Why a client of our own: rampart is meant for places with no container
//! engine (a CI step, a node bootstrap, an air-gapped copy), and it is the
//! reference consumer of its own registry — the shortest path from a
//! registry answer to a precise message for the user.
//!
//! * [`Reference`] parses `HOST[:PORT]/NAMESPACE/REPO[:TAG|@DIGEST]`.
//! * [`Client`] speaks plain HTTP/1.1 and the Docker token flow: the first
//!   `401` names a realm; the realm is asked with HTTP Basic credentials
//!   (or none: anonymous) for a bearer token covering the scope; a request
//!   refused with `401` again is retried once with a fresh token.
//! * [`pull`] resolves a manifest (an index picks one platform), downloads
//!   the config and layers, verifying every digest while streaming to disk,
//!   and writes an OCI image layout ([`layout`]).
//! * [`push`] reads an OCI image layout, uploads what the registry lacks
//!   (`HEAD`, then a monolithic `POST ?digest=`, or `POST` + `PATCH`
//!   chunks + `PUT` for large blobs) and puts the manifest.
//!
//! Nothing the server sends is trusted: a blob or manifest whose bytes do
//! not hash to the digest that named it is an [`Error::DigestMismatch`],
//! and is never moved into the layout.
//!
//! * [`resolve`] obtains registry logins as platform services do (a
//!   service key, assumed roles, `GetAuthorizationToken` over [`rpc`]) for
//!   the credential helper and `rampart pull/push --credential-config`.
//!
//! Progress is reported through the [`Progress`] trait; the library never
//! writes to the terminal itself.

mod auth;
mod digest;
mod error;
mod http;
pub mod layout;
pub mod manifest;
mod progress;
mod pull;
mod push;
mod reference;
pub mod resolve;
pub mod rpc;

pub use auth::{Challenge, CredentialSource, Credentials, StaticCredentials};
pub use digest::{Algorithm, Digest, Hasher};
pub use error::Error;
pub use http::Client;
pub use manifest::Platform;
pub use progress::{NoProgress, Progress};
pub use pull::{pull, PullOptions, Pulled};
pub use push::{push, PushOptions, Pushed};
pub use reference::Reference;
