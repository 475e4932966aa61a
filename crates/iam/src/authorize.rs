//! The decision point: may this principal do this action on these
//! resources, now?
//!
//! Rules, in order:
//! 1. **The account boundary.** A resource outside the principal's account
//!    is denied, to every principal, root included: cross-account access is
//!    always by assuming a role of the owning account, never by a grant in
//!    the caller's own account. The one exception is `sts:AssumeRole`,
//!    whose resource (a role) belongs to the account being entered: that
//!    account consents through the role's trust policy, which STS checks;
//!    here only the caller's side is decided. System policies
//!    (`acs:ram:*:system:policy/NAME`) belong to no account: every account
//!    reads and attaches them, so the boundary lets them through and the
//!    next two rules decide.
//! 2. **Root.** An account's root identity may do everything in its own
//!    account (identity policies do not bind it).
//! 3. **RAM users and role sessions.** `policy::decide` over the compiled
//!    set of the principal's policies: a user's own attachments, then its
//!    groups' (in the order joined), each at its default version; a role's
//!    attachments. A Deny anywhere wins; no Allow is an implicit deny. A
//!    principal that no longer exists is denied.
//!
//! Compiled sets are cached per principal and stamped with the store's
//! generation, which every committed write bumps (and, on PostgreSQL, every
//! other node's write, through NOTIFY). A stamp that differs from the
//! current generation means "rebuild from the database", so a detach, a
//! new default version, a membership change or a deleted user takes effect
//! on the next request.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};

use policy::{Context, Decision, Outcome, Policy, PolicyId, PolicyKind, PolicySet, Request};
use sqlx::AnyConnection;
use sqlx::Row;

use crate::error::{IamError, Result};
use crate::model::{PolicyType, Principal};
use crate::store::Store;

/// Compiled sets kept before the cache starts over (a bound on memory).
const CACHE_CAPACITY: usize = 10_000;

/// Actions whose resource belongs to the account being entered, which
/// consents through a trust policy (see rule 1 above).
const TRUST_CONSENTED_ACTIONS: &[&str] = &["sts:AssumeRole"];

/// Why the decision came out as it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Basis {
    /// The account's root identity, acting in its own account.
    AccountRoot,
    /// A resource outside the principal's account (named here).
    OutsideAccount { resource: String },
    /// The principal's policies decided (see `deciding`).
    Policies,
    /// The user or role no longer exists.
    UnknownPrincipal,
}

/// Which statement decided, for audit and for explaining a denial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecidingStatement {
    /// The policy (name, type, version) the statement is in.
    pub policy: Arc<PolicySource>,
    /// Zero-based index of the statement in the policy document.
    pub statement: usize,
}

impl fmt::Display for DecidingStatement {
    /// `Custom:ReadOnly:v2:Statement[0]`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:Statement[{}]",
            self.policy.policy_type, self.policy.name, self.policy.version, self.statement
        )
    }
}

/// The answer of [`Store::authorize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub decision: Decision,
    pub basis: Basis,
    /// The Deny that denied or the Allow that allowed, when a statement did.
    pub deciding: Option<DecidingStatement>,
}

impl Authorization {
    pub fn is_allowed(&self) -> bool {
        self.decision.is_allowed()
    }

    fn without_statement(outcome: Outcome, basis: Basis) -> Authorization {
        Authorization {
            decision: Decision {
                outcome,
                deciding: None,
                missing_allow_in: None,
            },
            basis,
            deciding: None,
        }
    }
}

/// Where one policy of a compiled set came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySource {
    pub name: String,
    pub policy_type: PolicyType,
    pub version: String,
}

/// A principal's identity policies, compiled for decisions. STS uses it as
/// the first layer under a session policy.
#[derive(Debug)]
pub struct CompiledPolicies {
    generation: u64,
    exists: bool,
    set: PolicySet,
    sources: Vec<Arc<PolicySource>>,
}

impl CompiledPolicies {
    pub fn set(&self) -> &PolicySet {
        &self.set
    }

    /// Where the policy at `index` of [`CompiledPolicies::set`] came from.
    pub fn source(&self, index: usize) -> Option<&PolicySource> {
        self.sources.get(index).map(|s| &**s)
    }

    /// False when the user or role was not found.
    pub fn principal_exists(&self) -> bool {
        self.exists
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    User,
    Role,
}

/// Compiled sets by kind, account and principal id. Two levels of maps so a
/// lookup borrows the principal's strings instead of building a key.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    entries: RwLock<Entries>,
}

type ByAccount = HashMap<String, HashMap<String, Arc<CompiledPolicies>>>;

#[derive(Debug, Default)]
struct Entries {
    users: ByAccount,
    roles: ByAccount,
    len: usize,
}

impl Entries {
    fn map(&mut self, kind: Kind) -> &mut ByAccount {
        match kind {
            Kind::User => &mut self.users,
            Kind::Role => &mut self.roles,
        }
    }
}

impl Cache {
    fn get(
        &self,
        kind: Kind,
        account: &str,
        id: &str,
        generation: u64,
    ) -> Option<Arc<CompiledPolicies>> {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let map = match kind {
            Kind::User => &entries.users,
            Kind::Role => &entries.roles,
        };
        map.get(account)?
            .get(id)
            .filter(|c| c.generation == generation)
            .cloned()
    }

    fn put(&self, kind: Kind, account: &str, id: &str, compiled: Arc<CompiledPolicies>) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len >= CACHE_CAPACITY {
            *entries = Entries::default();
        }
        let previous = entries
            .map(kind)
            .entry(account.to_string())
            .or_default()
            .insert(id.to_string(), compiled);
        if previous.is_none() {
            entries.len += 1;
        }
    }
}

/// System policies compile once per process.
fn system_compiled(name: &str) -> Option<Arc<Policy>> {
    static COMPILED: OnceLock<HashMap<&'static str, Arc<Policy>>> = OnceLock::new();
    COMPILED
        .get_or_init(|| {
            policy::SYSTEM_POLICIES
                .iter()
                .filter_map(|p| p.compile().ok().map(|c| (p.name, Arc::new(c))))
                .collect()
        })
        .get(name)
        .cloned()
}

/// The pseudo-account Alibaba writes in the ARNs of system policies.
const SYSTEM_ACCOUNT: &str = "system";

/// Who owns a resource, as the account boundary sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner<'a> {
    /// Exactly one account, named in the ARN.
    Account(&'a str),
    /// No account: a system policy (`acs:ram:*:system:policy/NAME`), shared
    /// by every account.
    System,
    /// Not a concrete ARN of one account (`*`, a pattern, no account).
    Unknown,
}

/// The owner of an ARN (`acs:SERVICE:REGION:ACCOUNT:RESOURCE`). Reads the
/// text in place: this runs on every decision.
fn resource_owner(resource: &str) -> Owner<'_> {
    let Some(mut parts) = resource.strip_prefix("acs:").map(|r| r.splitn(4, ':')) else {
        return Owner::Unknown;
    };
    let (Some(service), Some(_region), Some(account), Some(rest)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Owner::Unknown;
    };
    if service.is_empty() || rest.is_empty() {
        return Owner::Unknown;
    }
    if account == SYSTEM_ACCOUNT {
        let system_policy = service == "ram"
            && rest
                .strip_prefix("policy/")
                .is_some_and(|name| !name.is_empty());
        return if system_policy {
            Owner::System
        } else {
            Owner::Unknown
        };
    }
    if !account.is_empty() && account.bytes().all(|b| b.is_ascii_digit()) {
        Owner::Account(account)
    } else {
        Owner::Unknown
    }
}

/// Whether `resource` is on the principal's side of the account boundary.
fn within(own: &str, resource: &str) -> bool {
    match resource_owner(resource) {
        Owner::Account(account) => account == own,
        Owner::System => true,
        Owner::Unknown => false,
    }
}

impl Store {
    /// Decides a request. `resources` are canonical ARNs (a resource first,
    /// then any enclosing ones, as `policy::Request` describes); `context`
    /// carries the condition keys. Errors only when the database fails or a
    /// stored policy no longer parses; the caller must then refuse the
    /// request.
    pub async fn authorize(
        &self,
        principal: &Principal,
        action: &str,
        resources: &[&str],
        context: &Context,
    ) -> Result<Authorization> {
        let consented = TRUST_CONSENTED_ACTIONS
            .iter()
            .any(|a| a.eq_ignore_ascii_case(action));
        if !consented {
            let own = principal.account();
            if let Some(outside) = resources.iter().find(|r| !within(own, r)) {
                return Ok(Authorization::without_statement(
                    Outcome::ImplicitDeny,
                    Basis::OutsideAccount {
                        resource: (*outside).to_string(),
                    },
                ));
            }
        }
        if let Principal::Root { .. } = principal {
            return Ok(Authorization::without_statement(
                Outcome::Allow,
                Basis::AccountRoot,
            ));
        }
        let compiled = self.compiled_policies(principal).await?;
        if !compiled.exists {
            return Ok(Authorization::without_statement(
                Outcome::ImplicitDeny,
                Basis::UnknownPrincipal,
            ));
        }
        let decision = policy::decide(
            &[&compiled.set],
            &Request {
                action,
                resources,
                context,
            },
        );
        let deciding = decision.deciding.and_then(|r| {
            Some(DecidingStatement {
                policy: Arc::clone(compiled.sources.get(r.policy)?),
                statement: r.statement,
            })
        });
        Ok(Authorization {
            decision,
            basis: Basis::Policies,
            deciding,
        })
    }

    /// The principal's compiled identity policies, from the cache when it is
    /// current. The root's set is empty (root is not bound by policies).
    pub async fn compiled_policies(&self, principal: &Principal) -> Result<Arc<CompiledPolicies>> {
        let (kind, account, id) = match principal {
            Principal::Root { .. } => {
                return Ok(Arc::new(CompiledPolicies {
                    generation: 0,
                    exists: true,
                    set: PolicySet::default(),
                    sources: Vec::new(),
                }))
            }
            Principal::User {
                account, user_id, ..
            } => (Kind::User, account.as_str(), user_id.as_str()),
            Principal::Role {
                account, role_id, ..
            } => (Kind::Role, account.as_str(), role_id.as_str()),
        };
        let changes = &self.inner.changes;
        // Read the generation before loading: a write that commits while
        // this load runs bumps it past the stamp, so the result is rebuilt
        // next time instead of being trusted.
        let generation = changes.generation();
        if changes.trusted() {
            if let Some(hit) = self.inner.cache.get(kind, account, id, generation) {
                return Ok(hit);
            }
        }
        let compiled = Arc::new(self.load_policies(kind, account, id, generation).await?);
        if changes.trusted() {
            self.inner
                .cache
                .put(kind, account, id, Arc::clone(&compiled));
        }
        Ok(compiled)
    }

    async fn load_policies(
        &self,
        kind: Kind,
        account: &str,
        id: &str,
        generation: u64,
    ) -> Result<CompiledPolicies> {
        let mut tx = self.begin_read().await?;
        let (exists, mut rows) = match kind {
            Kind::User => {
                let exists =
                    sqlx::query("SELECT user_id FROM users WHERE account_id = $1 AND user_id = $2")
                        .bind(account)
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .is_some();
                let mut rows = attached(&mut tx, account, "User", id).await?;
                rows.extend(group_attached(&mut tx, account, id).await?);
                (exists, rows)
            }
            Kind::Role => {
                let exists =
                    sqlx::query("SELECT role_id FROM roles WHERE account_id = $1 AND role_id = $2")
                        .bind(account)
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .is_some();
                (exists, attached(&mut tx, account, "Role", id).await?)
            }
        };
        drop(tx);
        if !exists {
            rows.clear();
        }
        let mut seen = HashSet::new();
        let mut set = PolicySet::default();
        let mut sources = Vec::new();
        for row in rows {
            if !seen.insert((row.policy_type, row.name.clone())) {
                continue;
            }
            let (version, policy) = match row.policy_type {
                PolicyType::System => {
                    let shipped = policy::system_policy(&row.name);
                    let compiled = system_compiled(&row.name);
                    match (shipped, compiled) {
                        (Some(p), Some(c)) => (p.version.to_string(), c),
                        // No longer shipped: it grants nothing. A shipped
                        // one that does not compile must not be skipped
                        // (it might deny).
                        (None, _) => continue,
                        (Some(_), None) => {
                            return Err(IamError::internal("a system policy does not compile"))
                        }
                    }
                }
                PolicyType::Custom => {
                    let (Some(version), Some(document)) = (row.version, row.document) else {
                        return Err(IamError::internal(
                            "an attached custom policy has no default version",
                        ));
                    };
                    let compiled =
                        Policy::parse(&document, PolicyKind::Permission).map_err(|e| {
                            IamError::internal_from("a stored policy no longer parses", e)
                        })?;
                    (version, Arc::new(compiled))
                }
            };
            set.push(PolicyId::new(row.name.clone(), version.clone()), policy);
            sources.push(Arc::new(PolicySource {
                name: row.name,
                policy_type: row.policy_type,
                version,
            }));
        }
        Ok(CompiledPolicies {
            generation,
            exists,
            set,
            sources,
        })
    }
}

/// One attached policy with its default version's document (custom only).
struct AttachedRow {
    policy_type: PolicyType,
    name: String,
    version: Option<String>,
    document: Option<String>,
}

fn attached_row(row: &sqlx::any::AnyRow) -> Result<AttachedRow> {
    Ok(AttachedRow {
        policy_type: PolicyType::parse(&row.try_get::<String, _>("policy_type")?)
            .map_err(|_| IamError::internal("unknown policy type in the store"))?,
        name: row.try_get("policy_name")?,
        version: row.try_get("version_id")?,
        document: row.try_get("document")?,
    })
}

/// Policies attached directly to a user or role, in attachment order.
async fn attached(
    conn: &mut AnyConnection,
    account: &str,
    principal_type: &str,
    principal_id: &str,
) -> Result<Vec<AttachedRow>> {
    let rows = sqlx::query(
        "SELECT a.policy_type, a.policy_name, v.version_id, v.document
         FROM policy_attachments a
         LEFT JOIN policies p ON a.policy_type = 'Custom'
             AND p.account_id = a.account_id AND p.name = a.policy_name
         LEFT JOIN policy_versions v ON v.account_id = p.account_id
             AND v.policy_id = p.policy_id AND v.version_id = p.default_version
         WHERE a.account_id = $1 AND a.principal_type = $2 AND a.principal_id = $3
         ORDER BY a.seq",
    )
    .bind(account)
    .bind(principal_type)
    .bind(principal_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(attached_row).collect()
}

/// Policies attached to the groups a user belongs to, groups in the order
/// joined.
async fn group_attached(
    conn: &mut AnyConnection,
    account: &str,
    user_id: &str,
) -> Result<Vec<AttachedRow>> {
    let rows = sqlx::query(
        "SELECT a.policy_type, a.policy_name, v.version_id, v.document
         FROM group_members m
         JOIN policy_attachments a ON a.account_id = m.account_id
             AND a.principal_type = 'Group' AND a.principal_id = m.group_id
         LEFT JOIN policies p ON a.policy_type = 'Custom'
             AND p.account_id = a.account_id AND p.name = a.policy_name
         LEFT JOIN policy_versions v ON v.account_id = p.account_id
             AND v.policy_id = p.policy_id AND v.version_id = p.default_version
         WHERE m.account_id = $1 AND m.user_id = $2
         ORDER BY m.seq, a.seq",
    )
    .bind(account)
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(attached_row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_owners() {
        assert_eq!(
            resource_owner("acs:ram::1234567890123456:user/alice"),
            Owner::Account("1234567890123456")
        );
        assert_eq!(
            resource_owner("acs:cr:cn-hangzhou:42:repository/i/n/r"),
            Owner::Account("42")
        );
        assert_eq!(resource_owner("acs:ram::42:"), Owner::Unknown);
        assert_eq!(resource_owner("acs::cn:42:x"), Owner::Unknown);
        assert_eq!(resource_owner("acs:ram::42"), Owner::Unknown);
        assert_eq!(resource_owner("acs:oss:*:*:bucket"), Owner::Unknown);
        assert_eq!(resource_owner("acs:oss:::bucket"), Owner::Unknown);
        assert_eq!(resource_owner("*"), Owner::Unknown);
        assert_eq!(resource_owner("not an arn"), Owner::Unknown);
    }

    #[test]
    fn system_policies_belong_to_no_account() {
        for arn in [
            "acs:ram:*:system:policy/AdministratorAccess",
            "acs:ram::system:policy/AliyunRAMReadOnlyAccess",
        ] {
            assert_eq!(resource_owner(arn), Owner::System, "{arn}");
            assert!(within("1234567890123456", arn), "{arn}");
        }
        // Only RAM policies are system resources; anything else naming the
        // pseudo-account is outside every account.
        for arn in [
            "acs:ram:*:system:policy/",
            "acs:ram:*:system:user/alice",
            "acs:ram:*:system:*",
            "acs:cr:*:system:policy/x",
            "acs:ram:*:System:policy/x",
        ] {
            assert_eq!(resource_owner(arn), Owner::Unknown, "{arn}");
            assert!(!within("1234567890123456", arn), "{arn}");
        }
        assert!(within("42", "acs:ram:*:42:policy/Mine"));
        assert!(!within("42", "acs:ram:*:43:policy/Theirs"));
    }

    #[test]
    fn deciding_statements_print_compactly() {
        let d = DecidingStatement {
            policy: Arc::new(PolicySource {
                name: "ReadOnly".into(),
                policy_type: PolicyType::Custom,
                version: "v2".into(),
            }),
            statement: 0,
        };
        assert_eq!(d.to_string(), "Custom:ReadOnly:v2:Statement[0]");
    }
}
