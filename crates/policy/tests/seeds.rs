//! Every policy document in the seed documents parses and does what the
//! seed says it does. Account IDs are masked in the seeds (`1234****`); the
//! masks are kept where they appear, since `*` is a valid wildcard there.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use policy::{
    decide, decide_trust, Caller, Context, Outcome, Policy, PolicyId, PolicyKind, PolicySet,
    Request,
};

const A: &str = "1111111111111111";
const B: &str = "2222222222222222";
const C: &str = "3333333333333333";

fn set(text: &str) -> PolicySet {
    let p = Policy::parse(text, PolicyKind::Permission).unwrap_or_else(|e| panic!("{e}"));
    PolicySet::new([(PolicyId::new("seed", "v1"), Arc::new(p))])
}

fn outcome(set: &PolicySet, action: &str, resources: &[&str]) -> Outcome {
    let ctx = Context::new();
    decide(
        &[set],
        &Request {
            action,
            resources,
            context: &ctx,
        },
    )
    .outcome
}

/// Seeds 000 and 002: the role B lends to A's deploy platform.
const SAE_PULL: &str = r#"{
    "Version": "1",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "cr:GetAuthorizationToken",
                "cr:ListInstanceEndpoint",
                "cr:PullRepository",
                "cr:GetRepository",
                "cr:ListRepositoryTag"
            ],
            "Resource": "*"
        }
    ]
}"#;

#[test]
fn seed_000_pull_policy_allows_pulls_only() {
    let s = set(SAE_PULL);
    let repo = format!("acs:cr:cn-hangzhou:{B}:repository/cri-b/team/app");
    for action in [
        "cr:GetAuthorizationToken",
        "cr:PullRepository",
        "cr:ListRepositoryTag",
        "CR:pullrepository",
    ] {
        assert_eq!(outcome(&s, action, &[&repo]), Outcome::Allow, "{action}");
    }
    assert_eq!(
        outcome(&s, "cr:PushRepository", &[&repo]),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        outcome(&s, "cr:DeleteRepository", &[&repo]),
        Outcome::ImplicitDeny
    );
}

fn trust(text: &str) -> Policy {
    Policy::parse(text, PolicyKind::Trust).unwrap_or_else(|e| panic!("{e}"))
}

fn may_assume(trust: &Policy, role_account: &str, caller: Caller<'_>) -> Outcome {
    decide_trust(
        trust,
        role_account,
        &caller,
        "sts:AssumeRole",
        &Context::new(),
    )
    .outcome
}

#[test]
fn seed_000_trust_by_account_root_then_by_sae_for_that_account() {
    let masked = trust(
        r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"RAM":["acs:ram::123456789012****:root"]}}],"Version":"1"}"#,
    );
    assert_eq!(
        may_assume(
            &masked,
            B,
            Caller::User {
                account: "1234567890120000",
                name: "dev"
            }
        ),
        Outcome::Allow
    );

    let by_root = trust(&format!(
        r#"{{"Statement":[{{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{{"RAM":["acs:ram::{A}:root"]}}}}],"Version":"1"}}"#
    ));
    assert_eq!(
        may_assume(
            &by_root,
            B,
            Caller::User {
                account: A,
                name: "dev"
            }
        ),
        Outcome::Allow
    );
    assert_eq!(
        may_assume(
            &by_root,
            B,
            Caller::RoleSession {
                account: A,
                role: "ops"
            }
        ),
        Outcome::Allow
    );
    assert_eq!(
        may_assume(
            &by_root,
            B,
            Caller::User {
                account: C,
                name: "dev"
            }
        ),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        may_assume(
            &by_root,
            B,
            Caller::Service {
                name: "sae.aliyuncs.com",
                acting_for: A
            }
        ),
        Outcome::ImplicitDeny
    );

    let by_sae = trust(&format!(
        r#"{{"Statement":[{{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{{"Service":["{A}@sae.aliyuncs.com"]}}}}],"Version":"1"}}"#
    ));
    assert_eq!(
        may_assume(
            &by_sae,
            B,
            Caller::Service {
                name: "sae.aliyuncs.com",
                acting_for: A
            }
        ),
        Outcome::Allow
    );
    // The same service acting for an outsider, or for B itself, is not named.
    assert_eq!(
        may_assume(
            &by_sae,
            B,
            Caller::Service {
                name: "sae.aliyuncs.com",
                acting_for: C
            }
        ),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        may_assume(
            &by_sae,
            B,
            Caller::Service {
                name: "sae.aliyuncs.com",
                acting_for: B
            }
        ),
        Outcome::ImplicitDeny
    );
    // A's users are no longer trusted after the change.
    assert_eq!(
        may_assume(
            &by_sae,
            B,
            Caller::User {
                account: A,
                name: "dev"
            }
        ),
        Outcome::ImplicitDeny
    );
    // Another service acting for A is not SAE.
    assert_eq!(
        may_assume(
            &by_sae,
            B,
            Caller::Service {
                name: "eci.aliyuncs.com",
                acting_for: A
            }
        ),
        Outcome::ImplicitDeny
    );
}

/// Seed 001: ECI's narrowed role `acr-test`.
fn acr_test_policy(account: &str) -> String {
    format!(
        r#"{{
        "Version": "1",
        "Statement": [
            {{"Effect": "Allow", "Action": ["cr:Get*", "cr:List*"], "Resource": "*"}},
            {{"Effect": "Allow", "Action": ["cr:Pull*"], "Resource": ["acs:cr:cn-hangzhou:{account}:instance/cri-x"]}}
        ]
    }}"#
    )
}

#[test]
fn seed_001_pulls_are_narrowed_to_one_instance() {
    let s = set(&acr_test_policy(A));
    let instance_x = format!("acs:cr:cn-hangzhou:{A}:instance/cri-x");
    let repo_x = format!("acs:cr:cn-hangzhou:{A}:repository/cri-x/team/app");
    let instance_y = format!("acs:cr:cn-hangzhou:{A}:instance/cri-y");
    let repo_y = format!("acs:cr:cn-hangzhou:{A}:repository/cri-y/team/app");
    // A pull names the repository and the instance that holds it.
    assert_eq!(
        outcome(&s, "cr:PullRepository", &[&repo_x, &instance_x]),
        Outcome::Allow
    );
    assert_eq!(
        outcome(&s, "cr:PullRepository", &[&repo_y, &instance_y]),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        outcome(&s, "cr:GetAuthorizationToken", &["*"]),
        Outcome::Allow
    );
    assert_eq!(
        outcome(&s, "cr:ListRepositoryTag", &[&repo_y, &instance_y]),
        Outcome::Allow
    );
    assert_eq!(
        outcome(&s, "cr:PushRepository", &[&repo_x, &instance_x]),
        Outcome::ImplicitDeny
    );
}

#[test]
fn seed_001_the_real_masked_document_parses() {
    set(r#"{
        "Version": "1",
        "Statement": [
            {"Effect": "Allow", "Action": ["cr:Get*", "cr:List*"], "Resource": "*"},
            {"Effect": "Allow", "Action": ["cr:Pull*"], "Resource": ["acs:cr:cn-hangzhou:1609982529******:instance/cri-nwj395hgf6f3****"]}
        ]
    }"#);
}

#[test]
fn seed_001_two_hops_and_service_linked_trust() {
    // role-assume in A: trusted by ECI acting for A (bare service name).
    let role_assume = trust(
        r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["eci.aliyuncs.com"]}}],"Version":"1"}"#,
    );
    assert_eq!(
        may_assume(
            &role_assume,
            A,
            Caller::Service {
                name: "eci.aliyuncs.com",
                acting_for: A
            }
        ),
        Outcome::Allow
    );
    // The bare name never admits the service acting for another account.
    assert_eq!(
        may_assume(
            &role_assume,
            A,
            Caller::Service {
                name: "eci.aliyuncs.com",
                acting_for: B
            }
        ),
        Outcome::ImplicitDeny
    );
    // role-acr in B: trusted only by A's role-assume.
    let role_acr = trust(&format!(
        r#"{{"Statement":[{{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{{"RAM":["acs:ram::{A}:role/role-assume"]}}}}],"Version":"1"}}"#
    ));
    assert_eq!(
        may_assume(
            &role_acr,
            B,
            Caller::RoleSession {
                account: A,
                role: "role-assume"
            }
        ),
        Outcome::Allow
    );
    assert_eq!(
        may_assume(
            &role_acr,
            B,
            Caller::RoleSession {
                account: A,
                role: "Role-Assume"
            }
        ),
        Outcome::Allow,
        "role names compare lower-cased"
    );
    assert_eq!(
        may_assume(
            &role_acr,
            B,
            Caller::RoleSession {
                account: A,
                role: "other"
            }
        ),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        may_assume(
            &role_acr,
            B,
            Caller::User {
                account: A,
                name: "role-assume"
            }
        ),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        may_assume(&role_acr, B, Caller::Root { account: A }),
        Outcome::ImplicitDeny
    );
}

#[test]
fn seed_003_fc_read_only_lent_to_another_account() {
    let t = trust(
        r#"{ "Statement": [ { "Action": "sts:AssumeRole", "Effect": "Allow", "Principal": { "RAM": [ "acs:ram::134567890123****:root" ] } } ], "Version": "1" }"#,
    );
    assert_eq!(
        may_assume(
            &t,
            A,
            Caller::User {
                account: "1345678901230001",
                name: "emp"
            }
        ),
        Outcome::Allow
    );
    let fc = policy::system_policy("AliyunFCReadOnlyAccess")
        .unwrap()
        .compile()
        .unwrap();
    let s = PolicySet::new([(PolicyId::new("AliyunFCReadOnlyAccess", "v1"), Arc::new(fc))]);
    let service = format!("acs:fc:cn-hangzhou:{A}:services/demo");
    assert_eq!(outcome(&s, "fc:ListServices", &[&service]), Outcome::Allow);
    assert_eq!(outcome(&s, "fc:GetService", &[&service]), Outcome::Allow);
    assert_eq!(
        outcome(&s, "fc:CreateService", &[&service]),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        outcome(&s, "fc:DeleteService", &[&service]),
        Outcome::ImplicitDeny
    );
}

const OSS_BUCKET_ROLE: &str = r#"{
"Version": "1",
"Statement": [
{
"Effect": "Allow",
"Action": [
"oss:GetObject",
"oss:PutObject",
"oss:DeleteObject",
"oss:ListParts",
"oss:AbortMultipartUpload",
"oss:InitiateMultipartUpload",
"oss:CompleteMultipartUpload",
"oss:DeleteMultipleObjects",
"oss:ListMultipartUploads",
"oss:ListObjects"
],
"Resource": [
"acs:oss:*:*:my-bucket",
"acs:oss:*:*:my-bucket/*"
],
"Condition": {}
},
{
"Effect": "Allow",
"Action": [
"oss:PutBucket",
"oss:GetBucket",
"oss:DeleteBucket",
"oss:GetBucketLocation",
"oss:PutBucketAcl",
"oss:GetBucketAcl",
"oss:PutBucketLogging",
"oss:GetBucketReferer",
"oss:PutBucketReferer",
"oss:GetBucketLogging",
"oss:DeleteBucketLogging"
],
"Resource": [
"acs:oss:*:*:my-bucket",
"acs:oss:*:*:my-bucket/*"
],
"Condition": {}
},
{
"Effect": "Allow",
"Action": "oss:ListBuckets",
"Resource": [
"acs:oss:*:*:*",
"acs:oss:*:*:*/*"
],
"Condition": {}
},
{
"Action": [
"cms:QueryMetricLast",
"cms:QueryMetricList"
],
"Resource": "*",
"Effect": "Allow"
}
]
}"#;

#[test]
fn seed_004_registry_bucket_role() {
    let s = set(OSS_BUCKET_ROLE);
    let object = "acs:oss:*:*:my-bucket/docker/registry/v2/blobs/sha256/ab/abcd/data";
    assert_eq!(outcome(&s, "oss:PutObject", &[object]), Outcome::Allow);
    assert_eq!(outcome(&s, "oss:GetObject", &[object]), Outcome::Allow);
    assert_eq!(
        outcome(&s, "oss:GetBucketAcl", &["acs:oss:*:*:my-bucket"]),
        Outcome::Allow
    );
    assert_eq!(
        outcome(&s, "oss:PutObject", &["acs:oss:*:*:other-bucket/x"]),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        outcome(&s, "oss:ListBuckets", &["acs:oss:*:*:*"]),
        Outcome::Allow
    );
    assert_eq!(outcome(&s, "cms:QueryMetricList", &["*"]), Outcome::Allow);
    assert_eq!(
        outcome(&s, "oss:PutBucketPolicy", &["acs:oss:*:*:my-bucket"]),
        Outcome::ImplicitDeny
    );

    let t = trust(
        r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["cr.aliyuncs.com"]}}],"Version":"1"}"#,
    );
    assert_eq!(
        may_assume(
            &t,
            A,
            Caller::Service {
                name: "cr.aliyuncs.com",
                acting_for: A
            }
        ),
        Outcome::Allow
    );
    assert_eq!(
        may_assume(
            &t,
            A,
            Caller::Service {
                name: "cr.aliyuncs.com",
                acting_for: B
            }
        ),
        Outcome::ImplicitDeny
    );
}

#[test]
fn the_seed_placeholder_bucket_name_parses_too() {
    set(&OSS_BUCKET_ROLE.replace("my-bucket", "<your_bucket_name>"));
}
