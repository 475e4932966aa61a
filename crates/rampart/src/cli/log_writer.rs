//! `rampart serve`'s stderr, written in batches.
//!
//! Every call logs its audit line. Written straight to stderr, that was one
//! `write(2)` per request, a visible share of a busy server's time. Lines
//! gather in memory instead and reach stderr when a background thread
//! wakes (every [`FLUSH_EVERY`]), when [`BATCH_BYTES`] have gathered, at
//! once for warnings and errors, and when the server stops ([`flush`]).
//! Lines always come out whole and in order. A process killed outright
//! loses at most the last [`FLUSH_EVERY`] of info lines; the audit table
//! has the events anyway.

use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// How often the background thread writes what gathered.
const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// Past this much, the line that crossed it writes the batch itself.
const BATCH_BYTES: usize = 64 * 1024;

/// The writer `serve` logs through, for [`flush`].
static INSTALLED: OnceLock<BatchedStderr> = OnceLock::new();

/// A `MakeWriter` for the fmt subscriber: stderr, in batches.
#[derive(Clone)]
pub struct BatchedStderr {
    shared: Arc<Shared>,
    /// Whether the background thread runs; without it every line is
    /// written at once.
    batched: bool,
}

struct Shared {
    pending: Mutex<Vec<u8>>,
    /// Held from taking a batch until it is written, so batches reach
    /// stderr in the order they were taken.
    writing: Mutex<()>,
}

impl Shared {
    fn new() -> Shared {
        Shared {
            pending: Mutex::new(Vec::with_capacity(BATCH_BYTES)),
            writing: Mutex::new(()),
        }
    }

    fn write_out(&self) {
        let _order = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let batch = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if pending.is_empty() {
                return;
            }
            std::mem::replace(&mut *pending, Vec::with_capacity(BATCH_BYTES))
        };
        // Nowhere to report a failed write to stderr.
        let _ = std::io::stderr().lock().write_all(&batch);
    }
}

impl BatchedStderr {
    /// Starts the background thread and remembers the writer for
    /// [`flush`]. Without a thread (the system refused one), every line is
    /// written at once.
    pub fn install() -> BatchedStderr {
        let shared = Arc::new(Shared::new());
        let background = Arc::clone(&shared);
        let batched = std::thread::Builder::new()
            .name("rampart-log".into())
            .spawn(move || loop {
                std::thread::sleep(FLUSH_EVERY);
                background.write_out();
            })
            .is_ok();
        let writer = BatchedStderr { shared, batched };
        let _ = INSTALLED.set(writer.clone());
        writer
    }
}

/// Writes what gathered; `serve` calls it before it returns.
pub fn flush() {
    if let Some(writer) = INSTALLED.get() {
        writer.shared.write_out();
    }
}

/// One log line being written.
pub struct Line<'a> {
    shared: &'a Shared,
    urgent: bool,
}

impl std::io::Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let full = {
            let mut pending = self
                .shared
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            pending.extend_from_slice(buf);
            pending.len() >= BATCH_BYTES
        };
        if full {
            self.shared.write_out();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if self.urgent {
            self.shared.write_out();
        }
    }
}

impl<'a> MakeWriter<'a> for BatchedStderr {
    type Writer = Line<'a>;

    /// Without the event's level, a line is written at once.
    fn make_writer(&'a self) -> Line<'a> {
        Line {
            shared: &self.shared,
            urgent: true,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Line<'a> {
        Line {
            shared: &self.shared,
            // Warnings and errors are written at once.
            urgent: !self.batched || *meta.level() <= Level::WARN,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn new_line(shared: &Shared, urgent: bool) -> Line<'_> {
        Line { shared, urgent }
    }

    #[test]
    fn lines_gather_until_written_out() {
        let shared = Shared::new();
        let mut line = new_line(&shared, false);
        line.write_all(b"one\n").unwrap();
        drop(line);
        let mut line = new_line(&shared, false);
        line.write_all(b"two\n").unwrap();
        drop(line);
        assert_eq!(&*shared.pending.lock().unwrap(), b"one\ntwo\n");
        shared.write_out();
        assert!(shared.pending.lock().unwrap().is_empty());
    }

    #[test]
    fn warnings_do_not_wait() {
        let shared = Shared::new();
        let mut line = new_line(&shared, true);
        line.write_all(b"careful\n").unwrap();
        drop(line);
        assert!(shared.pending.lock().unwrap().is_empty());
    }

    #[test]
    fn a_full_batch_is_written_by_the_line_that_fills_it() {
        let shared = Shared::new();
        let mut line = new_line(&shared, false);
        line.write_all(&vec![b'x'; BATCH_BYTES]).unwrap();
        assert!(shared.pending.lock().unwrap().is_empty());
    }
}
