//! Deciding requests against compiled policy sets.
//!
//! A [`PolicySet`] is a principal's policies compiled once and indexed by
//! the service part of their actions (`cr`, `ram`, `sts`…), so a decision
//! only looks at statements that can match the request's service. The fast
//! path ([`decide`]) allocates nothing; [`explain`] walks every statement
//! and records why each one did or did not match, for people.
//!
//! Rules (Alibaba's): any matching Deny is an explicit deny; otherwise any
//! matching Allow allows; otherwise the request is implicitly denied. With
//! several layers (the role's policies, then the session policy), every
//! layer must allow and a Deny in any layer wins: a session policy can only
//! narrow.

use std::sync::Arc;

use crate::condition::Condition;
use crate::document::{Effect, PatternList, Policy, Statement};

/// Names a policy in decisions: `AdministratorAccess` version `v1`, or a
/// file name for the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyId {
    pub name: String,
    pub version: String,
}

impl PolicyId {
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> PolicyId {
        PolicyId {
            name: name.into(),
            version: version.into(),
        }
    }
}

impl std::fmt::Display for PolicyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.version.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{} ({})", self.name, self.version)
        }
    }
}

/// Condition-key values of one request. Keys compare without regard to
/// case; a key may carry several values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: Vec<(String, Vec<String>)>,
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    /// Sets a key, replacing what it held.
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Context {
        self.set_many(key, vec![value.into()])
    }

    /// Sets a key to several values. The key keeps the spelling it was
    /// first given (for display); lookups ignore case.
    pub fn set_many(&mut self, key: &str, values: Vec<String>) -> &mut Context {
        match self
            .entries
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            Some(entry) => entry.1 = values,
            None => self.entries.push((key.to_string(), values)),
        }
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<String>) -> Context {
        self.set(key, value);
        self
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The values of a key; `key` may be in any case.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_slice())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

/// What is being asked: may the principal do `action` on `resources[0]`?
///
/// `resources` may list enclosing resources after the resource itself (a
/// registry pull names the repository and its instance): a statement's
/// `Resource` matches when it matches any of them, so an Allow or a Deny
/// written for the instance applies to its repositories.
///
/// Resources must be canonical ARNs (role names lower-cased), as
/// [`crate::Entity`] formats them; [`crate::arn::canonical`] canonicalises
/// hand-written text. The fast path does not re-check, to stay
/// allocation-free.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub action: &'a str,
    pub resources: &'a [&'a str],
    pub context: &'a Context,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "Allow",
            Outcome::ExplicitDeny => "ExplicitDeny",
            Outcome::ImplicitDeny => "ImplicitDeny",
        }
    }
}

/// Which statement decided: layer (0 = identity policies, 1 = session
/// policy), policy position within the layer's set, statement index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatementRef {
    pub layer: usize,
    pub policy: usize,
    pub statement: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decision {
    pub outcome: Outcome,
    /// The Deny that denied, or the Allow (of the first layer) that allowed.
    pub deciding: Option<StatementRef>,
    /// For an implicit deny: the first layer that had no matching Allow.
    pub missing_allow_in: Option<usize>,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }
}

#[derive(Debug, Clone)]
struct Compiled {
    policy: usize,
    index: usize,
    effect: Effect,
    action: PatternList,
    resource: Option<PatternList>,
    conditions: Vec<Condition>,
}

/// A principal's policies, compiled and indexed for decisions.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Vec<(PolicyId, Arc<Policy>)>,
    statements: Vec<Compiled>,
    /// Statements by the (lower-case) service of their actions, each list
    /// already merged with `any_service` and kept in document order.
    by_service: Vec<(String, Vec<usize>)>,
    /// Statements whose actions may match any service (`*`, `NotAction`…).
    any_service: Vec<usize>,
}

/// The service a statement's action list is confined to, if it is.
fn statement_services(action: &PatternList) -> Option<Vec<String>> {
    if action.negated {
        return None;
    }
    let mut services = Vec::new();
    for p in &action.patterns {
        let (service, _) = p.literal_prefix().split_once(':')?;
        if !services.iter().any(|s| s == service) {
            services.push(service.to_string());
        }
    }
    Some(services)
}

impl PolicySet {
    pub fn new(policies: impl IntoIterator<Item = (PolicyId, Arc<Policy>)>) -> PolicySet {
        let mut set = PolicySet::default();
        for (id, policy) in policies {
            set.push(id, policy);
        }
        set
    }

    pub fn push(&mut self, id: PolicyId, policy: Arc<Policy>) {
        let policy_index = self.policies.len();
        for (index, s) in policy.statements.iter().enumerate() {
            let slot = self.statements.len();
            self.statements.push(Compiled {
                policy: policy_index,
                index,
                effect: s.effect,
                action: s.action.clone(),
                resource: s.resource.clone(),
                conditions: s.conditions.clone(),
            });
            match statement_services(&s.action) {
                None => {
                    self.any_service.push(slot);
                    for (_, list) in &mut self.by_service {
                        list.push(slot);
                    }
                }
                Some(services) => {
                    for service in services {
                        match self.by_service.iter_mut().find(|(s, _)| *s == service) {
                            Some((_, list)) => list.push(slot),
                            None => {
                                let mut list = self.any_service.clone();
                                list.push(slot);
                                self.by_service.push((service, list));
                            }
                        }
                    }
                }
            }
        }
        self.policies.push((id, policy));
    }

    pub fn len(&self) -> usize {
        self.policies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    pub fn policy(&self, index: usize) -> Option<&(PolicyId, Arc<Policy>)> {
        self.policies.get(index)
    }

    pub fn statement(&self, r: StatementRef) -> Option<(&PolicyId, &Statement)> {
        let (id, policy) = self.policies.get(r.policy)?;
        Some((id, policy.statements.get(r.statement)?))
    }

    fn candidates(&self, action: &str) -> &[usize] {
        let service = action.split_once(':').map_or(action, |(s, _)| s);
        self.by_service
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(service))
            .map_or(&self.any_service, |(_, list)| list)
    }

    /// One layer: the first matching Deny and the first matching Allow,
    /// each as (policy, statement).
    fn scan(&self, request: &Request<'_>) -> LayerResult {
        let mut allow = None;
        for &slot in self.candidates(request.action) {
            let Some(s) = self.statements.get(slot) else {
                continue;
            };
            if s.effect == Effect::Allow && allow.is_some() {
                continue;
            }
            if statement_matches(&s.action, s.resource.as_ref(), &s.conditions, request) {
                match s.effect {
                    Effect::Deny => return (Some((s.policy, s.index)), allow),
                    Effect::Allow => allow = Some((s.policy, s.index)),
                }
            }
        }
        (None, allow)
    }
}

/// (first Deny, first Allow) of one layer, as (policy, statement) pairs.
type LayerResult = (Option<(usize, usize)>, Option<(usize, usize)>);

fn statement_matches(
    action: &PatternList,
    resource: Option<&PatternList>,
    conditions: &[Condition],
    request: &Request<'_>,
) -> bool {
    action.matches(request.action)
        && resource.is_none_or(|r| r.matches_any(request.resources))
        && conditions
            .iter()
            .all(|c| c.holds(request.context.get(&c.key)))
}

/// Decides a request against one or more layers. Every layer must allow;
/// a Deny in any layer wins.
pub fn decide(layers: &[&PolicySet], request: &Request<'_>) -> Decision {
    let mut first_allow = None;
    let mut missing = None;
    for (layer, set) in layers.iter().enumerate() {
        let (deny, allow) = set.scan(request);
        if let Some((policy, statement)) = deny {
            return Decision {
                outcome: Outcome::ExplicitDeny,
                deciding: Some(StatementRef {
                    layer,
                    policy,
                    statement,
                }),
                missing_allow_in: None,
            };
        }
        match allow {
            Some((policy, statement)) => {
                if first_allow.is_none() {
                    first_allow = Some(StatementRef {
                        layer,
                        policy,
                        statement,
                    });
                }
            }
            None => {
                if missing.is_none() {
                    missing = Some(layer);
                }
            }
        }
    }
    match (missing, first_allow) {
        (None, Some(r)) => Decision {
            outcome: Outcome::Allow,
            deciding: Some(r),
            missing_allow_in: None,
        },
        (missing, _) => Decision {
            outcome: Outcome::ImplicitDeny,
            deciding: None,
            missing_allow_in: missing.or(Some(0)),
        },
    }
}

/// How one condition fared, for explanations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionTrace {
    pub operator: &'static str,
    pub key: String,
    /// False when the request did not carry the key: positive operators
    /// then fail and negated ones hold.
    pub key_present: bool,
    pub held: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementTrace {
    pub at: StatementRef,
    pub policy: PolicyId,
    pub effect: Effect,
    pub action_matched: bool,
    pub resource_matched: bool,
    pub conditions: Vec<ConditionTrace>,
    pub matched: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub decision: Decision,
    pub statements: Vec<StatementTrace>,
}

/// The same decision as [`decide`], with every statement's evaluation
/// recorded (slower; for the CLI, the console and audit details).
pub fn explain(layers: &[&PolicySet], request: &Request<'_>) -> Explanation {
    let mut statements = Vec::new();
    for (layer, set) in layers.iter().enumerate() {
        for s in &set.statements {
            let action_matched = s.action.matches(request.action);
            let resource_matched = s
                .resource
                .as_ref()
                .is_none_or(|r| r.matches_any(request.resources));
            let conditions: Vec<ConditionTrace> = s
                .conditions
                .iter()
                .map(|c| {
                    let values = request.context.get(&c.key);
                    ConditionTrace {
                        operator: c.operator.name(),
                        key: c.key.clone(),
                        key_present: values.is_some(),
                        held: c.holds(values),
                    }
                })
                .collect();
            let matched = action_matched && resource_matched && conditions.iter().all(|c| c.held);
            let policy = set
                .policies
                .get(s.policy)
                .map(|(id, _)| id.clone())
                .unwrap_or_else(|| PolicyId::new("?", ""));
            statements.push(StatementTrace {
                at: StatementRef {
                    layer,
                    policy: s.policy,
                    statement: s.index,
                },
                policy,
                effect: s.effect,
                action_matched,
                resource_matched,
                conditions,
                matched,
            });
        }
    }
    Explanation {
        decision: decide(layers, request),
        statements,
    }
}
