//! The core of rampart's STS (Alibaba Cloud STS 2015-04-01): role
//! sessions, the credentials that carry them, and the decisions about
//! them. Pure logic over a small store trait; the HTTP layer wires it.
//!
//! # Stateless credentials
//!
//! AssumeRole writes nothing (DESIGN.md, decision 2). Everything about a
//! session — whose role, which session name, the chain back to the
//! original principal, the session policy, the source identity, when it
//! was issued and when it expires — is in its [`Claims`], sealed with
//! authenticated encryption under a server key into the SecurityToken
//! ([`token`]). The AccessKeyId (`STS.` + 22 characters) and the
//! AccessKeySecret are not random and not stored either: both are derived
//! from the token with the same key under two labels. So a node that
//! receives a request signed with temporary credentials needs no lookup to
//! authenticate it: it opens the token, recomputes the AccessKeyId and
//! compares it with the one the request names, recomputes the secret and
//! checks the signature with it ([`verify`]). Any node holding the key ring
//! does this, which is what lets rampart scale out with no shared session
//! table.
//!
//! The holder cannot forge or alter any of it: a changed byte anywhere in
//! the token fails authentication, a token paired with another AccessKeyId
//! fails the comparison, and the secret cannot be computed without the
//! server key.
//!
//! # Keys and rotation
//!
//! Tokens are sealed with `auth::KeyRing` (XChaCha20-Poly1305, the key id
//! written in the token) and the credentials derived with
//! `KeyRing::derive` (HMAC-SHA256). The ring's first key seals; every key
//! in the ring opens and derives. Rotating is: put a new key first, keep
//! the old one until the longest session it sealed has expired (12 hours
//! at most), then remove it. The purpose string and the derivation labels
//! are this crate's own, so nothing else sealed under the same keys can
//! pass for an STS token.
//!
//! # Revocation
//!
//! A stateless token cannot be recalled, so validity is decided again on
//! every request ([`session_still_valid`], DESIGN.md decision 1): the role
//! must still exist with the same id; its revoked-before stamp ("sessions
//! issued before T are invalid"), when an administrator sets one, must not
//! be later than the session's issue time; and a chain started by a RAM
//! user ends when the user is deleted. The rights themselves are never in
//! the token: each request is decided against the role's *current*
//! policies, narrowed by the session policy ([`SessionRights`]), so
//! detaching a policy takes effect on the next request too.
//!
//! # AssumeRole
//!
//! [`AssumeRoleRequest::parse`] checks the parameters with Alibaba's codes
//! and messages; [`assume_role()`] makes the decision in a fixed order (root
//! refused, role exists, trust policy, the caller's own `sts:AssumeRole`
//! permission, chain depth, duration) and issues the session. The caller's
//! clock is a parameter everywhere, so tests use fixed times.
//!
//! # The store
//!
//! [`StsStore`] is everything STS asks of the store: a role by account and
//! name, the caller's identity-policy decision on `sts:AssumeRole`, and
//! whether a user still exists. This crate does not depend on `iam`: that
//! keeps it pure and quick to build and test, and the HTTP layer answers
//! the three questions with `iam::Store` in a few lines.
//!
//! # Errors
//!
//! Every error implements [`WireError`]: Alibaba's `Code`, its HTTP status
//! and the `Message`, plus a `detail` for the audit log that the caller is
//! not shown (which statement denied, which check refused).
//!
//! # Wiring, in request order
//!
//! 1. Authentication, for an AccessKeyId where [`is_sts_access_key_id`]
//!    holds: [`verify`] with the `SecurityToken` parameter (V1) or the
//!    `x-acs-security-token` header (V3) gives the claims and the secret to
//!    check the signature with; then [`session_still_valid`].
//! 2. Authorization of any action by a session: the role's decision
//!    (`iam::Store::authorize` with the role as principal) narrowed by
//!    [`SessionRights::narrow`]; the audit log names
//!    [`Claims::chain_arns`].
//! 3. AssumeRole: [`AssumeRoleRequest::parse`], then [`assume_role()`];
//!    answer `AssumeRoleResponse` plus `RequestId`.
//! 4. GetCallerIdentity: [`CallerIdentity`] for the authenticated caller.

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

pub mod assume_role;
pub mod caller_identity;
pub mod claims;
mod encode;
pub mod error;
pub mod params;
pub mod session;
pub mod store;
pub mod token;

pub use assume_role::{
    assume_role, issue_time, new_session_id, AssumeRoleError, AssumeRoleOutcome,
    AssumeRoleResponse, AssumedRoleUser, ASSUME_ROLE_ACTION, CHAINED_MAX_DURATION_SECONDS,
    MAX_CHAIN_DEPTH,
};
pub use caller_identity::CallerIdentity;
pub use claims::{Claims, Hop, Origin, CLAIMS_VERSION};
pub use error::WireError;
pub use params::{AssumeRoleParams, AssumeRoleRequest, ParamError, SessionPolicy};
pub use session::{session_still_valid, SessionError, SessionRights};
pub use store::{Caller, IdentityVerdict, RoleRecord, StsStore};
pub use token::{
    is_sts_access_key_id, issue, verify, Credentials, IssueError, StsTokenError, Verified,
};
