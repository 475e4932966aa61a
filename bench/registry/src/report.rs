//! Results of one peer (JSON and a table), and the comparison of peers
//! against DESIGN.md's registry targets.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::measure::MIB;

/// Transfers of `bytes` each, `parallel` at a time, `rounds` times.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Throughput {
    pub rounds: usize,
    pub parallel: usize,
    pub bytes_per_transfer: u64,
    /// Wall time of each round.
    pub seconds: Vec<f64>,
    /// All bytes moved over the sum of the rounds' wall times.
    pub mib_per_second: f64,
    pub best_round_mib_per_second: f64,
    pub worst_round_mib_per_second: f64,
}

impl Throughput {
    pub fn new(rounds: usize, parallel: usize, bytes: u64, seconds: Vec<f64>) -> Throughput {
        let per_round = bytes as f64 * parallel as f64 / MIB;
        let total: f64 = seconds.iter().sum();
        let rate = |s: f64| if s > 0.0 { per_round / s } else { 0.0 };
        let best = seconds.iter().copied().fold(f64::INFINITY, f64::min);
        let worst = seconds.iter().copied().fold(0.0, f64::max);
        Throughput {
            rounds,
            parallel,
            bytes_per_transfer: bytes,
            mib_per_second: if total > 0.0 {
                per_round * rounds as f64 / total
            } else {
                0.0
            },
            best_round_mib_per_second: rate(best),
            worst_round_mib_per_second: rate(worst),
            seconds,
        }
    }
}

/// Percentiles in microseconds.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Latency {
    pub p50: u32,
    pub p90: u32,
    pub p99: u32,
    pub max: u32,
}

impl Latency {
    pub fn from_sorted(sorted: &[u32]) -> Latency {
        let at = |q: f64| {
            let rank = ((q * sorted.len() as f64).ceil() as usize).saturating_sub(1);
            sorted.get(rank).copied().unwrap_or(0)
        };
        Latency {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: sorted.last().copied().unwrap_or(0),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ManifestLoad {
    pub connections: usize,
    pub seconds: f64,
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub requests_per_second: f64,
    pub latency_us: Latency,
}

/// Everything measured against one peer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Results {
    pub label: String,
    pub url: String,
    pub blob_bytes: u64,
    pub blob_digest: String,
    pub blob_get_sequential: Option<Throughput>,
    pub blob_get_parallel: Option<Throughput>,
    pub manifest_get: Option<ManifestLoad>,
    pub push: Option<Throughput>,
    pub push_style: Option<String>,
    /// How many runs these figures are the median of (1 for one run).
    #[serde(default = "one")]
    pub runs: usize,
}

fn one() -> usize {
    1
}

/// The run whose `key` is the median (the lower middle for an even count).
fn pick_median<T: Clone>(items: impl Iterator<Item = T>, key: impl Fn(&T) -> f64) -> Option<T> {
    let mut items: Vec<T> = items.collect();
    items.sort_by(|a, b| key(a).total_cmp(&key(b)));
    let middle = items.len().saturating_sub(1) / 2;
    items.get(middle).cloned()
}

/// One peer's repeated runs folded into one: each measurement is taken
/// from the run where it was the median. `None` for no runs.
pub fn median(runs: Vec<Results>) -> Option<Results> {
    let mut out = runs.first()?.clone();
    out.runs = runs.len();
    out.blob_get_sequential = pick_median(
        runs.iter().filter_map(|r| r.blob_get_sequential.clone()),
        |t| t.mib_per_second,
    );
    out.blob_get_parallel = pick_median(
        runs.iter().filter_map(|r| r.blob_get_parallel.clone()),
        |t| t.mib_per_second,
    );
    out.manifest_get = pick_median(runs.iter().filter_map(|r| r.manifest_get.clone()), |m| {
        m.requests_per_second
    });
    out.push = pick_median(runs.iter().filter_map(|r| r.push.clone()), |t| {
        t.mib_per_second
    });
    Some(out)
}

fn throughput_cell(t: &Option<Throughput>) -> String {
    match t {
        Some(t) => format!(
            "{:.0} MiB/s ({} × {}, rounds {:.0}–{:.0})",
            t.mib_per_second,
            t.rounds,
            t.parallel,
            t.worst_round_mib_per_second,
            t.best_round_mib_per_second
        ),
        None => "—".to_string(),
    }
}

/// The results of one peer as a small Markdown table.
pub fn table(r: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}), blob {:.1} MiB {}{}\n",
        r.label,
        r.url,
        r.blob_bytes as f64 / MIB,
        r.blob_digest,
        if r.runs > 1 {
            format!(", median of {} runs", r.runs)
        } else {
            String::new()
        }
    );
    let _ = writeln!(out, "| measurement | result |\n|---|---|");
    let _ = writeln!(
        out,
        "| blob GET, sequential | {} |",
        throughput_cell(&r.blob_get_sequential)
    );
    let _ = writeln!(
        out,
        "| blob GET, parallel | {} |",
        throughput_cell(&r.blob_get_parallel)
    );
    if let Some(m) = &r.manifest_get {
        let _ = writeln!(
            out,
            "| manifest GET | {:.0} req/s, {} connections, {:.0} s, p50 {} µs, p90 {} µs, p99 {} µs, max {} µs, {} errors |",
            m.requests_per_second,
            m.connections,
            m.seconds,
            m.latency_us.p50,
            m.latency_us.p90,
            m.latency_us.p99,
            m.latency_us.max,
            m.errors
        );
        if let Some(e) = &m.first_error {
            let _ = writeln!(out, "| first manifest error | {e} |");
        }
    }
    if r.push.is_some() {
        let _ = writeln!(
            out,
            "| push ({}) | {} |",
            r.push_style.as_deref().unwrap_or("—"),
            throughput_cell(&r.push)
        );
    }
    out
}

fn num(value: Option<f64>, unit: &str) -> String {
    value.map_or_else(|| "—".to_string(), |v| format!("{v:.0} {unit}"))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn verdict(r: Option<f64>, need: f64) -> String {
    match r {
        Some(r) if r >= need => format!("{r:.2}× (met)"),
        Some(r) => format!("{r:.2}× (**missed**)"),
        None => "—".to_string(),
    }
}

/// One Markdown table for rampart (optional), Distribution and nginx,
/// with the ratios against DESIGN.md's targets.
pub fn compare(
    rampart: Option<&Results>,
    distribution: Option<&Results>,
    nginx: Option<&Results>,
) -> String {
    let seq = |r: Option<&Results>| {
        r.and_then(|r| r.blob_get_sequential.as_ref())
            .map(|t| t.mib_per_second)
    };
    let par = |r: Option<&Results>| {
        r.and_then(|r| r.blob_get_parallel.as_ref())
            .map(|t| t.mib_per_second)
    };
    let rps = |r: Option<&Results>| {
        r.and_then(|r| r.manifest_get.as_ref())
            .map(|m| m.requests_per_second)
    };
    let p50 = |r: Option<&Results>| {
        r.and_then(|r| r.manifest_get.as_ref())
            .map(|m| f64::from(m.latency_us.p50))
    };
    let p99 = |r: Option<&Results>| {
        r.and_then(|r| r.manifest_get.as_ref())
            .map(|m| f64::from(m.latency_us.p99))
    };
    let push = |r: Option<&Results>| r.and_then(|r| r.push.as_ref()).map(|t| t.mib_per_second);

    let mut out = String::new();
    let _ = writeln!(
        out,
        "| measurement | rampart | Distribution | nginx | rampart / Distribution (target) | rampart / nginx (target) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---|---|");
    // (row, value, unit, target vs Distribution, target vs nginx)
    type Row<'a> = (
        &'a str,
        &'a dyn Fn(Option<&Results>) -> Option<f64>,
        &'a str,
        Option<f64>,
        Option<f64>,
    );
    let rows: [Row<'_>; 6] = [
        (
            "blob GET 100 MiB, sequential",
            &seq,
            "MiB/s",
            Some(1.0),
            Some(0.9),
        ),
        (
            "blob GET 100 MiB, 8 parallel",
            &par,
            "MiB/s",
            Some(1.0),
            Some(0.9),
        ),
        (
            "manifest GET, token auth, 8 conns",
            &rps,
            "req/s",
            Some(5.0),
            None,
        ),
        ("manifest GET p50", &p50, "µs", None, None),
        ("manifest GET p99", &p99, "µs", None, None),
        (
            "push 100 MiB (digest verified)",
            &push,
            "MiB/s",
            Some(2.0),
            None,
        ),
    ];
    for (name, pick, unit, vs_dist, vs_nginx) in rows {
        let (r, d, n) = (pick(rampart), pick(distribution), pick(nginx));
        let dist_cell = match vs_dist {
            Some(need) => format!("{} (≥ {need}×)", verdict(ratio(r, d), need)),
            None => ratio(r, d).map_or_else(|| "—".to_string(), |x| format!("{x:.2}×")),
        };
        let nginx_cell = match vs_nginx {
            Some(need) => format!("{} (≥ {need}×)", verdict(ratio(r, n), need)),
            None => "".to_string(),
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {dist_cell} | {nginx_cell} |",
            num(r, unit),
            num(d, unit),
            num(n, unit)
        );
    }
    if rampart.is_none() {
        let _ = writeln!(
            out,
            "\nrampart was not measured (no registry set-up yet), so the ratio columns are empty."
        );
    }
    let _ = writeln!(
        out,
        "\nDistribution / nginx, blob GET: sequential {}, parallel {}.",
        ratio(seq(distribution), seq(nginx)).map_or_else(|| "—".into(), |x| format!("{x:.2}×")),
        ratio(par(distribution), par(nginx)).map_or_else(|| "—".into(), |x| format!("{x:.2}×")),
    );
    out
}
