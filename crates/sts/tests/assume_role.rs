//! The AssumeRole decision, its order, the sessions it issues, and their
//! validity at request time, against an in-memory store and a fixed clock.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use auth::{KeyRing, Timestamp};
use common::*;
use policy::{keys, Context, Outcome};
use sts::{
    assume_role, session_still_valid, verify, AssumeRoleError, AssumeRoleOutcome, AssumeRoleParams,
    AssumeRoleRequest, Caller, CallerIdentity, Claims, Origin, SessionError, WireError,
};

const NOW: i64 = 1_750_000_000;

const FC_ADMIN: &str = "3000000000000000001";
const SAE_PULL: &str = "3000000000000000002";
const ECI_ROLE: &str = "3000000000000000003";
const ROLE_ASSUME: &str = "3000000000000000004";
const ROLE_ACR: &str = "3000000000000000005";
const LONG: &str = "3000000000000000006";

const ALICE: &str = "2000000000000000001";
const BOB: &str = "2000000000000000002";
const CAROL: &str = "2000000000000000003";
const DAVE: &str = "2000000000000000004";

fn world() -> Arc<FakeStore> {
    let store = FakeStore::new();
    // S3: A lends fc-admin to account B.
    store.add_role(
        A,
        FC_ADMIN,
        "fc-admin",
        &trust_ram(&[&format!("acs:ram::{B}:root")]),
        3600,
    );
    // S1: B's role for the deploy platform acting for A.
    store.add_role(
        B,
        SAE_PULL,
        "sae-pull",
        &trust_service(&[&format!("{A}@sae.aliyuncs.com")]),
        3600,
    );
    // S2: a service-linked-like role trusted by the bare service name.
    store.add_role(
        A,
        ECI_ROLE,
        "AliyunServiceRoleForECI",
        &trust_service(&["eci.aliyuncs.com"]),
        3600,
    );
    // S2 two hops: A's role-assume (service) → B's role-acr.
    store.add_role(
        A,
        ROLE_ASSUME,
        "role-assume",
        &trust_service(&["eci.aliyuncs.com"]),
        43_200,
    );
    store.attach(&format!("role:{A}:{ROLE_ASSUME}"), ALLOW_ASSUME_ANY);
    store.add_role(
        B,
        ROLE_ACR,
        "role-acr",
        &trust_ram(&[&format!("acs:ram::{A}:role/role-assume")]),
        43_200,
    );
    // A role that allows long sessions, trusted by B.
    store.add_role(
        A,
        LONG,
        "Long",
        &trust_ram(&[&format!("acs:ram::{B}:root")]),
        43_200,
    );
    store.attach(&format!("role:{A}:{LONG}"), ALLOW_ASSUME_ANY);

    store.add_user(B, ALICE);
    store.attach(&format!("user:{B}:{ALICE}"), ALLOW_ASSUME_ANY);
    store.add_user(B, BOB);
    store.add_user(C, CAROL);
    store.attach(&format!("user:{C}:{CAROL}"), ALLOW_ASSUME_ANY);
    store.add_user(A, DAVE);
    store.attach(&format!("user:{A}:{DAVE}"), ALLOW_ASSUME_ANY);
    store
}

fn alice() -> Caller<'static> {
    Caller::User {
        account: B,
        user_id: ALICE,
        name: "alice",
    }
}

fn request(role_arn: &str, session: &str) -> AssumeRoleRequest {
    AssumeRoleRequest::parse(&AssumeRoleParams {
        role_arn: Some(role_arn),
        role_session_name: Some(session),
        ..AssumeRoleParams::default()
    })
    .unwrap()
}

fn with<'a>(
    role_arn: &'a str,
    session: &'a str,
    f: impl FnOnce(&mut AssumeRoleParams<'a>),
) -> AssumeRoleRequest {
    let mut params = AssumeRoleParams {
        role_arn: Some(role_arn),
        role_session_name: Some(session),
        ..AssumeRoleParams::default()
    };
    f(&mut params);
    AssumeRoleRequest::parse(&params).unwrap()
}

fn keys() -> KeyRing {
    ring(&[("k1", 1)])
}

fn run(
    store: &FakeStore,
    caller: &Caller<'_>,
    request: &AssumeRoleRequest,
) -> Result<AssumeRoleOutcome, AssumeRoleError> {
    run_at(store, caller, request, &Context::new(), NOW)
}

fn run_at(
    store: &FakeStore,
    caller: &Caller<'_>,
    request: &AssumeRoleRequest,
    context: &Context,
    now: i64,
) -> Result<AssumeRoleOutcome, AssumeRoleError> {
    block_on(assume_role(
        store,
        caller,
        request,
        context,
        &keys(),
        at(now),
    ))
}

fn fc_admin() -> String {
    format!("acs:ram::{A}:role/fc-admin")
}

fn code(result: Result<AssumeRoleOutcome, AssumeRoleError>) -> (String, u16) {
    match result {
        Ok(_) => ("ok".into(), 200),
        Err(e) => (e.code().into_owned(), e.http_status()),
    }
}

#[test]
fn a_user_of_a_trusted_account_assumes_the_role() {
    let store = world();
    let out = run(
        &store,
        &alice(),
        &request(&format!("acs:ram::{A}:role/FC-Admin"), "alice-fc"),
    )
    .unwrap();
    let r = &out.response;
    assert_eq!(
        r.assumed_role_user.arn,
        format!("acs:ram::{A}:role/fc-admin/alice-fc")
    );
    assert_eq!(
        r.assumed_role_user.assumed_role_id,
        format!("{FC_ADMIN}:alice-fc")
    );
    assert!(r.credentials.access_key_id.starts_with("STS."));
    assert_eq!(r.credentials.expiration, at(NOW + 3600), "default 3600 s");
    assert!(r.source_identity.is_none());

    let json = serde_json::to_value(r).unwrap();
    assert_eq!(
        json.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["AssumedRoleUser", "Credentials"]
    );
    assert_eq!(json["Credentials"]["Expiration"], "2025-06-15T16:06:40Z");
    assert_eq!(
        json["AssumedRoleUser"]["AssumedRoleId"],
        format!("{FC_ADMIN}:alice-fc")
    );

    let c = &out.claims;
    assert_eq!(c.account, A);
    assert_eq!(c.role_id, FC_ADMIN);
    assert_eq!(c.role_name, "fc-admin");
    assert_eq!(
        c.origin,
        Origin::User {
            account: B.into(),
            user_id: ALICE.into(),
            name: "alice".into()
        }
    );
    assert!(c.hops.is_empty());
    assert_eq!(c.issued_at, at(NOW));
    assert_eq!(c.session_id.len(), 22);
    assert_eq!(out.trust_statement, Some(0));
    assert_eq!(
        out.identity.as_ref().unwrap().deciding.as_deref(),
        Some("Custom:p0:v1:Statement[0]")
    );

    // Any node with the ring verifies the credentials, with no lookup.
    let v = verify(
        &r.credentials.access_key_id,
        Some(&r.credentials.security_token),
        at(NOW + 10),
        &keys(),
    )
    .unwrap();
    assert_eq!(&v.claims, c);
    assert_eq!(v.secret.expose(), r.credentials.access_key_secret.expose());
    block_on(session_still_valid(&*store, &v.claims, at(NOW + 10))).unwrap();

    let who = CallerIdentity::session(&v.claims);
    assert_eq!(
        who.arn,
        format!("acs:ram::{A}:assumed-role/fc-admin/alice-fc")
    );
    assert_eq!(who.principal_id, format!("{FC_ADMIN}:alice-fc"));
}

#[test]
fn root_keys_are_refused_before_anything_else() {
    let store = world();
    let root = Caller::Root { account: B };
    let err = run(&store, &root, &request(&fc_admin(), "s1")).unwrap_err();
    assert!(matches!(err, AssumeRoleError::RootCaller));
    assert_eq!(
        (err.code().as_ref(), err.http_status()),
        ("NoPermission", 403)
    );
    assert_eq!(err.message(), "Roles may not be assumed by root accounts.");
    // Even for a role that does not exist, and even with the store down.
    store.set_down(true);
    let err = run(
        &store,
        &root,
        &request(&format!("acs:ram::{A}:role/nope"), "s1"),
    )
    .unwrap_err();
    assert!(matches!(err, AssumeRoleError::RootCaller));
}

#[test]
fn a_missing_role() {
    let store = world();
    let err = run(
        &store,
        &alice(),
        &request(&format!("acs:ram::{A}:role/nope"), "s1"),
    )
    .unwrap_err();
    assert_eq!(
        (err.code().as_ref(), err.http_status()),
        ("EntityNotExist.Role", 404)
    );
    assert_eq!(err.message(), "The specified Role not exists.");
}

#[test]
fn trust_denies_a_user_of_another_account() {
    let store = world();
    let carol = Caller::User {
        account: C,
        user_id: CAROL,
        name: "carol",
    };
    let err = run(&store, &carol, &request(&fc_admin(), "s1")).unwrap_err();
    assert!(
        matches!(err, AssumeRoleError::TrustDenied { .. }),
        "{err:?}"
    );
    assert_eq!(
        (err.code().as_ref(), err.http_status()),
        ("NoPermission", 403)
    );
    assert_eq!(
        err.message(),
        "You are not authorized to do this action. You should be authorized by RAM."
    );
    assert!(err
        .detail()
        .unwrap()
        .contains("does not name acs:ram::3333333333333333:user/carol"));
    assert_eq!(
        *store.identity_calls.lock().unwrap(),
        0,
        "trust is checked first"
    );
    // A user of the role's own account is not named either.
    let dave = Caller::User {
        account: A,
        user_id: DAVE,
        name: "dave",
    };
    assert_eq!(
        code(run(&store, &dave, &request(&fc_admin(), "s1"))).0,
        "NoPermission"
    );
}

#[test]
fn trust_is_not_enough_without_sts_assume_role() {
    let store = world();
    let bob = Caller::User {
        account: B,
        user_id: BOB,
        name: "bob",
    };
    let err = run(&store, &bob, &request(&fc_admin(), "s1")).unwrap_err();
    match &err {
        AssumeRoleError::IdentityDenied {
            outcome,
            by_session_policy,
            ..
        } => {
            assert_eq!(*outcome, Outcome::ImplicitDeny);
            assert!(!by_session_policy);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        (err.code().as_ref(), err.http_status()),
        ("NoPermission", 403)
    );
    // An allow scoped to another role does not help; one scoped to this role does.
    store.attach(
        &format!("user:{B}:{BOB}"),
        &format!(r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"acs:ram::{A}:role/other"}}]}}"#),
    );
    assert_eq!(
        code(run(&store, &bob, &request(&fc_admin(), "s1"))).0,
        "NoPermission"
    );
    store.attach(
        &format!("user:{B}:{BOB}"),
        &format!(r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"acs:ram:*:{A}:role/fc-admin"}}]}}"#),
    );
    assert_eq!(code(run(&store, &bob, &request(&fc_admin(), "s1"))).0, "ok");
    // An explicit Deny wins.
    store.attach(
        &format!("user:{B}:{BOB}"),
        r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"sts:*","Resource":"*"}]}"#,
    );
    let err = run(&store, &bob, &request(&fc_admin(), "s1")).unwrap_err();
    assert!(matches!(
        err,
        AssumeRoleError::IdentityDenied {
            outcome: Outcome::ExplicitDeny,
            ..
        }
    ));
}

#[test]
fn a_service_acting_for_the_right_account_needs_only_trust() {
    let store = world();
    let sae_for_a = Caller::Service {
        name: "sae.aliyuncs.com",
        acting_for: A,
    };
    let out = run(
        &store,
        &sae_for_a,
        &request(&format!("acs:ram::{B}:role/sae-pull"), "deploy"),
    )
    .unwrap();
    assert_eq!(
        out.claims.origin,
        Origin::Service {
            name: "sae.aliyuncs.com".into(),
            acting_for: A.into()
        }
    );
    assert!(out.identity.is_none());
    assert_eq!(*store.identity_calls.lock().unwrap(), 0);

    // The same service acting for C is not named: no confused deputy.
    let sae_for_c = Caller::Service {
        name: "sae.aliyuncs.com",
        acting_for: C,
    };
    let err = run(
        &store,
        &sae_for_c,
        &request(&format!("acs:ram::{B}:role/sae-pull"), "deploy"),
    )
    .unwrap_err();
    assert!(matches!(err, AssumeRoleError::TrustDenied { .. }));
    // Another service acting for A is not named either.
    let eci_for_a = Caller::Service {
        name: "eci.aliyuncs.com",
        acting_for: A,
    };
    assert_eq!(
        code(run(
            &store,
            &eci_for_a,
            &request(&format!("acs:ram::{B}:role/sae-pull"), "deploy")
        ))
        .0,
        "NoPermission"
    );
    // A RAM user of A after the trust policy names only the service.
    let dave = Caller::User {
        account: A,
        user_id: DAVE,
        name: "dave",
    };
    assert_eq!(
        code(run(
            &store,
            &dave,
            &request(&format!("acs:ram::{B}:role/sae-pull"), "deploy")
        ))
        .0,
        "NoPermission"
    );
}

#[test]
fn a_bare_service_principal_only_acts_for_the_roles_own_account() {
    let store = world();
    let arn = format!("acs:ram::{A}:role/AliyunServiceRoleForECI");
    let for_a = Caller::Service {
        name: "eci.aliyuncs.com",
        acting_for: A,
    };
    assert_eq!(code(run(&store, &for_a, &request(&arn, "eci"))).0, "ok");
    let for_b = Caller::Service {
        name: "eci.aliyuncs.com",
        acting_for: B,
    };
    assert_eq!(
        code(run(&store, &for_b, &request(&arn, "eci"))),
        ("NoPermission".into(), 403)
    );
}

#[test]
fn two_hops_across_accounts() {
    let store = world();
    let platform = Caller::Service {
        name: "eci.aliyuncs.com",
        acting_for: A,
    };
    let first = run(
        &store,
        &platform,
        &request(&format!("acs:ram::{A}:role/role-assume"), "eci-1"),
    )
    .unwrap();
    let second = run(
        &store,
        &Caller::Session(&first.claims),
        &request(&format!("acs:ram::{B}:role/role-acr"), "pull"),
    )
    .unwrap();
    let c = &second.claims;
    assert_eq!(c.account, B);
    assert_eq!(c.chain_depth(), 2);
    assert_eq!(
        c.chain_arns(),
        [
            format!("{A}@eci.aliyuncs.com"),
            format!("acs:ram::{A}:role/role-assume/eci-1"),
            format!("acs:ram::{B}:role/role-acr/pull"),
        ]
    );
    assert_eq!(c.duration_seconds(), 3600);

    // Without sts:AssumeRole on role-assume, the chain is refused.
    store.detach_all(&format!("role:{A}:{ROLE_ASSUME}"));
    let err = run(
        &store,
        &Caller::Session(&first.claims),
        &request(&format!("acs:ram::{B}:role/role-acr"), "pull"),
    )
    .unwrap_err();
    assert!(
        matches!(err, AssumeRoleError::IdentityDenied { .. }),
        "{err:?}"
    );
    // Another principal of A (a user) is not named by role-acr's trust.
    let dave = Caller::User {
        account: A,
        user_id: DAVE,
        name: "dave",
    };
    let err = run(
        &store,
        &dave,
        &request(&format!("acs:ram::{B}:role/role-acr"), "pull"),
    )
    .unwrap_err();
    assert!(matches!(err, AssumeRoleError::TrustDenied { .. }));
}

#[test]
fn the_callers_session_policy_narrows_its_right_to_chain() {
    let store = world();
    let platform = Caller::Service {
        name: "eci.aliyuncs.com",
        acting_for: A,
    };
    let narrowed = with(&format!("acs:ram::{A}:role/role-assume"), "eci-1", |p| {
        p.policy = Some(
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:*","Resource":"*"}]}"#,
        );
    });
    let first = run(&store, &platform, &narrowed).unwrap();
    let err = run(
        &store,
        &Caller::Session(&first.claims),
        &request(&format!("acs:ram::{B}:role/role-acr"), "pull"),
    )
    .unwrap_err();
    match err {
        AssumeRoleError::IdentityDenied {
            by_session_policy,
            deciding,
            ..
        } => {
            assert!(by_session_policy);
            assert!(deciding.is_none());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn durations() {
    let store = world();
    let long = format!("acs:ram::{A}:role/Long");
    for (asked, expected) in [
        (None, Ok(3600)),
        (Some("900"), Ok(900)),
        (Some("43200"), Ok(43_200)),
        (Some("43201"), Err("15min/12hr")),
    ] {
        let req = with(&long, "s1", |p| p.duration_seconds = asked);
        match (run(&store, &alice(), &req), expected) {
            (Ok(out), Ok(seconds)) => {
                assert_eq!(out.claims.duration_seconds(), seconds);
                assert_eq!(out.response.credentials.expiration, at(NOW + seconds));
            }
            (Err(e), Err(bound)) => {
                assert_eq!(e.code(), "InvalidParameter.DurationSeconds");
                assert_eq!(e.http_status(), 400);
                assert_eq!(
                    e.message(),
                    format!("The Min/Max value of DurationSeconds is {bound}.")
                );
            }
            (got, want) => panic!("{asked:?}: {got:?} vs {want:?}"),
        }
    }
    // fc-admin keeps the default maximum of one hour.
    let req = with(&fc_admin(), "s1", |p| p.duration_seconds = Some("3601"));
    let err = run(&store, &alice(), &req).unwrap_err();
    assert_eq!(
        err.message(),
        "The Min/Max value of DurationSeconds is 15min/1hr."
    );
}

#[test]
fn chained_sessions_are_capped_at_one_hour() {
    let store = world();
    let platform = Caller::Service {
        name: "eci.aliyuncs.com",
        acting_for: A,
    };
    // role-assume allows 12 hours when assumed directly...
    let req = with(&format!("acs:ram::{A}:role/role-assume"), "eci-1", |p| {
        p.duration_seconds = Some("43200")
    });
    let first = run(&store, &platform, &req).unwrap();
    assert_eq!(first.claims.duration_seconds(), 43_200);
    // ...and role-acr too, but not when reached through a chain.
    let caller = Caller::Session(&first.claims);
    let acr = format!("acs:ram::{B}:role/role-acr");
    let err = run(
        &store,
        &caller,
        &with(&acr, "pull", |p| p.duration_seconds = Some("3601")),
    )
    .unwrap_err();
    assert_eq!(err.code(), "InvalidParameter.DurationSeconds");
    assert_eq!(
        err.message(),
        "The Min/Max value of DurationSeconds is 15min/1hr."
    );
    assert!(err.detail().unwrap().contains("3600"));
    let ok = run(
        &store,
        &caller,
        &with(&acr, "pull", |p| p.duration_seconds = Some("3600")),
    )
    .unwrap();
    assert_eq!(ok.claims.duration_seconds(), 3600);
    let default = run(&store, &caller, &request(&acr, "pull")).unwrap();
    assert_eq!(default.claims.duration_seconds(), 3600);
}

#[test]
fn chains_are_limited_to_five_role_sessions() {
    let store = FakeStore::new();
    store.add_user(A, DAVE);
    store.attach(&format!("user:{A}:{DAVE}"), ALLOW_ASSUME_ANY);
    for i in 1..=6 {
        let id = format!("30000000000000001{i}");
        store.add_role(
            A,
            &id,
            &format!("r{i}"),
            &trust_ram(&[&format!("acs:ram::{A}:root")]),
            3600,
        );
        store.attach(&format!("role:{A}:{id}"), ALLOW_ASSUME_ANY);
    }
    let dave = Caller::User {
        account: A,
        user_id: DAVE,
        name: "dave",
    };
    let mut claims: Claims = run(
        &store,
        &dave,
        &request(&format!("acs:ram::{A}:role/r1"), "h1"),
    )
    .unwrap()
    .claims;
    for i in 2..=5 {
        claims = run(
            &store,
            &Caller::Session(&claims),
            &request(&format!("acs:ram::{A}:role/r{i}"), &format!("h{i}")),
        )
        .unwrap()
        .claims;
        assert_eq!(claims.chain_depth(), i);
    }
    assert_eq!(claims.chain_depth(), sts::MAX_CHAIN_DEPTH);
    let err = run(
        &store,
        &Caller::Session(&claims),
        &request(&format!("acs:ram::{A}:role/r6"), "h6"),
    )
    .unwrap_err();
    assert_eq!(
        (err.code().as_ref(), err.http_status()),
        ("InvalidParameter.RoleChain", 400)
    );
    assert!(matches!(
        err,
        AssumeRoleError::ChainTooLong { depth: 6, max: 5 }
    ));
    assert_eq!(claims.hops.len(), 4);
    assert_eq!(claims.origin.arn(), format!("acs:ram::{A}:user/dave"));
}

#[test]
fn authorization_is_decided_before_duration_and_chain() {
    let store = world();
    let carol = Caller::User {
        account: C,
        user_id: CAROL,
        name: "carol",
    };
    let req = with(&fc_admin(), "s1", |p| p.duration_seconds = Some("99999"));
    assert_eq!(code(run(&store, &carol, &req)).0, "NoPermission");
    assert_eq!(
        code(run(&store, &alice(), &req)).0,
        "InvalidParameter.DurationSeconds"
    );
}

#[test]
fn trust_conditions_see_external_id_source_ip_and_source_identity() {
    let store = world();
    let trust = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{B}:root"]}},
            "Condition":{{"StringEquals":{{"sts:ExternalId":"abc-123"}},"IpAddress":{{"acs:SourceIp":"10.0.0.0/8"}}}}}}]}}"#
    );
    store.add_role(A, "3000000000000000099", "guarded", &trust, 3600);
    let arn = format!("acs:ram::{A}:role/guarded");
    let inside = Context::new().with(keys::SOURCE_IP, "10.1.2.3");
    let outside = Context::new().with(keys::SOURCE_IP, "192.168.1.1");
    let good = with(&arn, "s1", |p| p.external_id = Some("abc-123"));
    let wrong = with(&arn, "s1", |p| p.external_id = Some("abc-124"));
    let none = request(&arn, "s1");
    assert_eq!(code(run_at(&store, &alice(), &good, &inside, NOW)).0, "ok");
    assert_eq!(
        code(run_at(&store, &alice(), &good, &outside, NOW)).0,
        "NoPermission"
    );
    assert_eq!(
        code(run_at(&store, &alice(), &wrong, &inside, NOW)).0,
        "NoPermission"
    );
    assert_eq!(
        code(run_at(&store, &alice(), &none, &inside, NOW)).0,
        "NoPermission"
    );

    let trust = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{B}:root"]}},
            "Condition":{{"StringLike":{{"sts:SourceIdentity":"alice@*"}}}}}}]}}"#
    );
    store.add_role(A, "3000000000000000098", "traced", &trust, 3600);
    let arn = format!("acs:ram::{A}:role/traced");
    let tagged = with(&arn, "s1", |p| p.source_identity = Some("alice@corp"));
    let out = run(&store, &alice(), &tagged).unwrap();
    assert_eq!(out.response.source_identity.as_deref(), Some("alice@corp"));
    assert_eq!(
        serde_json::to_value(&out.response).unwrap()["SourceIdentity"],
        "alice@corp"
    );
    assert_eq!(
        code(run(&store, &alice(), &request(&arn, "s1"))).0,
        "NoPermission"
    );
}

#[test]
fn a_source_identity_is_carried_along_a_chain_and_cannot_change() {
    let store = world();
    let platform = Caller::Service {
        name: "eci.aliyuncs.com",
        acting_for: A,
    };
    let req = with(&format!("acs:ram::{A}:role/role-assume"), "eci-1", |p| {
        p.source_identity = Some("build-42")
    });
    let first = run(&store, &platform, &req).unwrap();
    let caller = Caller::Session(&first.claims);
    let acr = format!("acs:ram::{B}:role/role-acr");
    let inherited = run(&store, &caller, &request(&acr, "pull")).unwrap();
    assert_eq!(
        inherited.claims.source_identity.as_deref(),
        Some("build-42")
    );
    assert_eq!(
        inherited.response.source_identity.as_deref(),
        Some("build-42")
    );
    let same = with(&acr, "pull", |p| p.source_identity = Some("build-42"));
    assert_eq!(code(run(&store, &caller, &same)).0, "ok");
    let changed = with(&acr, "pull", |p| p.source_identity = Some("build-43"));
    let err = run(&store, &caller, &changed).unwrap_err();
    assert_eq!(
        (err.code().as_ref(), err.http_status()),
        ("InvalidParameter.SourceIdentity", 400)
    );
}

#[test]
fn store_failures_are_internal_errors() {
    let store = world();
    store.set_down(true);
    let err = run(&store, &alice(), &request(&fc_admin(), "s1")).unwrap_err();
    assert_eq!(
        (err.code().as_ref(), err.http_status()),
        ("InternalError", 500)
    );
    assert_eq!(err.message(), "STS Server Internal Error happened.");
    assert!(err.detail().unwrap().contains("down"));
}

#[test]
fn an_unreadable_trust_policy_refuses_with_an_internal_error() {
    let store = world();
    store.add_role(A, "3000000000000000097", "broken", "{not json", 3600);
    let err = run(
        &store,
        &alice(),
        &request(&format!("acs:ram::{A}:role/broken"), "s1"),
    )
    .unwrap_err();
    assert_eq!(
        (err.code().as_ref(), err.http_status()),
        ("InternalError", 500)
    );
}

fn valid(store: &FakeStore, claims: &Claims, now: i64) -> Result<(), SessionError> {
    block_on(session_still_valid(store, claims, at(now)))
}

#[test]
fn revoked_before_stamp() {
    let store = world();
    let early = run_at(
        &store,
        &alice(),
        &request(&fc_admin(), "early"),
        &Context::new(),
        NOW,
    )
    .unwrap();
    let later = run_at(
        &store,
        &alice(),
        &request(&fc_admin(), "later"),
        &Context::new(),
        NOW + 10,
    )
    .unwrap();
    valid(&store, &early.claims, NOW + 20).unwrap();
    store.revoke(A, "fc-admin", at(NOW + 10));
    let err = valid(&store, &early.claims, NOW + 20).unwrap_err();
    assert!(matches!(err, SessionError::Revoked { .. }), "{err:?}");
    assert_eq!(
        (err.code().as_ref(), err.http_status()),
        ("InvalidSecurityToken.Expired", 400)
    );
    assert!(err.message().contains("revoked"));
    assert!(err
        .detail()
        .unwrap()
        .contains("issued at 2025-06-15T15:06:40Z"));
    // Issued at the stamp itself: not before it, so still valid.
    valid(&store, &later.claims, NOW + 20).unwrap();
    // New sessions after the stamp are fine.
    let fresh = run_at(
        &store,
        &alice(),
        &request(&fc_admin(), "fresh"),
        &Context::new(),
        NOW + 30,
    )
    .unwrap();
    valid(&store, &fresh.claims, NOW + 31).unwrap();
}

#[test]
fn a_session_issued_in_the_second_of_a_revocation_is_not_revoked_by_it() {
    let store = world();
    // Issued in second NOW, before the revocation in that same second.
    let before = run(&store, &alice(), &request(&fc_admin(), "before")).unwrap();
    // The revocation call stamps "issued before NOW + 1".
    store.revoke(A, "fc-admin", at(NOW + 1));
    assert!(valid(&store, &before.claims, NOW).is_err());
    // Issued in second NOW, after the revocation: counts as issued at the
    // stamp, so it is valid at once, and lasts its full duration.
    let after = run(&store, &alice(), &request(&fc_admin(), "after")).unwrap();
    assert_eq!(after.claims.issued_at, at(NOW + 1));
    assert_eq!(after.claims.expires_at, at(NOW + 1 + 3600));
    valid(&store, &after.claims, NOW).unwrap();
    valid(&store, &after.claims, NOW + 3600).unwrap();
    // A stamp further ahead (a clock stepped back) keeps refusing.
    store.revoke(A, "fc-admin", at(NOW + 100));
    let ahead = run(&store, &alice(), &request(&fc_admin(), "ahead")).unwrap();
    assert_eq!(ahead.claims.issued_at, at(NOW));
    assert!(valid(&store, &ahead.claims, NOW).is_err());
}

#[test]
fn a_deleted_or_recreated_role_ends_its_sessions() {
    let store = world();
    let out = run(&store, &alice(), &request(&fc_admin(), "s1")).unwrap();
    valid(&store, &out.claims, NOW + 1).unwrap();
    store.delete_role(A, "fc-admin");
    let err = valid(&store, &out.claims, NOW + 1).unwrap_err();
    assert!(matches!(err, SessionError::RoleDeleted { .. }));
    assert_eq!(err.code(), "InvalidSecurityToken.Expired");
    // Re-created under the same name: a new role, old sessions stay dead.
    store.add_role(
        A,
        "3000000000000000777",
        "fc-admin",
        &trust_ram(&[&format!("acs:ram::{B}:root")]),
        3600,
    );
    assert!(matches!(
        valid(&store, &out.claims, NOW + 1),
        Err(SessionError::RoleDeleted { .. })
    ));
    // New AssumeRole calls work against the new role.
    let again = run(&store, &alice(), &request(&fc_admin(), "s2")).unwrap();
    assert_eq!(again.claims.role_id, "3000000000000000777");
}

#[test]
fn deleting_the_originating_user_ends_the_chain() {
    let store = world();
    let first = run(
        &store,
        &alice(),
        &request(&format!("acs:ram::{A}:role/Long"), "s1"),
    )
    .unwrap();
    let second = run(
        &store,
        &Caller::Session(&first.claims),
        &request(&fc_admin(), "s2"),
    );
    // fc-admin trusts B's root, which covers sessions of B only: Long is A's.
    assert_eq!(code(second).0, "NoPermission");
    valid(&store, &first.claims, NOW + 1).unwrap();
    store.delete_user(B, ALICE);
    let err = valid(&store, &first.claims, NOW + 1).unwrap_err();
    assert!(matches!(err, SessionError::OriginDeleted { .. }), "{err:?}");
    assert_eq!(err.code(), "InvalidSecurityToken.Expired");
    // New AssumeRole calls by the deleted user fail too (its policies are gone).
    assert_eq!(
        code(run(&store, &alice(), &request(&fc_admin(), "s3"))).0,
        "NoPermission"
    );
}

#[test]
fn service_chains_have_no_user_to_check() {
    let store = world();
    let platform = Caller::Service {
        name: "eci.aliyuncs.com",
        acting_for: A,
    };
    let out = run(
        &store,
        &platform,
        &request(&format!("acs:ram::{A}:role/role-assume"), "eci"),
    )
    .unwrap();
    valid(&store, &out.claims, NOW + 1).unwrap();
}

#[test]
fn expiry_and_store_failures_at_request_time() {
    let store = world();
    let out = run(&store, &alice(), &request(&fc_admin(), "s1")).unwrap();
    valid(&store, &out.claims, NOW + 3599).unwrap();
    assert!(matches!(
        valid(&store, &out.claims, NOW + 3600),
        Err(SessionError::Expired { .. })
    ));
    store.set_down(true);
    let err = valid(&store, &out.claims, NOW + 1).unwrap_err();
    assert_eq!(
        (err.code().as_ref(), err.http_status()),
        ("InternalError", 500)
    );
}

#[test]
fn the_decision_future_is_send() {
    fn require_send<T: Send>(_: &T) {}
    let store = world();
    let req = request(&fc_admin(), "s1");
    let ctx = Context::new();
    let ring = keys();
    let caller = alice();
    let fut = assume_role(
        &*store,
        &caller,
        &req,
        &ctx,
        &ring,
        Timestamp::from_unix_seconds(NOW),
    );
    require_send(&fut);
    let claims = block_on(fut).unwrap().claims;
    let fut = session_still_valid(&*store, &claims, at(NOW));
    require_send(&fut);
}

#[test]
fn token_size() {
    let store = world();
    // A 2048-character session policy, as compact as it can be written.
    let mut sids = String::new();
    let template = |sids: &str| {
        format!(
            r#"{{"Version":"1","Statement":[{{"Sid":"{sids}","Effect":"Allow","Action":["fc:List*","fc:Get*"],"Resource":"acs:fc:*:{A}:services/*"}}]}}"#
        )
    };
    while template(&sids).chars().count() < 2048 {
        sids.push('x');
    }
    let policy = template(&sids);
    assert_eq!(policy.chars().count(), 2048);
    // A realistic one: many statements, every quote that would need escaping.
    let statements: Vec<String> = (0..40)
        .map(|i| format!(r#"{{"Effect":"Allow","Action":"fc:Get{i}","Resource":"acs:fc:*:{A}:services/s{i}"}}"#))
        .collect();
    let mut dense = format!(
        r#"{{"Version":"1","Statement":[{}]}}"#,
        statements.join(",")
    );
    while dense.chars().count() > 2048 {
        let cut = dense.rfind(r#",{"Effect""#).unwrap();
        dense = format!("{}]}}", &dense[..cut]);
    }

    let plain = run(&store, &alice(), &request(&fc_admin(), "alice-fc")).unwrap();
    let with_policy = run(
        &store,
        &alice(),
        &with(&fc_admin(), "alice-fc", |p| p.policy = Some(&policy)),
    )
    .unwrap();
    let with_dense = run(
        &store,
        &alice(),
        &with(&fc_admin(), "alice-fc", |p| p.policy = Some(&dense)),
    )
    .unwrap();
    let sizes = [
        (
            "no session policy",
            plain.response.credentials.security_token.len(),
        ),
        (
            "2048-char session policy",
            with_policy.response.credentials.security_token.len(),
        ),
        (
            "dense session policy",
            with_dense.response.credentials.security_token.len(),
        ),
    ];
    for (what, len) in sizes {
        println!("token with {what}: {len} bytes");
    }
    assert!(sizes[0].1 < 400, "{sizes:?}");
    assert!(sizes[1].1 < 3200, "{sizes:?}");
    assert!(sizes[2].1 < 3200, "{sizes:?}");
    println!("dense policy: {} characters", dense.chars().count());
}
