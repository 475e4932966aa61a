//! The Cedar encoding decides like the RAM documents it stands for.
//!
//! For every benchmarked request, and for every combination of a catalogue
//! action, a resource and a context below (thousands of requests), the
//! test asks rampart which statements match (`policy::explain`) and checks
//! that Cedar reaches the same decision *for the same reasons*: the set of
//! Cedar policies that determined the decision is exactly the set of RAM
//! statements that matched with the deciding effect. So a statement that
//! means something different in the two encodings shows up here even when
//! the overall decision happens to agree.

// Tests may fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;

use cedar_policy::{Authorizer, Decision as CedarDecision, Response};
use policy::{Effect, Outcome};
use rampart_bench::fixture::{self, Ctx, Req, ACCOUNT, ACTIONS};
use rampart_bench::{cedar, ram};

const TEAM: &str = "team";

fn contexts() -> Vec<(&'static str, Ctx)> {
    vec![
        ("internal", Ctx::internal()),
        (
            "external",
            Ctx {
                source_ip: Some("203.0.113.7".into()),
                source_vpc: None,
                ..Ctx::internal()
            },
        ),
        (
            "insecure_after_expiry",
            Ctx {
                secure_transport: Some(false),
                current_time: Some("2027-03-01T00:00:00Z".into()),
                source_vpc: Some("vpc-build-7".into()),
                ..Ctx::internal()
            },
        ),
        (
            "change_freeze_from_ci",
            Ctx {
                source_ip: Some("172.16.5.5".into()),
                current_time: Some("2026-12-25T08:00:00Z".into()),
                source_vpc: Some("vpc-ci-2".into()),
                ..Ctx::internal()
            },
        ),
        (
            "other_account_build_vpc",
            Ctx {
                source_ip: Some("192.168.3.4".into()),
                source_vpc: Some("vpc-build-1".into()),
                principal_account: Some("2222222222222222".into()),
                ..Ctx::internal()
            },
        ),
        ("no_keys", Ctx::default()),
    ]
}

fn resource_sets() -> Vec<Vec<String>> {
    let home = fixture::instance("cn-hangzhou", fixture::INSTANCE);
    let in_home = |path: &str| vec![fixture::repo("cn-hangzhou", path), home.clone()];
    let oss = |path: &str| format!("acs:oss:cn-hangzhou:{ACCOUNT}:{path}");
    vec![
        in_home("team/app"),
        in_home("team/release-2026"),
        in_home("team/quarantine-old"),
        in_home("other-team/app"),
        in_home("base/alpine"),
        in_home("mirror/nginx"),
        in_home("ci-cache/build"),
        in_home("prod/api"),
        vec![
            fixture::repo("cn-beijing", "team/app"),
            fixture::instance("cn-beijing", fixture::INSTANCE),
        ],
        vec![home.clone()],
        vec![fixture::instance("cn-hangzhou", "cri-y")],
        vec![
            format!("acs:cr:cn-shanghai:{ACCOUNT}:repository/cri-z/tools"),
            fixture::instance("cn-shanghai", "cri-z"),
        ],
        vec![oss("team-artifacts")],
        vec![oss("team-artifacts/uploads/a.tar")],
        vec![oss("team-artifacts/reports/q1.csv")],
        vec![oss("other-bucket")],
        vec![fixture::role("team-deployer")],
        vec![fixture::role("team-reader")],
        vec![fixture::role("admin-break-glass")],
        vec![fixture::role("aliyunfcdefaultrole")],
        vec![format!("acs:fc:cn-hangzhou:{ACCOUNT}:services/team-api")],
        vec![format!(
            "acs:fc:cn-hangzhou:{ACCOUNT}:services/team-api/functions/handler"
        )],
        vec![format!(
            "acs:log:cn-hangzhou:{ACCOUNT}:project/team-logs/logstore/app"
        )],
        vec![format!("acs:ecs:cn-hangzhou:{ACCOUNT}:instance/i-123")],
        vec![format!("acs:ecs:cn-beijing:{ACCOUNT}:instance/i-456")],
    ]
}

/// The benchmarked requests first, then every action × resources × context.
fn requests() -> Vec<Req> {
    let mut out = fixture::benchmarked_requests(TEAM);
    out.push(fixture::session_request(TEAM));
    for (ctx_name, ctx) in contexts() {
        for resources in resource_sets() {
            for action in ACTIONS {
                let refs: Vec<&str> = resources.iter().map(String::as_str).collect();
                let name = format!("{action} on {} ({ctx_name})", refs.join(" + "));
                out.push(Req::new(&name, action, &refs, ctx.clone()));
            }
        }
    }
    out
}

fn rampart_request<'a>(
    req: &'a Req,
    resources: &'a [&'a str],
    context: &'a policy::Context,
) -> policy::Request<'a> {
    policy::Request {
        action: &req.action,
        resources,
        context,
    }
}

fn reasons(response: &Response) -> BTreeSet<String> {
    response
        .diagnostics()
        .reason()
        .map(ToString::to_string)
        .collect()
}

fn no_errors(req: &Req, response: &Response) {
    let errors: Vec<String> = response
        .diagnostics()
        .errors()
        .map(ToString::to_string)
        .collect();
    assert!(
        errors.is_empty(),
        "{}: Cedar evaluation errors {errors:?}",
        req.name
    );
}

#[test]
fn cedar_decides_like_rampart_statement_by_statement() {
    let docs = fixture::principal_policies(TEAM);
    let session = fixture::session_policy(TEAM);
    let set = ram::policy_set(&docs);
    let cedar_set = cedar::policy_set(&docs);
    let reqs = requests();
    let doc_refs: Vec<&fixture::Doc> = docs.iter().chain([&session]).collect();
    let entities = cedar::entities(&doc_refs, &reqs);
    let authorizer = Authorizer::new();

    let mut counts = [0usize; 3];
    for req in &reqs {
        let context = ram::context(&req.ctx);
        let resources: Vec<&str> = req.resources.iter().map(String::as_str).collect();
        let request = rampart_request(req, &resources, &context);
        let explanation = policy::explain(&[&set], &request);

        let matched = |effect: Effect| -> BTreeSet<String> {
            explanation
                .statements
                .iter()
                .filter(|s| s.matched && s.effect == effect)
                .map(|s| cedar::policy_id(s.at.policy, s.at.statement))
                .collect()
        };
        let denies = matched(Effect::Deny);
        let allows = matched(Effect::Allow);
        let (expected_decision, expected_reasons, outcome) = if !denies.is_empty() {
            (CedarDecision::Deny, denies, Outcome::ExplicitDeny)
        } else if !allows.is_empty() {
            (CedarDecision::Allow, allows, Outcome::Allow)
        } else {
            (CedarDecision::Deny, BTreeSet::new(), Outcome::ImplicitDeny)
        };
        assert_eq!(
            explanation.decision.outcome, outcome,
            "{}: rampart's decide and explain disagree",
            req.name
        );

        let response = authorizer.is_authorized(&cedar::request(req), &cedar_set, &entities);
        no_errors(req, &response);
        assert_eq!(
            response.decision(),
            expected_decision,
            "{}: rampart says {:?}",
            req.name,
            outcome
        );
        assert_eq!(
            reasons(&response),
            expected_reasons,
            "{}: Cedar decided for other reasons than the RAM statements that matched",
            req.name
        );
        counts[outcome as usize] += 1;
    }

    // The grid must exercise every outcome, or it proves little.
    let [allow, explicit, implicit] = counts;
    assert!(
        allow >= 200 && explicit >= 200 && implicit >= 200,
        "allow {allow}, explicit deny {explicit}, implicit deny {implicit}"
    );
}

#[test]
fn benchmarked_requests_take_the_intended_paths() {
    let docs = fixture::principal_policies(TEAM);
    let set = ram::policy_set(&docs);
    let expected = [
        ("allow_late", Outcome::Allow, Some((9, 4))),
        ("explicit_deny", Outcome::ExplicitDeny, None),
        ("implicit_deny", Outcome::ImplicitDeny, None),
        ("assume_role", Outcome::Allow, Some((2, 0))),
    ];
    let reqs = fixture::benchmarked_requests(TEAM);
    assert_eq!(reqs.len(), expected.len());
    for (req, (name, outcome, deciding)) in reqs.iter().zip(expected) {
        assert_eq!(req.name, name);
        let context = ram::context(&req.ctx);
        let resources: Vec<&str> = req.resources.iter().map(String::as_str).collect();
        let d = policy::decide(&[&set], &rampart_request(req, &resources, &context));
        assert_eq!(d.outcome, outcome, "{name}");
        if let Some((p, s)) = deciding {
            let at = d.deciding.expect("an allow names its statement");
            assert_eq!((at.policy, at.statement), (p, s), "{name}");
        }
    }
}

/// Cedar has no layers; the equivalent of a session policy is a second
/// authorization against the session's policy set, both of which must
/// allow (a forbid in either denies explicitly).
#[test]
fn session_layer_decides_alike() {
    let docs = fixture::principal_policies(TEAM);
    let session = fixture::session_policy(TEAM);
    let set = ram::policy_set(&docs);
    let session_set = ram::session_set(&session);
    let cedar_set = cedar::policy_set(&docs);
    let cedar_session = cedar::policy_set(std::slice::from_ref(&session));
    let reqs = requests();
    let doc_refs: Vec<&fixture::Doc> = docs.iter().chain([&session]).collect();
    let entities = cedar::entities(&doc_refs, &reqs);
    let authorizer = Authorizer::new();

    let mut allowed = 0;
    for req in &reqs {
        let context = ram::context(&req.ctx);
        let resources: Vec<&str> = req.resources.iter().map(String::as_str).collect();
        let request = rampart_request(req, &resources, &context);
        let ours = policy::decide(&[&set, &session_set], &request).outcome;

        let cedar_request = cedar::request(req);
        let layers = [&cedar_set, &cedar_session].map(|s| {
            let r = authorizer.is_authorized(&cedar_request, s, &entities);
            no_errors(req, &r);
            r
        });
        let forbidden = layers
            .iter()
            .any(|r| r.decision() == CedarDecision::Deny && !reasons(r).is_empty());
        let theirs = if forbidden {
            Outcome::ExplicitDeny
        } else if layers.iter().all(|r| r.decision() == CedarDecision::Allow) {
            Outcome::Allow
        } else {
            Outcome::ImplicitDeny
        };
        assert_eq!(ours, theirs, "{}", req.name);
        allowed += usize::from(ours == Outcome::Allow);
    }
    assert!(allowed >= 20, "only {allowed} requests allowed");
}

#[test]
fn large_policy_is_just_under_the_limit_and_valid() {
    let text = fixture::large_policy_text();
    let chars = text.chars().count();
    let limit = policy::PolicyKind::Permission.max_chars();
    assert!(chars < limit && chars > limit - 100, "{chars} characters");
    let p = policy::Policy::parse(&text, policy::PolicyKind::Permission).unwrap();
    assert!(
        p.statements.len() >= 20,
        "{} statements",
        p.statements.len()
    );
}

#[test]
fn action_groups_follow_ram_wildcards() {
    use fixture::action_glob;
    assert!(action_glob("cr:Get*", "cr:GetRepository"));
    assert!(action_glob("cr:get*", "CR:GetRepository"));
    assert!(action_glob("cr:*", "cr:PullRepository"));
    assert!(action_glob("cr:ListRepository*", "cr:ListRepository"));
    assert!(!action_glob("cr:Get*", "cr:PullRepository"));
    assert!(!action_glob("cr:Get*", "crx:GetRepository"));
    assert!(action_glob("ram:*Role", "ram:PassRole"));
}
