//! The fixtures as RAM policy documents, compiled by rampart's engine.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::fixture::{Ctx, Doc, Effect, Stmt};

fn statement_json(s: &Stmt) -> Value {
    let mut st = Map::new();
    st.insert(
        "Effect".into(),
        json!(match s.effect {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }),
    );
    st.insert("Action".into(), json!(s.actions));
    st.insert("Resource".into(), json!(s.resources));
    if !s.conditions.is_empty() {
        let mut blocks: Map<String, Value> = Map::new();
        for c in &s.conditions {
            let block = blocks
                .entry(c.op.ram_name())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(keys) = block {
                keys.insert(c.key.ram_name().into(), json!(c.values));
            }
        }
        st.insert("Condition".into(), Value::Object(blocks));
    }
    Value::Object(st)
}

/// A document holding these statements, pretty-printed.
pub fn document_json(statements: &[Stmt]) -> String {
    let doc = json!({
        "Version": "1",
        "Statement": statements.iter().map(statement_json).collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&doc).expect("a JSON value always serialises")
}

pub fn parse(doc: &Doc, kind: policy::PolicyKind) -> Arc<policy::Policy> {
    let text = document_json(&doc.statements);
    match policy::Policy::parse(&text, kind) {
        Ok(p) => Arc::new(p),
        Err(e) => panic!("fixture {} does not parse: {e}\n{text}", doc.name),
    }
}

/// The compiled set of a principal's attached policies.
pub fn policy_set(docs: &[Doc]) -> policy::PolicySet {
    policy::PolicySet::new(docs.iter().map(|d| {
        (
            policy::PolicyId::new(d.name.clone(), "v1"),
            parse(d, policy::PolicyKind::Permission),
        )
    }))
}

/// A session policy as the second layer of a decision.
pub fn session_set(doc: &Doc) -> policy::PolicySet {
    policy::PolicySet::new([(
        policy::PolicyId::new("session", ""),
        parse(doc, policy::PolicyKind::Session),
    )])
}

/// The request's condition keys as rampart receives them: text values.
pub fn context(ctx: &Ctx) -> policy::Context {
    use policy::keys;
    let mut c = policy::Context::new();
    let text = [
        (keys::CURRENT_TIME, ctx.current_time.clone()),
        (
            keys::SECURE_TRANSPORT,
            ctx.secure_transport.map(|b| b.to_string()),
        ),
        (keys::SOURCE_IP, ctx.source_ip.clone()),
        (keys::SOURCE_VPC, ctx.source_vpc.clone()),
        (keys::ACCESS_ID, ctx.access_id.clone()),
        (keys::PRINCIPAL_ARN, ctx.principal_arn.clone()),
        (keys::PRINCIPAL_ACCOUNT, ctx.principal_account.clone()),
    ];
    for (key, value) in text {
        if let Some(v) = value {
            c.set(key, v);
        }
    }
    c
}
