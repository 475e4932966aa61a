//! What the data plane asks the gate, how it renders refusals, and the
//! names it refuses before asking anyone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{error_code, header, sha256, Asked, Server};
use registry::gate::{Access, Refusal};

#[tokio::test]
async fn invalid_names_are_refused_before_the_gate() {
    let s = Server::start().await;
    let long = format!("ns/{}", "a".repeat(300));
    for name in ["NS/app", "ns/App", "ns//app", "ns/a..b", long.as_str()] {
        for path in [
            format!("/v2/{name}/tags/list"),
            format!("/v2/{name}/manifests/latest"),
            format!("/v2/{name}/blobs/{}", sha256(b"x")),
            format!("/v2/{name}/blobs/uploads/"),
        ] {
            let method = if path.ends_with("/uploads/") {
                reqwest::Method::POST
            } else {
                reqwest::Method::GET
            };
            let r = s.http.request(method, s.url(&path)).send().await.unwrap();
            assert_eq!(r.status(), 400, "{path}");
            assert_eq!(error_code(r).await, "NAME_INVALID", "{path}");
        }
    }
    assert!(s.gate.asked().is_empty());

    // HTTP clients resolve `..` away, so send that one by hand.
    let raw = raw_get(&s, "/v2/ns/../app/tags/list").await;
    assert!(raw.starts_with("HTTP/1.1 400"), "{raw}");
    assert!(raw.contains("NAME_INVALID"), "{raw}");
    assert!(s.gate.asked().is_empty());
}

async fn raw_get(s: &Server, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn refusals_are_rendered() {
    let s = Server::start().await;
    let digest = sha256(b"x");
    let paths = [
        "/v2/".to_owned(),
        "/v2/_catalog".to_owned(),
        "/v2/ns/app/tags/list".to_owned(),
        format!("/v2/ns/app/blobs/{digest}"),
        "/v2/ns/app/manifests/latest".to_owned(),
    ];
    let challenge =
        "Bearer realm=\"http://auth/token\",service=\"registry\",scope=\"repository:ns/app:pull\"";
    let cases = [
        (
            Refusal::Challenge {
                www_authenticate: challenge.into(),
                message: "authentication required".into(),
            },
            401,
            "UNAUTHORIZED",
        ),
        (
            Refusal::Denied {
                message: "no".into(),
            },
            403,
            "DENIED",
        ),
        (
            Refusal::NameUnknown {
                message: "no such repo".into(),
            },
            404,
            "NAME_UNKNOWN",
        ),
        (
            Refusal::UnknownHost {
                message: "no such instance".into(),
            },
            404,
            "NAME_UNKNOWN",
        ),
        (
            Refusal::NameInvalid {
                message: "not namespace/repo".into(),
            },
            400,
            "NAME_INVALID",
        ),
    ];
    for (refusal, status, code) in cases {
        s.gate.refuse(Some(refusal.clone()));
        for path in &paths {
            let r = s.http.get(s.url(path)).send().await.unwrap();
            assert_eq!(r.status(), status, "{path} {refusal:?}");
            if status == 401 {
                assert_eq!(header(&r, "www-authenticate").as_deref(), Some(challenge));
            }
            assert_eq!(error_code(r).await, code);
        }
    }
    s.gate.refuse(Some(Refusal::Internal {
        message: "database down".into(),
    }));
    let r = s.http.get(s.url("/v2/")).send().await.unwrap();
    assert_eq!(r.status(), 500);
    s.gate.refuse(None);

    // A refused push stores nothing.
    s.gate.refuse(Some(Refusal::Denied {
        message: "read only".into(),
    }));
    let r = s
        .http
        .post(s.url(&format!(
            "/v2/ns/app/blobs/uploads/?digest={}",
            sha256(b"data")
        )))
        .body(b"data".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    s.gate.refuse(None);
    let r = s
        .http
        .get(s.url(&format!("/v2/ns/app/blobs/{}", sha256(b"data"))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn access_asked_per_endpoint() {
    let s = Server::start().await;
    let (_, digest) = s.push_image("ns/app", "v1", b"layer").await;
    let blob = sha256(b"layer");
    s.gate.asked();
    let check = |asked: Vec<Asked>, access: Access, repo: Option<&str>| {
        assert_eq!(
            asked,
            vec![Asked {
                access,
                repository: repo.map(str::to_owned)
            }]
        );
    };
    let http = &s.http;
    http.get(s.url("/v2/")).send().await.unwrap();
    check(s.gate.asked(), Access::Base, None);
    http.get(s.url("/v2/_catalog")).send().await.unwrap();
    check(s.gate.asked(), Access::Catalog, None);
    http.get(s.url("/v2/ns/app/tags/list"))
        .send()
        .await
        .unwrap();
    check(s.gate.asked(), Access::ListTags, Some("ns/app"));
    for path in [
        format!("/v2/ns/app/manifests/{digest}"),
        format!("/v2/ns/app/blobs/{blob}"),
        format!("/v2/ns/app/referrers/{digest}"),
    ] {
        http.get(s.url(&path)).send().await.unwrap();
        check(s.gate.asked(), Access::Pull, Some("ns/app"));
        http.head(s.url(&path)).send().await.unwrap();
        let asked = s.gate.asked();
        if !path.contains("referrers") {
            check(asked, Access::Pull, Some("ns/app"));
        }
    }
    let r = http
        .post(s.url("/v2/ns/app/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    let location = header(&r, "location").unwrap();
    check(s.gate.asked(), Access::Push, Some("ns/app"));
    http.patch(s.url(&location)).body("x").send().await.unwrap();
    check(s.gate.asked(), Access::Push, Some("ns/app"));
    http.get(s.url(&location)).send().await.unwrap();
    check(s.gate.asked(), Access::Push, Some("ns/app"));
    http.delete(s.url(&location)).send().await.unwrap();
    check(s.gate.asked(), Access::Push, Some("ns/app"));
    http.delete(s.url("/v2/ns/app/manifests/v1"))
        .send()
        .await
        .unwrap();
    check(s.gate.asked(), Access::DeleteTag, Some("ns/app"));
    http.delete(s.url(&format!("/v2/ns/app/manifests/{digest}")))
        .send()
        .await
        .unwrap();
    check(s.gate.asked(), Access::Delete, Some("ns/app"));
    http.delete(s.url(&format!("/v2/ns/app/blobs/{blob}")))
        .send()
        .await
        .unwrap();
    check(s.gate.asked(), Access::Delete, Some("ns/app"));
}

#[tokio::test]
async fn unknown_endpoints_and_methods() {
    let s = Server::start().await;
    let r = s.http.get(s.url("/v2/ns/app")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = s
        .http
        .post(s.url("/v2/ns/app/tags/list"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(error_code(r).await, "UNSUPPORTED");
}
