//! Policy-engine benchmarks. Run with `cargo bench -p rampart-bench`;
//! `bench/README.md` says what each group measures.
//!
//! - `decision/{rampart,cedar}/REQUEST`: one decision for a principal with
//!   10 attached policies of 5 statements, warm, on both engines.
//! - `decision_vs_store_size/{hot,spread}/N`: look the principal up in a
//!   store of N policies (10 per principal), then decide.
//! - `compile/…`: parse, validate and compile a document just under the
//!   6,144-character limit; build a principal's set from 10 policies.

// Benchmark set-up is constant data; a failure there is a bug in the
// benchmark and should stop it loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cedar_policy::{Authorizer, Decision as CedarDecision};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use policy::{Outcome, PolicySet};
use rampart_bench::fixture::{self, Req};
use rampart_bench::{cedar, ram};

const TEAM: &str = "team";

fn rampart_decide(layers: &[&PolicySet], req: &Req, context: &policy::Context) -> Outcome {
    let resources: Vec<&str> = req.resources.iter().map(String::as_str).collect();
    policy::decide(
        layers,
        &policy::Request {
            action: &req.action,
            resources: &resources,
            context,
        },
    )
    .outcome
}

fn decision(c: &mut Criterion) {
    let docs = fixture::principal_policies(TEAM);
    let session = fixture::session_policy(TEAM);
    let set = ram::policy_set(&docs);
    let session_set = ram::session_set(&session);

    let mut reqs = fixture::benchmarked_requests(TEAM);
    let session_req = fixture::session_request(TEAM);
    reqs.push(session_req.clone());
    let doc_refs: Vec<&fixture::Doc> = docs.iter().chain([&session]).collect();
    let cedar_set = cedar::policy_set(&docs);
    let cedar_session = cedar::policy_set(std::slice::from_ref(&session));
    let entities = cedar::entities(&doc_refs, &reqs);
    let authorizer = Authorizer::new();

    let mut group = c.benchmark_group("decision");
    group.throughput(Throughput::Elements(1));
    for req in &reqs {
        let is_session = req.name == session_req.name;
        let layers: Vec<&PolicySet> = if is_session {
            vec![&set, &session_set]
        } else {
            vec![&set]
        };
        let cedar_sets = if is_session {
            vec![&cedar_set, &cedar_session]
        } else {
            vec![&cedar_set]
        };

        // Prebuilt, as a server holds them: resources borrowed, context
        // filled in, Cedar request constructed.
        let context = ram::context(&req.ctx);
        let resources: Vec<&str> = req.resources.iter().map(String::as_str).collect();
        let request = policy::Request {
            action: &req.action,
            resources: &resources,
            context: &context,
        };
        let cedar_request = cedar::request(req);

        // Both engines must agree, or the comparison is meaningless (the
        // full check is tests/equivalence.rs).
        let ours = rampart_decide(&layers, req, &context);
        let theirs = cedar_sets.iter().all(|s| {
            authorizer
                .is_authorized(&cedar_request, s, &entities)
                .decision()
                == CedarDecision::Allow
        });
        assert_eq!(
            ours == Outcome::Allow,
            theirs,
            "{}: engines disagree",
            req.name
        );

        group.bench_function(BenchmarkId::new("rampart", &req.name), |b| {
            b.iter(|| policy::decide(black_box(&layers), black_box(&request)))
        });
        group.bench_function(BenchmarkId::new("cedar", &req.name), |b| {
            b.iter(|| {
                // Cedar has no layers: a session policy is a second
                // authorization that must also allow.
                cedar_sets.iter().all(|s| {
                    authorizer
                        .is_authorized(black_box(&cedar_request), s, &entities)
                        .decision()
                        == CedarDecision::Allow
                })
            })
        });
    }
    group.finish();
}

/// A request prepared for one principal of the store.
struct Prepared {
    principal: String,
    req: Req,
    context: policy::Context,
}

fn principal_id(i: usize) -> String {
    format!("acs:ram::{}:user/dev{i:05}", fixture::ACCOUNT)
}

fn team_of(i: usize) -> String {
    format!("team{i:05}")
}

/// A store of `policies` policies: a principal id → compiled set map, 10
/// distinct documents per principal.
fn store(policies: usize) -> HashMap<String, PolicySet> {
    let principals = policies / 10;
    (0..principals)
        .map(|i| {
            (
                principal_id(i),
                ram::policy_set(&fixture::principal_policies(&team_of(i))),
            )
        })
        .collect()
}

fn store_size(c: &mut Criterion) {
    let mut group = c.benchmark_group("decision_vs_store_size");
    group.throughput(Throughput::Elements(1));
    for policies in [10usize, 100, 1_000, 10_000, 100_000] {
        let started = Instant::now();
        let store = store(policies);
        eprintln!(
            "decision_vs_store_size: built a store of {policies} policies in {:.2?}",
            started.elapsed()
        );
        let principals = store.len();
        let prepare = |i: usize| {
            let team = team_of(i);
            let req = fixture::benchmarked_requests(&team)
                .into_iter()
                .next()
                .expect("allow_late is first");
            Prepared {
                principal: principal_id(i),
                context: ram::context(&req.ctx),
                req,
            }
        };
        // `hot`: the same principal every time (its set stays in cache).
        // `spread`: a different principal each time, in a fixed
        // pseudo-random order, so the store's size shows up in cache misses.
        let hot = vec![prepare(principals / 2)];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let spread: Vec<Prepared> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                prepare((x % principals as u64) as usize)
            })
            .collect();
        for (name, sequence) in [("hot", &hot), ("spread", &spread)] {
            for p in sequence.iter() {
                let outcome = rampart_decide(&[&store[&p.principal]], &p.req, &p.context);
                assert_eq!(outcome, Outcome::Allow);
            }
            group.bench_with_input(BenchmarkId::new(name, policies), sequence, |b, sequence| {
                let mut next = 0usize;
                b.iter(|| {
                    let p = &sequence[next % sequence.len()];
                    next = next.wrapping_add(1);
                    let set = store.get(black_box(p.principal.as_str()))?;
                    let resources = [p.req.resources[0].as_str(), p.req.resources[1].as_str()];
                    Some(policy::decide(
                        &[set],
                        &policy::Request {
                            action: &p.req.action,
                            resources: &resources,
                            context: &p.context,
                        },
                    ))
                })
            });
        }
    }
    group.finish();
}

fn compile(c: &mut Criterion) {
    let text = fixture::large_policy_text();
    let chars = text.chars().count();
    let parsed = policy::Policy::parse(&text, policy::PolicyKind::Permission).unwrap();
    eprintln!(
        "compile: the large policy has {chars} characters and {} statements",
        parsed.statements.len()
    );
    let docs: Vec<(policy::PolicyId, Arc<policy::Policy>)> = fixture::principal_policies(TEAM)
        .iter()
        .map(|d| {
            (
                policy::PolicyId::new(d.name.clone(), "v1"),
                ram::parse(d, policy::PolicyKind::Permission),
            )
        })
        .collect();

    let mut group = c.benchmark_group("compile");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("parse_6KiB", |b| {
        b.iter(|| policy::Policy::parse(black_box(&text), policy::PolicyKind::Permission))
    });
    group.throughput(Throughput::Elements(docs.len() as u64));
    group.bench_function("policy_set_10", |b| {
        b.iter(|| PolicySet::new(black_box(&docs).iter().cloned()))
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(60)
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = config();
    targets = decision, store_size, compile
}
criterion_main!(benches);
