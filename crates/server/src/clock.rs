//! The server's clock for what it decides by time itself: when a session
//! is issued and whether it has expired, the revocation stamp, and
//! `acs:CurrentTime`.
//!
//! In production it is the system clock. For tests only, it can be shifted
//! by an offset read from a file on every reading ([`Clock::with_offset_file`]),
//! so that a test can move past a session's expiry (900 s at the least)
//! without sleeping. `rampart serve` builds such a clock only when started
//! with `--test-clock` and `RAMPART_TEST_CLOCK_OFFSET_FILE`; nothing else
//! constructs one.
//!
//! The request-freshness checks (the ±15 minute window on `Timestamp` /
//! `x-acs-date`, and the nonce memory) do not use this clock: they compare
//! the client's clock with the real one, and a shifted server would refuse
//! every request of an unshifted client.

use std::path::{Path, PathBuf};

use auth::Timestamp;

/// The server's clock (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_file: Option<PathBuf>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock { offset_file: None }
    }

    /// A test clock: the system clock plus the whole number of seconds
    /// (negative allowed) written in `path`, read again on every reading.
    /// A missing or empty file is an offset of 0; one that does not read
    /// as a number is 0 too, with a warning.
    pub fn with_offset_file(path: impl Into<PathBuf>) -> Clock {
        Clock {
            offset_file: Some(path.into()),
        }
    }

    /// Whether this is a test clock.
    pub fn is_test_clock(&self) -> bool {
        self.offset_file.is_some()
    }

    /// The offset in seconds now in force (0 for the system clock).
    pub fn offset_seconds(&self) -> i64 {
        self.offset_file.as_deref().map_or(0, read_offset)
    }

    /// Now, in whole seconds.
    pub fn now(&self) -> Timestamp {
        let real = Timestamp::now();
        match self.offset_seconds() {
            0 => real,
            offset => Timestamp::from_unix_seconds(real.unix_seconds().saturating_add(offset)),
        }
    }

    /// Now, in milliseconds since the epoch (for `acs:CurrentTime`).
    pub fn now_millis(&self) -> i64 {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        real.saturating_add(self.offset_seconds().saturating_mul(1000))
    }
}

fn read_offset(path: &Path) -> i64 {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(_) => return 0,
    };
    let text = text.trim();
    if text.is_empty() {
        return 0;
    }
    match text.parse::<i64>() {
        Ok(offset) => offset,
        Err(_) => {
            tracing::warn!(file = %path.display(), "the test clock's offset is not a whole number of seconds; using 0");
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_come_from_the_file_on_every_reading() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("offset");
        let clock = Clock::with_offset_file(&file);
        assert!(clock.is_test_clock());
        assert_eq!(clock.offset_seconds(), 0, "no file yet");
        std::fs::write(&file, "3600\n").unwrap();
        assert_eq!(clock.offset_seconds(), 3600);
        let shifted = clock.now().unix_seconds() - Timestamp::now().unix_seconds();
        assert!((3599..=3601).contains(&shifted), "{shifted}");
        std::fs::write(&file, "-60").unwrap();
        assert_eq!(clock.offset_seconds(), -60);
        std::fs::write(&file, "soon").unwrap();
        assert_eq!(clock.offset_seconds(), 0);
        let system = Clock::system();
        assert!(!system.is_test_clock());
        assert_eq!(system.offset_seconds(), 0);
        let millis = clock.now_millis() / 1000 - system.now_millis() / 1000;
        assert!(millis.abs() <= 1);
    }
}
