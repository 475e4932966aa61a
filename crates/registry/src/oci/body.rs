//! Bytes in and out without holding a blob in memory: request bodies
//! read as an `AsyncRead` as they arrive (so the store hashes and writes
//! them chunk by chunk), blob files served as a stream of large reads;
//! and the `Range`/`Content-Range` grammars.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http_body::Body as _;
use tokio::io::{AsyncRead, ReadBuf};
use tokio_util::io::ReaderStream;

/// Why reading a request body failed (carried inside `io::Error` through
/// the blob store, and recognised again by the error mapping).
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The client's connection failed or the framing broke.
    #[error("reading the request body failed: {0}")]
    Client(String),
    /// The body's length is not what `Content-Length`/`Content-Range` said.
    #[error("the body has {got} bytes or more, but {expected} were announced")]
    Length { expected: u64, got: u64 },
}

/// A request body as an `AsyncRead`, optionally held to an exact length.
pub struct BodyReader {
    body: Body,
    chunk: Bytes,
    read: u64,
    expected: Option<u64>,
    done: bool,
}

impl BodyReader {
    pub fn new(body: Body, expected: Option<u64>) -> BodyReader {
        BodyReader {
            body,
            chunk: Bytes::new(),
            read: 0,
            expected,
            done: false,
        }
    }
}

fn length_error(expected: u64, got: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        BodyError::Length { expected, got },
    )
}

impl AsyncRead for BodyReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.chunk.is_empty() {
                let n = this.chunk.len().min(buf.remaining());
                let part = this.chunk.split_to(n);
                buf.put_slice(&part);
                return Poll::Ready(Ok(()));
            }
            if this.done {
                return Poll::Ready(Ok(()));
            }
            match Pin::new(&mut this.body).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    this.done = true;
                    if let Some(expected) = this.expected {
                        if this.read != expected {
                            return Poll::Ready(Err(length_error(expected, this.read)));
                        }
                    }
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Err(io::Error::other(BodyError::Client(e.to_string()))))
                }
                Poll::Ready(Some(Ok(frame))) => {
                    // Trailers carry no bytes; skip them.
                    if let Ok(data) = frame.into_data() {
                        this.read = this.read.saturating_add(data.len() as u64);
                        if let Some(expected) = this.expected {
                            if this.read > expected {
                                return Poll::Ready(Err(length_error(expected, this.read)));
                            }
                        }
                        this.chunk = data;
                    }
                }
            }
        }
    }
}

/// Passes reads through, hashing every byte that goes by (when given a
/// hasher): how a chunked upload is hashed while it streams.
pub struct HashingReader<R> {
    inner: R,
    pub hasher: Option<crate::digest::Hasher>,
    /// Bytes passed through.
    pub count: u64,
}

impl<R> HashingReader<R> {
    pub fn new(inner: R, hasher: Option<crate::digest::Hasher>) -> HashingReader<R> {
        HashingReader {
            inner,
            hasher,
            count: 0,
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for HashingReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            let fresh = buf.filled().get(before..).unwrap_or_default();
            this.count = this.count.saturating_add(fresh.len() as u64);
            if let Some(hasher) = this.hasher.as_mut() {
                hasher.update(fresh);
            }
        }
        result
    }
}

/// Whether a request body is known to be empty (no bytes will come).
pub fn is_empty(body: &Body) -> bool {
    body.is_end_stream() || body.size_hint().exact() == Some(0)
}

/// A response body streaming `reader` in reads of `chunk` bytes.
pub fn stream<R>(reader: R, chunk: usize) -> Body
where
    R: AsyncRead + Send + 'static,
{
    Body::from_stream(ReaderStream::with_capacity(reader, chunk))
}

/// What a `Range` request header asks of a blob of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No header, or one this registry serves whole (several ranges, other
    /// units, garbage): the whole blob, 200.
    Whole,
    /// Bytes `start..=end`, 206.
    Part(u64, u64),
    /// Nothing of the blob: 416.
    Unsatisfiable,
}

/// Resolves a `Range` header (`bytes=a-b`, `bytes=a-`, `bytes=-n`).
pub fn range(header: Option<&str>, size: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| s.parse::<u64>().ok();
    let Some(final_byte) = size.checked_sub(1) else {
        return RangeRequest::Unsatisfiable;
    };
    match (first.is_empty(), last.is_empty()) {
        // Suffix: the last n bytes.
        (true, false) => match number(last) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(n) => RangeRequest::Part(size.saturating_sub(n), final_byte),
            None => RangeRequest::Whole,
        },
        (false, true) => match number(first) {
            Some(start) if start <= final_byte => RangeRequest::Part(start, final_byte),
            Some(_) => RangeRequest::Unsatisfiable,
            None => RangeRequest::Whole,
        },
        (false, false) => match (number(first), number(last)) {
            (Some(start), Some(end)) if start > end => RangeRequest::Whole,
            (Some(start), Some(_)) if start > final_byte => RangeRequest::Unsatisfiable,
            (Some(start), Some(end)) => RangeRequest::Part(start, end.min(final_byte)),
            _ => RangeRequest::Whole,
        },
        (true, true) => RangeRequest::Whole,
    }
}

/// Parses an upload chunk's `Content-Range: <start>-<end>` (inclusive;
/// a `bytes ` or `bytes=` prefix is tolerated). `None` when malformed or
/// when end < start.
pub fn content_range(header: &str) -> Option<(u64, u64)> {
    let text = header.trim();
    let text = text
        .strip_prefix("bytes=")
        .or_else(|| text.strip_prefix("bytes "))
        .unwrap_or(text);
    let text = text.split('/').next().unwrap_or(text);
    let (start, end) = text.split_once('-')?;
    let start = start.trim().parse::<u64>().ok()?;
    let end = end.trim().parse::<u64>().ok()?;
    (start <= end).then_some((start, end))
}

/// A response body that reads `len` bytes of the file at `path` from
/// `start`, on a blocking thread of its own, in chunks of `chunk` bytes
/// handed to the connection as they are read (at most two ahead). Each
/// chunk is read straight into the buffer the connection sends, so a byte
/// is copied once on its way from the page cache to the socket buffer. A
/// client that goes away drops the body, and the thread stops at its next
/// chunk.
pub fn file(path: std::path::PathBuf, start: u64, len: u64, chunk: usize) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(2);
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek};
        let send = |item: io::Result<Bytes>| tx.blocking_send(item).is_ok();
        let mut file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                send(Err(e));
                return;
            }
        };
        if let Err(e) = file.seek(io::SeekFrom::Start(start)) {
            send(Err(e));
            return;
        }
        let mut left = len;
        while left > 0 {
            let want = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(chunk.max(1));
            let mut buf = vec![0u8; want];
            let mut filled = 0;
            while filled < want {
                let Some(space) = buf.get_mut(filled..) else {
                    break;
                };
                match file.read(space) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        send(Err(e));
                        return;
                    }
                }
            }
            if filled == 0 {
                send(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the blob file is shorter than its size",
                )));
                return;
            }
            buf.truncate(filled);
            left = left.saturating_sub(filled as u64);
            if !send(Ok(Bytes::from(buf))) {
                return;
            }
        }
    });
    Body::new(FileBody { rx })
}

struct FileBody {
    rx: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, io::Error>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(bytes))) => Poll::Ready(Some(Ok(http_body::Frame::data(bytes)))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(range(None, 10), Whole);
        assert_eq!(range(Some("bytes=0-3"), 10), Part(0, 3));
        assert_eq!(range(Some("bytes=5-"), 10), Part(5, 9));
        assert_eq!(range(Some("bytes=-4"), 10), Part(6, 9));
        assert_eq!(range(Some("bytes=-40"), 10), Part(0, 9));
        assert_eq!(range(Some("bytes=2-100"), 10), Part(2, 9));
        assert_eq!(range(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(range(Some("bytes=10-12"), 10), Unsatisfiable);
        assert_eq!(range(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(range(Some("bytes=0-0"), 0), Unsatisfiable);
        assert_eq!(range(Some("bytes=0-1,3-4"), 10), Whole);
        assert_eq!(range(Some("items=0-1"), 10), Whole);
        assert_eq!(range(Some("bytes=4-2"), 10), Whole);
    }

    #[test]
    fn content_ranges() {
        assert_eq!(content_range("0-99"), Some((0, 99)));
        assert_eq!(content_range("bytes 100-199/*"), Some((100, 199)));
        assert_eq!(content_range("bytes=5-5"), Some((5, 5)));
        assert_eq!(content_range("9-3"), None);
        assert_eq!(content_range("x"), None);
    }
}
