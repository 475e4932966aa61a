//! The authorization API for services (`POST /rampart/authorize`) over
//! real HTTP: a service key asks about requests signed by callers (role
//! sessions and long-term keys, every signing style), the decision and the
//! principal in the answer, revocation by detaching the role's policy,
//! the forwarded request's signature, token, nonce and timestamp checks,
//! the service's own authentication, and the audit row.
// Tests fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use auth::{percent_encode, v1, v3, Secret, Timestamp};
use common::{fresh_nonce, Answer, Key, Style, TestServer, Tweak};
use serde_json::{json, Map, Value};

const ALL_STYLES: [Style; 3] = [Style::V1Get, Style::V1Post, Style::V3];
const SERVICE: &str = "fc.example.internal";
const FC_VERSION: &str = "2021-04-06";

/// Seed 003: A's `fc-admin` (AliyunFCReadOnlyAccess) trusted by B's root;
/// bob of B may assume roles; a service key for the fc gateway.
struct World {
    server: TestServer,
    b: String,
    b_root: Key,
    bob: Key,
    service: Key,
    role_arn: String,
}

fn trust(principal: &str) -> String {
    json!({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"RAM": [principal]}}]})
    .to_string()
}

async fn role_policy(server: &TestServer, action: &str, policy: &str) {
    server
        .ram(
            &server.root,
            Style::V3,
            action,
            &[
                ("RoleName", "fc-admin"),
                ("PolicyType", "System"),
                ("PolicyName", policy),
            ],
        )
        .await
        .ok();
}

async fn world_with(server: TestServer) -> World {
    let (b, b_root) = server.other_account().await;
    server
        .ram(
            &server.root,
            Style::V3,
            "CreateRole",
            &[
                ("RoleName", "fc-admin"),
                (
                    "AssumeRolePolicyDocument",
                    &trust(&format!("acs:ram::{b}:root")),
                ),
            ],
        )
        .await
        .ok();
    role_policy(&server, "AttachPolicyToRole", "AliyunFCReadOnlyAccess").await;
    server
        .ram(&b_root, Style::V3, "CreateUser", &[("UserName", "bob")])
        .await
        .ok();
    server
        .ram(
            &b_root,
            Style::V3,
            "AttachPolicyToUser",
            &[
                ("UserName", "bob"),
                ("PolicyType", "System"),
                ("PolicyName", "AliyunSTSAssumeRoleAccess"),
            ],
        )
        .await
        .ok();
    let created = server
        .ram(
            &b_root,
            Style::V3,
            "CreateAccessKey",
            &[("UserName", "bob")],
        )
        .await;
    let k = &created.ok()["AccessKey"];
    let bob = Key {
        id: k["AccessKeyId"].as_str().unwrap().to_owned(),
        secret: k["AccessKeySecret"].as_str().unwrap().to_owned(),
        token: None,
    };
    let new = server.store.create_service_key(SERVICE).await.unwrap();
    let service = Key {
        id: new.key.access_key_id.clone(),
        secret: new.secret.expose().to_owned(),
        token: None,
    };
    let role_arn = format!("acs:ram::{}:role/fc-admin", server.account);
    World {
        server,
        b,
        b_root,
        bob,
        service,
        role_arn,
    }
}

async fn world() -> World {
    world_with(TestServer::start().await).await
}

impl World {
    async fn assume(&self, session: &str, extra: &[(&str, &str)]) -> Key {
        let mut params = vec![
            ("RoleArn", self.role_arn.as_str()),
            ("RoleSessionName", session),
        ];
        params.extend_from_slice(extra);
        let answer = self
            .server
            .sts(&self.bob, Style::V3, "AssumeRole", &params)
            .await;
        Key::from_assume_role(answer.ok())
    }

    fn resource(&self) -> String {
        format!("acs:fc:cn-hangzhou:{}:services/*", self.server.account)
    }

    /// A caller's fc request, signed as `style`, in the shape a service
    /// forwards it.
    fn forwarded(&self, caller: &Key, style: Style, action: &str, tweak: &Tweak) -> Value {
        let tweak = Tweak {
            version: Some(FC_VERSION.to_owned()),
            ..tweak.clone()
        };
        let request = self.server.build(caller, style, action, &[], &tweak);
        let mut headers = Map::new();
        headers.insert("host".into(), json!(self.server.host()));
        for (name, value) in request.headers() {
            headers.insert(name.as_str().into(), json!(value.to_str().unwrap()));
        }
        let body = request
            .body()
            .and_then(|b| b.as_bytes())
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
            .unwrap_or_default();
        json!({
            "Method": request.method().as_str(),
            "Path": request.url().path(),
            "Query": request.url().query().unwrap_or(""),
            "Headers": headers,
            "Body": body,
            "SourceIp": "10.1.2.3",
        })
    }

    fn document(&self, action: &str, forwarded: Value) -> Value {
        json!({"Action": format!("fc:{action}"), "Resource": self.resource(), "Request": forwarded})
    }

    /// Asks about a caller's request, as the service (V3, JSON body).
    async fn ask(&self, caller: &Key, style: Style, action: &str) -> Answer {
        let forwarded = self.forwarded(caller, style, action, &Tweak::default());
        self.authorize(&self.service, &self.document(action, forwarded))
            .await
    }

    /// The service's own call: V3, the document as a JSON body.
    async fn authorize(&self, signer: &Key, document: &Value) -> Answer {
        let body = document.to_string();
        let host = self.server.host();
        let date = Timestamp::now().to_iso8601();
        let nonce = fresh_nonce();
        let sha = v3::content_sha256_hex(body.as_bytes());
        let mut headers: Vec<(&str, &str)> = vec![
            ("host", &host),
            ("content-type", "application/json"),
            ("x-acs-action", "Authorize"),
            ("x-acs-version", "rampart-v1"),
            ("x-acs-date", &date),
            ("x-acs-signature-nonce", &nonce),
            ("x-acs-content-sha256", &sha),
        ];
        if let Some(token) = &signer.token {
            headers.push(("x-acs-security-token", token));
        }
        let signed = v3::sign_request(
            &v3::Request {
                method: "POST",
                path: "/rampart/authorize",
                query: &[],
                headers: &headers,
                body: body.as_bytes(),
            },
            &signer.id,
            &Secret::new(signer.secret.clone()),
        )
        .unwrap();
        let mut builder = self
            .server
            .http
            .post(format!("{}/rampart/authorize", self.server.base()))
            .header("authorization", signed.to_string());
        for (name, value) in &headers {
            if *name != "host" {
                builder = builder.header(*name, *value);
            }
        }
        self.server.send(builder.body(body).build().unwrap()).await
    }

    /// The service's own call: V1, the document as the form parameter
    /// `Request` (or, with `json_body`, as an unsigned JSON body).
    async fn authorize_v1(&self, document: &Value, json_body: bool) -> Answer {
        let mut pairs: Vec<(String, String)> = [
            ("AccessKeyId", self.service.id.clone()),
            ("SignatureMethod", "HMAC-SHA1".to_owned()),
            ("SignatureVersion", "1.0".to_owned()),
            ("SignatureNonce", fresh_nonce()),
            ("Timestamp", Timestamp::now().to_iso8601()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if !json_body {
            pairs.push(("Request".to_owned(), document.to_string()));
        }
        let signature = v1::sign_params("POST", &pairs, &Secret::new(self.service.secret.clone()));
        pairs.push(("Signature".to_owned(), signature));
        let encoded: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        let encoded = encoded.join("&");
        let request = if json_body {
            self.server
                .http
                .post(format!(
                    "{}/rampart/authorize?{encoded}",
                    self.server.base()
                ))
                .header("content-type", "application/json")
                .body(document.to_string())
        } else {
            self.server
                .http
                .post(format!("{}/rampart/authorize", self.server.base()))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encoded)
        };
        self.server.send(request.build().unwrap()).await
    }
}

fn allowed(answer: &Answer) -> bool {
    answer.ok()["Allowed"].as_bool().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lent_role_reads_but_does_not_write_until_the_policy_is_detached() {
    let w = world().await;
    let session = w.assume("bob-fc", &[]).await;
    for style in ALL_STYLES {
        let read = w.ask(&session, style, "ListServices").await;
        let body = read.ok();
        assert_eq!(body["Allowed"], true, "{style:?}: {body}");
        assert_eq!(body["Decision"], "Allow");
        assert_eq!(
            body["DecidingStatement"],
            "System:AliyunFCReadOnlyAccess:v1:Statement[0]"
        );
        assert_eq!(body["Action"], "fc:ListServices");
        assert_eq!(body["Resource"], w.resource());
        assert_eq!(body["ActingService"], SERVICE);
        assert!(body["RequestId"].as_str().is_some_and(|id| !id.is_empty()));
        let principal = &body["Principal"];
        assert_eq!(principal["IdentityType"], "AssumedRoleUser");
        assert_eq!(principal["AccountId"], w.server.account);
        assert_eq!(
            principal["Arn"],
            format!("acs:ram::{}:assumed-role/fc-admin/bob-fc", w.server.account)
        );
        assert_eq!(principal["AccessKeyId"], session.id);
        assert!(principal["SessionId"].as_str().is_some());
        assert_eq!(
            principal["Chain"],
            json!([
                format!("acs:ram::{}:user/bob", w.b),
                format!("acs:ram::{}:role/fc-admin/bob-fc", w.server.account),
            ])
        );

        let write = w.ask(&session, style, "CreateService").await;
        let body = write.ok();
        assert_eq!(body["Allowed"], false, "{style:?}: {body}");
        assert_eq!(body["Decision"], "ImplicitDeny");
        assert_eq!(body["DecidingStatement"], Value::Null);
    }

    // A detaches the policy: the same credentials are denied next time.
    role_policy(&w.server, "DetachPolicyFromRole", "AliyunFCReadOnlyAccess").await;
    let read = w.ask(&session, Style::V3, "ListServices").await;
    assert!(!allowed(&read));
    assert_eq!(read.body["Decision"], "ImplicitDeny");

    // The decision is audited in A, with the chain and the caller's address.
    let request_id = read.body["RequestId"].as_str().unwrap().to_owned();
    let rows = w
        .server
        .store
        .list_audit(&iam::AuditFilter {
            account_id: w.server.account.clone(),
            request_id: Some(request_id),
            ..iam::AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row.action, "fc:ListServices");
    assert_eq!(row.resource, w.resource());
    assert_eq!(row.decision, "ImplicitDeny");
    assert_eq!(row.principal_chain.len(), 2);
    assert_eq!(row.source_ip.as_deref(), Some("10.1.2.3"));
    assert!(row.session_id.is_some());
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_term_keys_and_the_account_boundary() {
    let w = world().await;
    // A's root may do anything in A.
    let root = w.ask(&w.server.root, Style::V1Get, "CreateService").await;
    let body = root.ok();
    assert_eq!(body["Allowed"], true);
    assert_eq!(body["DecidingStatement"], "AccountRoot");
    assert_eq!(body["Principal"]["IdentityType"], "Account");
    assert_eq!(body["Principal"]["Chain"], json!([]));
    // B's root may not act on A's resources, whatever its rights in B.
    let other = w.ask(&w.b_root, Style::V3, "ListServices").await;
    let body = other.ok();
    assert_eq!(body["Allowed"], false);
    assert_eq!(body["DecidingStatement"], "OutsideAccount");
    // A user of A reads once the policy is attached to it.
    let alice = w.server.user_with_key("alice").await;
    assert!(!allowed(&w.ask(&alice, Style::V3, "ListServices").await));
    w.server
        .ram(
            &w.server.root,
            Style::V3,
            "AttachPolicyToUser",
            &[
                ("UserName", "alice"),
                ("PolicyType", "System"),
                ("PolicyName", "AliyunFCReadOnlyAccess"),
            ],
        )
        .await
        .ok();
    let read = w.ask(&alice, Style::V1Post, "ListServices").await;
    assert!(allowed(&read));
    assert_eq!(read.body["Principal"]["IdentityType"], "RAMUser");
    assert_eq!(
        read.body["Principal"]["Arn"],
        format!("acs:ram::{}:user/alice", w.server.account)
    );
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_policies_narrow() {
    let w = world().await;
    let narrow = json!({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "fc:GetService", "Resource": "*"}]})
        .to_string();
    let session = w.assume("narrow", &[("Policy", &narrow)]).await;
    let answer = w.ask(&session, Style::V3, "ListServices").await;
    assert!(!allowed(&answer));
    assert_eq!(answer.body["DecidingStatement"], "SessionPolicy:NoAllow");
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forwarded_request_is_checked_like_rampart_s_own() {
    let w = world().await;
    let session = w.assume("bob-fc", &[]).await;
    // A wrong signature.
    for style in ALL_STYLES {
        let tweak = Tweak {
            secret: Some("not-the-secret".to_owned()),
            ..Tweak::default()
        };
        let forwarded = w.forwarded(&session, style, "ListServices", &tweak);
        let answer = w
            .authorize(&w.service, &w.document("ListServices", forwarded))
            .await;
        answer.err(400, "SignatureDoesNotMatch");
    }

    // A flipped byte of the signature itself.
    let mut forwarded = w.forwarded(&session, Style::V3, "ListServices", &Tweak::default());
    let authorization = forwarded["Headers"]["authorization"]
        .as_str()
        .unwrap()
        .to_owned();
    let last = authorization.chars().last().unwrap();
    let flipped = if last == '0' { '1' } else { '0' };
    forwarded["Headers"]["authorization"] = json!(format!(
        "{}{flipped}",
        &authorization[..authorization.len() - 1]
    ));
    w.authorize(&w.service, &w.document("ListServices", forwarded))
        .await
        .err(400, "SignatureDoesNotMatch");

    // A replayed request: the nonce was recorded the first time.
    let forwarded = w.forwarded(&session, Style::V1Get, "ListServices", &Tweak::default());
    let document = w.document("ListServices", forwarded);
    assert!(allowed(&w.authorize(&w.service, &document).await));
    w.authorize(&w.service, &document)
        .await
        .err(400, "SignatureNonceUsed");

    // A stale request.
    let tweak = Tweak {
        timestamp: Some(
            Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() - 3600).to_iso8601(),
        ),
        ..Tweak::default()
    };
    let forwarded = w.forwarded(&session, Style::V3, "ListServices", &tweak);
    w.authorize(&w.service, &w.document("ListServices", forwarded))
        .await
        .err(400, "InvalidTimeStamp.Expired");

    // A token that does not belong to the key.
    let other = w.assume("other", &[]).await;
    let mismatched = Key {
        token: other.token.clone(),
        ..session.clone()
    };
    let forwarded = w.forwarded(&mismatched, Style::V3, "ListServices", &Tweak::default());
    w.authorize(&w.service, &w.document("ListServices", forwarded))
        .await
        .err(400, "InvalidSecurityToken.MismatchWithAccessKey");

    // An unsigned request.
    let forwarded = json!({"Method": "GET", "Query": "Action=ListServices"});
    w.authorize(&w.service, &w.document("ListServices", forwarded))
        .await
        .err(400, "MissingAccessKeyId");

    // The role's sessions revoked... by deleting the user who started them.
    w.server
        .ram(
            &w.b_root,
            Style::V3,
            "DetachPolicyFromUser",
            &[
                ("UserName", "bob"),
                ("PolicyType", "System"),
                ("PolicyName", "AliyunSTSAssumeRoleAccess"),
            ],
        )
        .await
        .ok();
    let key_id = w.bob.id.clone();
    w.server
        .ram(
            &w.b_root,
            Style::V3,
            "DeleteAccessKey",
            &[("UserName", "bob"), ("UserAccessKeyId", &key_id)],
        )
        .await
        .ok();
    w.server
        .ram(&w.b_root, Style::V3, "DeleteUser", &[("UserName", "bob")])
        .await
        .ok();
    let gone = w.ask(&session, Style::V3, "ListServices").await;
    assert_eq!(gone.status, 400, "{}", gone.body);
    assert!(
        gone.code().starts_with("InvalidSecurityToken"),
        "{}",
        gone.body
    );
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_on_the_test_clock() {
    let dir = tempfile::tempdir().unwrap();
    let offset = dir.path().join("offset");
    let clock = server::Clock::with_offset_file(&offset);
    let w = world_with(TestServer::start_with_clock(server::Config::default(), clock).await).await;
    let session = w.assume("short", &[("DurationSeconds", "900")]).await;
    assert!(allowed(&w.ask(&session, Style::V3, "ListServices").await));
    std::fs::write(&offset, "900").unwrap();
    w.ask(&session, Style::V3, "ListServices")
        .await
        .err(400, "InvalidSecurityToken.Expired");
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_service_may_ask_and_must_sign() {
    let w = world().await;
    let session = w.assume("bob-fc", &[]).await;
    let document = || {
        let forwarded = w.forwarded(&session, Style::V3, "ListServices", &Tweak::default());
        w.document("ListServices", forwarded)
    };
    // A RAM principal is not a service.
    w.authorize(&w.server.root, &document())
        .await
        .err(403, "NoPermission");
    w.authorize(&session, &document())
        .await
        .err(403, "NoPermission");
    // The service's own signature is checked.
    let wrong = Key {
        secret: "wrong".to_owned(),
        ..w.service.clone()
    };
    w.authorize(&wrong, &document())
        .await
        .err(400, "SignatureDoesNotMatch");
    // V1 covers a form parameter, not a JSON body.
    assert!(allowed(&w.authorize_v1(&document(), false).await));
    w.authorize_v1(&document(), true)
        .await
        .err(400, "IncompleteSignature");
    // A malformed question.
    let mut bad = document();
    bad["Action"] = json!("fc:*");
    w.authorize(&w.service, &bad)
        .await
        .err(400, "InvalidParameter.Request");
    let mut bad = document();
    bad["Resource"] = json!("services/*");
    w.authorize(&w.service, &bad)
        .await
        .err(400, "InvalidParameter.Request");
    // Unsigned, and other methods.
    let unsigned = w
        .server
        .send(
            w.server
                .http
                .post(format!("{}/rampart/authorize", w.server.base()))
                .body(document().to_string())
                .build()
                .unwrap(),
        )
        .await;
    unsigned.err(400, "MissingAccessKeyId");
    w.server
        .get("/rampart/authorize")
        .await
        .err(405, "UnsupportedHTTPMethod");
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_say_whose_request_was_refused() {
    let w = world().await;
    let session = w.assume("bob-fc", &[]).await;
    let tweak = Tweak {
        secret: Some("nope".to_owned()),
        ..Tweak::default()
    };
    let forwarded = w.forwarded(&session, Style::V3, "ListServices", &tweak);
    let document = w.document("ListServices", forwarded);
    let header = |response: &reqwest::Response| {
        response
            .headers()
            .get("x-rampart-error-source")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    // Sent by hand to read the header.
    let body = document.to_string();
    let host = w.server.host();
    let date = Timestamp::now().to_iso8601();
    for (signer, expected) in [(&w.service, "request"), (&w.server.root, "service")] {
        let nonce = fresh_nonce();
        let sha = v3::content_sha256_hex(body.as_bytes());
        let headers: Vec<(&str, &str)> = vec![
            ("host", &host),
            ("content-type", "application/json"),
            ("x-acs-action", "Authorize"),
            ("x-acs-version", "rampart-v1"),
            ("x-acs-date", &date),
            ("x-acs-signature-nonce", &nonce),
            ("x-acs-content-sha256", &sha),
        ];
        let signed = v3::sign_request(
            &v3::Request {
                method: "POST",
                path: "/rampart/authorize",
                query: &[],
                headers: &headers,
                body: body.as_bytes(),
            },
            &signer.id,
            &Secret::new(signer.secret.clone()),
        )
        .unwrap();
        let mut builder = w
            .server
            .http
            .post(format!("{}/rampart/authorize", w.server.base()))
            .header("authorization", signed.to_string());
        for (name, value) in &headers {
            if *name != "host" {
                builder = builder.header(*name, *value);
            }
        }
        let response = builder.body(body.clone()).send().await.unwrap();
        assert_eq!(header(&response).as_deref(), Some(expected));
    }
    w.server.stop().await;
}
