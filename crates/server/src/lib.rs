//! rampart's HTTP wiring.
//!
//! # Why this crate is thin
//!
//! Everything that decides lives below it: signatures in `auth`, the
//! policy language in `policy`, the domain, the store and the decision
//! point in `iam`. What is left here is what only an HTTP server can do:
//! read a request the way the official Alibaba Cloud SDKs write it, ask
//! those crates, and answer in exactly the shape the SDKs parse. Handlers
//! parse, call the domain, and render; nothing else.
//!
//! # Layout (one file per concern, as garage lays out its API crates)
//!
//! | module | holds |
//! |---|---|
//! | [`api_server`] | state, routes (`/healthz`, the RPC fallback), serving with graceful shutdown |
//! | [`rpc`] | the RPC endpoint: body limit, parameters, scheme detection, dispatch, the order of checks |
//! | [`rpc::params`] | query ∪ form body, decoded strictly; typed, strict getters |
//! | [`rpc::authn`] | the signature checks, in Alibaba's order |
//! | [`rpc::router`] | the dispatch table, (`Version`, `Action`) → handler |
//! | [`error`] | [`ApiError`]: the Alibaba error body, written in this one place |
//! | [`reply`] | success bodies (`RequestId`, never `Code`) |
//! | [`audit`] | one audit event per call, to `tracing` and the store |
//! | [`authorize`] | the authorization API for other services (`POST /rampart/authorize`, an extension): a service forwards a request its caller signed, rampart authenticates and decides it |
//! | [`ram`] | RAM 2015-05-01: one module per action family, plus [`ram::authz`], the action → RAM action + resource ARNs mapping |
//! | [`sts`] | STS 2015-04-01: AssumeRole, GetCallerIdentity, the `sts::StsStore` answers from `iam`, and the credentials URI route |
//! | [`clock`] | the clock sessions are issued and checked by (a test clock can shift it) |
//!
//! # Wire decisions
//!
//! * Responses are JSON whatever `Format` says (`Format=XML` is accepted
//!   and ignored: every SDK asks for JSON; XML is not implemented).
//! * Any path is taken for RPC calls (the SDKs use `/`), except
//!   `/healthz` and `/rampart/credentials/…` (the credentials URI).
//! * The request id is a random UUID in upper-case hex, in the body
//!   (`RequestId`) and the `x-acs-request-id` header.
//! * `acs:SourceIp` is the TCP peer; `X-Forwarded-For` is not trusted.
//!   `acs:SecureTransport` is `false` (rampart serves plain HTTP; put TLS
//!   in front and the key stays false until rampart terminates TLS itself).
//! * For a role session, `acs:PrincipalARN` is the role's ARN
//!   (`acs:ram::A:role/name`) and `acs:PrincipalAccount` the role's account.

// Tests may fail loudly; library code may not.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod api_server;
pub mod audit;
pub mod authorize;
pub mod clock;
pub mod cr;
pub mod decide;
pub mod error;
pub mod ram;
pub mod registry;
pub mod reply;
pub mod request_id;
pub mod rpc;
pub mod sts;

pub use api_server::{app, serve, AppState, Config, DEFAULT_BODY_LIMIT};
pub use clock::Clock;
pub use error::ApiError;
pub use reply::Reply;
pub use request_id::RequestId;
