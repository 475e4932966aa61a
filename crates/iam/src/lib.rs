//! The RAM domain and its persistence: accounts, users, groups, access
//! keys, roles, policies and their versions, attachments, the decision
//! point ([`Store::authorize`]) and the audit log.
//!
//! The HTTP layer parses RAM API parameters, calls one [`Store`] method per
//! action, and renders the answer; failures are [`IamError`]s that already
//! know their Alibaba `Code`, HTTP status and message.
//!
//! # One store, two engines
//!
//! [`Store::open`] takes `sqlite://PATH?mode=rwc` (the embedded default: one
//! file in the data folder) or `postgres://…` (several nodes sharing one
//! database). Both run the same code and the same schema through sqlx's
//! `Any` driver: TEXT and BIGINT columns only, ids generated here rather
//! than by sequences, times as epoch seconds, `$n` placeholders (which
//! SQLite accepts as well). The schema is versioned in `schema_migrations`
//! and migrated on open under a lock (SQLite's write lock, a PostgreSQL
//! advisory lock), so two processes opening one database at once are safe.
//! SQLite connections run in WAL mode with a busy timeout and foreign keys
//! on.
//!
//! # Transactions: a failed request changes nothing
//!
//! Every operation that writes runs in exactly one transaction, so it
//! either happens whole or not at all. Checks that depend on other rows
//! ("the name is free", "fewer than 2 keys", "not attached anywhere") run
//! inside that transaction after its first statement locks the account's
//! row. On PostgreSQL that row lock serialises the writers of one account,
//! so two racing requests cannot both pass a limit check; on SQLite the
//! transaction holds the database's write lock from its start
//! (`BEGIN IMMEDIATE`). Some operations write first and check after (a
//! join beyond the group limit, an attach beyond the policy limit); the
//! refusal rolls the write back with everything else. Reads made of several
//! queries run in one read-only transaction, so they see one snapshot.
//!
//! # Isolation between accounts
//!
//! Every table that holds an account's data carries `account_id`, first in
//! its key, and every query names it: the same user name in two accounts is
//! two users, and nothing one account does can see or change another's
//! rows. The only lookups not scoped by account are those whose key names
//! the account: an access key id ([`Store::access_key`]) and an account id.
//!
//! # Secrets
//!
//! Access-key secrets must be recoverable (signatures are HMACs computed
//! with them), so they are sealed rather than hashed, with the project's
//! one sealing implementation: an [`auth::KeyRing`] (XChaCha20-Poly1305
//! under rotating 32-byte keys the server keeps outside the database; the
//! sealed text names its key). The purpose each secret is sealed for names
//! its account and key id, so a sealed secret opens on its own row only.
//! The plain secret leaves the store only in [`NewAccessKey`] (from
//! [`Store::create_access_key`] and [`Store::create_account`]) and in
//! [`KeyRecord`] for signature verification; [`Secret`] never prints it.
//!
//! # The decision point and its cache
//!
//! [`Store::authorize`] decides in this order:
//! 1. A resource outside the principal's account is denied to everyone,
//!    root included: cross-account access is by assuming a role of the
//!    owning account. The exception is `sts:AssumeRole` itself, whose
//!    target account consents through the role's trust policy (checked by
//!    STS). System policies (`acs:ram:*:system:policy/NAME`) belong to no
//!    account and pass the boundary; the next rules decide them.
//! 2. An account's root identity may do everything in its own account.
//! 3. RAM users and role sessions are decided by `policy::decide` over
//!    their compiled policies: a user's own attachments, then its groups'
//!    (in the order joined), each at its default version; a role's
//!    attachments. Deny wins; no Allow is an implicit deny; a user or role
//!    that no longer exists is denied. The answer names the deciding
//!    statement (policy, type, version, index) for audit.
//!
//! Compiling is done once per principal and cached; the cache is invalidated by a generation counter that every
//! committed write through the store bumps, and that each cached set is
//! compared with on use. Detaching a policy, setting a new default version,
//! leaving a group or deleting a user therefore takes effect on the very
//! next request. With PostgreSQL several nodes share the database, so every
//! write transaction also sends `NOTIFY rampart_iam`; each store listens
//! (a task started by [`Store::open`]) and bumps its own counter, so other
//! nodes follow within the notification's delivery time (well under a
//! second). While that listener is reconnecting, the cache is bypassed.
//! SQLite is single-node, so the in-process counter is all it needs.
//!
//! # What STS reads on every request
//!
//! A request made with temporary credentials is checked against the store
//! each time: its role ([`Store::role_record`], with the `revoked_before`
//! stamp [`Store::revoke_role_sessions`] sets) and the user that started
//! its chain ([`Store::user_by_id`]). Both lookups are cached under the
//! same generation counter as compiled policy sets, so a revocation or a
//! deletion, here or on another PostgreSQL node, is seen by the next
//! lookup, and an unchanged store costs no query.
//!
//! The same holds for every signed request's access key:
//! [`Store::access_key`] keeps the record (principal, status, the opened
//! secret) under the generation counter, at most 10,000 keys (then the map
//! starts over), so deactivating or deleting a key refuses its next
//! request. Trust policies are kept parsed by their text
//! ([`Store::trust_policy`]), so AssumeRole does not parse them each call.
//!
//! # Audit
//!
//! One row per decision (request id, time, account, principal ARN, action,
//! resource, decision, deciding statement, source IP, error code, and for
//! STS the principal chain, the session id and the id of a session
//! issued). The request path queues it with [`Store::queue_audit`] for a
//! background writer that inserts batches in one transaction each (bounded
//! queue: a full one makes callers wait, nothing is dropped);
//! [`Store::flush_audit`] waits for what was queued, [`Store::close`]
//! flushes before closing. [`Store::record_audit`] writes one row at once.
//! [`Store::list_audit`] reads them back for one account.

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

mod audit;
mod authorize;
mod credentials_uri;
mod error;
mod ids;
mod model;
mod ram;
mod secret;
mod services;
mod store;
mod validate;

pub use audit::{AuditEvent, AuditFilter, AUDIT_BATCH};
pub use authorize::{Authorization, Basis, CompiledPolicies, DecidingStatement, PolicySource};
pub use credentials_uri::{
    CreateCredentialsUri, CredentialsUri, NewCredentialsUri, DEFAULT_URI_SESSION_SECONDS,
};
pub use error::{Conflict, Existing, IamError, Limit, Missing, Problem, Result};
pub use model::{
    AccessKey, Account, AttachedGroup, AttachedPolicy, AttachedRole, AttachedUser, CreatePolicy,
    CreateRole, CreateUser, Group, GroupMember, GroupMembership, KeyRecord, KeyStatus, ListOptions,
    Listing, NewAccessKey, NewAccount, PolicyDetail, PolicyEntities, PolicyInfo, PolicyType,
    PolicyVersion, Principal, Role, RotateStrategy, Timestamp, UpdateRole, UpdateUser, User,
};
pub use ram::{service_linked_template, ServiceLinkedTemplate, SERVICE_LINKED_TEMPLATES};
pub use services::{
    check_service_name, is_service_key_id, NewServiceKey, ServiceKey, ServiceKeyRecord,
    SERVICE_KEY_PREFIX,
};
pub use store::{Limits, Store, StoreOptions};

/// The policy engine the decisions come from, re-exported so callers name
/// the same `Context` and `Decision` types.
pub use policy;

/// The secret type of [`NewAccessKey`] and [`KeyRecord`]: the same one
/// signature verification takes.
pub use auth::Secret;
