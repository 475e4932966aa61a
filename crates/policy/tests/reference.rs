//! The engine against a deliberately naive reference evaluator.
//!
//! The engine is built for speed: statements indexed by service, patterns
//! classified once, case folded once, nothing allocated per decision. This
//! file holds a second evaluator built for nothing but obviousness. It works
//! on its own small model of a policy, matches wildcards with a recursive
//! function, and reads each rule of the policy language as literally as it
//! can:
//!
//! - actions compare without regard to case, resources with it; a role ARN
//!   in a `Resource` is compared with its role name in lower case;
//! - `Not…` elements match what their list does not;
//! - a condition's values are OR-ed (a negated operator holds when the
//!   request value matches none of them); conditions are AND-ed;
//! - a key absent from the request fails positive operators and satisfies
//!   negated ones;
//! - any matching Deny denies, else any matching Allow allows, else the
//!   request is implicitly denied; with a session policy both layers must
//!   allow and a Deny in either wins.
//!
//! Random models are rendered to JSON text, parsed and compiled by the real
//! engine, and decided by both; the answers must agree. Further properties
//! check the algebra of decisions (Deny wins, sessions only narrow, Allows
//! only widen) and that parsing never panics.
//!
//! Reproducing a failure: every run uses the same seed (set
//! `PROPTEST_RNG_SEED` to explore others), so a failing case comes back on
//! the next run, and proptest prints it shrunk. Failure persistence is
//! therefore off: with a fixed seed a regressions file would replay nothing
//! new and would only be one more file to commit.
//!
//! Engine bugs this file found, now fixed and kept as regression tests
//! (the `issue_*` tests at the end):
//! - issue 1: `StringEqualsIgnoreCase` folded the policy value with
//!   `str::to_lowercase` and the request value char by char; they disagreed
//!   on a word-final capital sigma, so "ΑΣ" did not equal itself;
//! - issue 2: canonicalising `acs:ram:*:*:assumed-role/NAME*` appended a
//!   `/`, so an Allow or a Deny on `assumed-role/*` applied to nothing;
//! - issue 3: with enclosing resources `NotResource` matched when any one
//!   resource was outside the list instead of being the complement of
//!   `Resource`.

// Tests may fail loudly: unwrap, panic and indexing are how they say so.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::IpAddr;
use std::sync::Arc;

use policy::{
    decide, decide_trust, explain, Caller, Context, Outcome, Policy, PolicyId, PolicyKind,
    PolicySet, Request,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestRunner};

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// `Action` / `NotAction`, or `Resource` / `NotResource`.
#[derive(Debug, Clone)]
struct Names {
    not: bool,
    patterns: Vec<String>,
    /// Write a single pattern as a one-element list instead of a string.
    as_list: bool,
}

#[derive(Debug, Clone)]
struct Statement {
    sid: Option<String>,
    effect: Effect,
    action: Names,
    resource: Names,
    conditions: Vec<Cond>,
    /// Write `"Condition": {}` when there are no conditions.
    empty_condition: bool,
    /// Rotates the order in which the statement's members are written.
    rotate: usize,
}

#[derive(Debug, Clone)]
struct Doc {
    statements: Vec<Statement>,
    pretty: bool,
}

/// The identity layer (a principal's policies) and an optional session policy.
#[derive(Debug, Clone)]
struct Case {
    identity: Vec<Doc>,
    session: Option<Doc>,
}

impl Case {
    fn layers(&self) -> Vec<&[Doc]> {
        let mut layers = vec![self.identity.as_slice()];
        if let Some(session) = &self.session {
            layers.push(std::slice::from_ref(session));
        }
        layers
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Text,
    Number,
    Date,
    Flag,
    Ip,
}

/// The condition keys of the model. A request carries each or not.
const KEYS: [(&str, Family); 8] = [
    ("acs:SourceVpc", Family::Text),
    ("oss:Prefix", Family::Text),
    ("sts:ExternalId", Family::Text),
    ("oss:MaxKeys", Family::Number),
    ("acs:CurrentTime", Family::Date),
    ("acs:SecureTransport", Family::Flag),
    ("acs:MFAPresent", Family::Flag),
    ("acs:SourceIp", Family::Ip),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    Equal,
    EqualIgnoringCase,
    Like,
    Less,
    AtMost,
    Greater,
    AtLeast,
}

#[derive(Debug)]
struct Op {
    name: &'static str,
    family: Family,
    compare: Compare,
    negated: bool,
}

const fn op(name: &'static str, family: Family, compare: Compare, negated: bool) -> Op {
    Op {
        name,
        family,
        compare,
        negated,
    }
}

/// Every operator of the five families, with what it compares.
const OPS: [Op; 21] = [
    op("StringEquals", Family::Text, Compare::Equal, false),
    op("StringNotEquals", Family::Text, Compare::Equal, true),
    op(
        "StringEqualsIgnoreCase",
        Family::Text,
        Compare::EqualIgnoringCase,
        false,
    ),
    op(
        "StringNotEqualsIgnoreCase",
        Family::Text,
        Compare::EqualIgnoringCase,
        true,
    ),
    op("StringLike", Family::Text, Compare::Like, false),
    op("StringNotLike", Family::Text, Compare::Like, true),
    op("NumericEquals", Family::Number, Compare::Equal, false),
    op("NumericNotEquals", Family::Number, Compare::Equal, true),
    op("NumericLessThan", Family::Number, Compare::Less, false),
    op(
        "NumericLessThanEquals",
        Family::Number,
        Compare::AtMost,
        false,
    ),
    op(
        "NumericGreaterThan",
        Family::Number,
        Compare::Greater,
        false,
    ),
    op(
        "NumericGreaterThanEquals",
        Family::Number,
        Compare::AtLeast,
        false,
    ),
    op("DateEquals", Family::Date, Compare::Equal, false),
    op("DateNotEquals", Family::Date, Compare::Equal, true),
    op("DateLessThan", Family::Date, Compare::Less, false),
    op("DateLessThanEquals", Family::Date, Compare::AtMost, false),
    op("DateGreaterThan", Family::Date, Compare::Greater, false),
    op(
        "DateGreaterThanEquals",
        Family::Date,
        Compare::AtLeast,
        false,
    ),
    op("Bool", Family::Flag, Compare::Equal, false),
    op("IpAddress", Family::Ip, Compare::Equal, false),
    op("NotIpAddress", Family::Ip, Compare::Equal, true),
];

fn op_index(name: &str) -> usize {
    OPS.iter().position(|o| o.name == name).unwrap()
}

/// What a condition value means. Numbers are counted in halves so that
/// comparisons are exact integers; times are Unix seconds.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Text(String),
    Number(i64),
    Time(i64),
    Flag(bool),
    Net(IpAddr, usize),
}

#[derive(Debug, Clone)]
struct Cond {
    op: usize,
    key: usize,
    /// Each value with the JSON it is written as.
    operands: Vec<(Operand, String)>,
    as_list: bool,
}

/// What a request value means, read with its key's type.
#[derive(Debug, Clone, PartialEq)]
enum Reading {
    Text(String),
    Number(i64),
    Time(i64),
    Flag(bool),
    Addr(IpAddr),
    /// Text that cannot be read as the key's type.
    Unreadable,
}

#[derive(Debug, Clone)]
struct Fact {
    text: String,
    reading: Reading,
}

#[derive(Debug, Clone)]
struct Req {
    action: String,
    /// The resource, then any enclosing resource (a repository's instance).
    resources: Vec<String>,
    /// One slot per entry of `KEYS`; `None` when the request lacks the key.
    facts: Vec<Option<Fact>>,
}

// ---------------------------------------------------------------------------
// The reference evaluator
// ---------------------------------------------------------------------------

/// `*` is any run of characters (none too), `?` exactly one character,
/// anything else itself.
fn wildcard(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => {
            wildcard(rest, text) || (!text.is_empty() && wildcard(pattern, &text[1..]))
        }
        Some(('?', rest)) => !text.is_empty() && wildcard(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && wildcard(rest, &text[1..]),
    }
}

fn like(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    wildcard(&p, &t)
}

fn action_matches(pattern: &str, action: &str) -> bool {
    like(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase())
}

/// A role ARN written in a policy, with its role name lower-cased (the form
/// Alibaba writes, and the form requests carry). Anything else unchanged.
fn canonical_resource(pattern: &str) -> String {
    let parts: Vec<&str> = pattern.splitn(5, ':').collect();
    if parts.len() == 5 && parts[0] == "acs" && parts[1] == "ram" {
        for kind in ["role/", "assumed-role/"] {
            if let Some(rest) = parts[4].strip_prefix(kind) {
                let (name, tail) = match rest.find('/') {
                    Some(i) => rest.split_at(i),
                    None => (rest, ""),
                };
                return format!(
                    "acs:ram:{}:{}:{kind}{}{tail}",
                    parts[2],
                    parts[3],
                    name.to_ascii_lowercase()
                );
            }
        }
    }
    pattern.to_string()
}

fn resource_matches(pattern: &str, resource: &str) -> bool {
    like(&canonical_resource(pattern), resource)
}

fn bits(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => a.octets().iter().map(|o| format!("{o:08b}")).collect(),
        IpAddr::V6(a) => a.octets().iter().map(|o| format!("{o:08b}")).collect(),
    }
}

/// Same address family, and the first `prefix` bits agree.
fn in_network(net: &IpAddr, prefix: usize, ip: &IpAddr) -> bool {
    let (n, i) = (bits(net), bits(ip));
    n.len() == i.len() && n[..prefix] == i[..prefix]
}

/// One request value against one condition value, for the positive form
/// of the operator.
fn compares(op: &Op, operand: &Operand, reading: &Reading) -> bool {
    use std::cmp::Ordering;
    let ordered = |o: Ordering| match op.compare {
        Compare::Equal => o == Ordering::Equal,
        Compare::Less => o == Ordering::Less,
        Compare::AtMost => o != Ordering::Greater,
        Compare::Greater => o == Ordering::Greater,
        Compare::AtLeast => o != Ordering::Less,
        Compare::EqualIgnoringCase | Compare::Like => unreachable!("not an ordering"),
    };
    match (operand, reading) {
        (Operand::Text(t), Reading::Text(v)) => match op.compare {
            Compare::Equal => t == v,
            // Each character lowered on its own, final sigma read as sigma:
            // the documented meaning of "equal ignoring case".
            Compare::EqualIgnoringCase => {
                let fold = |s: &str| -> String {
                    s.chars()
                        .flat_map(char::to_lowercase)
                        .map(|c| if c == 'ς' { 'σ' } else { c })
                        .collect()
                };
                fold(t) == fold(v)
            }
            Compare::Like => like(t, v),
            _ => unreachable!("string operators do not order"),
        },
        (Operand::Number(n), Reading::Number(v)) => ordered(v.cmp(n)),
        (Operand::Time(t), Reading::Time(v)) => ordered(v.cmp(t)),
        (Operand::Flag(b), Reading::Flag(v)) => b == v,
        (Operand::Net(net, prefix), Reading::Addr(ip)) => in_network(net, *prefix, ip),
        // The request value is not of the operator's type: it matches nothing.
        _ => false,
    }
}

fn condition_holds(c: &Cond, req: &Req) -> bool {
    let op = &OPS[c.op];
    let Some(fact) = &req.facts[c.key] else {
        // Absent key: positive operators fail, negated ones hold.
        return op.negated;
    };
    let some_value_matches = c
        .operands
        .iter()
        .any(|(operand, _)| compares(op, operand, &fact.reading));
    if op.negated {
        !some_value_matches
    } else {
        some_value_matches
    }
}

fn statement_matches(s: &Statement, req: &Req, resources: &[String]) -> bool {
    let action_listed = s
        .action
        .patterns
        .iter()
        .any(|p| action_matches(p, &req.action));
    let resource_listed = s
        .resource
        .patterns
        .iter()
        .any(|p| resources.iter().any(|r| resource_matches(p, r)));
    let action_ok = if s.action.not {
        !action_listed
    } else {
        action_listed
    };
    let resource_ok = if s.resource.not {
        !resource_listed
    } else {
        resource_listed
    };
    action_ok && resource_ok && s.conditions.iter().all(|c| condition_holds(c, req))
}

fn reference_decide(layers: &[&[Doc]], req: &Req, resources: &[String]) -> Outcome {
    let layer_has = |layer: &[Doc], effect: Effect| {
        layer
            .iter()
            .flat_map(|d| &d.statements)
            .any(|s| s.effect == effect && statement_matches(s, req, resources))
    };
    if layers.iter().any(|l| layer_has(l, Effect::Deny)) {
        Outcome::ExplicitDeny
    } else if layers.iter().all(|l| layer_has(l, Effect::Allow)) {
        Outcome::Allow
    } else {
        Outcome::ImplicitDeny
    }
}

// ---------------------------------------------------------------------------
// Writing the model as JSON
// ---------------------------------------------------------------------------

enum Json {
    /// An encoded scalar: a quoted string, a number or a boolean.
    Raw(String),
    List(Vec<Json>),
    Object(Vec<(String, Json)>),
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn write_json(j: &Json, pretty: bool, depth: usize, out: &mut String) {
    let entries: Vec<(Option<&str>, &Json)> = match j {
        Json::Raw(s) => {
            out.push_str(s);
            return;
        }
        Json::List(items) => items.iter().map(|i| (None, i)).collect(),
        Json::Object(members) => members.iter().map(|(k, v)| (Some(k.as_str()), v)).collect(),
    };
    let (open, close) = match j {
        Json::List(_) => ('[', ']'),
        _ => ('{', '}'),
    };
    out.push(open);
    for (n, (key, value)) in entries.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        if pretty {
            out.push('\n');
            out.push_str(&"  ".repeat(depth + 1));
        }
        if let Some(key) = key {
            out.push_str(&quote(key));
            out.push(':');
            if pretty {
                out.push(' ');
            }
        }
        write_json(value, pretty, depth + 1, out);
    }
    if pretty && !entries.is_empty() {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    }
    out.push(close);
}

fn one_or_list(items: Vec<Json>, as_list: bool) -> Json {
    if items.len() == 1 && !as_list {
        items.into_iter().next().unwrap()
    } else {
        Json::List(items)
    }
}

fn names_json(names: &Names) -> Json {
    let items = names.patterns.iter().map(|p| Json::Raw(quote(p))).collect();
    one_or_list(items, names.as_list)
}

fn conditions_json(conditions: &[Cond]) -> Json {
    let mut blocks: Vec<(String, Json)> = Vec::new();
    for c in conditions {
        let name = OPS[c.op].name;
        let values = c
            .operands
            .iter()
            .map(|(_, json)| Json::Raw(json.clone()))
            .collect();
        let entry = (KEYS[c.key].0.to_string(), one_or_list(values, c.as_list));
        match blocks.iter_mut().find(|(n, _)| n == name) {
            Some((_, Json::Object(keys))) => keys.push(entry),
            _ => blocks.push((name.to_string(), Json::Object(vec![entry]))),
        }
    }
    Json::Object(blocks)
}

fn statement_json(s: &Statement) -> Json {
    let mut members = Vec::new();
    if let Some(sid) = &s.sid {
        members.push(("Sid".to_string(), Json::Raw(quote(sid))));
    }
    let effect = match s.effect {
        Effect::Allow => "Allow",
        Effect::Deny => "Deny",
    };
    members.push(("Effect".to_string(), Json::Raw(quote(effect))));
    let action = if s.action.not { "NotAction" } else { "Action" };
    members.push((action.to_string(), names_json(&s.action)));
    let resource = if s.resource.not {
        "NotResource"
    } else {
        "Resource"
    };
    members.push((resource.to_string(), names_json(&s.resource)));
    if !s.conditions.is_empty() || s.empty_condition {
        members.push(("Condition".to_string(), conditions_json(&s.conditions)));
    }
    let turn = s.rotate % members.len();
    members.rotate_left(turn);
    Json::Object(members)
}

fn render_with(doc: &Doc, pretty: bool) -> String {
    let json = Json::Object(vec![
        ("Version".to_string(), Json::Raw(quote("1"))),
        (
            "Statement".to_string(),
            Json::List(doc.statements.iter().map(statement_json).collect()),
        ),
    ]);
    let mut out = String::new();
    write_json(&json, pretty, 0, &mut out);
    out
}

fn render(doc: &Doc) -> String {
    render_with(doc, doc.pretty)
}

/// A number of halves as decimal text, in one of several spellings.
fn write_halves(halves: i64, style: u8) -> String {
    let sign = if halves < 0 { "-" } else { "" };
    let (whole, half) = (halves.abs() / 2, halves.abs() % 2 == 1);
    let fraction = if half { "5" } else { "0" };
    match style {
        0 if !half => format!("{sign}{whole}"),
        1 => format!("{sign}{whole}.{fraction}00"),
        2 => format!("{}e-1", halves * 5),
        _ => format!("{sign}{whole}.{fraction}"),
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn month_days(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Calendar fields of a Unix time (after 1970), counted out year by year
/// and month by month.
fn civil(secs: i64) -> [i64; 6] {
    let mut days = secs / 86_400;
    let rem = secs % 86_400;
    let mut year = 1970;
    while days >= if is_leap(year) { 366 } else { 365 } {
        days -= if is_leap(year) { 366 } else { 365 };
        year += 1;
    }
    let mut month = 1;
    while days >= month_days(year, month) {
        days -= month_days(year, month);
        month += 1;
    }
    [year, month, days + 1, rem / 3600, rem % 3600 / 60, rem % 60]
}

/// 2026-11-22T00:00:00Z.
const BASE_TIME: i64 = 1_795_305_600;

/// An instant as ISO 8601 text: UTC, with an offset, with milliseconds, or
/// as a bare date when it falls on midnight UTC.
fn write_time(secs: i64, style: u8) -> String {
    let stamp = |at: i64, zone: &str| {
        let [y, mo, d, h, mi, s] = civil(at);
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{zone}")
    };
    match style {
        1 => stamp(secs + 8 * 3600, "+08:00"),
        2 => stamp(secs - (5 * 3600 + 1800), "-05:30"),
        3 => stamp(secs, ".000Z"),
        4 if secs % 86_400 == 0 => {
            let [y, mo, d, ..] = civil(secs);
            format!("{y:04}-{mo:02}-{d:02}")
        }
        _ => stamp(secs, "Z"),
    }
}

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

const SERVICES: [&str; 3] = ["cr", "ram", "sts"];
const API_NAMES: [&str; 4] = [
    "PullRepository",
    "GetAuthorizationToken",
    "AssumeRole",
    "CreateRole",
];

/// Request resources; `*` is added separately.
const RESOURCES: [&str; 11] = [
    "acs:cr:cn-hangzhou:123:instance/i1",
    "acs:cr:cn-hangzhou:123:repository/i1/ns/app",
    "acs:cr:cn-hangzhou:123:repository/i1/ns/App",
    "acs:cr:cn-beijing:456:repository/i2/team/web",
    "acs:ram::123:role/admin",
    "acs:ram::123:role/dev-ops",
    "acs:ram::123:assumed-role/admin/Session1",
    "acs:ram::123:user/alice",
    "acs:ram::456:root",
    "acs:oss:*:*:bucket/a/b.txt",
    "acs:oss:*:*:bucket",
];

const NETWORKS: [&str; 12] = [
    "10.0.0.0/8",
    "10.1.0.0/16",
    "10.1.2.0/23",
    "10.1.2.2/31",
    "10.1.2.3",
    "192.168.1.7/32",
    "172.16.0.0/12",
    "0.0.0.0/0",
    "2001:db8::/32",
    "2001:db8::/33",
    "2001:db8::1",
    "::/0",
];

const ADDRESSES: [&str; 10] = [
    "10.1.2.3",
    "10.1.3.9",
    "10.200.0.1",
    "192.168.1.7",
    "172.20.0.1",
    "8.8.8.8",
    "2001:db8::1",
    "2001:db8:8000::5",
    "fe80::1",
    "::1",
];

fn request_action() -> impl Strategy<Value = String> {
    (select(&SERVICES[..]), select(&API_NAMES[..]), 0u8..4).prop_map(|(s, n, case)| {
        let a = format!("{s}:{n}");
        match case {
            0 => a.to_ascii_lowercase(),
            1 => a.to_ascii_uppercase(),
            _ => a,
        }
    })
}

fn request_resources() -> impl Strategy<Value = Vec<String>> {
    let one = prop_oneof![
        1 => Just("*".to_string()),
        8 => select(&RESOURCES[..]).prop_map(str::to_string),
    ];
    (one, any::<bool>()).prop_map(|(r, with_instance)| {
        let mut out = vec![r.clone()];
        // A repository pull also names its instance.
        if let Some((head, path)) = r.split_once(":repository/") {
            if with_instance {
                let instance = path.split('/').next().unwrap();
                out.push(format!("{head}:instance/{instance}"));
            }
        }
        out
    })
}

#[derive(Debug, Clone, Copy)]
enum Edit {
    /// Replace one character with `?`.
    One,
    /// Replace one character with `*`.
    Any,
    /// Cut the text at a character of the last part and end it with `*`.
    AnyToEnd,
    /// Swap the case of one letter.
    FlipCase,
}

fn edits() -> impl Strategy<Value = Vec<(Index, Edit)>> {
    let edit = prop_oneof![
        Just(Edit::One),
        Just(Edit::Any),
        Just(Edit::AnyToEnd),
        Just(Edit::FlipCase),
    ];
    vec((any::<Index>(), edit), 0..=3)
}

/// Turns a concrete name into a pattern. Characters before `from` and colons
/// are kept (so the result keeps its shape); case flips happen only at or
/// after `case_from`.
fn apply_edits(base: &str, edits: &[(Index, Edit)], from: usize, case_from: usize) -> String {
    let mut chars: Vec<char> = base.chars().collect();
    for (at, edit) in edits {
        let editable: Vec<usize> = (from..chars.len()).filter(|&i| chars[i] != ':').collect();
        if editable.is_empty() {
            continue;
        }
        let i = editable[at.index(editable.len())];
        let last_colon = chars.iter().rposition(|&c| c == ':').unwrap_or(0);
        match edit {
            Edit::One => chars[i] = '?',
            Edit::Any => chars[i] = '*',
            Edit::AnyToEnd if i > last_colon => {
                chars.truncate(i);
                chars.push('*');
            }
            Edit::AnyToEnd => chars[i] = '*',
            Edit::FlipCase if i >= case_from => {
                let c = chars[i];
                chars[i] = if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                };
            }
            Edit::FlipCase => {}
        }
    }
    chars.into_iter().collect()
}

fn action_pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("*".to_string()),
        1 => select(&SERVICES[..]).prop_map(|s| format!("{s}:*")),
        6 => (request_action(), edits()).prop_map(|(a, e)| apply_edits(&a, &e, 0, 0)),
    ]
}

fn resource_pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("*".to_string()),
        8 => (select(&RESOURCES[..]), edits()).prop_map(|(r, e)| {
            let relative_id = r.match_indices(':').nth(3).unwrap().0 + 1;
            apply_edits(r, &e, "acs:".len(), relative_id)
        }),
    ]
}

fn names(pattern: impl Strategy<Value = String>) -> impl Strategy<Value = Names> {
    (
        prop::bool::weighted(0.2),
        vec(pattern, 1..=3),
        any::<bool>(),
    )
        .prop_map(|(not, patterns, as_list)| Names {
            not,
            patterns,
            as_list,
        })
}

/// Request text for string keys, with letters whose case folding is
/// special (ß, ẞ, a final Σ).
const TEXT: &str = "[abAB1éÉßẞΣσς*?]{0,3}";

fn text_operand() -> impl Strategy<Value = (Operand, String)> {
    (TEXT, any::<bool>()).prop_map(|(t, as_number)| {
        let integer = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) && !t.starts_with('0');
        let json = if integer && as_number {
            t.clone()
        } else {
            quote(&t)
        };
        (Operand::Text(t), json)
    })
}

fn time_value() -> impl Strategy<Value = i64> {
    (0i64..3, -1i64..4).prop_map(|(day, half_hour)| BASE_TIME + day * 86_400 + half_hour * 1800)
}

fn operand(family: Family) -> BoxedStrategy<(Operand, String)> {
    match family {
        Family::Text => text_operand().boxed(),
        Family::Number => (-6i64..=6, 0u8..4, any::<bool>())
            .prop_map(|(h, style, bare)| {
                let text = write_halves(h, style);
                // A JSON number when the spelling is one, else a string.
                let json = if bare && style != 2 {
                    text
                } else {
                    quote(&text)
                };
                (Operand::Number(h), json)
            })
            .boxed(),
        Family::Date => (time_value(), 0u8..5)
            .prop_map(|(t, style)| (Operand::Time(t), quote(&write_time(t, style))))
            .boxed(),
        Family::Flag => (any::<bool>(), any::<bool>())
            .prop_map(|(b, bare)| {
                let json = if bare {
                    b.to_string()
                } else {
                    quote(&b.to_string())
                };
                (Operand::Flag(b), json)
            })
            .boxed(),
        Family::Ip => select(&NETWORKS[..])
            .prop_map(|n| {
                let (addr, prefix) = match n.split_once('/') {
                    Some((a, p)) => (a.parse::<IpAddr>().unwrap(), p.parse().unwrap()),
                    None => {
                        let a = n.parse::<IpAddr>().unwrap();
                        (a, bits(&a).len())
                    }
                };
                (Operand::Net(addr, prefix), quote(n))
            })
            .boxed(),
    }
}

fn fact(family: Family) -> BoxedStrategy<Fact> {
    let unreadable = |texts: &'static [&'static str]| {
        select(texts).prop_map(|t| Fact {
            text: t.to_string(),
            reading: Reading::Unreadable,
        })
    };
    match family {
        Family::Text => TEXT
            .prop_map(|t| Fact {
                text: t.clone(),
                reading: Reading::Text(t),
            })
            .boxed(),
        Family::Number => prop_oneof![
            6 => (-6i64..=6, 0u8..4).prop_map(|(h, style)| Fact {
                text: write_halves(h, style),
                reading: Reading::Number(h),
            }),
            1 => unreadable(&["many", "1.2.3", ""]),
        ]
        .boxed(),
        Family::Date => prop_oneof![
            6 => (time_value(), 0u8..5).prop_map(|(t, style)| Fact {
                text: write_time(t, style),
                reading: Reading::Time(t),
            }),
            1 => unreadable(&["soon", "2026-02-30T00:00:00Z", "2026-11-22 10:00:00"]),
        ]
        .boxed(),
        Family::Flag => prop_oneof![
            6 => any::<bool>().prop_map(|b| Fact {
                text: b.to_string(),
                reading: Reading::Flag(b),
            }),
            1 => unreadable(&["yes", "1"]),
        ]
        .boxed(),
        Family::Ip => prop_oneof![
            6 => select(&ADDRESSES[..]).prop_map(|a| Fact {
                text: a.to_string(),
                reading: Reading::Addr(a.parse().unwrap()),
            }),
            1 => unreadable(&["10.1.2", "host", ""]),
        ]
        .boxed(),
    }
}

fn condition() -> impl Strategy<Value = Cond> {
    (0..KEYS.len()).prop_flat_map(|key| {
        let family = KEYS[key].1;
        let ops: Vec<usize> = (0..OPS.len())
            .filter(|&i| OPS[i].family == family)
            .collect();
        (select(ops), vec(operand(family), 1..=3), any::<bool>()).prop_map(
            move |(op, operands, as_list)| Cond {
                op,
                key,
                operands,
                as_list,
            },
        )
    })
}

fn statement_with(effect: impl Strategy<Value = Effect>) -> impl Strategy<Value = Statement> {
    (
        proptest::option::weighted(0.3, "[A-Za-z0-9]{1,8}"),
        effect,
        names(action_pattern()),
        names(resource_pattern()),
        vec(condition(), 0..=3),
        any::<bool>(),
        0usize..5,
    )
        .prop_map(
            |(sid, effect, action, resource, mut conditions, empty_condition, rotate)| {
                // One operator names a key once (JSON members are unique).
                let mut seen = Vec::new();
                conditions.retain(|c| {
                    let fresh = !seen.contains(&(c.op, c.key));
                    seen.push((c.op, c.key));
                    fresh
                });
                Statement {
                    sid,
                    effect,
                    action,
                    resource,
                    conditions,
                    empty_condition,
                    rotate,
                }
            },
        )
}

fn statement() -> impl Strategy<Value = Statement> {
    statement_with(prop_oneof![3 => Just(Effect::Allow), 2 => Just(Effect::Deny)])
}

fn doc(max_statements: usize) -> impl Strategy<Value = Doc> {
    (vec(statement(), 1..=max_statements), any::<bool>())
        .prop_map(|(statements, pretty)| Doc { statements, pretty })
}

/// A case with a session policy `session_weight` of the time (1.0: always).
fn case_with(session_weight: f64) -> impl Strategy<Value = Case> {
    let session = if session_weight >= 1.0 {
        doc(2).prop_map(Some).boxed()
    } else {
        proptest::option::weighted(session_weight, doc(2)).boxed()
    };
    (vec(doc(4), 1..=2), session).prop_map(|(identity, session)| Case { identity, session })
}

fn request() -> impl Strategy<Value = Req> {
    let facts: Vec<BoxedStrategy<Option<Fact>>> = KEYS
        .iter()
        .map(|(_, family)| proptest::option::weighted(0.7, fact(*family)).boxed())
        .collect();
    (request_action(), request_resources(), facts).prop_map(|(action, resources, facts)| Req {
        action,
        resources,
        facts,
    })
}

// ---------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------

fn parse(text: &str, kind: PolicyKind) -> Policy {
    Policy::parse(text, kind).unwrap_or_else(|e| {
        panic!("the engine rejected a document the model holds valid:\n{text}\n{e}")
    })
}

fn compile_set(texts: &[String], kind: PolicyKind) -> PolicySet {
    PolicySet::new(texts.iter().enumerate().map(|(i, text)| {
        (
            PolicyId::new(format!("policy-{i}"), ""),
            Arc::new(parse(text, kind)),
        )
    }))
}

/// The case as the engine sees it: its documents' text and one compiled set
/// per layer.
struct Compiled {
    texts: Vec<String>,
    layers: Vec<PolicySet>,
}

impl Compiled {
    fn new(case: &Case) -> Compiled {
        let identity: Vec<String> = case.identity.iter().map(render).collect();
        let mut texts = identity.clone();
        let mut layers = vec![compile_set(&identity, PolicyKind::Permission)];
        if let Some(session) = &case.session {
            // Sessions are written compactly to stay within 2048 characters.
            let text = render_with(session, false);
            layers.push(compile_set(
                std::slice::from_ref(&text),
                PolicyKind::Session,
            ));
            texts.push(text);
        }
        Compiled { texts, layers }
    }

    fn show(&self) -> String {
        self.texts.join("\n---\n")
    }
}

fn context_of(req: &Req) -> Context {
    let mut context = Context::new();
    for (fact, (key, _)) in req.facts.iter().zip(KEYS) {
        if let Some(fact) = fact {
            context.set(key, fact.text.clone());
        }
    }
    context
}

fn engine_decide(layers: &[&PolicySet], req: &Req, resources: &[String]) -> Outcome {
    let context = context_of(req);
    let resources: Vec<&str> = resources.iter().map(String::as_str).collect();
    let request = Request {
        action: &req.action,
        resources: &resources,
        context: &context,
    };
    decide(layers, &request).outcome
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

/// A fixed seed unless `PROPTEST_RNG_SEED` names another.
fn config(cases: u32) -> Config {
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_7a4d_u64);
    Config {
        cases,
        // See the module docs: the fixed seed makes failures come back.
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(seed),
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

/// Policy cases and requests per case for the differential property:
/// 1,600 × 64 = 102,400 decisions compared per run.
const DIFFERENTIAL_CASES: u32 = 1600;
const REQUESTS_PER_CASE: usize = 64;

/// Where an extra statement goes: which layer, which document, which place.
fn insert(case: &mut Case, layer: Index, doc: Index, at: Index, statement: Statement) {
    let docs: &mut [Doc] = match &mut case.session {
        Some(session) if layer.index(2) == 1 => std::slice::from_mut(session),
        _ => &mut case.identity,
    };
    let n = docs.len();
    let target = &mut docs[doc.index(n)];
    let len = target.statements.len();
    target.statements.insert(at.index(len + 1), statement);
}

/// A condition on `key` that holds for `req`, if the model has one.
fn holding_condition(key: usize, req: &Req) -> Option<Cond> {
    let cond = |name: &str, operand: Operand, json: String| Cond {
        op: op_index(name),
        key,
        operands: vec![(operand, json)],
        as_list: false,
    };
    let Some(fact) = &req.facts[key] else {
        // Absent: any negated operator holds.
        return match KEYS[key].1 {
            Family::Text => Some(cond("StringNotLike", Operand::Text("*".into()), quote("*"))),
            Family::Number => Some(cond("NumericNotEquals", Operand::Number(0), quote("0"))),
            Family::Date => Some(cond(
                "DateNotEquals",
                Operand::Time(BASE_TIME),
                quote(&write_time(BASE_TIME, 0)),
            )),
            Family::Ip => Some(cond(
                "NotIpAddress",
                Operand::Net("0.0.0.0".parse().unwrap(), 0),
                quote("0.0.0.0/0"),
            )),
            Family::Flag => None,
        };
    };
    match &fact.reading {
        Reading::Text(t) => Some(cond("StringEquals", Operand::Text(t.clone()), quote(t))),
        Reading::Number(h) => Some(cond(
            "NumericLessThanEquals",
            Operand::Number(*h),
            quote(&write_halves(*h, 3)),
        )),
        Reading::Time(t) => Some(cond(
            "DateGreaterThanEquals",
            Operand::Time(*t),
            quote(&write_time(*t, 0)),
        )),
        Reading::Flag(b) => Some(cond("Bool", Operand::Flag(*b), quote(&b.to_string()))),
        Reading::Addr(a) => Some(cond(
            "IpAddress",
            Operand::Net(*a, bits(a).len()),
            quote(&a.to_string()),
        )),
        // Unreadable values match nothing, so negated operators hold.
        Reading::Unreadable => match KEYS[key].1 {
            Family::Number => Some(cond("NumericNotEquals", Operand::Number(0), quote("0"))),
            Family::Date => Some(cond(
                "DateNotEquals",
                Operand::Time(BASE_TIME),
                quote(&write_time(BASE_TIME, 0)),
            )),
            Family::Ip => Some(cond(
                "NotIpAddress",
                Operand::Net("0.0.0.0".parse().unwrap(), 0),
                quote("0.0.0.0/0"),
            )),
            Family::Text | Family::Flag => None,
        },
    }
}

/// A Deny statement built to match `req`: by name, by wildcard or by `Not…`,
/// with conditions (on the keys `with_key` picks) that hold for it.
fn matching_deny(req: &Req, action_form: u8, resource_form: u8, with_key: &[bool]) -> Statement {
    let service = req.action.split(':').next().unwrap();
    let action = match action_form {
        0 => (false, req.action.clone()),
        1 => (false, "*".to_string()),
        2 => (false, format!("{}:*", service.to_ascii_lowercase())),
        3 => (false, req.action.to_ascii_uppercase()),
        _ => (true, "zz:Nothing".to_string()),
    };
    let resource = match resource_form {
        0 => (false, req.resources[0].clone()),
        1 => (false, "*".to_string()),
        _ => (true, "acs:none:*:*:nothing".to_string()),
    };
    let conditions = (0..KEYS.len())
        .filter(|&k| with_key[k])
        .filter_map(|k| holding_condition(k, req))
        .collect();
    Statement {
        sid: None,
        effect: Effect::Deny,
        action: Names {
            not: action.0,
            patterns: vec![action.1],
            as_list: false,
        },
        resource: Names {
            not: resource.0,
            patterns: vec![resource.1],
            as_list: true,
        },
        conditions,
        empty_condition: false,
        rotate: 0,
    }
}

proptest! {
    #![proptest_config(config(DIFFERENTIAL_CASES))]

    /// (a) The engine and the reference give the same outcome, and the
    /// engine's explanation marks the same statements as matching.
    #[test]
    fn engine_agrees_with_reference(
        case in case_with(0.4),
        requests in vec(request(), REQUESTS_PER_CASE),
    ) {
        let compiled = Compiled::new(&case);
        let sets: Vec<&PolicySet> = compiled.layers.iter().collect();
        let layers = case.layers();
        for req in &requests {
            let resources = &req.resources;
            let expected = reference_decide(&layers, req, resources);
            let got = engine_decide(&sets, req, resources);
            prop_assert_eq!(
                got, expected,
                "documents:\n{}\nrequest: {:?} on {:?}\ncontext: {:?}",
                compiled.show(), req.action, resources, context_of(req)
            );

            let context = context_of(req);
            let names: Vec<&str> = resources.iter().map(String::as_str).collect();
            let request = Request { action: &req.action, resources: &names, context: &context };
            let explanation = explain(&sets, &request);
            let statements: Vec<&Statement> =
                layers.iter().flat_map(|l| l.iter()).flat_map(|d| &d.statements).collect();
            prop_assert_eq!(explanation.statements.len(), statements.len());
            for (trace, s) in explanation.statements.iter().zip(statements) {
                prop_assert_eq!(
                    trace.matched, statement_matches(s, req, resources),
                    "explain disagrees on {:?}\ndocuments:\n{}\nrequest: {:?}",
                    trace.at, compiled.show(), req
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(config(600))]

    /// (b) Adding a Deny statement that matches the request, anywhere in
    /// either layer, always gives an explicit deny.
    #[test]
    fn a_matching_deny_always_wins(
        (case, req) in (case_with(0.5), request()),
        action_form in 0u8..5,
        resource_form in 0u8..3,
        with_key in vec(any::<bool>(), KEYS.len()),
        (layer, doc, at) in (any::<Index>(), any::<Index>(), any::<Index>()),
    ) {
        let deny = matching_deny(&req, action_form, resource_form, &with_key);
        let mut denied = case.clone();
        insert(&mut denied, layer, doc, at, deny);
        let compiled = Compiled::new(&denied);
        let sets: Vec<&PolicySet> = compiled.layers.iter().collect();
        let resources = &req.resources;
        // The construction itself is checked against the reference.
        prop_assert_eq!(reference_decide(&denied.layers(), &req, resources), Outcome::ExplicitDeny);
        prop_assert_eq!(
            engine_decide(&sets, &req, resources), Outcome::ExplicitDeny,
            "documents:\n{}\nrequest: {:?}", compiled.show(), req
        );
    }

    /// (c) A session policy never widens: with it, a request is allowed only
    /// if the identity policies alone allow it (and the session alone too);
    /// an explicit deny of the identity policies stays one.
    #[test]
    fn a_session_policy_never_widens(
        case in case_with(1.0),
        requests in vec(request(), 32),
    ) {
        let compiled = Compiled::new(&case);
        let identity = &compiled.layers[0];
        let session = &compiled.layers[1];
        for req in &requests {
            let both = engine_decide(&[identity, session], req, &req.resources);
            let alone = engine_decide(&[identity], req, &req.resources);
            let session_alone = engine_decide(&[session], req, &req.resources);
            let shown = || format!("documents:\n{}\nrequest: {req:?}", compiled.show());
            if both == Outcome::Allow {
                prop_assert_eq!(alone, Outcome::Allow, "{}", shown());
                prop_assert_eq!(session_alone, Outcome::Allow, "{}", shown());
            }
            if alone == Outcome::ExplicitDeny || session_alone == Outcome::ExplicitDeny {
                prop_assert_eq!(both, Outcome::ExplicitDeny, "{}", shown());
            }
        }
    }

    /// (d) Adding an Allow statement never turns an Allow into a deny (and
    /// never lifts an explicit deny).
    #[test]
    fn an_added_allow_never_denies(
        case in case_with(0.5),
        allow in statement_with(Just(Effect::Allow)),
        (layer, doc, at) in (any::<Index>(), any::<Index>(), any::<Index>()),
        requests in vec(request(), 32),
    ) {
        let mut widened = case.clone();
        insert(&mut widened, layer, doc, at, allow);
        let before = Compiled::new(&case);
        let after = Compiled::new(&widened);
        let before_sets: Vec<&PolicySet> = before.layers.iter().collect();
        let after_sets: Vec<&PolicySet> = after.layers.iter().collect();
        for req in &requests {
            let was = engine_decide(&before_sets, req, &req.resources);
            let now = engine_decide(&after_sets, req, &req.resources);
            let shown = || format!("before:\n{}\nafter:\n{}\nrequest: {req:?}", before.show(), after.show());
            if was == Outcome::Allow {
                prop_assert_eq!(now, Outcome::Allow, "{}", shown());
            }
            if was == Outcome::ExplicitDeny {
                prop_assert_eq!(now, Outcome::ExplicitDeny, "{}", shown());
            }
        }
    }
}

// ---------------------------------------------------------------------------
// (e) Parsing never panics
// ---------------------------------------------------------------------------

/// Documents from the project's seeds and the policy language notes.
const FIXED_DOCUMENTS: [&str; 4] = [
    r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"RAM":["acs:ram::123456789012****:root"]}}],"Version":"1"}"#,
    r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["123456789012****@sae.aliyuncs.com"]}}],"Version":"1"}"#,
    r#"{
    "Version": "1",
    "Statement": [
        {"Effect": "Allow", "Action": ["cr:Get*", "cr:List*"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["cr:Pull*"],
         "Resource": ["acs:cr:cn-hangzhou:1609982529******:instance/cri-nwj395hgf6f3****"]}
    ]
}"#,
    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:GetObject","oss:ListObjects"],"Resource":["acs:oss:*:*:bucket","acs:oss:*:*:bucket/*"],"Condition":{}},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"acs:SourceIp":["10.0.0.0/8","2001:db8::/32"]},"Bool":{"acs:SecureTransport":"false"},"DateGreaterThan":{"acs:CurrentTime":"2026-11-22T10:00:00+08:00"},"NumericLessThan":{"oss:MaxKeys":100}}}]}"#,
];

/// A position is on a line of the text, at most one column past its end.
fn assert_inside(text: &str, what: &policy::Problem) {
    let lines: Vec<&str> = text.split('\n').collect();
    let p = what.position;
    assert!(
        p.line >= 1 && p.line <= lines.len(),
        "problem outside the document: {what} in {text:?}"
    );
    let width = lines[p.line - 1].chars().count();
    assert!(
        p.column >= 1 && p.column <= width + 1,
        "problem outside its line: {what} in {text:?}"
    );
}

/// Parses `text` as every kind; what parses is also decided, what does not
/// must say where.
fn parse_everything(text: &str) {
    let context = Context::new()
        .with("acs:SourceIp", "10.1.2.3")
        .with("acs:CurrentTime", "2026-11-22T10:00:00Z")
        .with("acs:SecureTransport", "true");
    let resources = [
        "acs:cr:cn-hangzhou:123:repository/i1/ns/app",
        "acs:cr:cn-hangzhou:123:instance/i1",
    ];
    for kind in [
        PolicyKind::Permission,
        PolicyKind::Session,
        PolicyKind::Trust,
    ] {
        match Policy::parse(text, kind) {
            Ok(p) => {
                for w in &p.warnings {
                    assert_inside(text, w);
                }
                if kind == PolicyKind::Trust {
                    let caller = Caller::User {
                        account: "123",
                        name: "alice",
                    };
                    let _ = decide_trust(&p, "123", &caller, "sts:AssumeRole", &context);
                } else {
                    let set = PolicySet::new([(PolicyId::new("p", ""), Arc::new(p))]);
                    let request = Request {
                        action: "cr:PullRepository",
                        resources: &resources,
                        context: &context,
                    };
                    let _ = decide(&[&set], &request);
                }
            }
            Err(e) => {
                assert!(!e.problems.is_empty(), "an error without problems");
                for problem in &e.problems {
                    assert_inside(text, problem);
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Truncate(Index),
    Delete(Index, usize),
    Insert(Index, u8),
    Repeat(Index, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![any::<u8>(), select(b"{}[]\":,\\*?\n 0e-.tfn".to_vec())];
    prop_oneof![
        (any::<Index>(), 1u8..=255).prop_map(|(i, m)| Mutation::Flip(i, m)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), 1usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), byte).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<Index>(), 1usize..40).prop_map(|(i, n)| Mutation::Repeat(i, n)),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for m in mutations {
        let len = bytes.len();
        if len == 0 {
            break;
        }
        match m {
            Mutation::Flip(i, mask) => bytes[i.index(len)] ^= mask,
            Mutation::Truncate(i) => bytes.truncate(i.index(len)),
            Mutation::Delete(i, n) => {
                let start = i.index(len);
                bytes.drain(start..(start + n).min(len));
            }
            Mutation::Insert(i, b) => bytes.insert(i.index(len + 1), *b),
            Mutation::Repeat(i, n) => {
                let start = i.index(len);
                let piece = bytes[start..(start + n).min(len)].to_vec();
                bytes.splice(start..start, piece);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn base_document() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => doc(4).prop_map(|d| render(&d)),
        1 => select(&FIXED_DOCUMENTS[..]).prop_map(str::to_string),
    ]
}

proptest! {
    #![proptest_config(config(2000))]

    /// (e) Arbitrary text never makes the parser panic.
    #[test]
    fn parse_survives_arbitrary_text(text in "\\PC{0,200}") {
        parse_everything(&text);
    }

    /// (e) Text made of JSON's punctuation and policy words.
    #[test]
    fn parse_survives_json_like_text(
        text in r#"([\[\]{}:,"\\ \n]|"Version"|"1"|"Statement"|"Effect"|"Allow"|"Deny"|"Action"|"Resource"|"Condition"|"Principal"|"\*"|"acs:ram::1:root"|"StringLike"|"acs:SourceIp"|-?[0-9]{1,3}(\.[0-9])?(e[+-]?[0-9])?|true|null){0,60}"#
    ) {
        parse_everything(&text);
    }

    /// (e) Valid documents with bytes flipped, cut, dropped, added or repeated.
    #[test]
    fn parse_survives_mutated_documents(
        base in base_document(),
        mutations in vec(mutation(), 1..=4),
    ) {
        parse_everything(&mutate(&base, &mutations));
    }
}

// ---------------------------------------------------------------------------
// The reference and the generators, checked by example
// ---------------------------------------------------------------------------

#[test]
fn the_reference_matcher_reads_wildcards_plainly() {
    assert!(like("*", ""));
    assert!(like("a*c", "abbbc"));
    assert!(like("a?c", "abc"));
    assert!(!like("a?c", "ac"));
    assert!(like("acs:ram:*:123:role/x", "acs:ram::123:role/x"));
    assert!(!like("acs:ram:*:123:role/x", "acs:ram::123:role/X"));
    assert!(action_matches("CR:pull*", "cr:PullRepository"));
    assert!(resource_matches(
        "acs:ram:*:123:role/Admin",
        "acs:ram::123:role/admin"
    ));
    assert!(resource_matches(
        "acs:ram:*:123:assumed-role/Admin/*",
        "acs:ram::123:assumed-role/admin/Session1"
    ));
    assert!(!resource_matches(
        "acs:ram:*:123:assumed-role/admin/session1",
        "acs:ram::123:assumed-role/admin/Session1"
    ));
    assert!(in_network(
        &"10.1.2.0".parse().unwrap(),
        23,
        &"10.1.3.9".parse().unwrap()
    ));
    assert!(!in_network(
        &"::".parse().unwrap(),
        0,
        &"10.1.3.9".parse().unwrap()
    ));
}

#[test]
fn the_reference_calendar_counts_right() {
    assert_eq!(civil(0), [1970, 1, 1, 0, 0, 0]);
    assert_eq!(civil(BASE_TIME), [2026, 11, 22, 0, 0, 0]);
    assert_eq!(write_time(BASE_TIME + 1800, 1), "2026-11-22T08:30:00+08:00");
    assert_eq!(write_time(BASE_TIME, 2), "2026-11-21T18:30:00-05:30");
    assert_eq!(write_time(BASE_TIME, 4), "2026-11-22");
    assert_eq!(civil(951_782_400), [2000, 2, 29, 0, 0, 0]);
    assert_eq!(write_halves(-1, 0), "-0.5");
    assert_eq!(write_halves(-1, 2), "-5e-1");
    assert_eq!(write_halves(6, 0), "3");
    assert_eq!(write_halves(7, 1), "3.500");
}

/// The generators reach all three outcomes often enough for agreement to
/// mean something. Run with `--nocapture` to see the counts.
#[test]
fn the_generators_reach_every_outcome() {
    let mut runner = TestRunner::new(config(1));
    let strategy = (case_with(0.4), vec(request(), REQUESTS_PER_CASE));
    let mut counts = [0usize; 3];
    let mut with_conditions = 0usize;
    for _ in 0..200 {
        let (case, requests) = strategy.new_tree(&mut runner).unwrap().current();
        let layers = case.layers();
        for req in &requests {
            let outcome = reference_decide(&layers, req, &req.resources);
            let slot = match outcome {
                Outcome::Allow => 0,
                Outcome::ExplicitDeny => 1,
                Outcome::ImplicitDeny => 2,
            };
            counts[slot] += 1;
            let conditional = layers
                .iter()
                .flat_map(|l| l.iter())
                .flat_map(|d| &d.statements)
                .any(|s| !s.conditions.is_empty() && statement_matches(s, req, &req.resources));
            with_conditions += usize::from(conditional);
        }
    }
    let total: usize = counts.iter().sum();
    eprintln!(
        "allow {}, explicit deny {}, implicit deny {} of {total}; \
         {with_conditions} decisions had a matching statement with conditions",
        counts[0], counts[1], counts[2]
    );
    for (count, name) in counts.iter().zip(["Allow", "ExplicitDeny", "ImplicitDeny"]) {
        assert!(
            *count * 20 >= total,
            "{name} is rarer than 1 in 20: {counts:?}"
        );
    }
    assert!(with_conditions * 20 >= total);
}

// ---------------------------------------------------------------------------
// Engine issues found by the properties above, as minimal cases. Ignored until
// the engine is fixed; run with `--ignored` to see them fail.
// ---------------------------------------------------------------------------

fn decide_one(text: &str, action: &str, resources: &[&str], context: &Context) -> Outcome {
    let set = PolicySet::new([(
        PolicyId::new("p", ""),
        Arc::new(parse(text, PolicyKind::Permission)),
    )]);
    let request = Request {
        action,
        resources,
        context,
    };
    decide(&[&set], &request).outcome
}

#[test]
fn issue_1_a_final_capital_sigma_equals_itself_ignoring_case() {
    let text = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualsIgnoreCase":{"acs:SourceVpc":"ΑΣ"}}}]}"#;
    let context = Context::new().with("acs:SourceVpc", "ΑΣ");
    assert_eq!(
        decide_one(text, "cr:PullRepository", &["*"], &context),
        Outcome::Allow
    );
}

#[test]
fn issue_2_assumed_role_star_matches_sessions() {
    let session = ["acs:ram::123:assumed-role/admin/s1"];
    let allow = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:*","Resource":"acs:ram:*:123:assumed-role/*"}]}"#;
    assert_eq!(
        decide_one(allow, "sts:AssumeRole", &session, &Context::new()),
        Outcome::Allow
    );
    // Worse: a Deny written this way silently denies nothing.
    let deny = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"acs:ram:*:*:assumed-role/*"}]}"#;
    assert_eq!(
        decide_one(deny, "sts:AssumeRole", &session, &Context::new()),
        Outcome::ExplicitDeny
    );
}

#[test]
fn issue_3_not_resource_is_the_complement_of_resource() {
    let in_i2 = [
        "acs:cr:cn-hangzhou:123:repository/i2/ns/app",
        "acs:cr:cn-hangzhou:123:instance/i2",
    ];
    // An instance-scoped statement covers the instance's repositories ...
    let deny_i2 = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:*","Resource":"*"},{"Effect":"Deny","Action":"cr:*","Resource":"acs:cr:*:*:instance/i2"}]}"#;
    assert_eq!(
        decide_one(deny_i2, "cr:PullRepository", &in_i2, &Context::new()),
        Outcome::ExplicitDeny
    );
    // ... so "everything but instance i2" must not cover them: today it
    // allows pulls from i2.
    let all_but_i2 = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:*","NotResource":"acs:cr:*:*:instance/i2"}]}"#;
    assert_eq!(
        decide_one(all_but_i2, "cr:PullRepository", &in_i2, &Context::new()),
        Outcome::ImplicitDeny
    );
    // And "deny everything outside i1" must leave i1's pulls alone.
    let in_i1 = [
        "acs:cr:cn-hangzhou:123:repository/i1/ns/app",
        "acs:cr:cn-hangzhou:123:instance/i1",
    ];
    let deny_outside_i1 = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:*","Resource":"*"},{"Effect":"Deny","Action":"cr:*","NotResource":"acs:cr:*:*:instance/i1"}]}"#;
    assert_eq!(
        decide_one(
            deny_outside_i1,
            "cr:PullRepository",
            &in_i1,
            &Context::new()
        ),
        Outcome::Allow
    );
}
