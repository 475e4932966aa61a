//! The fixtures written in Cedar, one Cedar policy per RAM statement.
//!
//! The encoding, statement for statement:
//! - `Effect: Allow` / `Deny` is `permit` / `forbid`. Both languages deny
//!   by default and let a matching deny win, so one policy set decides the
//!   same way as one RAM layer.
//! - Action wildcards (`cr:Get*`) are action groups: the entity store holds
//!   `Action::"cr:Get*"` as a parent of every catalogued action it matches,
//!   and the policy says `action in [Action::"cr:Get*", …]`. Literal
//!   actions are named directly.
//! - Resource ARN patterns are `like` tests on the resource's `arn`
//!   attribute, and on its `within` attribute (the enclosing resource,
//!   e.g. the registry instance of a repository) when there is one: RAM
//!   lets a statement apply when any of the request's resources matches.
//!   `Resource: "*"` leaves `resource` unconstrained.
//! - Conditions test typed context attributes: `ipaddr` with `isInRange`,
//!   `datetime` with `<`/`>=`, booleans with `==`, strings with `==` and
//!   `like`. Positive operators need the key (`context has k && …`);
//!   negated ones hold when it is absent, as in RAM.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, Policy, PolicyId, PolicySet,
    Request, RestrictedExpression,
};

use crate::fixture::{action_glob, Cond, Ctx, Doc, Effect, Key, Op, Req, Stmt, ACTIONS};

pub const PRINCIPAL: &str = "alice";

/// Cedar's name for statement `statement` of policy `policy`.
pub fn policy_id(policy: usize, statement: usize) -> String {
    format!("p{policy}s{statement}")
}

fn uid(kind: &str, id: &str) -> EntityUid {
    let kind = EntityTypeName::from_str(kind).expect("a valid Cedar type name");
    EntityUid::from_type_name_and_id(kind, EntityId::new(id))
}

pub fn action_uid(action: &str) -> EntityUid {
    uid("Action", action)
}

fn quoted(text: &str) -> String {
    assert!(
        !text.contains('?'),
        "`?` has no Cedar counterpart; the fixtures must not use it: {text}"
    );
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn any_of(values: &[String], one: impl Fn(&str) -> String) -> String {
    let parts: Vec<String> = values.iter().map(|v| one(v)).collect();
    parts.join(" || ")
}

fn condition(c: &Cond) -> String {
    let k = c.key.cedar_name();
    let test = match c.op {
        Op::IpAddress | Op::NotIpAddress => any_of(&c.values, |v| {
            format!("context.{k}.isInRange(ip({}))", quoted(v))
        }),
        Op::Bool => any_of(&c.values, |v| format!("context.{k} == {v}")),
        Op::DateLessThan => any_of(&c.values, |v| {
            format!("context.{k} < datetime({})", quoted(v))
        }),
        Op::DateGreaterThanEquals => any_of(&c.values, |v| {
            format!("context.{k} >= datetime({})", quoted(v))
        }),
        Op::StringEquals => any_of(&c.values, |v| format!("context.{k} == {}", quoted(v))),
        Op::StringLike | Op::StringNotLike => {
            any_of(&c.values, |v| format!("context.{k} like {}", quoted(v)))
        }
    };
    if c.op.negated() {
        format!("(!(context has {k}) || !({test}))")
    } else {
        format!("(context has {k} && ({test}))")
    }
}

fn resource_clause(patterns: &[String]) -> Option<String> {
    if patterns.iter().any(|p| p == "*") {
        return None;
    }
    let on = |attr: &str| any_of(patterns, |p| format!("resource.{attr} like {}", quoted(p)));
    Some(format!(
        "({} || (resource has within && ({})))",
        on("arn"),
        on("within")
    ))
}

/// One statement as a Cedar policy.
pub fn statement_text(s: &Stmt) -> String {
    let effect = match s.effect {
        Effect::Allow => "permit",
        Effect::Deny => "forbid",
    };
    let action = if s.actions.iter().any(|a| a == "*") {
        "action".to_string()
    } else {
        let list: Vec<String> = s
            .actions
            .iter()
            .map(|a| format!("Action::{}", quoted(a)))
            .collect();
        format!("action in [{}]", list.join(", "))
    };
    let mut when: Vec<String> = resource_clause(&s.resources).into_iter().collect();
    when.extend(s.conditions.iter().map(condition));
    let mut text = format!("{effect} (principal, {action}, resource)");
    if !when.is_empty() {
        text.push_str("\nwhen {\n  ");
        text.push_str(&when.join("\n  && "));
        text.push_str("\n}");
    }
    text.push(';');
    text
}

/// All documents as one Cedar policy set, ids from [`policy_id`].
pub fn policy_set(docs: &[Doc]) -> PolicySet {
    let mut set = PolicySet::new();
    for (p, d) in docs.iter().enumerate() {
        for (s, st) in d.statements.iter().enumerate() {
            let text = statement_text(st);
            let policy = Policy::parse(Some(PolicyId::new(policy_id(p, s))), &text)
                .unwrap_or_else(|e| panic!("Cedar rejects {}: {e}\n{text}", policy_id(p, s)));
            set.add(policy).expect("policy ids are unique");
        }
    }
    set
}

/// The whole set's text, for reading.
pub fn policy_set_text(docs: &[Doc]) -> String {
    let mut out = String::new();
    for (p, d) in docs.iter().enumerate() {
        out.push_str(&format!("// {}\n", d.name));
        for (s, st) in d.statements.iter().enumerate() {
            out.push_str(&format!("// {}\n{}\n", policy_id(p, s), statement_text(st)));
        }
    }
    out
}

fn resource_uid(req: &Req) -> EntityUid {
    uid("Resource", &req.resource_key())
}

/// The entity store: the principal, the action catalogue with its groups
/// (every wildcard action pattern any document uses), and the resources
/// the requests name.
pub fn entities(docs: &[&Doc], requests: &[Req]) -> Entities {
    let groups: HashSet<&str> = docs
        .iter()
        .flat_map(|d| d.statements.iter())
        .flat_map(|s| s.actions.iter())
        .map(String::as_str)
        .filter(|a| a.contains('*') && *a != "*")
        .collect();
    let mut all = vec![Entity::new_no_attrs(uid("User", PRINCIPAL), HashSet::new())];
    for g in &groups {
        all.push(Entity::new_no_attrs(action_uid(g), HashSet::new()));
    }
    for a in ACTIONS {
        let parents = groups
            .iter()
            .filter(|g| action_glob(g, a))
            .map(|g| action_uid(g))
            .collect();
        all.push(Entity::new_no_attrs(action_uid(a), parents));
    }
    let mut seen = HashSet::new();
    for r in requests {
        let id = resource_uid(r);
        if !seen.insert(id.clone()) {
            continue;
        }
        let mut attrs = HashMap::new();
        let mut resources = r.resources.iter();
        if let Some(arn) = resources.next() {
            attrs.insert(
                "arn".to_string(),
                RestrictedExpression::new_string(arn.clone()),
            );
        }
        if let Some(within) = resources.next() {
            attrs.insert(
                "within".to_string(),
                RestrictedExpression::new_string(within.clone()),
            );
        }
        assert!(resources.next().is_none(), "at most two resources");
        all.push(Entity::new(id, attrs, HashSet::new()).expect("string attributes"));
    }
    Entities::from_entities(all, None).expect("entity ids are unique")
}

pub fn context(ctx: &Ctx) -> Context {
    let mut pairs: Vec<(String, RestrictedExpression)> = Vec::new();
    let name = |k: Key| k.cedar_name().to_string();
    if let Some(ip) = &ctx.source_ip {
        pairs.push((name(Key::SourceIp), RestrictedExpression::new_ip(ip)));
    }
    if let Some(t) = &ctx.current_time {
        pairs.push((
            name(Key::CurrentTime),
            RestrictedExpression::new_datetime(t),
        ));
    }
    if let Some(b) = ctx.secure_transport {
        pairs.push((
            name(Key::SecureTransport),
            RestrictedExpression::new_bool(b),
        ));
    }
    let strings = [
        (name(Key::SourceVpc), &ctx.source_vpc),
        (name(Key::PrincipalAccount), &ctx.principal_account),
        ("access_id".to_string(), &ctx.access_id),
        ("principal_arn".to_string(), &ctx.principal_arn),
    ];
    for (k, v) in strings {
        if let Some(v) = v {
            pairs.push((k, RestrictedExpression::new_string(v.clone())));
        }
    }
    Context::from_pairs(pairs).expect("context values are well formed")
}

pub fn request(req: &Req) -> Request {
    Request::new(
        uid("User", PRINCIPAL),
        action_uid(&req.action),
        resource_uid(req),
        context(&req.ctx),
        None,
    )
    .expect("no schema, so nothing to violate")
}
