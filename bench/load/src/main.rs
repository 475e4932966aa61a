//! `rampart-load`: measures, in one run against a running `rampart serve`
//! on loopback, the no-op route (`GET /healthz`) and signed V1 STS
//! `AssumeRole` (or, with `--mode ram-read`, a signed RAM `GetUser`), then
//! the same signed call paced at a fraction of the no-op throughput, and
//! prints a Markdown report. DESIGN.md's target: AssumeRole throughput
//! ≥ 50% of the no-op route's, with p99 ≤ 5 ms at that load.
//!
//! Exit status: 0 when every request got the expected answer, 1 when any
//! failed (the report says which), 2 on bad arguments or a failed set-up.

mod cpu;
mod fixture;
mod http;
mod load;
mod report;
mod sign;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::load::{Plan, Route, Shared};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// STS AssumeRole (2015-04-01), the measurement DESIGN.md targets.
    AssumeRole,
    /// RAM GetUser (2015-05-01): a signed call through the same checks,
    /// for servers without STS.
    RamRead,
}

/// Load harness for `rampart serve` on loopback: the no-op route against
/// signed V1 calls.
#[derive(Debug, Parser)]
#[command(name = "rampart-load")]
struct Args {
    /// The server's address; loopback only (127.0.0.0/8 or ::1).
    #[arg(long, default_value = "127.0.0.1:8080")]
    target: SocketAddr,
    /// The server's `first-account.json` (the root AccessKey that sets up
    /// the fixture).
    #[arg(long)]
    account_file: PathBuf,
    /// The signed call to measure against the no-op route.
    #[arg(long, value_enum, default_value_t = Mode::AssumeRole)]
    mode: Mode,
    /// Concurrent keep-alive connections, one request in flight on each.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=512))]
    connections: u16,
    /// Measured seconds per phase.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Warm-up seconds before each phase's measured window.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// End each measured window after this many requests (the duration
    /// still bounds it).
    #[arg(long)]
    requests: Option<u64>,
    /// Worker threads of the client's runtime.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    client_threads: u16,
    /// After the closed-loop phases, send the signed call at this fraction
    /// of the measured no-op throughput and report its latency there
    /// (0 skips the paced phase).
    #[arg(long, default_value_t = 0.5)]
    paced_fraction: f64,
    /// Pace the third phase at this many requests per second instead
    /// (run even when above the signed call's closed-loop maximum).
    #[arg(long)]
    paced_rate: Option<f64>,
    /// The server's pid, to report its CPU use per phase.
    #[arg(long)]
    server_pid: Option<u32>,
    /// A word for the report's heading (e.g. `unpinned`, `pinned`).
    #[arg(long, default_value = "")]
    label: String,
}

fn seconds(name: &str, value: f64, max: f64) -> Result<Duration, String> {
    if value.is_finite() && value >= 0.0 && value <= max {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(format!("--{name} must be between 0 and {max} seconds"))
    }
}

/// The arguments, checked: bounded in time and addressed to this machine.
struct Settings {
    args: Args,
    warmup: Duration,
    duration: Duration,
}

fn check(args: Args) -> Result<Settings, String> {
    if !args.target.ip().is_loopback() {
        return Err(format!(
            "--target {}: only loopback addresses (127.0.0.0/8, ::1) are load targets",
            args.target
        ));
    }
    let warmup = seconds("warmup", args.warmup, 60.0)?;
    let duration = seconds("duration", args.duration, 300.0)?;
    if duration.is_zero() {
        return Err("--duration must be more than 0".into());
    }
    if !(args.paced_fraction.is_finite() && (0.0..=1.0).contains(&args.paced_fraction)) {
        return Err("--paced-fraction must be between 0 and 1".into());
    }
    if args
        .paced_rate
        .is_some_and(|r| !(r.is_finite() && r > 0.0 && r <= 1e6))
    {
        return Err("--paced-rate must be more than 0 and at most 1000000".into());
    }
    if args.requests == Some(0) {
        return Err("--requests must be at least 1".into());
    }
    Ok(Settings {
        args,
        warmup,
        duration,
    })
}

/// Waits until `/healthz` answers (at most 10 s).
async fn wait_ready(addr: SocketAddr) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let last = match http::Connection::open(addr).await {
            Ok(mut conn) => match conn.get("/healthz").await {
                Ok((status, _)) if status.is_success() => return Ok(()),
                Ok((status, _)) => format!("HTTP {status}"),
                Err(e) => e,
            },
            Err(e) => e,
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("{addr} is not serving /healthz: {last}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One request of `route` before the load, so that a server that cannot
/// answer it (no STS yet, a fixture problem) fails fast and clearly.
async fn preflight(shared: &Shared, route: Route) -> Result<(), String> {
    let mut conn = http::Connection::open(shared.addr).await?;
    let (status, body) = conn.get(&shared.path(route)).await?;
    load::check(route, status, &body).map_err(|e| format!("{}: {e}", route.describe()))
}

async fn measure(settings: &Settings, shared: Arc<Shared>) -> Result<report::Run, String> {
    let args = &settings.args;
    let route = match args.mode {
        Mode::AssumeRole => Route::AssumeRole,
        Mode::RamRead => Route::RamRead,
    };
    preflight(&shared, route).await?;
    let plan = |route| Plan {
        route,
        connections: usize::from(args.connections),
        warmup: settings.warmup,
        duration: settings.duration,
        max_requests: args.requests,
        rate: None,
        server_pid: args.server_pid,
    };
    let phase = |name: &str, plan: &Plan| {
        eprintln!(
            "rampart-load: {name}: {} for {:.0} s after {:.0} s warm-up, {} connections{}",
            plan.route.describe(),
            plan.duration.as_secs_f64(),
            plan.warmup.as_secs_f64(),
            plan.connections,
            plan.rate
                .map_or_else(String::new, |r| format!(", paced at {r:.0} req/s")),
        );
    };
    let noop_plan = plan(Route::Noop);
    phase("1/3", &noop_plan);
    let noop = load::run(Arc::clone(&shared), noop_plan).await;
    let signed_plan = plan(route);
    phase("2/3", &signed_plan);
    let signed = load::run(Arc::clone(&shared), signed_plan).await;
    // The third phase answers "p99 at that load": the signed call at half
    // the no-op's throughput. When its closed-loop maximum is below that,
    // the throughput target is already missed and pacing there would only
    // measure a queue, so it is skipped (unless a rate is given).
    let asked = args
        .paced_rate
        .or_else(|| (args.paced_fraction > 0.0).then(|| noop.throughput() * args.paced_fraction));
    let (paced, paced_note) = match asked {
        Some(rate) if args.paced_rate.is_none() && rate > signed.throughput() => (
            None,
            Some(format!(
                "not run: {rate:.0} req/s ({:.0}% of the no-op) is above the signed call's \
                 closed-loop maximum of {:.0} req/s",
                args.paced_fraction * 100.0,
                signed.throughput()
            )),
        ),
        Some(rate) if rate > 0.0 => {
            let paced_plan = Plan {
                rate: Some(rate),
                ..plan(route)
            };
            phase("3/3", &paced_plan);
            (Some(load::run(Arc::clone(&shared), paced_plan).await), None)
        }
        _ => (None, None),
    };
    Ok(report::Run {
        label: args.label.clone(),
        target: args.target,
        client_threads: args.client_threads,
        client_cpus: cpu::allowed_cpus(None),
        server_cpus: args.server_pid.and_then(|pid| cpu::allowed_cpus(Some(pid))),
        noop,
        signed,
        paced,
        paced_note,
    })
}

async fn main_async(settings: Settings) -> ExitCode {
    let args = &settings.args;
    let root = match fixture::Root::read(&args.account_file) {
        Ok(root) => root,
        Err(e) => {
            eprintln!("rampart-load: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = wait_ready(args.target).await {
        eprintln!("rampart-load: {e}");
        return ExitCode::from(2);
    }
    let nonces = sign::NonceSource::new();
    let fixture = match fixture::set_up(args.target, &root, &nonces).await {
        Ok(fixture) => fixture,
        Err(e) => {
            eprintln!("rampart-load: setting up the fixture: {e}");
            return ExitCode::from(2);
        }
    };
    let shared = Arc::new(Shared {
        addr: args.target,
        key: fixture.key.clone(),
        role_arn: fixture.role_arn.clone(),
        nonces,
    });
    let measured = measure(&settings, Arc::clone(&shared)).await;
    if let Err(e) = fixture::tear_down(args.target, &root, &shared.nonces, &fixture).await {
        eprintln!("rampart-load: deleting the run's AccessKey: {e}");
    }
    match measured {
        Ok(run) => {
            print!("{}", report::markdown(&run));
            if run.errors() == 0 {
                ExitCode::SUCCESS
            } else {
                eprintln!("rampart-load: FAILED: {} requests failed", run.errors());
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("rampart-load: FAILED before the load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let settings = match check(Args::parse()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("rampart-load: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(settings.args.client_threads))
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("rampart-load: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(main_async(settings))
}
