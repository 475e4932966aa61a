//! The RAM API, one module per family of actions. Every method is one RAM
//! action; writes run in one transaction that starts by locking the
//! account's row, reads are scoped by account like everything else.

mod access_keys;
mod accounts;
mod attachments;
mod groups;
mod policies;
mod roles;
mod service_linked;
mod users;

pub(crate) use groups::group_id_by_name;
pub(crate) use policies::custom_policy_meta;
pub(crate) use roles::role_by_name;
pub use service_linked::{
    service_linked_template, ServiceLinkedTemplate, SERVICE_LINKED_TEMPLATES,
};
pub(crate) use users::user_id_by_name;

/// How many times a freshly generated id is retried after colliding with an
/// existing one (each try is a fresh random id; collisions are already
/// astronomically rare).
const ID_ATTEMPTS: usize = 5;
