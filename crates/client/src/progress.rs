//! How a pull or push tells its caller what it is doing.

use crate::Digest;

/// Receives progress events; the CLI draws bars or prints lines. All
/// methods default to doing nothing.
pub trait Progress: Send + Sync {
    /// A blob starts moving: `verb` is `pulling` or `pushing`.
    fn blob_started(&self, _digest: &Digest, _size: u64, _verb: &str) {}
    /// `done` bytes of the blob have moved so far.
    fn blob_advanced(&self, _digest: &Digest, _done: u64) {}
    /// The blob is in place (verified). `already` is true when nothing had
    /// to move: the layout or the registry had it.
    fn blob_finished(&self, _digest: &Digest, _already: bool) {}
    /// Anything else worth a line (a resolved index, a mounted blob).
    fn note(&self, _text: &str) {}
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
