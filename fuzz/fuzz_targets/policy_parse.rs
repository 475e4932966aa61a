//! Any bytes, read as (lossy) UTF-8, through `Policy::parse` for every kind
//! of document. What parses is compiled and decided; what does not must
//! report at least one problem, each located inside the document.

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use policy::{
    decide, decide_trust, explain, Caller, Context, Policy, PolicyId, PolicyKind, PolicySet,
    Problem, Request,
};

/// A problem points at a line of the text and at most one column past its end.
fn assert_inside(text: &str, problem: &Problem) {
    let p = problem.position;
    let line = text.split('\n').nth(p.line.saturating_sub(1));
    assert!(
        p.line >= 1 && line.is_some(),
        "line outside the document: {problem}"
    );
    let width = line.map_or(0, |l| l.chars().count());
    assert!(
        p.column >= 1 && p.column <= width + 1,
        "column outside line {}: {problem}",
        p.line
    );
}

fn context() -> Context {
    Context::new()
        .with("acs:SourceIp", "10.1.2.3")
        .with("acs:CurrentTime", "2026-11-22T10:00:00Z")
        .with("acs:SecureTransport", "true")
        .with("acs:SourceVpc", "vpc-123")
        .with("oss:Prefix", "a/b")
}

fn check(text: &str, kind: PolicyKind) -> bool {
    let policy = match Policy::parse(text, kind) {
        Ok(policy) => policy,
        Err(e) => {
            assert!(!e.problems.is_empty(), "rejected without a problem");
            for problem in &e.problems {
                assert_inside(text, problem);
            }
            let _ = e.to_string();
            return false;
        }
    };
    for warning in &policy.warnings {
        assert_inside(text, warning);
    }
    let context = context();
    if kind == PolicyKind::Trust {
        let callers = [
            Caller::Root { account: "123" },
            Caller::User {
                account: "123",
                name: "alice",
            },
            Caller::RoleSession {
                account: "456",
                role: "Deployer",
            },
            Caller::Service {
                name: "sae.aliyuncs.com",
                acting_for: "123",
            },
        ];
        for caller in &callers {
            let _ = decide_trust(&policy, "123", caller, "sts:AssumeRole", &context);
        }
        return true;
    }
    let set = PolicySet::new([(PolicyId::new("fuzz", "v1"), Arc::new(policy))]);
    let resources = [
        "acs:cr:cn-hangzhou:123:repository/i1/ns/app",
        "acs:cr:cn-hangzhou:123:instance/i1",
    ];
    for action in ["cr:PullRepository", "sts:AssumeRole", "oss:GetObject", "x"] {
        let request = Request {
            action,
            resources: &resources,
            context: &context,
        };
        let decision = decide(&[&set], &request);
        let explained = explain(&[&set], &request);
        assert_eq!(decision, explained.decision, "explain decided differently");
        let _ = decide(&[&set, &set], &request);
    }
    true
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let permission = check(&text, PolicyKind::Permission);
    let session = check(&text, PolicyKind::Session);
    check(&text, PolicyKind::Trust);
    // A session policy is a permission policy with a smaller size limit.
    if text.chars().count() <= PolicyKind::Session.max_chars() {
        assert_eq!(permission, session, "session and permission rules differ");
    }
});
