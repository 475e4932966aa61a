//! Scenarios for the local-folder blob store.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use registry::{
    Algorithm, BlobStore, Digest, LocalStore, LocalStoreOptions, StorageError, UploadId,
};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

async fn open(root: &Path) -> LocalStore {
    LocalStore::open(root, LocalStoreOptions::default())
        .await
        .unwrap()
}

async fn read_all(store: &LocalStore, digest: &Digest, range: Option<(u64, u64)>) -> Vec<u8> {
    let mut blob = store.get(digest, range).await.unwrap();
    let mut out = Vec::new();
    blob.reader.read_to_end(&mut out).await.unwrap();
    assert_eq!(out.len() as u64, blob.len());
    out
}

/// Every file (not directory) below `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test]
async fn round_trip_both_algorithms() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let bytes = sample(200_000);
    for alg in [Algorithm::Sha256, Algorithm::Sha512] {
        let digest = Digest::of(alg, &bytes);
        assert_eq!(store.stat(&digest).await.unwrap(), None);
        assert_eq!(store.put(&digest, &bytes[..]).await.unwrap(), 200_000);
        assert_eq!(store.stat(&digest).await.unwrap(), Some(200_000));
        assert_eq!(read_all(&store, &digest, None).await, bytes);
        let hex = digest.hex();
        let expected = dir
            .path()
            .join("blobs")
            .join(alg.name())
            .join(&hex[..2])
            .join(hex);
        assert!(expected.is_file(), "{expected:?}");
        // Storing it again is fine.
        assert_eq!(store.put(&digest, &bytes[..]).await.unwrap(), 200_000);
        store.delete(&digest).await.unwrap();
        assert_eq!(store.stat(&digest).await.unwrap(), None);
        assert!(matches!(
            store.delete(&digest).await,
            Err(StorageError::BlobUnknown(_))
        ));
        assert!(matches!(
            store.get(&digest, None).await,
            Err(StorageError::BlobUnknown(_))
        ));
    }
    // The empty blob.
    let empty = Digest::of(Algorithm::Sha256, b"");
    assert_eq!(store.put(&empty, &b""[..]).await.unwrap(), 0);
    assert_eq!(read_all(&store, &empty, None).await, b"");
}

#[tokio::test]
async fn digest_mismatch_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let claimed = Digest::of(Algorithm::Sha256, b"what was promised");
    let err = store
        .put(&claimed, &b"what was sent"[..])
        .await
        .unwrap_err();
    match err {
        StorageError::DigestMismatch { expected, actual } => {
            assert_eq!(expected, claimed);
            assert_eq!(actual, Digest::of(Algorithm::Sha256, b"what was sent"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(store.stat(&claimed).await.unwrap(), None);
    assert!(
        files_under(dir.path()).is_empty(),
        "{:?}",
        files_under(dir.path())
    );
}

#[tokio::test]
async fn range_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let bytes = b"0123456789".to_vec();
    let digest = Digest::of(Algorithm::Sha256, &bytes);
    store.put(&digest, &bytes[..]).await.unwrap();

    assert_eq!(read_all(&store, &digest, Some((0, 0))).await, b"0");
    assert_eq!(read_all(&store, &digest, Some((2, 5))).await, b"2345");
    assert_eq!(read_all(&store, &digest, Some((9, 9))).await, b"9");
    assert_eq!(read_all(&store, &digest, Some((0, 9))).await, bytes);
    // An end past the blob is clamped, as HTTP does.
    let blob = store.get(&digest, Some((7, 1000))).await.unwrap();
    assert_eq!((blob.size, blob.start, blob.end), (10, 7, 9));
    assert_eq!(read_all(&store, &digest, Some((7, u64::MAX))).await, b"789");

    for (start, end) in [(10, 10), (10, 20), (5, 4), (u64::MAX, u64::MAX)] {
        match store.get(&digest, Some((start, end))).await {
            Err(StorageError::RangeNotSatisfiable { size: 10, .. }) => {}
            other => panic!("range {start}-{end}: {other:?}"),
        }
    }
    // No byte of an empty blob can be asked for.
    let empty = Digest::of(Algorithm::Sha256, b"");
    store.put(&empty, &b""[..]).await.unwrap();
    assert!(matches!(
        store.get(&empty, Some((0, 0))).await,
        Err(StorageError::RangeNotSatisfiable { size: 0, .. })
    ));
}

#[tokio::test]
async fn chunked_upload_refuses_wrong_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let bytes = sample(30_000);
    let digest = Digest::of(Algorithm::Sha512, &bytes);
    let id = store.start_upload().await.unwrap();
    assert_eq!(store.upload_status(&id).await.unwrap(), 0);

    assert_eq!(
        store.append(&id, 0, &bytes[..10_000]).await.unwrap(),
        10_000
    );
    // Out of order: a later chunk first, then a replay of the first.
    for offset in [20_000, 0, 9_999] {
        match store.append(&id, offset, &bytes[20_000..]).await {
            Err(StorageError::OffsetMismatch {
                expected: 10_000,
                given,
            }) => assert_eq!(given, offset),
            other => panic!("offset {offset}: {other:?}"),
        }
    }
    assert_eq!(store.upload_status(&id).await.unwrap(), 10_000);
    assert_eq!(
        store
            .append(&id, 10_000, &bytes[10_000..20_000])
            .await
            .unwrap(),
        20_000
    );
    assert_eq!(
        store.append(&id, 20_000, &bytes[20_000..]).await.unwrap(),
        30_000
    );

    // A wrong digest stores nothing and keeps the session.
    let wrong = Digest::of(Algorithm::Sha512, b"nope");
    assert!(matches!(
        store.finish_upload(&id, &wrong).await,
        Err(StorageError::DigestMismatch { .. })
    ));
    assert_eq!(store.stat(&wrong).await.unwrap(), None);
    assert_eq!(store.upload_status(&id).await.unwrap(), 30_000);

    assert_eq!(store.finish_upload(&id, &digest).await.unwrap(), 30_000);
    assert_eq!(read_all(&store, &digest, None).await, bytes);
    assert!(matches!(
        store.upload_status(&id).await,
        Err(StorageError::UploadUnknown(_))
    ));
    assert!(matches!(
        store.append(&id, 30_000, &b"x"[..]).await,
        Err(StorageError::UploadUnknown(_))
    ));
    assert!(matches!(
        store.finish_upload(&id, &digest).await,
        Err(StorageError::UploadUnknown(_))
    ));
}

/// Yields some bytes, then fails: a client that went away mid-chunk.
struct FailingReader {
    left: Vec<u8>,
}

impl AsyncRead for FailingReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.left.is_empty() {
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "gone",
            )));
        }
        let n = self.left.len().min(buf.remaining());
        buf.put_slice(&self.left[..n]);
        self.left.drain(..n);
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn failed_chunk_leaves_session_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let id = store.start_upload().await.unwrap();
    store.append(&id, 0, &b"abc"[..]).await.unwrap();
    let err = store
        .append(
            &id,
            3,
            FailingReader {
                left: b"defgh".to_vec(),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Io(_)), "{err:?}");
    assert_eq!(store.upload_status(&id).await.unwrap(), 3);
}

#[tokio::test]
async fn sessions_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = sample(5_000);
    let digest = Digest::of(Algorithm::Sha256, &bytes);
    let id = {
        let store = open(dir.path()).await;
        let id = store.start_upload().await.unwrap();
        store.append(&id, 0, &bytes[..1_234]).await.unwrap();
        id
    };
    let store = open(dir.path()).await;
    let id = UploadId::parse(id.as_str()).unwrap();
    assert_eq!(store.upload_status(&id).await.unwrap(), 1_234);
    store.append(&id, 1_234, &bytes[1_234..]).await.unwrap();
    assert_eq!(store.finish_upload(&id, &digest).await.unwrap(), 5_000);
    assert_eq!(read_all(&store, &digest, None).await, bytes);
}

#[tokio::test]
async fn cancel_and_purge() {
    let dir = tempfile::tempdir().unwrap();
    let options = LocalStoreOptions {
        upload_max_age: Duration::from_secs(3600),
    };
    let store = LocalStore::open(dir.path(), options).await.unwrap();

    let cancelled = store.start_upload().await.unwrap();
    store.append(&cancelled, 0, &b"data"[..]).await.unwrap();
    store.cancel_upload(&cancelled).await.unwrap();
    assert!(matches!(
        store.upload_status(&cancelled).await,
        Err(StorageError::UploadUnknown(_))
    ));
    assert!(matches!(
        store.cancel_upload(&cancelled).await,
        Err(StorageError::UploadUnknown(_))
    ));

    let a = store.start_upload().await.unwrap();
    let b = store.start_upload().await.unwrap();
    assert_ne!(a, b);
    store.append(&b, 0, &b"partial"[..]).await.unwrap();
    // Nothing is old yet.
    assert_eq!(
        store
            .purge_expired_uploads(SystemTime::now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.upload_status(&a).await.unwrap(), 0);
    // Two hours on, both are idle past the limit.
    let later = SystemTime::now() + Duration::from_secs(7200);
    assert_eq!(store.purge_expired_uploads(later).await.unwrap(), 2);
    for id in [&a, &b] {
        assert!(matches!(
            store.upload_status(id).await,
            Err(StorageError::UploadUnknown(_))
        ));
    }
    assert!(files_under(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_puts_of_one_blob() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path()).await);
    let bytes = Arc::new(sample(300_000));
    let digest = Digest::of(Algorithm::Sha256, &bytes);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, bytes, digest) = (Arc::clone(&store), Arc::clone(&bytes), digest.clone());
        tasks.push(tokio::spawn(
            async move { store.put(&digest, &bytes[..]).await },
        ));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 300_000);
    }
    assert_eq!(read_all(&store, &digest, None).await, *bytes);
    // Exactly one file: the blob; no temporary files left.
    assert_eq!(files_under(dir.path()).len(), 1);
}

#[tokio::test]
async fn malformed_input_is_refused() {
    let hex = "a".repeat(64);
    for bad in [
        format!("sha256:{}", hex.to_uppercase()),
        format!("sha256:{}", &hex[..63]),
        format!("sha384:{hex}"),
        format!("sha256:../../{}", &hex[..58]),
        hex.clone(),
    ] {
        assert!(Digest::parse(&bad).is_err(), "{bad}");
    }
    for bad in [
        "",
        "../../../../etc/passwd",
        "0123456789abcdef0123456789abcde/",
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcdef0",
        "0123456789abcdef0123456789abcde",
    ] {
        assert!(
            matches!(UploadId::parse(bad), Err(StorageError::InvalidUploadId(_))),
            "{bad:?}"
        );
    }
    // A well-formed id that was never issued is unknown, not an error of form.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let stranger = UploadId::parse("0123456789abcdef0123456789abcdef").unwrap();
    assert!(matches!(
        store.upload_status(&stranger).await,
        Err(StorageError::UploadUnknown(_))
    ));
}

/// Yields some bytes, then never finishes: the future is dropped midway.
struct StallingReader {
    sent: bool,
}

impl AsyncRead for StallingReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.sent {
            return Poll::Pending;
        }
        self.sent = true;
        buf.put_slice(b"half of a blob");
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn interrupted_put_is_never_visible_and_is_swept() {
    let dir = tempfile::tempdir().unwrap();
    let digest = Digest::of(Algorithm::Sha256, b"half of a blob and the rest");
    {
        let store = open(dir.path()).await;
        // The writer goes away mid-put: its future is dropped.
        let put = store.put(&digest, StallingReader { sent: false });
        assert!(tokio::time::timeout(Duration::from_millis(50), put)
            .await
            .is_err());
        assert_eq!(store.stat(&digest).await.unwrap(), None);
    }
    // A crash leaves what a dropped future cannot clean: a temp file.
    let leftover = dir.path().join("tmp").join("deadbeef.blob");
    std::fs::write(&leftover, b"half of a blob").unwrap();
    std::fs::create_dir(dir.path().join("tmp").join("cafe.session")).unwrap();

    let store = open(dir.path()).await;
    assert_eq!(store.stat(&digest).await.unwrap(), None);
    assert!(matches!(
        store.get(&digest, None).await,
        Err(StorageError::BlobUnknown(_))
    ));
    assert!(!leftover.exists());
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0
    );
    assert!(files_under(dir.path()).is_empty());
    assert_eq!(store.sweep().await.unwrap(), 0);
}

#[tokio::test]
async fn whole_blob_writes_of_every_awkward_size_read_back_exactly() {
    // Whole-blob puts write in aligned blocks (O_DIRECT where allowed) and
    // cut the padding off: sizes around the block and chunk edges.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let chunk = 1024 * 1024;
    for size in [
        0usize,
        1,
        4095,
        4096,
        4097,
        chunk - 1,
        chunk,
        chunk + 1,
        3 * chunk - 5,
    ] {
        let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let digest = {
            let mut h = registry::Hasher::new(Algorithm::Sha256);
            h.update(&data);
            h.finish()
        };
        let written = store.put(&digest, &data[..]).await.unwrap();
        assert_eq!(written, size as u64);
        assert_eq!(read_all(&store, &digest, None).await, data, "size {size}");
    }
}
