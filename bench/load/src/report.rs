//! The Markdown report of one run.

use std::fmt::Write as _;
use std::net::SocketAddr;

use crate::cpu::CpuUse;
use crate::load::{Outcome, Route};

/// DESIGN.md: signed AssumeRole throughput ≥ this share of the no-op's.
const TARGET_RATIO: f64 = 0.5;
/// DESIGN.md: p99 at that load ≤ this many milliseconds.
const TARGET_P99_MS: f64 = 5.0;

/// Everything one run measured.
pub struct Run {
    pub label: String,
    pub target: SocketAddr,
    pub client_threads: u16,
    pub client_cpus: Option<String>,
    /// Known when the server's pid was given.
    pub server_cpus: Option<String>,
    pub noop: Outcome,
    pub signed: Outcome,
    pub paced: Option<Outcome>,
    /// Why there is no paced phase, when it was skipped.
    pub paced_note: Option<String>,
}

impl Run {
    fn phases(&self) -> impl Iterator<Item = &Outcome> {
        [&self.noop, &self.signed]
            .into_iter()
            .chain(self.paced.as_ref())
    }

    /// Failed requests over every phase.
    pub fn errors(&self) -> u64 {
        self.phases().map(|o| o.errors).sum()
    }
}

fn ms(nanos: Option<u64>) -> String {
    nanos.map_or_else(|| "–".to_owned(), |n| format!("{:.2} ms", n as f64 / 1e6))
}

fn short(route: Route) -> &'static str {
    match route {
        Route::Noop => "no-op",
        Route::AssumeRole => "AssumeRole",
        Route::RamRead => "GetUser",
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "missed"
    }
}

fn row(out: &mut String, name: &str, o: &Outcome) {
    // Cores kept busy, and CPU time per measured request.
    let cpu = |used: Option<CpuUse>| {
        used.map_or_else(
            || "–".to_owned(),
            |c| {
                let per = c
                    .micros_per(o.requests)
                    .map_or_else(String::new, |us| format!(", {us:.0} µs/req"));
                format!("{:.2} cores{per}", c.cores())
            },
        )
    };
    let server = cpu(o.server_cpu);
    let client = cpu(o.client_cpu);
    let _ = writeln!(
        out,
        "| {name} | {} | {} | {:.0} | {} | {} | {} | {} | {server} | {client} |",
        o.requests,
        o.errors,
        o.throughput(),
        ms(o.latency(50.0)),
        ms(o.latency(99.0)),
        ms(o.latency(99.9)),
        ms(o.max()),
    );
}

/// The report, as Markdown.
pub fn markdown(run: &Run) -> String {
    let mut out = String::new();
    let heading = if run.label.is_empty() {
        "rampart-load".to_owned()
    } else {
        format!("rampart-load: {}", run.label)
    };
    let plan = &run.noop.plan;
    let _ = writeln!(out, "### {heading}\n");
    let _ = writeln!(
        out,
        "Target `{}`; {} keep-alive connections with one request in flight on each; \
         {:.0} s measured after {:.0} s of warm-up per phase.",
        run.target,
        plan.connections,
        plan.duration.as_secs_f64(),
        plan.warmup.as_secs_f64(),
    );
    let client_cpus = run.client_cpus.as_deref().unwrap_or("?");
    let threads = format!(
        "{} runtime thread{}",
        run.client_threads,
        if run.client_threads == 1 { "" } else { "s" }
    );
    // All the machine's CPUs, whatever this process is pinned to.
    let machine = std::fs::read_to_string("/proc/cpuinfo").map_or(0, |info| {
        info.lines().filter(|l| l.starts_with("processor")).count()
    });
    let _ = match run.server_cpus.as_deref() {
        Some(server) if server != client_cpus => writeln!(
            out,
            "Server pinned to CPU {server}, client (this process, {threads}) to CPU {client_cpus}, \
             of the machine's {machine}: each side has its own core.\n"
        ),
        _ => writeln!(
            out,
            "The server and this client ({threads}) share the machine's {machine} CPUs \
             (both allowed on CPUs {client_cpus}), so each side's throughput is bounded by \
             what the other leaves.\n"
        ),
    };
    let _ = writeln!(
        out,
        "| phase | requests | errors | req/s | p50 | p99 | p99.9 | max | server CPU | client CPU |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    row(&mut out, run.noop.plan.route.describe(), &run.noop);
    row(&mut out, run.signed.plan.route.describe(), &run.signed);
    let noop = run.noop.throughput();
    let share = |rate: f64| if noop > 0.0 { rate / noop * 100.0 } else { 0.0 };
    if let Some(paced) = &run.paced {
        let asked = paced.plan.rate.unwrap_or(0.0);
        let name = format!(
            "{} paced: {asked:.0} req/s asked ({:.0}% of no-op)",
            short(paced.plan.route),
            share(asked),
        );
        row(&mut out, &name, paced);
    }
    out.push('\n');

    let signed = short(run.signed.plan.route);
    let ratio = if noop > 0.0 {
        run.signed.throughput() / noop
    } else {
        0.0
    };
    let _ = writeln!(
        out,
        "- {signed} / no-op throughput: **{ratio:.2}** (target ≥ {TARGET_RATIO:.2}: {})",
        verdict(ratio >= TARGET_RATIO)
    );
    let _ = writeln!(
        out,
        "- {signed} p99 at full closed-loop load: {}",
        ms(run.signed.latency(99.0))
    );
    if let Some(paced) = &run.paced {
        let asked = paced.plan.rate.unwrap_or(0.0);
        let achieved = paced.throughput();
        let kept = asked > 0.0 && achieved >= asked * 0.98;
        let p99 = paced.latency(99.0);
        let p99_ms = p99.map_or(f64::INFINITY, |n| n as f64 / 1e6);
        let lag = crate::load::percentile(&paced.lags, 99.0);
        let at_target = share(asked) >= TARGET_RATIO * 100.0 - 0.5;
        let _ =
            writeln!(
            out,
            "- {signed} p99 paced at {asked:.0} req/s ({:.0}% of the no-op throughput): **{}** \
             from send to answer{}; {achieved:.0} req/s achieved ({}); p99 from the scheduled \
             send {} (adds waiting for the connection's previous answer and ≤ 1 ms of timer \
             slack); sends behind schedule by p99 {}",
            share(asked),
            ms(p99),
            if at_target {
                format!(
                    " (target ≤ {TARGET_P99_MS} ms at ≥ {:.0}%: {})",
                    TARGET_RATIO * 100.0,
                    verdict(kept && p99_ms <= TARGET_P99_MS)
                )
            } else {
                String::new()
            },
            if kept { "schedule kept" } else { "schedule NOT kept" },
            ms(crate::load::percentile(&paced.from_schedule, 99.0)),
            ms(lag),
        );
    }
    if let Some(note) = &run.paced_note {
        let _ = writeln!(out, "- {signed} paced phase {note}");
    }
    let errors = run.errors();
    if errors == 0 {
        let _ = writeln!(
            out,
            "- Every answer was a 200 with the expected body{}: run OK",
            if run.signed.plan.route == Route::AssumeRole {
                " (AssumeRole: complete, unexpired Credentials)"
            } else {
                ""
            }
        );
    } else {
        let _ = writeln!(out, "- **FAILED: {errors} requests failed.** First errors:");
        for o in run.phases() {
            for sample in &o.error_samples {
                let _ = writeln!(out, "  - {}: `{sample}`", short(o.plan.route));
            }
        }
    }
    out
}
