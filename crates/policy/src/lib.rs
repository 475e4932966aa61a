//! The RAM policy language, as rampart understands and enforces it.
//!
//! Everything in rampart that decides (the RAM API, STS, the registry) asks
//! this crate. It has no I/O: it reads documents, reports every problem in
//! them precisely ([`Policy::parse`]), compiles them into [`PolicySet`]s
//! that decide without allocating ([`decide`]), explains decisions
//! ([`explain`]), and decides trust-policy questions ([`decide_trust`]).
//!
//! The semantics, and every choice made where Alibaba's documentation is
//! silent, are written down in this crate's `README.md`.

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

pub mod arn;
pub mod condition;
mod document;
mod evaluate;
pub mod json;
pub mod pattern;
pub mod system;
mod trust;

pub use arn::{Arn, ArnError, Entity};
pub use document::{
    Effect, PatternList, Policy, PolicyError, PolicyKind, Principal, Problem, Statement,
};
pub use evaluate::{
    decide, explain, ConditionTrace, Context, Decision, Explanation, Outcome, PolicyId, PolicySet,
    Request, StatementRef, StatementTrace,
};
pub use system::{system_policy, SystemPolicy, SYSTEM_POLICIES};
pub use trust::{decide_trust, principal_matches, Caller};

/// Names of the global condition keys rampart fills in for each request.
pub mod keys {
    pub const CURRENT_TIME: &str = "acs:CurrentTime";
    pub const SECURE_TRANSPORT: &str = "acs:SecureTransport";
    pub const SOURCE_IP: &str = "acs:SourceIp";
    pub const SOURCE_VPC: &str = "acs:SourceVpc";
    pub const MFA_PRESENT: &str = "acs:MFAPresent";
    pub const ACCESS_ID: &str = "acs:AccessId";
    pub const PRINCIPAL_ARN: &str = "acs:PrincipalARN";
    pub const PRINCIPAL_ACCOUNT: &str = "acs:PrincipalAccount";
    pub const SERVICE: &str = "acs:Service";
    pub const EXTERNAL_ID: &str = "sts:ExternalId";
    pub const SOURCE_IDENTITY: &str = "sts:SourceIdentity";
}
