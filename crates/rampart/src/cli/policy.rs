//! `rampart policy validate` and `rampart policy simulate`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use policy::{
    keys, Context, Decision, Entity, Explanation, Outcome, Policy, PolicyId, PolicyKind, PolicySet,
    Request,
};
use serde_json::{json, Value};

use super::{KindArg, Output, SimulateArgs};

/// Exit status for a command line that cannot be carried out (unreadable
/// file, malformed flag), as opposed to a policy that is invalid (1).
const USAGE: u8 = 2;

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
}

/// Whether a document looks like a trust policy: some statement names a
/// Principal. Cheap and good enough to pick the rules to check against;
/// `--kind` overrides it.
fn looks_like_trust(text: &str) -> bool {
    match policy::json::parse(text) {
        Ok(doc) => {
            let policy::json::Value::Object(members) = doc.value else {
                return false;
            };
            let statements = members
                .iter()
                .find(|m| m.key == "Statement")
                .map(|m| &m.value.value);
            let has_principal = |s: &policy::json::Spanned| matches!(&s.value, policy::json::Value::Object(ms) if ms.iter().any(|m| m.key == "Principal"));
            match statements {
                Some(policy::json::Value::Array(items)) => items.iter().any(has_principal),
                Some(policy::json::Value::Object(ms)) => ms.iter().any(|m| m.key == "Principal"),
                _ => false,
            }
        }
        Err(_) => false,
    }
}

fn kind_for(text: &str, kind: KindArg) -> PolicyKind {
    match kind {
        KindArg::Permission => PolicyKind::Permission,
        KindArg::Session => PolicyKind::Session,
        KindArg::Trust => PolicyKind::Trust,
        KindArg::Auto if looks_like_trust(text) => PolicyKind::Trust,
        KindArg::Auto => PolicyKind::Permission,
    }
}

pub fn validate(files: &[PathBuf], kind: KindArg) -> ExitCode {
    let mut all_valid = true;
    for path in files {
        let text = match read(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{e}");
                all_valid = false;
                continue;
            }
        };
        match Policy::parse(&text, kind_for(&text, kind)) {
            Ok(policy) => {
                for w in &policy.warnings {
                    eprintln!("{}:{w} (warning)", path.display());
                }
                println!(
                    "{}: valid {} policy",
                    path.display(),
                    kind_name(policy.kind)
                );
            }
            Err(e) => {
                all_valid = false;
                for p in &e.problems {
                    eprintln!("{}:{p}", path.display());
                }
            }
        }
    }
    if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn kind_name(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::Permission => "permission",
        PolicyKind::Session => "session",
        PolicyKind::Trust => "trust",
    }
}

fn compile(path: &Path, kind: PolicyKind) -> Result<(PolicyId, Arc<Policy>), String> {
    let text = read(path)?;
    Policy::parse(&text, kind)
        .map(|p| (PolicyId::new(path.display().to_string(), ""), Arc::new(p)))
        .map_err(|e| {
            e.problems
                .iter()
                .map(|p| format!("{}:{p}", path.display()))
                .collect::<Vec<_>>()
                .join("\n")
        })
}

fn now_iso() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    policy::condition::format_date(millis)
}

/// The request context: what rampart would fill in, then the user's
/// `--context` values on top (a key given several times keeps every value).
fn build_context(args: &SimulateArgs) -> Result<Context, String> {
    let mut context = Context::new();
    context.set(keys::CURRENT_TIME, now_iso());
    if let Some(principal) = &args.principal {
        let entity = Entity::parse(principal).map_err(|e| format!("--principal: {e}"))?;
        context.set(keys::PRINCIPAL_ARN, entity.to_string());
        if let Some(account) = entity.account() {
            context.set(keys::PRINCIPAL_ACCOUNT, account);
        }
    }
    let mut given: Vec<(String, Vec<String>)> = Vec::new();
    for pair in &args.context {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(format!("--context \"{pair}\": expected KEY=VALUE"));
        };
        if !key.contains(':') {
            return Err(format!(
                "--context \"{pair}\": a key looks like acs:SourceIp"
            ));
        }
        match given.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
            Some((_, values)) => values.push(value.to_string()),
            None => given.push((key.to_string(), vec![value.to_string()])),
        }
    }
    for (key, values) in given {
        context.set_many(&key, values);
    }
    Ok(context)
}

fn layer_name(layer: usize) -> &'static str {
    if layer == 0 {
        "identity"
    } else {
        "session"
    }
}

pub fn simulate(args: &SimulateArgs) -> ExitCode {
    match try_simulate(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(SimulateError::InvalidPolicy(message)) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
        Err(SimulateError::Usage(message)) => {
            eprintln!("rampart policy simulate: {message}");
            ExitCode::from(USAGE)
        }
    }
}

enum SimulateError {
    InvalidPolicy(String),
    Usage(String),
}

fn try_simulate(args: &SimulateArgs) -> Result<(), SimulateError> {
    let mut identity = PolicySet::default();
    for path in &args.policies {
        let (id, policy) =
            compile(path, PolicyKind::Permission).map_err(SimulateError::InvalidPolicy)?;
        identity.push(id, policy);
    }
    let session = match &args.session_policy {
        Some(path) => {
            let (id, policy) =
                compile(path, PolicyKind::Session).map_err(SimulateError::InvalidPolicy)?;
            Some(PolicySet::new([(id, policy)]))
        }
        None => None,
    };
    let resource = if args.resource == "*" {
        args.resource.clone()
    } else {
        policy::Arn::parse(&args.resource)
            .map_err(|e| SimulateError::Usage(format!("--resource: {e}")))?
            .to_string()
    };
    let enclosing: Vec<String> = Entity::parse(&resource)
        .map(|e| e.enclosing().iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    let mut resources: Vec<&str> = vec![resource.as_str()];
    resources.extend(enclosing.iter().map(String::as_str));
    let context = build_context(args).map_err(SimulateError::Usage)?;
    let request = Request {
        action: &args.action,
        resources: &resources,
        context: &context,
    };
    let mut layers = vec![&identity];
    if let Some(s) = &session {
        layers.push(s);
    }
    let explanation = policy::explain(&layers, &request);
    match args.output {
        Output::Json => {
            let report = json_report(&layers, &explanation, &resources, &context);
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
        }
        Output::Text => print!("{}", text_report(&layers, &explanation, &resources)),
    }
    Ok(())
}

fn deciding_json(layers: &[&PolicySet], decision: &Decision) -> Value {
    let Some(at) = decision.deciding else {
        return Value::Null;
    };
    let Some((id, statement)) = layers.get(at.layer).and_then(|set| set.statement(at)) else {
        return Value::Null;
    };
    json!({
        "policy": id.name,
        "version": id.version,
        "index": at.statement,
        "sid": statement.sid,
        "effect": statement.effect.to_string(),
        "layer": layer_name(at.layer),
    })
}

fn json_report(
    layers: &[&PolicySet],
    e: &Explanation,
    resources: &[&str],
    context: &Context,
) -> Value {
    let context: serde_json::Map<String, Value> = context
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let trace: Vec<Value> = e
        .statements
        .iter()
        .map(|s| {
            json!({
                "policy": s.policy.name,
                "layer": layer_name(s.at.layer),
                "index": s.at.statement,
                "effect": s.effect.to_string(),
                "action_matched": s.action_matched,
                "resource_matched": s.resource_matched,
                "conditions": s.conditions.iter().map(|c| json!({
                    "operator": c.operator,
                    "key": c.key,
                    "key_present": c.key_present,
                    "held": c.held,
                })).collect::<Vec<_>>(),
                "matched": s.matched,
            })
        })
        .collect();
    json!({
        "decision": e.decision.outcome.as_str(),
        "statement": deciding_json(layers, &e.decision),
        "missing_allow_in": e.decision.missing_allow_in.map(layer_name),
        "resources": resources,
        "context": context,
        "trace": trace,
    })
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "yes"
    } else {
        "no"
    }
}

fn text_report(layers: &[&PolicySet], e: &Explanation, resources: &[&str]) -> String {
    let mut out = format!("decision: {}\n", e.decision.outcome.as_str());
    match (e.decision.deciding, e.decision.outcome) {
        (Some(at), _) => {
            if let Some((id, s)) = layers.get(at.layer).and_then(|set| set.statement(at)) {
                out.push_str(&format!(
                    "statement: {} statement {} ({}, {} policy)\n",
                    id,
                    at.statement,
                    s.effect,
                    layer_name(at.layer)
                ));
            }
        }
        (None, Outcome::ImplicitDeny) => {
            let layer = e.decision.missing_allow_in.map_or("identity", layer_name);
            out.push_str(&format!(
                "reason: no statement of the {layer} policies allows this request\n"
            ));
        }
        (None, _) => {}
    }
    out.push_str(&format!("resources considered: {}\n", resources.join(", ")));
    for s in &e.statements {
        out.push_str(&format!(
            "  {} statement {} [{}] {}: action {}, resource {}",
            s.policy,
            s.at.statement,
            layer_name(s.at.layer),
            s.effect,
            mark(s.action_matched),
            mark(s.resource_matched)
        ));
        for c in &s.conditions {
            let presence = if c.key_present { "" } else { " (key absent)" };
            out.push_str(&format!(
                ", {} {}{} {}",
                c.operator,
                c.key,
                presence,
                if c.held { "holds" } else { "fails" }
            ));
        }
        out.push_str(if s.matched { " => matches\n" } else { "\n" });
    }
    out
}
