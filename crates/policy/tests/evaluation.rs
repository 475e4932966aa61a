//! Decisions: Deny beats Allow, no Allow denies, session policies narrow,
//! wildcard and case rules, conditions against request context, and the
//! deciding statement named in every answer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use policy::{
    decide, explain, Context, Outcome, Policy, PolicyId, PolicyKind, PolicySet, Request,
    StatementRef,
};

fn compile(docs: &[(&str, &str)], kind: PolicyKind) -> PolicySet {
    PolicySet::new(docs.iter().map(|(name, text)| {
        let p = Policy::parse(text, kind).unwrap_or_else(|e| panic!("{name}: {e}"));
        (PolicyId::new(*name, "v1"), Arc::new(p))
    }))
}

fn perms(docs: &[(&str, &str)]) -> PolicySet {
    compile(docs, PolicyKind::Permission)
}

fn ask(layers: &[&PolicySet], action: &str, resource: &str, ctx: &Context) -> policy::Decision {
    decide(
        layers,
        &Request {
            action,
            resources: &[resource],
            context: ctx,
        },
    )
}

const REPO: &str = "acs:cr:cn-hangzhou:1111111111111111:repository/cri-x/team/app";

#[test]
fn deny_beats_allow_and_names_the_deny() {
    let set = perms(&[
        (
            "Full",
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:*","Resource":"*"}]}"#,
        ),
        (
            "NoDelete",
            r#"{"Version":"1","Statement":[
                {"Effect":"Allow","Action":"cr:Get*","Resource":"*"},
                {"Effect":"Deny","Action":"cr:Delete*","Resource":"acs:cr:*:*:repository/cri-x/*"}]}"#,
        ),
    ]);
    let ctx = Context::new();
    let d = ask(&[&set], "cr:DeleteRepository", REPO, &ctx);
    assert_eq!(d.outcome, Outcome::ExplicitDeny);
    assert_eq!(
        d.deciding,
        Some(StatementRef {
            layer: 0,
            policy: 1,
            statement: 1
        })
    );
    let (id, statement) = set.statement(d.deciding.unwrap()).unwrap();
    assert_eq!(id.name, "NoDelete");
    assert_eq!(statement.effect, policy::Effect::Deny);

    let d = ask(&[&set], "cr:PullRepository", REPO, &ctx);
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(
        d.deciding,
        Some(StatementRef {
            layer: 0,
            policy: 0,
            statement: 0
        })
    );

    let d = ask(
        &[&set],
        "ram:CreateUser",
        "acs:ram:*:1111111111111111:user/x",
        &ctx,
    );
    assert_eq!(d.outcome, Outcome::ImplicitDeny);
    assert_eq!(d.deciding, None);
    assert_eq!(d.missing_allow_in, Some(0));
}

#[test]
fn empty_set_denies() {
    let set = PolicySet::default();
    assert_eq!(
        ask(&[&set], "cr:PullRepository", REPO, &Context::new()).outcome,
        Outcome::ImplicitDeny
    );
}

#[test]
fn actions_fold_case_resources_do_not() {
    let set = perms(&[(
        "p",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"CR:pull*","Resource":"acs:cr:*:*:repository/cri-x/Team/*"}]}"#,
    )]);
    let ctx = Context::new();
    let upper = "acs:cr:cn-hangzhou:1111111111111111:repository/cri-x/Team/app";
    assert!(ask(&[&set], "cr:PullRepository", upper, &ctx).is_allowed());
    assert!(ask(&[&set], "cr:PULLREPOSITORY", upper, &ctx).is_allowed());
    assert!(
        !ask(&[&set], "cr:PullRepository", REPO, &ctx).is_allowed(),
        "team != Team"
    );
}

#[test]
fn wildcards_cross_separators_and_star_matches_an_empty_region() {
    let set = perms(&[(
        "p",
        r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Action":"ram:GetRole","Resource":"acs:ram:*:1111111111111111:role/*"},
            {"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:bucket/*"},
            {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"acs:ram:*:1111111111111111:role/Admin?"}]}"#,
    )]);
    let ctx = Context::new();
    assert!(ask(
        &[&set],
        "ram:GetRole",
        "acs:ram::1111111111111111:role/deployer",
        &ctx
    )
    .is_allowed());
    assert!(ask(
        &[&set],
        "oss:GetObject",
        "acs:oss:*:*:bucket/a/b/c.txt",
        &ctx
    )
    .is_allowed());
    assert!(!ask(&[&set], "oss:GetObject", "acs:oss:*:*:bucket", &ctx).is_allowed());
    // Role names are compared lower-cased on both sides: patterns are
    // canonicalised at compile time, request ARNs by whoever builds them.
    let shouted = policy::arn::canonical("acs:ram::1111111111111111:role/ADMIN1");
    assert!(ask(&[&set], "sts:AssumeRole", &shouted, &ctx).is_allowed());
    assert!(ask(
        &[&set],
        "sts:AssumeRole",
        "acs:ram::1111111111111111:role/admin1",
        &ctx
    )
    .is_allowed());
    assert!(!ask(
        &[&set],
        "sts:AssumeRole",
        "acs:ram::1111111111111111:role/admin12",
        &ctx
    )
    .is_allowed());
}

#[test]
fn not_action_and_not_resource() {
    let set = perms(&[(
        "PowerUser",
        r#"{"Version":"1","Statement":[
            {"Effect":"Allow","NotAction":["ram:*","sts:*"],"Resource":"*"},
            {"Effect":"Deny","Action":"oss:*","NotResource":["acs:oss:*:*:public","acs:oss:*:*:public/*"]}]}"#,
    )]);
    let ctx = Context::new();
    assert!(ask(&[&set], "cr:PullRepository", REPO, &ctx).is_allowed());
    assert_eq!(
        ask(&[&set], "ram:CreateUser", "*", &ctx).outcome,
        Outcome::ImplicitDeny
    );
    assert!(ask(&[&set], "oss:GetObject", "acs:oss:*:*:public/x", &ctx).is_allowed());
    assert_eq!(
        ask(&[&set], "oss:GetObject", "acs:oss:*:*:private/x", &ctx).outcome,
        Outcome::ExplicitDeny
    );
}

#[test]
fn conditions_read_the_request_context() {
    let set = perms(&[(
        "p",
        r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Action":"cr:*","Resource":"*","Condition":{
                "IpAddress":{"acs:SourceIp":["10.0.0.0/8","192.168.1.1"]},
                "DateLessThan":{"acs:CurrentTime":"2027-01-01T00:00:00Z"},
                "Bool":{"acs:SecureTransport":"true"}}},
            {"Effect":"Deny","Action":"cr:Push*","Resource":"*","Condition":{"StringNotEquals":{"acs:SourceVpc":"vpc-build"}}}]}"#,
    )]);
    let good = Context::new()
        .with("acs:SourceIp", "10.2.3.4")
        .with("acs:CurrentTime", "2026-12-01T08:00:00Z")
        .with("acs:SecureTransport", "true");
    assert!(ask(&[&set], "cr:PullRepository", REPO, &good).is_allowed());
    let outside = good.clone().with("acs:sourceip", "8.8.8.8");
    assert_eq!(
        ask(&[&set], "cr:PullRepository", REPO, &outside).outcome,
        Outcome::ImplicitDeny
    );
    let late = good.clone().with("acs:CurrentTime", "2027-01-01T00:00:00Z");
    assert_eq!(
        ask(&[&set], "cr:PullRepository", REPO, &late).outcome,
        Outcome::ImplicitDeny
    );
    let plain_http = good.clone().with("acs:SecureTransport", "false");
    assert_eq!(
        ask(&[&set], "cr:PullRepository", REPO, &plain_http).outcome,
        Outcome::ImplicitDeny
    );
    // No SourceIp in the request: the positive IpAddress condition fails.
    let no_ip = Context::new()
        .with("acs:CurrentTime", "2026-12-01T08:00:00Z")
        .with("acs:SecureTransport", "true");
    assert_eq!(
        ask(&[&set], "cr:PullRepository", REPO, &no_ip).outcome,
        Outcome::ImplicitDeny
    );
    // No VPC: the negated condition holds, so the Deny applies.
    assert_eq!(
        ask(&[&set], "cr:PushRepository", REPO, &good).outcome,
        Outcome::ExplicitDeny
    );
    let from_build = good.clone().with("acs:SourceVpc", "vpc-build");
    assert!(ask(&[&set], "cr:PushRepository", REPO, &from_build).is_allowed());
}

#[test]
fn session_policies_only_narrow() {
    let role = perms(&[(
        "AliyunContainerRegistryFullAccess",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:*","Resource":"*"}]}"#,
    )]);
    let session = compile(
        &[(
            "session",
            r#"{"Version":"1","Statement":[
                {"Effect":"Allow","Action":["cr:Pull*","ram:*"],"Resource":"*"},
                {"Effect":"Deny","Action":"cr:PullRepository","Resource":"acs:cr:*:*:repository/cri-x/secret/*"}]}"#,
        )],
        PolicyKind::Session,
    );
    let ctx = Context::new();
    let d = ask(&[&role, &session], "cr:PullRepository", REPO, &ctx);
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(
        d.deciding.unwrap().layer,
        0,
        "the role's Allow is the grant"
    );
    // The session allows ram:* but the role does not: still denied.
    let d = ask(&[&role, &session], "ram:CreateUser", "*", &ctx);
    assert_eq!(d.outcome, Outcome::ImplicitDeny);
    assert_eq!(d.missing_allow_in, Some(0));
    // The role allows pushes but the session does not.
    let d = ask(&[&role, &session], "cr:PushRepository", REPO, &ctx);
    assert_eq!(d.outcome, Outcome::ImplicitDeny);
    assert_eq!(d.missing_allow_in, Some(1));
    // A Deny in the session wins.
    let secret = "acs:cr:cn-hangzhou:1111111111111111:repository/cri-x/secret/db";
    let d = ask(&[&role, &session], "cr:PullRepository", secret, &ctx);
    assert_eq!(d.outcome, Outcome::ExplicitDeny);
    assert_eq!(d.deciding.unwrap().layer, 1);
}

#[test]
fn enclosing_resources_let_instance_statements_apply() {
    let set = perms(&[(
        "p",
        r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Action":"cr:Pull*","Resource":"acs:cr:*:1111111111111111:instance/cri-x"},
            {"Effect":"Deny","Action":"cr:Pull*","Resource":"acs:cr:*:1111111111111111:instance/cri-blocked"}]}"#,
    )]);
    let ctx = Context::new();
    let pull = |repo: &str, instance: &str| {
        decide(
            &[&set],
            &Request {
                action: "cr:PullRepository",
                resources: &[repo, instance],
                context: &ctx,
            },
        )
        .outcome
    };
    assert_eq!(
        pull(REPO, "acs:cr:cn-hangzhou:1111111111111111:instance/cri-x"),
        Outcome::Allow
    );
    assert_eq!(
        pull(
            "acs:cr:cn-hangzhou:1111111111111111:repository/cri-blocked/team/app",
            "acs:cr:cn-hangzhou:1111111111111111:instance/cri-blocked"
        ),
        Outcome::ExplicitDeny
    );
}

#[test]
fn statements_for_other_services_are_not_consulted_but_wildcards_are() {
    let set = perms(&[
        (
            "oss",
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"*"}]}"#,
        ),
        (
            "deny-all",
            r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"*:Delete*","Resource":"*"}]}"#,
        ),
        (
            "cr",
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["cr:Get*","sts:AssumeRole"],"Resource":"*"}]}"#,
        ),
    ]);
    let ctx = Context::new();
    assert_eq!(
        ask(&[&set], "cr:DeleteRepository", REPO, &ctx).outcome,
        Outcome::ExplicitDeny
    );
    assert_eq!(
        ask(&[&set], "oss:DeleteObject", "acs:oss:*:*:b/k", &ctx).outcome,
        Outcome::ExplicitDeny
    );
    assert!(ask(&[&set], "cr:GetRepository", REPO, &ctx).is_allowed());
    assert!(ask(&[&set], "STS:AssumeRole", "acs:ram::1:role/x", &ctx).is_allowed());
    assert_eq!(
        ask(&[&set], "ecs:RunInstances", "*", &ctx).outcome,
        Outcome::ImplicitDeny
    );
    assert_eq!(
        ask(&[&set], "noservice", "*", &ctx).outcome,
        Outcome::ImplicitDeny
    );
}

#[test]
fn explain_records_every_statement_and_absent_keys() {
    let set = perms(&[(
        "p",
        r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Action":"cr:Pull*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}},
            {"Effect":"Deny","Action":"cr:Push*","Resource":"*"}]}"#,
    )]);
    let ctx = Context::new();
    let e = explain(
        &[&set],
        &Request {
            action: "cr:PullRepository",
            resources: &[REPO],
            context: &ctx,
        },
    );
    assert_eq!(e.decision.outcome, Outcome::ImplicitDeny);
    assert_eq!(e.statements.len(), 2);
    let first = &e.statements[0];
    assert!(first.action_matched && first.resource_matched && !first.matched);
    assert_eq!(first.conditions[0].key, "acs:sourceip");
    assert!(!first.conditions[0].key_present);
    assert!(!e.statements[1].action_matched);
}
