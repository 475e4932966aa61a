//! CPU time of a process (all its threads), from Linux's `/proc/PID/stat`,
//! so the report can say how the two shared cores were split between
//! server and client, and what one request costs the server.

use std::time::Duration;

/// `utime` and `stime` are in clock ticks: `USER_HZ`, which Linux fixes at
/// 100 for user space on every architecture it ships (`sysconf(_SC_CLK_TCK)`).
const TICKS_PER_SECOND: u64 = 100;

/// User + system CPU time consumed so far.
#[derive(Debug, Clone, Copy)]
pub struct CpuTime(Duration);

fn parse_stat(text: &str) -> Option<CpuTime> {
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses,
    // so count fields after the last `)`. utime and stime are fields 14
    // and 15 of the line, the 12th and 13th after `)`.
    let (_, rest) = text.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = utime.checked_add(stime)?;
    Some(CpuTime(Duration::from_millis(
        ticks.checked_mul(1000 / TICKS_PER_SECOND)?,
    )))
}

fn read(path: &str) -> Option<CpuTime> {
    parse_stat(&std::fs::read_to_string(path).ok()?)
}

/// The CPU time of process `pid` (None when it cannot be read).
pub fn of_pid(pid: u32) -> Option<CpuTime> {
    read(&format!("/proc/{pid}/stat"))
}

/// This process's CPU time.
pub fn of_self() -> Option<CpuTime> {
    read("/proc/self/stat")
}

/// CPU used over a wall-clock window.
#[derive(Debug, Clone, Copy)]
pub struct CpuUse {
    pub cpu: Duration,
    pub wall: Duration,
}

impl CpuUse {
    pub fn between(from: CpuTime, until: CpuTime, wall: Duration) -> CpuUse {
        CpuUse {
            cpu: until.0.saturating_sub(from.0),
            wall,
        }
    }

    /// Cores kept busy on average (1.0 = one core all the time).
    pub fn cores(&self) -> f64 {
        let wall = self.wall.as_secs_f64();
        if wall > 0.0 {
            self.cpu.as_secs_f64() / wall
        } else {
            0.0
        }
    }

    /// CPU microseconds per request, over `requests`.
    pub fn micros_per(&self, requests: u64) -> Option<f64> {
        (requests > 0).then(|| self.cpu.as_secs_f64() * 1e6 / requests as f64)
    }
}

/// The CPUs a process may run on (`Cpus_allowed_list` of
/// `/proc/PID/status`), e.g. `0-1` or `1`; `None` is this process.
pub fn allowed_cpus(pid: Option<u32>) -> Option<String> {
    let path = pid.map_or_else(
        || "/proc/self/status".to_owned(),
        |pid| format!("/proc/{pid}/status"),
    );
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .map(|list| list.trim().to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn parses_a_stat_line_with_an_odd_name() {
        let line =
            "4242 (ram (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 7 0 1 2 3";
        let time = parse_stat(line).unwrap();
        assert_eq!(time.0, Duration::from_millis(2810));
    }

    #[test]
    fn reads_itself() {
        assert!(of_self().is_some());
        assert!(allowed_cpus(None).is_some());
        assert_eq!(allowed_cpus(Some(std::process::id())), allowed_cpus(None));
    }
}
