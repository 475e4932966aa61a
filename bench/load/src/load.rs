//! The load itself: N workers, each with its own keep-alive connection,
//! sending one request at a time (closed loop), or on a fixed schedule
//! (paced, open loop) when a rate is given.
//!
//! A phase is a warm-up then a measured window. Only requests sent inside
//! the window and answered before it closes are measured (paced: those
//! scheduled inside it). Every failed request counts as an error, in the
//! warm-up too.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::StatusCode;
use serde::Deserialize;

use crate::cpu::{self, CpuUse};
use crate::fixture::USER;
use crate::http::Connection;
use crate::sign::{signed_query, Key, NonceSource};

/// What a phase sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz`: the server's no-op route.
    Noop,
    /// STS `AssumeRole` (2015-04-01), signed V1 by `loader`.
    AssumeRole,
    /// RAM `GetUser` (2015-05-01) of `loader`, signed V1 by `loader`.
    RamRead,
}

impl Route {
    pub fn describe(self) -> &'static str {
        match self {
            Route::Noop => "GET /healthz (no-op)",
            Route::AssumeRole => "STS AssumeRole, signed V1",
            Route::RamRead => "RAM GetUser, signed V1 (stand-in)",
        }
    }
}

/// What every worker shares: where to send, and how to sign.
pub struct Shared {
    pub addr: SocketAddr,
    pub key: Key,
    pub role_arn: String,
    pub nonces: NonceSource,
}

impl Shared {
    /// The path and query of the next request of `route`: a signed one
    /// gets a fresh `Timestamp` and a new `SignatureNonce` every time.
    pub fn path(&self, route: Route) -> String {
        let business: &[(&str, &str)] = match route {
            Route::Noop => return "/healthz".to_owned(),
            Route::AssumeRole => &[
                ("Action", "AssumeRole"),
                ("Version", "2015-04-01"),
                ("RoleArn", &self.role_arn),
                ("RoleSessionName", "loader"),
                ("DurationSeconds", "3600"),
            ],
            Route::RamRead => &[
                ("Action", "GetUser"),
                ("Version", "2015-05-01"),
                ("UserName", USER),
            ],
        };
        format!(
            "/?{}",
            signed_query(&self.key, &self.nonces.next(), business)
        )
    }
}

#[derive(Deserialize)]
struct StsCredentials {
    #[serde(rename = "AccessKeyId")]
    access_key_id: String,
    #[serde(rename = "AccessKeySecret")]
    access_key_secret: String,
    #[serde(rename = "SecurityToken")]
    security_token: String,
    #[serde(rename = "Expiration")]
    expiration: String,
}

#[derive(Deserialize)]
struct AssumeRoleAnswer {
    #[serde(rename = "Credentials")]
    credentials: StsCredentials,
}

#[derive(Deserialize)]
struct UserName {
    #[serde(rename = "UserName")]
    user_name: String,
}

#[derive(Deserialize)]
struct GetUserAnswer {
    #[serde(rename = "User")]
    user: UserName,
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

/// Whether an answer is what `route` must answer: 200 and, for AssumeRole,
/// a complete set of credentials that expire in the future.
pub fn check(route: Route, status: StatusCode, body: &Bytes) -> Result<(), String> {
    if status != StatusCode::OK {
        return Err(format!("HTTP {status}: {}", snippet(body)));
    }
    match route {
        Route::Noop => {
            if body.as_ref() == b"ok" {
                Ok(())
            } else {
                Err(format!("unexpected body {}", snippet(body)))
            }
        }
        Route::AssumeRole => {
            let answer: AssumeRoleAnswer = serde_json::from_slice(body)
                .map_err(|e| format!("no Credentials ({e}): {}", snippet(body)))?;
            let c = &answer.credentials;
            if c.access_key_id.is_empty()
                || c.access_key_secret.is_empty()
                || c.security_token.is_empty()
            {
                return Err(format!("empty credential field: {}", snippet(body)));
            }
            let expires = auth::Timestamp::parse(&c.expiration)
                .map_err(|e| format!("Credentials.Expiration: {e}"))?;
            if expires <= auth::Timestamp::now() {
                return Err(format!("credentials already expired at {}", c.expiration));
            }
            Ok(())
        }
        Route::RamRead => {
            let answer: GetUserAnswer = serde_json::from_slice(body)
                .map_err(|e| format!("no User ({e}): {}", snippet(body)))?;
            if answer.user.user_name == USER {
                Ok(())
            } else {
                Err(format!("wrong user {:?}", answer.user.user_name))
            }
        }
    }
}

/// One phase.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub route: Route,
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Stop the measured window after this many measured requests.
    pub max_requests: Option<u64>,
    /// Paced: this many requests per second in total, spread evenly over
    /// the connections; `None` is closed loop.
    pub rate: Option<f64>,
    /// The server's pid, to report its CPU use over the window.
    pub server_pid: Option<u32>,
}

/// When the measured window is.
#[derive(Clone, Copy)]
struct Clock {
    start: Instant,
    from: Instant,
    until: Instant,
}

/// What one worker saw.
#[derive(Default)]
struct Seen {
    /// Nanoseconds from send to the last byte of the answer.
    latencies: Vec<u64>,
    /// Paced: nanoseconds the send was behind its schedule.
    lags: Vec<u64>,
    /// Paced: nanoseconds from the scheduled send to the answer.
    from_schedule: Vec<u64>,
    errors: u64,
    samples: Vec<String>,
    last_done: Option<Instant>,
}

impl Seen {
    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.samples.len() < 3 && !self.samples.contains(&what) {
            self.samples.push(what);
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

async fn worker(
    shared: Arc<Shared>,
    plan: Plan,
    clock: Clock,
    index: usize,
    measured: Arc<AtomicU64>,
) -> Seen {
    let mut seen = Seen::default();
    let mut connection: Option<Connection> = None;
    let cap = plan.max_requests.unwrap_or(u64::MAX);
    // Paced: connection i sends at start + (i/N + k) * N/rate.
    let pacing = plan.rate.map(|rate| {
        let interval = Duration::from_secs_f64(plan.connections as f64 / rate);
        let offset = interval.mul_f64(index as f64 / plan.connections as f64);
        (interval, offset)
    });
    let mut k: u64 = 0;
    loop {
        let scheduled = match pacing {
            Some((interval, offset)) => {
                let at = clock.start + offset + interval.mul_f64(k as f64);
                k += 1;
                at
            }
            None => Instant::now(),
        };
        // Paced and behind schedule: what could not be sent before the
        // window closed is dropped, not sent late (the phase ends on time,
        // and the report compares the rate achieved with the rate asked).
        if scheduled >= clock.until
            || Instant::now() >= clock.until
            || measured.load(Ordering::Relaxed) >= cap
        {
            break;
        }
        if pacing.is_some() {
            tokio::time::sleep_until(scheduled.into()).await;
        }
        let conn = match connection.as_mut() {
            Some(conn) => conn,
            None => match Connection::open(shared.addr).await {
                Ok(conn) => connection.insert(conn),
                Err(e) => {
                    seen.error(e);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let path = shared.path(plan.route);
        let sent = Instant::now();
        let answer = conn.get(&path).await;
        let done = Instant::now();
        let verdict = match answer {
            Ok((status, body)) => check(plan.route, status, &body),
            Err(e) => {
                connection = None;
                Err(e)
            }
        };
        if let Err(e) = verdict {
            seen.error(e);
            continue;
        }
        let in_window = if pacing.is_some() {
            scheduled >= clock.from && sent < clock.until
        } else {
            sent >= clock.from && done <= clock.until
        };
        if in_window && measured.fetch_add(1, Ordering::Relaxed) < cap {
            seen.latencies.push(nanos(done - sent));
            if pacing.is_some() {
                seen.lags
                    .push(nanos(sent.saturating_duration_since(scheduled)));
                seen.from_schedule
                    .push(nanos(done.saturating_duration_since(scheduled)));
            }
            seen.last_done = Some(done);
        }
    }
    seen
}

/// A phase's figures.
pub struct Outcome {
    pub plan: Plan,
    /// Successful requests in the measured window.
    pub requests: u64,
    /// Failed requests, warm-up included.
    pub errors: u64,
    pub error_samples: Vec<String>,
    /// The measured window's length.
    pub window: Duration,
    /// Sorted, nanoseconds.
    pub latencies: Vec<u64>,
    /// Paced: sorted send lags, nanoseconds.
    pub lags: Vec<u64>,
    /// Paced: sorted times from scheduled send to answer, nanoseconds
    /// (latency corrected for coordinated omission).
    pub from_schedule: Vec<u64>,
    pub server_cpu: Option<CpuUse>,
    pub client_cpu: Option<CpuUse>,
}

/// The nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

impl Outcome {
    pub fn throughput(&self) -> f64 {
        let secs = self.window.as_secs_f64();
        if secs > 0.0 {
            self.requests as f64 / secs
        } else {
            0.0
        }
    }

    pub fn latency(&self, p: f64) -> Option<u64> {
        percentile(&self.latencies, p)
    }

    pub fn max(&self) -> Option<u64> {
        self.latencies.last().copied()
    }
}

/// Runs one phase to its end.
pub async fn run(shared: Arc<Shared>, plan: Plan) -> Outcome {
    let start = Instant::now();
    let from = start + plan.warmup;
    let clock = Clock {
        start,
        from,
        until: from + plan.duration,
    };
    let measured = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..plan.connections)
        .map(|index| {
            tokio::spawn(worker(
                Arc::clone(&shared),
                plan,
                clock,
                index,
                Arc::clone(&measured),
            ))
        })
        .collect();

    tokio::time::sleep_until(from.into()).await;
    let cpu_from = (
        plan.server_pid.and_then(cpu::of_pid),
        cpu::of_self(),
        Instant::now(),
    );

    let mut seen = Seen::default();
    let mut last_done = None;
    for worker in workers {
        match worker.await {
            Ok(part) => {
                seen.latencies.extend(part.latencies);
                seen.lags.extend(part.lags);
                seen.from_schedule.extend(part.from_schedule);
                seen.errors += part.errors;
                for sample in part.samples {
                    if seen.samples.len() < 5 && !seen.samples.contains(&sample) {
                        seen.samples.push(sample);
                    }
                }
                last_done = last_done.max(part.last_done);
            }
            Err(e) => seen.error(format!("worker failed: {e}")),
        }
    }
    let cpu_until = (
        plan.server_pid.and_then(cpu::of_pid),
        cpu::of_self(),
        Instant::now(),
    );
    let wall = cpu_until.2 - cpu_from.2;
    let server_cpu = match (cpu_from.0, cpu_until.0) {
        (Some(a), Some(b)) => Some(CpuUse::between(a, b, wall)),
        _ => None,
    };
    let client_cpu = match (cpu_from.1, cpu_until.1) {
        (Some(a), Some(b)) => Some(CpuUse::between(a, b, wall)),
        _ => None,
    };

    let requests = seen.latencies.len() as u64;
    let capped = plan.max_requests.is_some_and(|cap| requests >= cap);
    let window = match (capped, last_done) {
        (true, Some(done)) if plan.rate.is_none() => done.saturating_duration_since(from),
        _ => plan.duration,
    };
    seen.latencies.sort_unstable();
    seen.lags.sort_unstable();
    seen.from_schedule.sort_unstable();
    Outcome {
        plan,
        requests,
        errors: seen.errors,
        error_samples: seen.samples,
        window,
        latencies: seen.latencies,
        lags: seen.lags,
        from_schedule: seen.from_schedule,
        server_cpu,
        client_cpu,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), Some(50));
        assert_eq!(percentile(&values, 99.0), Some(99));
        assert_eq!(percentile(&values, 100.0), Some(100));
        assert_eq!(percentile(&values, 0.0), Some(1));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn answers_are_checked() {
        let ok = Bytes::from_static(
            br#"{"RequestId":"r","AssumedRoleUser":{"Arn":"a","AssumedRoleId":"i"},
                "Credentials":{"AccessKeyId":"STS.x","AccessKeySecret":"s",
                "SecurityToken":"t","Expiration":"2999-01-01T00:00:00Z"}}"#,
        );
        assert!(check(Route::AssumeRole, StatusCode::OK, &ok).is_ok());
        assert!(check(Route::AssumeRole, StatusCode::FORBIDDEN, &ok).is_err());
        let expired = Bytes::from_static(
            br#"{"Credentials":{"AccessKeyId":"STS.x","AccessKeySecret":"s",
                "SecurityToken":"t","Expiration":"2000-01-01T00:00:00Z"}}"#,
        );
        assert!(check(Route::AssumeRole, StatusCode::OK, &expired).is_err());
        let empty = Bytes::from_static(
            br#"{"Credentials":{"AccessKeyId":"STS.x","AccessKeySecret":"",
                "SecurityToken":"t","Expiration":"2999-01-01T00:00:00Z"}}"#,
        );
        assert!(check(Route::AssumeRole, StatusCode::OK, &empty).is_err());
        let error = Bytes::from_static(br#"{"Code":"InvalidAction.NotFound"}"#);
        assert!(check(Route::AssumeRole, StatusCode::OK, &error).is_err());
        assert!(check(Route::Noop, StatusCode::OK, &Bytes::from_static(b"ok")).is_ok());
        let user = Bytes::from_static(br#"{"User":{"UserName":"loader"},"RequestId":"r"}"#);
        assert!(check(Route::RamRead, StatusCode::OK, &user).is_ok());
    }
}
