//! Blobs and uploads over real HTTP: monolithic and chunked pushes,
//! streamed chunks, resumable status, cancel, out-of-order chunks, wrong
//! digests, sha512, ranges, mounts, deletes, and sessions surviving a
//! restart.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{error_code, header, sha256, Server};
use registry::{Algorithm, Digest};

const REPO: &str = "ns/app";

async fn start_session(s: &Server, repo: &str) -> String {
    let r = s
        .http
        .post(s.url(&format!("/v2/{repo}/blobs/uploads/")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(header(&r, "range").as_deref(), Some("0-0"));
    let uuid = header(&r, "docker-upload-uuid").unwrap();
    let location = header(&r, "location").unwrap();
    assert_eq!(location, format!("/v2/{repo}/blobs/uploads/{uuid}"));
    location
}

async fn get_blob(s: &Server, repo: &str, digest: &Digest) -> reqwest::Response {
    s.http
        .get(s.url(&format!("/v2/{repo}/blobs/{digest}")))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn base_endpoint() {
    let s = Server::start().await;
    let r = s.http.get(s.url("/v2/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "docker-distribution-api-version").as_deref(),
        Some("registry/2.0")
    );
    assert_eq!(r.text().await.unwrap(), "{}");
    let r = s.http.get(s.url("/v2")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn monolithic_push_then_head_get() {
    let s = Server::start().await;
    let bytes = b"hello blob".to_vec();
    let digest = sha256(&bytes);
    let r = s
        .http
        .post(s.url(&format!("/v2/{REPO}/blobs/uploads/?digest={digest}")))
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        header(&r, "location").unwrap(),
        format!("/v2/{REPO}/blobs/{digest}")
    );
    assert_eq!(
        header(&r, "docker-content-digest").unwrap(),
        digest.to_string()
    );

    let r = s
        .http
        .head(s.url(&format!("/v2/{REPO}/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "content-length").unwrap(),
        bytes.len().to_string()
    );
    assert_eq!(
        header(&r, "docker-content-digest").unwrap(),
        digest.to_string()
    );

    let r = get_blob(&s, REPO, &digest).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), bytes);

    // Another repository of the same instance does not see it.
    let r = get_blob(&s, "ns/other", &digest).await;
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "NAME_UNKNOWN");
    s.push_blob("ns/other", b"x").await;
    let r = get_blob(&s, "ns/other", &digest).await;
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "BLOB_UNKNOWN");

    // A malformed digest.
    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/blobs/sha256:nothex")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
}

#[tokio::test]
async fn chunked_upload_with_status_and_out_of_order_chunk() {
    let s = Server::start().await;
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let digest = sha256(&data);
    let location = start_session(&s, REPO).await;

    let r = s
        .http
        .patch(s.url(&location))
        .header("content-type", "application/octet-stream")
        .header("content-range", "0-99999")
        .header("content-length", "100000")
        .body(data[..100_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(header(&r, "range").as_deref(), Some("0-99999"));
    let location = header(&r, "location").unwrap();

    // Out of order: a chunk that skips ahead.
    let r = s
        .http
        .patch(s.url(&location))
        .header("content-range", "200000-299999")
        .body(data[200_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(header(&r, "range").as_deref(), Some("0-99999"));

    // Status says where it stands.
    let r = s.http.get(s.url(&location)).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "range").as_deref(), Some("0-99999"));
    assert!(header(&r, "docker-upload-uuid").is_some());

    // A chunk whose body is shorter than its Content-Range is refused and
    // leaves the session as it was.
    let r = s
        .http
        .patch(s.url(&location))
        .header("content-range", "100000-199999")
        .body(data[100_000..150_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "SIZE_INVALID");
    let r = s.http.get(s.url(&location)).send().await.unwrap();
    assert_eq!(header(&r, "range").as_deref(), Some("0-99999"));

    // The second chunk in order, then a streamed chunk (no Content-Range).
    let r = s
        .http
        .patch(s.url(&location))
        .header("content-range", "100000-199999")
        .body(data[100_000..200_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r = s
        .http
        .patch(s.url(&location))
        .body(data[200_000..250_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(header(&r, "range").as_deref(), Some("0-249999"));

    // A wrong digest on the final PUT (with the last chunk): refused, and
    // the session keeps only what it had.
    let wrong = sha256(b"something else");
    let r = s
        .http
        .put(s.url(&format!("{location}?digest={wrong}")))
        .body(data[250_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    let r = s.http.get(s.url(&location)).send().await.unwrap();
    assert_eq!(header(&r, "range").as_deref(), Some("0-249999"));
    assert_eq!(get_blob(&s, REPO, &wrong).await.status(), 404);
    assert_eq!(get_blob(&s, REPO, &digest).await.status(), 404);

    // The PUT with the final chunk and the right digest.
    let r = s
        .http
        .put(s.url(&format!("{location}?digest={digest}")))
        .body(data[250_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        header(&r, "docker-content-digest").unwrap(),
        digest.to_string()
    );
    let r = get_blob(&s, REPO, &digest).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), data);

    // The session is gone.
    let r = s.http.get(s.url(&location)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn docker_style_push_post_patch_put() {
    let s = Server::start().await;
    let data: Vec<u8> = (0..1_500_000u32).map(|i| (i % 241) as u8).collect();
    let digest = sha256(&data);
    let location = start_session(&s, REPO).await;
    let r = s
        .http
        .patch(s.url(&location))
        .body(data[..700_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let location = header(&r, "location").unwrap();
    let r = s
        .http
        .patch(s.url(&location))
        .body(data[700_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&r, "range").unwrap(),
        format!("0-{}", data.len() - 1)
    );
    let r = s
        .http
        .put(s.url(&format!("{location}?digest={digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = get_blob(&s, REPO, &digest).await;
    assert_eq!(sha256(&r.bytes().await.unwrap()), digest);
}

#[tokio::test]
async fn put_without_chunk_and_wrong_digest_stores_nothing() {
    let s = Server::start().await;
    let location = start_session(&s, REPO).await;
    let r = s
        .http
        .patch(s.url(&location))
        .body(b"abc".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(header(&r, "range").as_deref(), Some("0-2"));
    let wrong = sha256(b"abd");
    let r = s
        .http
        .put(s.url(&format!("{location}?digest={wrong}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    assert_eq!(get_blob(&s, REPO, &wrong).await.status(), 404);
    // No digest at all.
    let r = s.http.put(s.url(&location)).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    // Then the right one.
    let right = sha256(b"abc");
    let r = s
        .http
        .put(s.url(&format!("{location}?digest={right}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // Monolithic push with a wrong digest stores nothing.
    let r = s
        .http
        .post(s.url(&format!("/v2/{REPO}/blobs/uploads/?digest={wrong}")))
        .body(b"not abd".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    assert_eq!(get_blob(&s, REPO, &wrong).await.status(), 404);
}

#[tokio::test]
async fn cancel_and_foreign_sessions() {
    let s = Server::start().await;
    let location = start_session(&s, REPO).await;
    let uuid = location.rsplit('/').next().unwrap().to_owned();
    // The session under another repository is unknown there.
    let other = format!("/v2/ns/other/blobs/uploads/{uuid}");
    for r in [
        s.http.get(s.url(&other)).send().await.unwrap(),
        s.http.patch(s.url(&other)).body("x").send().await.unwrap(),
        s.http.delete(s.url(&other)).send().await.unwrap(),
    ] {
        assert_eq!(r.status(), 404);
        assert_eq!(error_code(r).await, "BLOB_UPLOAD_UNKNOWN");
    }
    // Not an id at all.
    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/blobs/uploads/not-an-id")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "BLOB_UPLOAD_UNKNOWN");

    let r = s.http.delete(s.url(&location)).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let r = s.http.get(s.url(&location)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "BLOB_UPLOAD_UNKNOWN");
    let r = s.http.delete(s.url(&location)).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let mut s = Server::start().await;
    let location = start_session(&s, REPO).await;
    let r = s
        .http
        .patch(s.url(&location))
        .header("content-range", "0-4")
        .body(b"hello".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    s.restart().await;
    let r = s.http.get(s.url(&location)).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "range").as_deref(), Some("0-4"));
    let digest = sha256(b"hello world");
    let r = s
        .http
        .put(s.url(&format!("{location}?digest={digest}")))
        .header("content-range", "5-10")
        .body(b" world".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = get_blob(&s, REPO, &digest).await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"hello world");
}

#[tokio::test]
async fn sha512_blobs() {
    let s = Server::start().await;
    let bytes = b"sha512 content".to_vec();
    let digest = Digest::of(Algorithm::Sha512, &bytes);
    let r = s
        .http
        .post(s.url(&format!("/v2/{REPO}/blobs/uploads/?digest={digest}")))
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let location = start_session(&s, REPO).await;
    let other = b"chunked sha512".to_vec();
    let other_digest = Digest::of(Algorithm::Sha512, &other);
    let r = s
        .http
        .put(s.url(&format!("{location}?digest={other_digest}")))
        .body(other.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    for (d, b) in [(&digest, &bytes), (&other_digest, &other)] {
        let r = get_blob(&s, REPO, d).await;
        assert_eq!(r.status(), 200);
        assert_eq!(&r.bytes().await.unwrap().to_vec(), b);
    }
}

#[tokio::test]
async fn range_requests() {
    let s = Server::start().await;
    let data: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let digest = s.push_blob(REPO, &data).await;
    let url = s.url(&format!("/v2/{REPO}/blobs/{digest}"));
    let cases: [(&str, usize, usize); 3] = [
        ("bytes=0-99", 0, 99),
        ("bytes=4900-", 4900, 4999),
        ("bytes=-10", 4990, 4999),
    ];
    for (range, start, end) in cases {
        let r = s
            .http
            .get(&url)
            .header("range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206, "{range}");
        assert_eq!(
            header(&r, "content-range").unwrap(),
            format!("bytes {start}-{end}/5000")
        );
        assert_eq!(
            r.bytes().await.unwrap().to_vec(),
            data[start..=end].to_vec()
        );
    }
    let r = s
        .http
        .get(&url)
        .header("range", "bytes=5000-6000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(header(&r, "content-range").as_deref(), Some("bytes */5000"));
}

#[tokio::test]
async fn large_blob_streams() {
    let s = Server::start().await;
    let data: Vec<u8> = (0..(5 * 1024 * 1024 + 17))
        .map(|i: u32| (i % 253) as u8)
        .collect();
    let digest = s.push_blob(REPO, &data).await;
    let r = get_blob(&s, REPO, &digest).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "content-length").unwrap(),
        data.len().to_string()
    );
    let got = r.bytes().await.unwrap();
    assert_eq!(sha256(&got), digest);
}

#[tokio::test]
async fn cross_repository_mount() {
    let s = Server::start().await;
    let digest = s.push_blob("ns/source", b"shared layer").await;
    // Mounted: 201, and the blob is now in the target.
    let r = s
        .http
        .post(s.url(&format!(
            "/v2/ns/target/blobs/uploads/?mount={digest}&from=ns/source"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        header(&r, "location").unwrap(),
        format!("/v2/ns/target/blobs/{digest}")
    );
    assert_eq!(get_blob(&s, "ns/target", &digest).await.status(), 200);
    let asked = s.gate.asked();
    assert!(asked
        .iter()
        .any(|a| a.access == registry::gate::Access::Pull
            && a.repository.as_deref() == Some("ns/source")));

    // The source lacks the blob: a session instead.
    let missing = sha256(b"not there");
    let r = s
        .http
        .post(s.url(&format!(
            "/v2/ns/target/blobs/uploads/?mount={missing}&from=ns/source"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert!(header(&r, "docker-upload-uuid").is_some());

    // The caller may not pull the source: a session instead.
    s.gate.no_pull.lock().unwrap().push("ns/source".into());
    let r = s
        .http
        .post(s.url(&format!(
            "/v2/ns/third/blobs/uploads/?mount={digest}&from=ns/source"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(get_blob(&s, "ns/third", &digest).await.status(), 404);
}

#[tokio::test]
async fn blob_delete_unlinks() {
    let s = Server::start().await;
    let digest = s.push_blob(REPO, b"to delete").await;
    let url = s.url(&format!("/v2/{REPO}/blobs/{digest}"));
    let r = s.http.delete(&url).send().await.unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(
        s.gate.asked().last().unwrap().access,
        registry::gate::Access::Delete
    );
    let r = s.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "BLOB_UNKNOWN");
    let r = s.http.delete(&url).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "BLOB_UNKNOWN");
}

#[tokio::test]
async fn concurrent_pushes_of_one_blob() {
    let s = Server::start().await;
    let data = vec![7u8; 256 * 1024];
    let digest = sha256(&data);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let http = s.http.clone();
        let url = s.url(&format!("/v2/{REPO}/blobs/uploads/?digest={digest}"));
        let body = data.clone();
        tasks.push(tokio::spawn(async move {
            http.post(url).body(body).send().await.unwrap().status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    let r = get_blob(&s, REPO, &digest).await;
    assert_eq!(r.bytes().await.unwrap().to_vec(), data);
}

#[tokio::test]
async fn purge_forgets_sessions_whose_bytes_are_gone() {
    let s = Server::start().await;
    let location = start_session(&s, REPO).await;
    let uuid = location.rsplit('/').next().unwrap().to_owned();
    // Far in the future every session is idle for too long.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3 * 24 * 3600);
    let removed = s.registry.purge_expired_uploads(later).await.unwrap();
    assert_eq!(removed, 1);
    assert_eq!(s.db().upload_repo(&uuid).await.unwrap(), None);
    let r = s.http.get(s.url(&location)).send().await.unwrap();
    assert_eq!(r.status(), 404);
}
