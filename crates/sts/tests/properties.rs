//! Properties: a session policy only ever narrows; a sealed token survives
//! no change.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use common::{at, ring};
use policy::{Context, Outcome, Policy, PolicyId, PolicyKind, PolicySet, Request};
use proptest::prelude::*;
use sts::{issue, verify, Claims, Hop, Origin, SessionRights};

const ACTIONS: &[&str] = &[
    "cr:PullRepository",
    "cr:PushRepository",
    "cr:GetAuthorizationToken",
    "fc:ListServices",
    "fc:UpdateService",
    "sts:AssumeRole",
];

const ACTION_PATTERNS: &[&str] = &[
    "*",
    "cr:*",
    "cr:Pull*",
    "cr:Get*",
    "fc:List*",
    "fc:*",
    "sts:AssumeRole",
    "CR:pullrepository",
];

const RESOURCES: &[&str] = &[
    "acs:cr:cn-hangzhou:1111111111111111:repository/cri-x/team/app",
    "acs:cr:cn-hangzhou:1111111111111111:repository/cri-y/team/app",
    "acs:fc:cn-hangzhou:1111111111111111:services/s",
    "acs:ram::1111111111111111:role/r",
];

const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    "acs:cr:*:*:repository/cri-x/*",
    "acs:cr:*:1111111111111111:*",
    "acs:fc:*:*:services/*",
    "acs:ram::1111111111111111:role/*",
    "acs:ram::2222222222222222:role/*",
];

#[derive(Debug, Clone)]
struct Stmt {
    deny: bool,
    not_action: bool,
    actions: Vec<usize>,
    not_resource: bool,
    resources: Vec<usize>,
    /// Only from 10.0.0.0/8.
    ip_condition: bool,
}

fn stmt() -> impl Strategy<Value = Stmt> {
    (
        any::<bool>(),
        prop::bool::weighted(0.15),
        prop::collection::vec(0..ACTION_PATTERNS.len(), 1..3),
        prop::bool::weighted(0.15),
        prop::collection::vec(0..RESOURCE_PATTERNS.len(), 1..3),
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |(deny, not_action, actions, not_resource, resources, ip_condition)| Stmt {
                deny,
                not_action,
                actions,
                not_resource,
                resources,
                ip_condition,
            },
        )
}

fn document(statements: &[Stmt]) -> String {
    let statements: Vec<serde_json::Value> = statements
        .iter()
        .map(|s| {
            let mut o = serde_json::Map::new();
            o.insert(
                "Effect".into(),
                if s.deny { "Deny" } else { "Allow" }.into(),
            );
            let actions: Vec<&str> = s.actions.iter().map(|&i| ACTION_PATTERNS[i]).collect();
            o.insert(
                if s.not_action { "NotAction" } else { "Action" }.into(),
                actions.into(),
            );
            let resources: Vec<&str> = s.resources.iter().map(|&i| RESOURCE_PATTERNS[i]).collect();
            o.insert(
                if s.not_resource {
                    "NotResource"
                } else {
                    "Resource"
                }
                .into(),
                resources.into(),
            );
            if s.ip_condition {
                o.insert(
                    "Condition".into(),
                    serde_json::json!({"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}}),
                );
            }
            serde_json::Value::Object(o)
        })
        .collect();
    serde_json::json!({"Version": "1", "Statement": statements}).to_string()
}

fn compiled(statements: &[Stmt], kind: PolicyKind) -> Arc<Policy> {
    Arc::new(Policy::parse(&document(statements), kind).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Whatever the role's policies and the session policy say, the
    /// session is never allowed what either of them denies (explicitly or
    /// by not allowing it), an explicit Deny in either is an explicit
    /// Deny, and narrowing an outside layer-0 decision agrees exactly.
    #[test]
    fn a_session_never_exceeds_its_role_or_its_policy(
        role in prop::collection::vec(prop::collection::vec(stmt(), 1..4), 0..3),
        session in prop::option::of(prop::collection::vec(stmt(), 1..4)),
        action in 0..ACTIONS.len(),
        resource in 0..RESOURCES.len(),
        inside in any::<bool>(),
    ) {
        let role_set = PolicySet::new(role.iter().enumerate().map(|(i, p)| {
            (PolicyId::new(format!("p{i}"), "v1"), compiled(p, PolicyKind::Permission))
        }));
        let session_policy = session.as_ref().map(|p| compiled(p, PolicyKind::Session));
        let rights = SessionRights::from_policy(session_policy.clone());
        let context = Context::new().with("acs:SourceIp", if inside { "10.1.2.3" } else { "192.168.1.1" });
        let resources = [RESOURCES[resource]];
        let request = Request { action: ACTIONS[action], resources: &resources, context: &context };

        let decided = rights.decide(&role_set, &request);
        let by_role = policy::decide(&[&role_set], &request);
        prop_assert_eq!(rights.narrow(by_role, &request), decided);

        if decided.is_allowed() {
            prop_assert!(by_role.is_allowed(), "the role does not allow it");
        }
        if by_role.outcome == Outcome::ExplicitDeny {
            prop_assert_eq!(decided.outcome, Outcome::ExplicitDeny);
        }
        match rights.session_policy() {
            Some(session_set) => {
                let by_session = policy::decide(&[session_set], &request);
                if decided.is_allowed() {
                    prop_assert!(by_session.is_allowed(), "the session policy does not allow it");
                }
                if by_session.outcome == Outcome::ExplicitDeny {
                    prop_assert_eq!(decided.outcome, Outcome::ExplicitDeny);
                }
                if by_role.is_allowed() && by_session.is_allowed() {
                    prop_assert!(decided.is_allowed(), "both allow, so the session may");
                }
            }
            None => prop_assert_eq!(decided, by_role),
        }
    }
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.@_-]{2,64}"
}

fn claims() -> impl Strategy<Value = Claims> {
    (
        (name(), name(), "[0-9]{16}", "[0-9]{19}"),
        prop::option::of(name()),
        prop::collection::vec((name(), name()), 0..4),
        any::<bool>(),
        prop::option::of(Just(
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:Pull*","Resource":"*"}]}"#,
        )),
        (0i64..4_000_000_000, 900i64..43_200),
    )
        .prop_map(
            |((role, session, account, role_id), source, hops, by_user, policy, (iat, len))| Claims {
                account: account.clone(),
                role_id,
                role_name: role,
                session_name: session,
                origin: if by_user {
                    Origin::User {
                        account: account.clone(),
                        user_id: "2000000000000000001".into(),
                        name: "alice".into(),
                    }
                } else {
                    Origin::Service {
                        name: "sae.aliyuncs.com".into(),
                        acting_for: account.clone(),
                    }
                },
                hops: hops
                    .into_iter()
                    .map(|(r, s)| Hop {
                        account: account.clone(),
                        role_name: r,
                        session_name: s,
                    })
                    .collect(),
                session_policy: policy.map(str::to_string),
                source_identity: source,
                issued_at: at(iat),
                expires_at: at(iat + len),
                session_id: "0".repeat(22),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Issued credentials verify to the same claims until expiry.
    #[test]
    fn issue_then_verify_round_trips(claims in claims()) {
        let keys = ring(&[("k2", 2), ("k1", 1)]);
        let creds = issue(&claims, &keys).unwrap();
        let v = verify(&creds.access_key_id, Some(&creds.security_token), claims.issued_at, &keys).unwrap();
        prop_assert_eq!(&v.claims, &claims);
        prop_assert_eq!(v.secret.expose(), creds.access_key_secret.expose());
        let late = verify(&creds.access_key_id, Some(&creds.security_token), claims.expires_at, &keys);
        prop_assert!(late.is_err());
    }

    /// No single-byte change to the token or to the AccessKeyId verifies.
    #[test]
    fn a_changed_byte_never_verifies(claims in claims(), pos in any::<prop::sample::Index>(), flip in 1u8.., in_id in prop::bool::weighted(0.2)) {
        let keys = ring(&[("k2", 2), ("k1", 1)]);
        let creds = issue(&claims, &keys).unwrap();
        let target = if in_id { &creds.access_key_id } else { &creds.security_token };
        let mut bytes = target.clone().into_bytes();
        let i = pos.index(bytes.len());
        bytes[i] ^= flip;
        if let Ok(changed) = String::from_utf8(bytes) {
            let result = if in_id {
                verify(&changed, Some(&creds.security_token), claims.issued_at, &keys)
            } else {
                verify(&creds.access_key_id, Some(&changed), claims.issued_at, &keys)
            };
            prop_assert!(result.is_err(), "byte {} of {}", i, if in_id { "the id" } else { "the token" });
        }
    }
}
