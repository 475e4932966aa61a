//! `decide` must not allocate: it runs on every API call and every registry
//! request. A counting allocator makes that a test instead of a promise.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use policy::{decide, Context, Outcome, Policy, PolicyId, PolicyKind, PolicySet, Request};

fn allocations_during(f: impl FnOnce()) -> u64 {
    allocation_counter::measure(f).count_total
}

#[test]
fn decisions_do_not_allocate() {
    let docs = [
        r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Action":["cr:Get*","cr:List*"],"Resource":"*"},
            {"Effect":"Allow","Action":"cr:Pull*","Resource":"acs:cr:*:1111111111111111:instance/cri-x",
             "Condition":{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","2001:db8::/32"]},
                          "DateLessThan":{"acs:CurrentTime":"2030-01-01T00:00:00Z"},
                          "StringEqualsIgnoreCase":{"acs:SourceVpc":"VPC-ÉTÉ"},
                          "NumericLessThan":{"oss:max-keys":"100"},
                          "Bool":{"acs:SecureTransport":"true"}}},
            {"Effect":"Deny","NotAction":"cr:*","NotResource":"acs:cr:*:*:*"}]}"#,
        r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"cr:Delete*","Resource":"acs:cr:*:*:repository/cri-x/*/secret?"}]}"#,
    ];
    let set = PolicySet::new(docs.iter().enumerate().map(|(i, d)| {
        (
            PolicyId::new(format!("p{i}"), "v1"),
            Arc::new(Policy::parse(d, PolicyKind::Permission).unwrap()),
        )
    }));
    let session = PolicySet::new([(
        PolicyId::new("session", ""),
        Arc::new(Policy::parse(r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:*","Resource":"*"}]}"#, PolicyKind::Session).unwrap()),
    )]);
    let context = Context::new()
        .with("acs:SourceIp", "10.1.2.3")
        .with("acs:CurrentTime", "2026-12-01T08:00:00.123+08:00")
        .with("acs:SourceVpc", "vpc-été")
        .with("oss:max-keys", "42")
        .with("acs:SecureTransport", "true");
    let repo = "acs:cr:cn-hangzhou:1111111111111111:repository/cri-x/team/app";
    let instance = "acs:cr:cn-hangzhou:1111111111111111:instance/cri-x";
    let resources = [repo, instance];
    let secret = ["acs:cr:cn-hangzhou:1111111111111111:repository/cri-x/team/secret1"];
    let bucket = ["acs:oss:*:*:bucket/key"];
    let requests: [(&str, &[&str]); 5] = [
        ("cr:PullRepository", &resources),
        ("cr:DeleteRepository", &resources),
        ("cr:DeleteRepository", &secret),
        ("oss:GetObject", &bucket),
        ("CR:getrepository", &resources),
    ];
    let mut outcomes = Vec::with_capacity(8);
    let count = allocations_during(|| {
        for (action, resources) in requests {
            let request = Request {
                action,
                resources,
                context: &context,
            };
            outcomes.push(decide(&[&set, &session], &request).outcome);
        }
    });
    assert_eq!(
        outcomes,
        [
            Outcome::Allow,
            Outcome::ImplicitDeny,
            Outcome::ExplicitDeny,
            Outcome::ExplicitDeny,
            Outcome::Allow
        ]
    );
    assert_eq!(count, 0, "decide allocated {count} times");
}
