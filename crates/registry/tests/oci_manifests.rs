//! Manifests, tags, referrers and the catalog over real HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{
    create_repo, error_code, header, image_manifest, sha256, Server, DOCKER_MANIFEST, NS,
    OCI_INDEX, OCI_MANIFEST,
};
use registry::gate::Access;
use registry::oci::Limits;
use registry::{Algorithm, Digest};
use serde_json::Value;

const REPO: &str = "ns/app";

async fn json(r: reqwest::Response) -> Value {
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

#[tokio::test]
async fn push_and_pull_by_tag_and_digest() {
    let s = Server::start().await;
    let (bytes, digest) = s.push_image(REPO, "v1", b"layer one").await;
    s.gate.asked();
    for reference in ["v1".to_owned(), digest.to_string()] {
        let url = s.url(&format!("/v2/{REPO}/manifests/{reference}"));
        let r = s.http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "content-type").unwrap(), OCI_MANIFEST);
        assert_eq!(
            header(&r, "docker-content-digest").unwrap(),
            digest.to_string()
        );
        assert_eq!(r.bytes().await.unwrap().to_vec(), bytes);
        let r = s.http.head(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            header(&r, "content-length").unwrap(),
            bytes.len().to_string()
        );
        assert_eq!(
            header(&r, "docker-content-digest").unwrap(),
            digest.to_string()
        );
    }
    assert!(s.gate.asked().iter().all(|a| a.access == Access::Pull));

    // After a restart (empty cache) the bytes come from the blob store.
    let mut s = s;
    s.restart().await;
    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/manifests/v1")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().to_vec(), bytes);

    // Unknown references.
    for reference in ["v2".to_owned(), sha256(b"nope").to_string()] {
        let r = s
            .http
            .get(s.url(&format!("/v2/{REPO}/manifests/{reference}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(error_code(r).await, "MANIFEST_UNKNOWN");
    }
    // A manifest is served under /blobs/ too.
    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn push_by_digest_checks_the_digest() {
    let s = Server::start().await;
    let config = s.push_blob(REPO, b"{}").await;
    let body = image_manifest(&config, 2, &[], None, None);
    let digest = sha256(body.as_bytes());
    let wrong = sha256(b"other");
    let r = s
        .put_manifest(REPO, &wrong.to_string(), OCI_MANIFEST, body.as_bytes())
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    let r = s
        .put_manifest(REPO, &digest.to_string(), OCI_MANIFEST, body.as_bytes())
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        header(&r, "location").unwrap(),
        format!("/v2/{REPO}/manifests/{digest}")
    );
    // A sha512 reference.
    let d512 = Digest::of(Algorithm::Sha512, body.as_bytes());
    let r = s
        .put_manifest(REPO, &d512.to_string(), OCI_MANIFEST, body.as_bytes())
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        header(&r, "docker-content-digest").unwrap(),
        d512.to_string()
    );
    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/manifests/{d512}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), body.as_bytes());
}

#[tokio::test]
async fn manifest_refusals_change_nothing() {
    let s = Server::start().await;
    let config = s.push_blob(REPO, b"{}").await;
    let missing = sha256(b"missing layer");
    let body = image_manifest(&config, 2, &[(&missing, 13)], None, None);
    let r = s
        .put_manifest(REPO, "v1", OCI_MANIFEST, body.as_bytes())
        .await;
    assert_eq!(r.status(), 400);
    let err = json(r).await;
    assert_eq!(err["errors"][0]["code"], "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(
        err["errors"][0]["detail"]["digests"][0],
        missing.to_string()
    );
    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/tags/list")))
        .send()
        .await
        .unwrap();
    assert_eq!(json(r).await["tags"].as_array().unwrap().len(), 0);
    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/manifests/{}", sha256(body.as_bytes()))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Media type mismatch, unknown type, malformed JSON.
    let ok = image_manifest(&config, 2, &[], None, None);
    let r = s
        .put_manifest(REPO, "v1", DOCKER_MANIFEST, ok.as_bytes())
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "MANIFEST_INVALID");
    let r = s
        .put_manifest(REPO, "v1", OCI_MANIFEST, b"{\"schemaVersion\":2")
        .await;
    assert_eq!(error_code(r).await, "MANIFEST_INVALID");
    let r = s
        .put_manifest(
            REPO,
            "v1",
            "text/plain",
            br#"{"schemaVersion":2,"config":{}}"#,
        )
        .await;
    assert_eq!(error_code(r).await, "MANIFEST_INVALID");
    // An invalid tag.
    let r = s
        .put_manifest(REPO, "-bad", OCI_MANIFEST, ok.as_bytes())
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "MANIFEST_INVALID");

    // An index naming a manifest the repository lacks.
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{missing}","size":10}}]}}"#
    );
    let r = s
        .put_manifest(REPO, "idx", OCI_INDEX, index.as_bytes())
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "MANIFEST_BLOB_UNKNOWN");
}

#[tokio::test]
async fn manifest_size_limit() {
    let limits = Limits {
        max_manifest_bytes: 1024,
        ..Limits::default()
    };
    let s = Server::on(common::Database::sqlite().await, limits).await;
    let big = vec![b' '; 2048];
    let r = s.put_manifest(REPO, "v1", OCI_MANIFEST, &big).await;
    assert_eq!(r.status(), 413);
    assert_eq!(error_code(r).await, "MANIFEST_INVALID");
}

#[tokio::test]
async fn index_and_docker_types() {
    let s = Server::start().await;
    let (child, child_digest) = s.push_image(REPO, "amd64", b"amd64 layer").await;
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{child_digest}","size":{}}}]}}"#,
        child.len()
    );
    let r = s
        .put_manifest(REPO, "multi", OCI_INDEX, index.as_bytes())
        .await;
    assert_eq!(r.status(), 201);
    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/manifests/multi")))
        .header("accept", format!("{OCI_INDEX}, {OCI_MANIFEST}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type").unwrap(), OCI_INDEX);

    // Docker schema 2, Content-Type generic: the body's mediaType decides.
    let config = s.push_blob(REPO, b"{\"docker\":1}").await;
    let docker = format!(
        r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{config}","size":12}},"layers":[]}}"#
    );
    let r = s
        .put_manifest(REPO, "docker", "application/json", docker.as_bytes())
        .await;
    assert_eq!(r.status(), 201);
    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/manifests/docker")))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "content-type").unwrap(), DOCKER_MANIFEST);
}

#[tokio::test]
async fn content_negotiation() {
    let s = Server::start().await;
    s.push_image(REPO, "v1", b"layer").await;
    let url = s.url(&format!("/v2/{REPO}/manifests/v1"));
    for (accept, status) in [
        (OCI_MANIFEST, 200),
        ("*/*", 200),
        ("application/*", 200),
        (DOCKER_MANIFEST, 404),
        (
            "application/vnd.oci.image.manifest.v1+json;q=0, */*;q=0",
            404,
        ),
    ] {
        let r = s
            .http
            .get(&url)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "Accept: {accept}");
        if status == 404 {
            assert_eq!(error_code(r).await, "MANIFEST_UNKNOWN");
        }
    }
}

#[tokio::test]
async fn tags_pagination() {
    let s = Server::start().await;
    let (_, digest) = s.push_image(REPO, "a", b"layer").await;
    let config = s
        .push_blob(REPO, br#"{"architecture":"amd64","os":"linux"}"#)
        .await;
    let layer = sha256(b"layer");
    let body = image_manifest(&config, 37, &[(&layer, 5)], None, None);
    assert_eq!(sha256(body.as_bytes()), digest);
    for tag in ["e", "c", "B", "d", "b"] {
        assert_eq!(
            s.put_manifest(REPO, tag, OCI_MANIFEST, body.as_bytes())
                .await
                .status(),
            201
        );
    }
    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/tags/list")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(header(&r, "link").is_none());
    let all = json(r).await;
    assert_eq!(all["name"], REPO);
    assert_eq!(
        all["tags"],
        serde_json::json!(["B", "a", "b", "c", "d", "e"])
    );
    assert_eq!(s.gate.asked().last().unwrap().access, Access::ListTags);

    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/tags/list?n=2")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&r, "link").unwrap(),
        format!("</v2/{REPO}/tags/list?n=2&last=a>; rel=\"next\"")
    );
    assert_eq!(json(r).await["tags"], serde_json::json!(["B", "a"]));
    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/tags/list?n=2&last=a")))
        .send()
        .await
        .unwrap();
    assert!(header(&r, "link").is_some());
    assert_eq!(json(r).await["tags"], serde_json::json!(["b", "c"]));
    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/tags/list?n=2&last=c")))
        .send()
        .await
        .unwrap();
    assert!(header(&r, "link").is_none());
    assert_eq!(json(r).await["tags"], serde_json::json!(["d", "e"]));
    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/tags/list?n=0")))
        .send()
        .await
        .unwrap();
    assert_eq!(json(r).await["tags"], serde_json::json!([]));
    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/tags/list?n=x")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn catalog_pagination() {
    let s = Server::start().await;
    for name in ["zeta", "alpha", "mid"] {
        create_repo(s.db(), s.instance(), NS, name, false).await;
    }
    create_repo(s.db(), s.instance(), "other", "x", false).await;
    let r = s.http.get(s.url("/v2/_catalog")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        json(r).await["repositories"],
        serde_json::json!(["ns/alpha", "ns/mid", "ns/zeta", "other/x"])
    );
    let asked = s.gate.asked();
    assert_eq!(asked.last().unwrap().access, Access::Catalog);
    assert_eq!(asked.last().unwrap().repository, None);
    let r = s.http.get(s.url("/v2/_catalog?n=3")).send().await.unwrap();
    assert_eq!(
        header(&r, "link").unwrap(),
        "</v2/_catalog?n=3&last=ns/zeta>; rel=\"next\""
    );
    assert_eq!(
        json(r).await["repositories"],
        serde_json::json!(["ns/alpha", "ns/mid", "ns/zeta"])
    );
    let r = s
        .http
        .get(s.url("/v2/_catalog?n=3&last=ns/zeta"))
        .send()
        .await
        .unwrap();
    assert!(header(&r, "link").is_none());
    assert_eq!(
        json(r).await["repositories"],
        serde_json::json!(["other/x"])
    );
}

#[tokio::test]
async fn referrers_with_filter() {
    let s = Server::start().await;
    let (subject_bytes, subject) = s.push_image(REPO, "v1", b"layer").await;
    let empty = s.push_blob(REPO, b"{}").await;
    let mut pushed = Vec::new();
    for (artifact, payload) in [
        ("application/vnd.example.sbom", b"sbom".as_slice()),
        ("application/vnd.example.sig", b"sig".as_slice()),
    ] {
        let layer = s.push_blob(REPO, payload).await;
        let body = image_manifest(
            &empty,
            2,
            &[(&layer, payload.len())],
            Some(artifact),
            Some((&subject, subject_bytes.len())),
        );
        let digest = sha256(body.as_bytes());
        let r = s
            .put_manifest(REPO, &digest.to_string(), OCI_MANIFEST, body.as_bytes())
            .await;
        assert_eq!(r.status(), 201);
        assert_eq!(header(&r, "oci-subject").unwrap(), subject.to_string());
        pushed.push((artifact, digest));
    }
    // A referrer whose subject does not exist (yet) is accepted.
    let ghost = sha256(b"ghost manifest");
    let body = image_manifest(&empty, 2, &[], Some("x/y"), Some((&ghost, 3)));
    let r = s
        .put_manifest(REPO, "dangling", OCI_MANIFEST, body.as_bytes())
        .await;
    assert_eq!(r.status(), 201);

    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/referrers/{subject}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type").unwrap(), OCI_INDEX);
    assert!(header(&r, "oci-filters-applied").is_none());
    let index = json(r).await;
    assert_eq!(index["mediaType"], OCI_INDEX);
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 2);
    for m in manifests {
        assert_eq!(m["mediaType"], OCI_MANIFEST);
        assert_eq!(m["annotations"]["org.example"], "yes");
        assert!(pushed
            .iter()
            .any(|(a, d)| m["artifactType"] == *a && m["digest"] == d.to_string()));
    }

    let r = s
        .http
        .get(s.url(&format!(
            "/v2/{REPO}/referrers/{subject}?artifactType=application/vnd.example.sig"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&r, "oci-filters-applied").as_deref(),
        Some("artifactType")
    );
    let index = json(r).await;
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1);
    assert_eq!(manifests[0]["digest"], pushed[1].1.to_string());

    // No referrers: an empty index, not a 404. A bad digest: 400.
    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/referrers/{}", sha256(b"none"))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(json(r).await["manifests"], serde_json::json!([]));
    let r = s
        .http
        .get(s.url(&format!("/v2/{REPO}/referrers/sha256:zz")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
}

#[tokio::test]
async fn delete_tag_and_manifest() {
    let s = Server::start().await;
    let (_, digest) = s.push_image(REPO, "v1", b"layer").await;
    let body = s
        .http
        .get(s.url(&format!("/v2/{REPO}/manifests/v1")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        s.put_manifest(REPO, "v2", OCI_MANIFEST, &body)
            .await
            .status(),
        201
    );
    s.gate.asked();

    // Deleting a tag leaves the manifest and its other tags.
    let r = s
        .http
        .delete(s.url(&format!("/v2/{REPO}/manifests/v1")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(s.gate.asked().last().unwrap().access, Access::DeleteTag);
    let get = |reference: String| {
        let url = s.url(&format!("/v2/{REPO}/manifests/{reference}"));
        let http = s.http.clone();
        async move { http.get(url).send().await.unwrap().status() }
    };
    assert_eq!(get("v1".into()).await, 404);
    assert_eq!(get("v2".into()).await, 200);
    assert_eq!(get(digest.to_string()).await, 200);
    let r = s
        .http
        .delete(s.url(&format!("/v2/{REPO}/manifests/v1")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "MANIFEST_UNKNOWN");

    // Deleting by digest takes its tags with it.
    let r = s
        .http
        .delete(s.url(&format!("/v2/{REPO}/manifests/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(s.gate.asked().last().unwrap().access, Access::Delete);
    assert_eq!(get(digest.to_string()).await, 404);
    assert_eq!(get("v2".into()).await, 404);
    let r = s
        .http
        .delete(s.url(&format!("/v2/{REPO}/manifests/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Pushing it again works (its blobs are still linked).
    assert_eq!(
        s.put_manifest(REPO, "v3", OCI_MANIFEST, &body)
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn immutable_tags() {
    let s = Server::start().await;
    create_repo(s.db(), s.instance(), NS, "frozen", true).await;
    let repo = "ns/frozen";
    let (first, _) = s.push_image(repo, "v1", b"layer one").await;
    // Re-pushing the same manifest under the tag is fine.
    assert_eq!(
        s.put_manifest(repo, "v1", OCI_MANIFEST, &first)
            .await
            .status(),
        201
    );
    let config = s.push_blob(repo, b"{}").await;
    let other = image_manifest(&config, 2, &[], None, None);
    let r = s
        .put_manifest(repo, "v1", OCI_MANIFEST, other.as_bytes())
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "DENIED");
    let r = s
        .http
        .get(s.url(&format!("/v2/{repo}/manifests/v1")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().to_vec(), first);
    // A new tag is fine.
    assert_eq!(
        s.put_manifest(repo, "v2", OCI_MANIFEST, other.as_bytes())
            .await
            .status(),
        201
    );
}
