//! Prints the medians of the last `cargo bench -p rampart-bench` run as
//! Markdown tables, with the Cedar/rampart ratio per request.
//!
//! `cargo run -p rampart-bench --bin report [CRITERION_DIR]`; the directory
//! defaults to the workspace's `target/criterion`.

// A command-line tool for people: failing loudly on a malformed file is
// the right behaviour.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Median of one benchmark, in nanoseconds, with its 95% interval.
struct Median {
    point: f64,
    low: f64,
    high: f64,
}

fn collect(dir: &Path, out: &mut BTreeMap<String, Median>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            let read = |name: &str| -> Option<Value> {
                serde_json::from_str(&fs::read_to_string(path.join(name)).ok()?).ok()
            };
            if let (Some(bench), Some(est)) = (read("benchmark.json"), read("estimates.json")) {
                let id = bench["full_id"].as_str().unwrap_or_default().to_string();
                let m = &est["median"];
                let num = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
                out.insert(
                    id,
                    Median {
                        point: num(&m["point_estimate"]),
                        low: num(&m["confidence_interval"]["lower_bound"]),
                        high: num(&m["confidence_interval"]["upper_bound"]),
                    },
                );
            }
        } else {
            collect(&path, out);
        }
    }
}

fn human(ns: f64) -> String {
    if ns >= 1_000_000.0 {
        format!("{:.2} ms", ns / 1_000_000.0)
    } else if ns >= 1_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

fn main() {
    let dir = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/criterion"),
        PathBuf::from,
    );
    let mut medians = BTreeMap::new();
    collect(&dir, &mut medians);
    if medians.is_empty() {
        eprintln!(
            "no criterion results under {}; run `cargo bench -p rampart-bench` first",
            dir.display()
        );
        std::process::exit(1);
    }

    println!("| benchmark | median | 95% interval of the median |");
    println!("|---|---:|---|");
    for (id, m) in &medians {
        println!(
            "| `{id}` | {} | {} – {} |",
            human(m.point),
            human(m.low),
            human(m.high)
        );
    }

    println!();
    println!("| request | rampart | cedar | cedar / rampart |");
    println!("|---|---:|---:|---:|");
    for (id, ours) in &medians {
        let Some(request) = id.strip_prefix("decision/rampart/") else {
            continue;
        };
        if let Some(theirs) = medians.get(&format!("decision/cedar/{request}")) {
            println!(
                "| {request} | {} | {} | {:.0}× |",
                human(ours.point),
                human(theirs.point),
                theirs.point / ours.point
            );
        }
    }
}
