//! The RPC endpoint over real HTTP: signatures, dispatch, errors, the body
//! limit, authorization, account isolation, and the response shape of each
//! RAM family.
// Tests fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use auth::{percent_encode, v1, Secret, Timestamp};
use common::{fresh_nonce, Style, TestServer, Tweak};
use serde_json::Value;

const ALL_STYLES: [Style; 3] = [Style::V1Get, Style::V1Post, Style::V3];

fn is_alibaba_request_id(id: &str) -> bool {
    let groups: Vec<usize> = id.split('-').map(str::len).collect();
    groups == [8, 4, 4, 4, 12]
        && id
            .chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('A'..='F').contains(&c))
}

fn is_date(value: &Value) -> bool {
    value.as_str().is_some_and(|s| Timestamp::parse(s).is_ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_ok() {
    let server = TestServer::start().await;
    let response = reqwest::get(format!("{}/healthz", server.base()))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_signing_style_works_and_answers_in_shape() {
    let server = TestServer::start().await;
    for (i, style) in ALL_STYLES.into_iter().enumerate() {
        let name = format!("u{i}");
        let answer = server
            .ram(
                &server.root,
                style,
                "CreateUser",
                &[("UserName", &name), ("DisplayName", "Ü ser*~!'()")],
            )
            .await;
        let body = answer.ok();
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/json;charset=utf-8")
        );
        let request_id = body["RequestId"].as_str().unwrap();
        assert!(is_alibaba_request_id(request_id), "{request_id}");
        assert_eq!(answer.request_id_header.as_deref(), Some(request_id));
        let user = &body["User"];
        assert_eq!(user["UserName"], name.as_str());
        assert_eq!(user["DisplayName"], "Ü ser*~!'()");
        assert!(user["UserId"].is_string());
        assert!(is_date(&user["CreateDate"]));
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_reports_the_string_to_sign() {
    let server = TestServer::start().await;
    let tweak = Tweak {
        secret: Some("not-the-secret".into()),
        timestamp: Some(Timestamp::now().to_iso8601()),
        nonce: Some(fresh_nonce()),
        ..Tweak::default()
    };
    // V1: the message carries exactly the string to sign a client computes.
    let answer = server
        .call(&server.root, Style::V1Get, "ListUsers", &[], &tweak)
        .await;
    answer.err(400, "SignatureDoesNotMatch");
    let expected_params: Vec<(String, String)> = vec![
        ("Action".into(), "ListUsers".into()),
        ("Version".into(), "2015-05-01".into()),
        ("Format".into(), "JSON".into()),
        ("AccessKeyId".into(), server.root.id.clone()),
        ("SignatureMethod".into(), "HMAC-SHA1".into()),
        ("SignatureVersion".into(), "1.0".into()),
        ("SignatureNonce".into(), tweak.nonce.clone().unwrap()),
        ("SignatureType".into(), String::new()),
        ("Timestamp".into(), tweak.timestamp.clone().unwrap()),
        ("RegionId".into(), "cn-hangzhou".into()),
    ];
    let s2s = v1::string_to_sign("GET", &expected_params);
    assert_eq!(
        answer.message(),
        format!("Specified signature is not matched with our calculation. server string to sign is:{s2s}")
    );
    assert_eq!(answer.message().split(':').nth(1), Some(s2s.as_str()));
    for field in ["RequestId", "HostId", "Code", "Message", "Recommend"] {
        assert!(answer.body[field].is_string(), "{field} in {}", answer.body);
    }
    assert_eq!(answer.body["HostId"], server.host());

    // V3: the same code and prefix, with the V3 string to sign.
    let answer = server
        .call(
            &server.root,
            Style::V3,
            "ListUsers",
            &[],
            &Tweak {
                secret: Some("x".into()),
                ..Tweak::default()
            },
        )
        .await;
    answer.err(400, "SignatureDoesNotMatch");
    let s2s = answer
        .message()
        .strip_prefix(
            "Specified signature is not matched with our calculation. server string to sign is:",
        )
        .unwrap();
    assert!(s2s.starts_with("ACS3-HMAC-SHA256\n"), "{s2s}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_time_replayed_nonce_unknown_and_inactive_keys() {
    let server = TestServer::start().await;
    let stale = Tweak {
        timestamp: Some(
            Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() - 16 * 60).to_iso8601(),
        ),
        ..Tweak::default()
    };
    for style in ALL_STYLES {
        server
            .call(&server.root, style, "ListUsers", &[], &stale)
            .await
            .err(400, "InvalidTimeStamp.Expired");
    }
    let malformed = Tweak {
        timestamp: Some("2024-01-01 12:00:00".into()),
        ..Tweak::default()
    };
    server
        .call(&server.root, Style::V1Get, "ListUsers", &[], &malformed)
        .await
        .err(400, "InvalidTimeStamp.Format");

    // The same signed request twice: the second is a replay.
    for style in ALL_STYLES {
        let tweak = Tweak {
            nonce: Some(fresh_nonce()),
            timestamp: Some(Timestamp::now().to_iso8601()),
            ..Tweak::default()
        };
        server
            .call(&server.root, style, "ListUsers", &[], &tweak)
            .await
            .ok();
        server
            .call(&server.root, style, "ListUsers", &[], &tweak)
            .await
            .err(400, "SignatureNonceUsed");
    }

    // A request with a bad signature does not use up its nonce.
    let nonce = fresh_nonce();
    let bad = Tweak {
        nonce: Some(nonce.clone()),
        secret: Some("wrong".into()),
        ..Tweak::default()
    };
    server
        .call(&server.root, Style::V1Get, "ListUsers", &[], &bad)
        .await
        .err(400, "SignatureDoesNotMatch");
    let good = Tweak {
        nonce: Some(nonce),
        ..Tweak::default()
    };
    server
        .call(&server.root, Style::V1Get, "ListUsers", &[], &good)
        .await
        .ok();

    let unknown = common::Key {
        token: None,
        id: "LTAI_no_such_key".into(),
        secret: "x".into(),
    };
    for style in ALL_STYLES {
        server
            .ram(&unknown, style, "ListUsers", &[])
            .await
            .err(404, "InvalidAccessKeyId.NotFound");
    }

    let bob = server.user_with_key("bob").await;
    server
        .ram(
            &server.root,
            Style::V1Post,
            "UpdateAccessKey",
            &[
                ("UserName", "bob"),
                ("UserAccessKeyId", &bob.id),
                ("Status", "Inactive"),
            ],
        )
        .await
        .ok();
    server
        .ram(&bob, Style::V3, "GetUser", &[("UserName", "bob")])
        .await
        .err(400, "InvalidAccessKeyId.Inactive");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_signature_parameters_and_anonymous_calls() {
    let server = TestServer::start().await;
    let url = format!(
        "{}/?Action=ListUsers&Version=2015-05-01&AccessKeyId={}&Signature=abc&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&Timestamp={}",
        server.base(),
        server.root.id,
        percent_encode(&Timestamp::now().to_iso8601())
    );
    let answer = server.send(server.http.get(url).build().unwrap()).await;
    answer.err(400, "MissingSignatureNonce");
    assert_eq!(
        answer.message(),
        "SignatureNonce is mandatory for this action."
    );

    let url = format!("{}/?Action=ListUsers&Version=2015-05-01", server.base());
    server
        .send(server.http.get(url).build().unwrap())
        .await
        .err(400, "MissingAccessKeyId");

    let url = format!(
        "{}/?Action=ListUsers&Version=2015-05-01&AccessKeyId=x&SignatureMethod=HMAC-SHA256&SignatureVersion=1.0&SignatureNonce=n&Timestamp=t&Signature=s",
        server.base()
    );
    server
        .send(server.http.get(url).build().unwrap())
        .await
        .err(400, "InvalidSignatureMethod");

    // A malformed V3 Authorization header.
    let request = server
        .http
        .post(format!("{}/", server.base()))
        .header("authorization", "ACS3-HMAC-SHA256 Credential=x")
        .header("x-acs-action", "ListUsers")
        .header("x-acs-version", "2015-05-01")
        .build()
        .unwrap();
    server.send(request).await.err(400, "IncompleteSignature");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_errors() {
    let server = TestServer::start().await;
    for style in ALL_STYLES {
        server
            .ram(&server.root, style, "NoSuchAction", &[])
            .await
            .err(404, "InvalidAction.NotFound");
        let answer = server
            .call(
                &server.root,
                style,
                "ListUsers",
                &[],
                &Tweak {
                    version: Some("2099-01-01".into()),
                    ..Tweak::default()
                },
            )
            .await;
        answer.err(400, "InvalidVersion");
    }
    // Action names are case-sensitive, as Alibaba's.
    server
        .ram(&server.root, Style::V1Get, "listusers", &[])
        .await
        .err(404, "InvalidAction.NotFound");
    // No Action at all.
    let url = format!("{}/?Version=2015-05-01", server.base());
    server
        .send(server.http.get(url).build().unwrap())
        .await
        .err(400, "MissingAction");
    // Other methods.
    let request = server
        .http
        .delete(format!("{}/", server.base()))
        .build()
        .unwrap();
    server
        .send(request)
        .await
        .err(404, "InvalidAction.NotFound");
    // Duplicated and malformed parameters.
    let url = format!(
        "{}/?Action=ListUsers&Action=ListUsers&Version=2015-05-01",
        server.base()
    );
    server
        .send(server.http.get(url).build().unwrap())
        .await
        .err(400, "InvalidParameter.Action");
    let url = format!(
        "{}/?Action=ListUsers&Version=2015-05-01&X=%zz",
        server.base()
    );
    server
        .send(server.http.get(url).build().unwrap())
        .await
        .err(400, "InvalidParameter");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_an_alibaba_error() {
    let server = TestServer::start_with(server::Config {
        body_limit: 64 * 1024,
        ..server::Config::default()
    })
    .await;
    let body = format!(
        "Action=ListUsers&Version=2015-05-01&Pad={}",
        "a".repeat(200 * 1024)
    );
    let request = server
        .http
        .post(format!("{}/", server.base()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .build()
        .unwrap();
    let answer = server.send(request).await;
    answer.err(413, "EntityTooLarge");
    assert!(answer.message().contains("65536"), "{}", answer.message());
    // The server still serves.
    server
        .ram(&server.root, Style::V1Post, "ListUsers", &[])
        .await
        .ok();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_malformed_business_parameters() {
    let server = TestServer::start().await;
    let answer = server.ram(&server.root, Style::V3, "CreateUser", &[]).await;
    answer.err(400, "MissingUserName");
    assert_eq!(answer.message(), "UserName is mandatory for this action.");
    server
        .ram(&server.root, Style::V3, "ListUsers", &[("MaxItems", "0")])
        .await
        .err(400, "InvalidParameter.MaxItems");
    server
        .ram(
            &server.root,
            Style::V3,
            "CreateUser",
            &[("UserName", "bad name!")],
        )
        .await
        .err(400, "InvalidParameter.UserName.InvalidChars");
    server
        .ram(
            &server.root,
            Style::V3,
            "AttachPolicyToUser",
            &[
                ("UserName", "x"),
                ("PolicyName", "AdministratorAccess"),
                ("PolicyType", "system"),
            ],
        )
        .await
        .err(400, "InvalidParameter.PolicyType");
    server.stop().await;
}

const ALLOW_CREATE_USER: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["ram:CreateUser","ram:GetUser"],"Resource":"*"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_need_policies_and_get_them_by_attachment() {
    let server = TestServer::start().await;
    let bob = server.user_with_key("bob").await;
    let answer = server
        .ram(&bob, Style::V3, "CreateUser", &[("UserName", "carol")])
        .await;
    answer.err(403, "NoPermission");
    assert!(
        answer
            .message()
            .starts_with("You are not authorized to do this action. Action: ram:CreateUser"),
        "{}",
        answer.message()
    );

    server
        .ram(
            &server.root,
            Style::V3,
            "CreatePolicy",
            &[
                ("PolicyName", "make-users"),
                ("PolicyDocument", ALLOW_CREATE_USER),
            ],
        )
        .await
        .ok();
    server
        .ram(
            &server.root,
            Style::V3,
            "AttachPolicyToUser",
            &[
                ("UserName", "bob"),
                ("PolicyName", "make-users"),
                ("PolicyType", "Custom"),
            ],
        )
        .await
        .ok();
    server
        .ram(&bob, Style::V1Get, "CreateUser", &[("UserName", "carol")])
        .await
        .ok();
    // Still nothing else.
    server
        .ram(&bob, Style::V1Post, "DeleteUser", &[("UserName", "carol")])
        .await
        .err(403, "NoPermission");

    // Detaching takes effect on the next request.
    server
        .ram(
            &server.root,
            Style::V3,
            "DetachPolicyFromUser",
            &[
                ("UserName", "bob"),
                ("PolicyName", "make-users"),
                ("PolicyType", "Custom"),
            ],
        )
        .await
        .ok();
    server
        .ram(&bob, Style::V3, "CreateUser", &[("UserName", "dave")])
        .await
        .err(403, "NoPermission");
    server.stop().await;
}

const SELF_SERVICE: &str = r#"{"Version":"1","Statement":[
  {"Effect":"Allow","Action":["ram:AttachPolicyToUser","ram:DetachPolicyFromUser"],
   "Resource":["acs:ram:*:*:user/bob","acs:ram:*:*:policy/AliyunRAMReadOnlyAccess"]}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attaching_administrator_access_to_oneself_is_refused() {
    let server = TestServer::start().await;
    let bob = server.user_with_key("bob").await;
    server
        .ram(
            &server.root,
            Style::V3,
            "CreatePolicy",
            &[
                ("PolicyName", "self-service"),
                ("PolicyDocument", SELF_SERVICE),
            ],
        )
        .await
        .ok();
    server
        .ram(
            &server.root,
            Style::V3,
            "AttachPolicyToUser",
            &[
                ("UserName", "bob"),
                ("PolicyName", "self-service"),
                ("PolicyType", "Custom"),
            ],
        )
        .await
        .ok();
    // Allowed on himself and on the read-only policy.
    server
        .ram(
            &bob,
            Style::V3,
            "AttachPolicyToUser",
            &[
                ("UserName", "bob"),
                ("PolicyName", "AliyunRAMReadOnlyAccess"),
                ("PolicyType", "System"),
            ],
        )
        .await
        .ok();
    // Not on AdministratorAccess, though the target is himself.
    let answer = server
        .ram(
            &bob,
            Style::V1Post,
            "AttachPolicyToUser",
            &[
                ("UserName", "bob"),
                ("PolicyName", "AdministratorAccess"),
                ("PolicyType", "System"),
            ],
        )
        .await;
    answer.err(403, "NoPermission");
    assert!(
        answer.message().contains("policy/AdministratorAccess"),
        "{}",
        answer.message()
    );
    let listed = server
        .ram(
            &server.root,
            Style::V3,
            "ListPoliciesForUser",
            &[("UserName", "bob")],
        )
        .await;
    let names: Vec<&str> = listed.ok()["Policies"]["Policy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["PolicyName"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"AdministratorAccess"), "{names:?}");
    assert!(names.contains(&"AliyunRAMReadOnlyAccess"), "{names:?}");
    server.stop().await;
}

/// The audit row of one request of the first account.
async fn audit_of(server: &TestServer, answer: &common::Answer) -> iam::AuditEvent {
    let request_id = answer.body["RequestId"].as_str().unwrap().to_owned();
    let mut events = server
        .store
        .list_audit(&iam::AuditFilter {
            account_id: server.account.clone(),
            request_id: Some(request_id),
            ..iam::AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    events.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_policy_checks_are_decided_by_the_caller_s_policies() {
    let server = TestServer::start().await;
    let bob = server.user_with_key("bob").await;
    let admin_arn = "acs:ram:*:system:policy/AdministratorAccess";
    let attach = |policy: &'static str| {
        [
            ("UserName", "bob"),
            ("PolicyName", policy),
            ("PolicyType", "System"),
        ]
    };
    // The root: allowed as in its own account (system policies belong to
    // no account, so the account boundary does not stop it).
    let answer = server
        .ram(
            &server.root,
            Style::V3,
            "AttachPolicyToUser",
            &attach("AliyunRAMReadOnlyAccess"),
        )
        .await;
    answer.ok();
    let event = audit_of(&server, &answer).await;
    assert_eq!(
        event.resource,
        format!(
            "acs:ram:*:{}:user/bob,acs:ram:*:system:policy/AliyunRAMReadOnlyAccess",
            server.account
        )
    );
    assert_eq!(event.decision, "Allow");
    assert_eq!(event.deciding_statement.as_deref(), Some("AccountRoot"));

    // A user: its policies decide, with the statement named; no policy
    // allowing it is an implicit deny by those policies, not the boundary.
    let answer = server
        .ram(
            &bob,
            Style::V1Post,
            "GetPolicy",
            &[
                ("PolicyName", "AdministratorAccess"),
                ("PolicyType", "System"),
            ],
        )
        .await;
    answer.ok();
    let event = audit_of(&server, &answer).await;
    assert_eq!(event.resource, admin_arn);
    assert_eq!(
        event.deciding_statement.as_deref(),
        Some("System:AliyunRAMReadOnlyAccess:v1:Statement[0]")
    );
    server
        .ram(
            &server.root,
            Style::V3,
            "DetachPolicyFromUser",
            &attach("AliyunRAMReadOnlyAccess"),
        )
        .await
        .ok();
    let answer = server
        .ram(
            &bob,
            Style::V3,
            "GetPolicy",
            &[
                ("PolicyName", "AdministratorAccess"),
                ("PolicyType", "System"),
            ],
        )
        .await;
    answer.err(403, "NoPermission");
    let event = audit_of(&server, &answer).await;
    assert_eq!(event.resource, admin_arn);
    assert_eq!(event.decision, "ImplicitDeny");
    assert_eq!(event.deciding_statement, None);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_are_isolated() {
    let server = TestServer::start().await;
    let (other_account, other_root) = server.other_account().await;
    assert_ne!(other_account, server.account);
    server
        .ram(
            &other_root,
            Style::V3,
            "CreateUser",
            &[("UserName", "alice")],
        )
        .await
        .ok();
    // The first account sees no alice, and can make its own.
    server
        .ram(&server.root, Style::V3, "GetUser", &[("UserName", "alice")])
        .await
        .err(404, "EntityNotExist.User");
    server
        .ram(
            &server.root,
            Style::V3,
            "CreateUser",
            &[("UserName", "alice")],
        )
        .await
        .ok();
    let listed = server
        .ram(&other_root, Style::V1Get, "ListUsers", &[])
        .await;
    assert_eq!(listed.ok()["Users"]["User"].as_array().unwrap().len(), 1);

    // Each root's alice is its own: a key made for one is listed only there.
    let created = server
        .ram(
            &other_root,
            Style::V3,
            "CreateAccessKey",
            &[("UserName", "alice")],
        )
        .await;
    let key_id = created.ok()["AccessKey"]["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = server
        .ram(
            &other_root,
            Style::V3,
            "ListAccessKeys",
            &[("UserName", "alice")],
        )
        .await;
    assert_eq!(
        theirs.ok()["AccessKeys"]["AccessKey"][0]["AccessKeyId"],
        key_id.as_str()
    );
    let ours = server
        .ram(
            &server.root,
            Style::V3,
            "ListAccessKeys",
            &[("UserName", "alice")],
        )
        .await;
    assert!(ours.ok()["AccessKeys"]["AccessKey"]
        .as_array()
        .unwrap()
        .is_empty());
    // Nor can one root manage the other's key by naming it.
    server
        .ram(
            &server.root,
            Style::V3,
            "DeleteAccessKey",
            &[("UserName", "alice"), ("UserAccessKeyId", &key_id)],
        )
        .await
        .err(404, "EntityNotExist.User.AccessKey");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_admins_cannot_touch_this_account() {
    let server = TestServer::start().await;
    let (_, other_root) = server.other_account().await;
    // An administrator of the other account.
    server
        .ram(
            &other_root,
            Style::V3,
            "CreateUser",
            &[("UserName", "admin")],
        )
        .await
        .ok();
    let created = server
        .ram(
            &other_root,
            Style::V3,
            "CreateAccessKey",
            &[("UserName", "admin")],
        )
        .await;
    let key = common::Key {
        token: None,
        id: created.ok()["AccessKey"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned(),
        secret: created.ok()["AccessKey"]["AccessKeySecret"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    server
        .ram(
            &other_root,
            Style::V3,
            "AttachPolicyToUser",
            &[
                ("UserName", "admin"),
                ("PolicyName", "AdministratorAccess"),
                ("PolicyType", "System"),
            ],
        )
        .await
        .ok();
    server
        .ram(
            &server.root,
            Style::V3,
            "CreateUser",
            &[("UserName", "target")],
        )
        .await
        .ok();
    // Everything the foreign admin names is in its own account.
    server
        .ram(&key, Style::V3, "DeleteUser", &[("UserName", "target")])
        .await
        .err(404, "EntityNotExist.User");
    server
        .ram(
            &server.root,
            Style::V3,
            "GetUser",
            &[("UserName", "target")],
        )
        .await
        .ok();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_family_shapes() {
    let server = TestServer::start().await;
    let root = &server.root;
    let created = server
        .ram(
            root,
            Style::V3,
            "CreateUser",
            &[("UserName", "alice"), ("Comments", "first")],
        )
        .await;
    let user = &created.ok()["User"];
    assert!(user.get("UpdateDate").is_none());
    for field in [
        "UserId",
        "UserName",
        "DisplayName",
        "MobilePhone",
        "Email",
        "Comments",
        "CreateDate",
    ] {
        assert!(user[field].is_string(), "{field}: {user}");
    }
    let got = server
        .ram(root, Style::V3, "GetUser", &[("UserName", "alice")])
        .await;
    assert!(is_date(&got.ok()["User"]["UpdateDate"]));
    let updated = server
        .ram(
            root,
            Style::V3,
            "UpdateUser",
            &[
                ("UserName", "alice"),
                ("NewUserName", "alice2"),
                ("NewComments", "renamed"),
            ],
        )
        .await;
    assert_eq!(updated.ok()["User"]["UserName"], "alice2");
    assert_eq!(updated.ok()["User"]["Comments"], "renamed");
    for i in 0..3 {
        server
            .ram(
                root,
                Style::V3,
                "CreateUser",
                &[("UserName", &format!("p{i}"))],
            )
            .await
            .ok();
    }
    let page = server
        .ram(root, Style::V3, "ListUsers", &[("MaxItems", "2")])
        .await;
    let body = page.ok();
    assert_eq!(body["IsTruncated"], true);
    assert_eq!(body["Users"]["User"].as_array().unwrap().len(), 2);
    let marker = body["Marker"].as_str().unwrap().to_owned();
    assert!(!marker.is_empty());
    let rest = server
        .ram(
            root,
            Style::V3,
            "ListUsers",
            &[("MaxItems", "2"), ("Marker", &marker)],
        )
        .await;
    assert_eq!(rest.ok()["Users"]["User"].as_array().unwrap().len(), 2);
    assert_eq!(rest.ok()["IsTruncated"], false);
    server
        .ram(root, Style::V3, "DeleteUser", &[("UserName", "p0")])
        .await
        .ok();
    let gone = server
        .ram(root, Style::V3, "GetUser", &[("UserName", "p0")])
        .await;
    gone.err(404, "EntityNotExist.User");
    server
        .ram(root, Style::V3, "CreateUser", &[("UserName", "p1")])
        .await
        .err(409, "EntityAlreadyExists.User");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_key_family_shapes() {
    let server = TestServer::start().await;
    let root = &server.root;
    let bob = server.user_with_key("bob").await;
    let listed = server
        .ram(root, Style::V3, "ListAccessKeys", &[("UserName", "bob")])
        .await;
    let keys = listed.ok()["AccessKeys"]["AccessKey"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["AccessKeyId"], bob.id.as_str());
    assert_eq!(keys[0]["Status"], "Active");
    assert!(keys[0].get("AccessKeySecret").is_none());
    // The root's own keys, without UserName.
    let own = server.ram(root, Style::V3, "ListAccessKeys", &[]).await;
    assert_eq!(
        own.ok()["AccessKeys"]["AccessKey"][0]["AccessKeyId"],
        root.id.as_str()
    );
    let last = server
        .ram(
            root,
            Style::V3,
            "GetAccessKeyLastUsed",
            &[("UserName", "bob"), ("UserAccessKeyId", &bob.id)],
        )
        .await;
    assert!(last.ok()["AccessKeyLastUsed"]["LastUsedDate"].is_string());
    server
        .ram(
            root,
            Style::V3,
            "UpdateAccessKey",
            &[
                ("UserName", "bob"),
                ("UserAccessKeyId", &bob.id),
                ("Status", "Sleepy"),
            ],
        )
        .await
        .err(400, "InvalidParameter.Status");
    server
        .ram(root, Style::V3, "DeleteUser", &[("UserName", "bob")])
        .await
        .err(409, "DeleteConflict.User.AccessKey");
    server
        .ram(
            root,
            Style::V3,
            "DeleteAccessKey",
            &[("UserName", "bob"), ("UserAccessKeyId", &bob.id)],
        )
        .await
        .ok();
    server
        .ram(&bob, Style::V3, "ListUsers", &[])
        .await
        .err(404, "InvalidAccessKeyId.NotFound");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_family_shapes() {
    let server = TestServer::start().await;
    let root = &server.root;
    let created = server
        .ram(
            root,
            Style::V3,
            "CreateGroup",
            &[("GroupName", "devs"), ("Comments", "builders")],
        )
        .await;
    let group = &created.ok()["Group"];
    assert_eq!(group["GroupName"], "devs");
    assert!(group["GroupId"].is_string());
    server
        .ram(root, Style::V3, "CreateUser", &[("UserName", "alice")])
        .await
        .ok();
    server
        .ram(
            root,
            Style::V1Post,
            "AddUserToGroup",
            &[("GroupName", "devs"), ("UserName", "alice")],
        )
        .await
        .ok();
    let for_user = server
        .ram(
            root,
            Style::V3,
            "ListGroupsForUser",
            &[("UserName", "alice")],
        )
        .await;
    let groups = &for_user.ok()["Groups"]["Group"];
    assert_eq!(groups[0]["GroupName"], "devs");
    assert!(is_date(&groups[0]["JoinDate"]));
    let members = server
        .ram(
            root,
            Style::V3,
            "ListUsersForGroup",
            &[("GroupName", "devs")],
        )
        .await;
    let users = &members.ok()["Users"]["User"];
    assert_eq!(users[0]["UserName"], "alice");
    assert!(is_date(&users[0]["JoinDate"]));
    assert_eq!(members.ok()["IsTruncated"], false);
    let updated = server
        .ram(
            root,
            Style::V3,
            "UpdateGroup",
            &[("GroupName", "devs"), ("NewComments", "makers")],
        )
        .await;
    assert_eq!(updated.ok()["Group"]["Comments"], "makers");
    let listed = server.ram(root, Style::V3, "ListGroups", &[]).await;
    assert_eq!(listed.ok()["Groups"]["Group"].as_array().unwrap().len(), 1);
    server
        .ram(root, Style::V3, "DeleteGroup", &[("GroupName", "devs")])
        .await
        .err(409, "DeleteConflict.Group.User");
    server
        .ram(
            root,
            Style::V3,
            "RemoveUserFromGroup",
            &[("GroupName", "devs"), ("UserName", "alice")],
        )
        .await
        .ok();
    server
        .ram(root, Style::V3, "DeleteGroup", &[("GroupName", "devs")])
        .await
        .ok();
    server
        .ram(root, Style::V3, "GetGroup", &[("GroupName", "devs")])
        .await
        .err(404, "EntityNotExist.Group");
    server.stop().await;
}

const TRUST: &str = r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"RAM":["acs:ram::1111111111111111:root"]}}],"Version":"1"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_family_shapes() {
    let server = TestServer::start().await;
    let root = &server.root;
    let created = server
        .ram(
            root,
            Style::V3,
            "CreateRole",
            &[
                ("RoleName", "AdminRole"),
                ("AssumeRolePolicyDocument", TRUST),
                ("Description", "admins"),
                ("MaxSessionDuration", "7200"),
            ],
        )
        .await;
    let role = &created.ok()["Role"];
    assert_eq!(role["RoleName"], "AdminRole");
    assert_eq!(
        role["Arn"],
        format!("acs:ram::{}:role/adminrole", server.account).as_str()
    );
    assert_eq!(role["MaxSessionDuration"], 7200);
    assert_eq!(role["AssumeRolePolicyDocument"], TRUST);
    assert!(role["RoleId"].is_string());
    let got = server
        .ram(root, Style::V3, "GetRole", &[("RoleName", "AdminRole")])
        .await;
    assert_eq!(got.ok()["Role"]["IsServiceLinkedRole"], false);
    let updated = server
        .ram(
            root,
            Style::V3,
            "UpdateRole",
            &[("RoleName", "AdminRole"), ("NewDescription", "all admins")],
        )
        .await;
    assert_eq!(updated.ok()["Role"]["Description"], "all admins");
    let listed = server.ram(root, Style::V3, "ListRoles", &[]).await;
    let roles = &listed.ok()["Roles"]["Role"];
    assert_eq!(roles[0]["RoleName"], "AdminRole");
    assert!(roles[0].get("AssumeRolePolicyDocument").is_none());
    server
        .ram(
            root,
            Style::V3,
            "CreateRole",
            &[("RoleName", "bad"), ("AssumeRolePolicyDocument", "{")],
        )
        .await
        .err(400, "MalformedPolicyDocument");
    server
        .ram(root, Style::V3, "DeleteRole", &[("RoleName", "AdminRole")])
        .await
        .ok();
    server
        .ram(root, Style::V3, "GetRole", &[("RoleName", "AdminRole")])
        .await
        .err(404, "EntityNotExist.Role");
    server.stop().await;
}

const READ_USERS: &str =
    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetUser","Resource":"*"}]}"#;
const READ_ALL: &str =
    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:Get*","Resource":"*"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_and_version_family_shapes() {
    let server = TestServer::start().await;
    let root = &server.root;
    let created = server
        .ram(
            root,
            Style::V3,
            "CreatePolicy",
            &[
                ("PolicyName", "readers"),
                ("PolicyDocument", READ_USERS),
                ("Description", "read"),
            ],
        )
        .await;
    let policy = &created.ok()["Policy"];
    assert_eq!(policy["PolicyType"], "Custom");
    assert_eq!(policy["DefaultVersion"], "v1");
    let got = server
        .ram(
            root,
            Style::V3,
            "GetPolicy",
            &[("PolicyName", "readers"), ("PolicyType", "Custom")],
        )
        .await;
    assert_eq!(got.ok()["Policy"]["PolicyDocument"], READ_USERS);
    assert_eq!(got.ok()["Policy"]["AttachmentCount"], 0);
    assert_eq!(got.ok()["DefaultPolicyVersion"]["IsDefaultVersion"], true);
    let system = server
        .ram(
            root,
            Style::V3,
            "GetPolicy",
            &[
                ("PolicyName", "AdministratorAccess"),
                ("PolicyType", "System"),
            ],
        )
        .await;
    assert_eq!(system.ok()["Policy"]["PolicyType"], "System");

    let v2 = server
        .ram(
            root,
            Style::V3,
            "CreatePolicyVersion",
            &[
                ("PolicyName", "readers"),
                ("PolicyDocument", READ_ALL),
                ("SetAsDefault", "true"),
            ],
        )
        .await;
    assert_eq!(v2.ok()["PolicyVersion"]["VersionId"], "v2");
    assert_eq!(v2.ok()["PolicyVersion"]["IsDefaultVersion"], true);
    let versions = server
        .ram(
            root,
            Style::V3,
            "ListPolicyVersions",
            &[("PolicyName", "readers"), ("PolicyType", "Custom")],
        )
        .await;
    assert_eq!(
        versions.ok()["PolicyVersions"]["PolicyVersion"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let v1 = server
        .ram(
            root,
            Style::V3,
            "GetPolicyVersion",
            &[
                ("PolicyName", "readers"),
                ("PolicyType", "Custom"),
                ("VersionId", "v1"),
            ],
        )
        .await;
    assert_eq!(v1.ok()["PolicyVersion"]["IsDefaultVersion"], false);
    server
        .ram(
            root,
            Style::V3,
            "SetDefaultPolicyVersion",
            &[("PolicyName", "readers"), ("VersionId", "v1")],
        )
        .await
        .ok();
    server
        .ram(
            root,
            Style::V3,
            "DeletePolicyVersion",
            &[("PolicyName", "readers"), ("VersionId", "v2")],
        )
        .await
        .ok();
    let described = server
        .ram(
            root,
            Style::V3,
            "UpdatePolicyDescription",
            &[
                ("PolicyName", "readers"),
                ("NewDescription", "readers of users"),
            ],
        )
        .await;
    assert_eq!(described.ok()["Policy"]["Description"], "readers of users");
    let listed = server
        .ram(root, Style::V3, "ListPolicies", &[("PolicyType", "Custom")])
        .await;
    let body = listed.ok();
    assert_eq!(body["Policies"]["Policy"].as_array().unwrap().len(), 1);
    assert_eq!(body["IsTruncated"], false);
    let systems = server
        .ram(
            root,
            Style::V3,
            "ListPolicies",
            &[("PolicyType", "System"), ("MaxItems", "100")],
        )
        .await;
    assert!(!systems.ok()["Policies"]["Policy"]
        .as_array()
        .unwrap()
        .is_empty());
    server
        .ram(
            root,
            Style::V3,
            "CreatePolicy",
            &[
                ("PolicyName", "broken"),
                ("PolicyDocument", r#"{"Version":"1"}"#),
            ],
        )
        .await
        .err(400, "MalformedPolicyDocument");
    server
        .ram(
            root,
            Style::V3,
            "DeletePolicy",
            &[("PolicyName", "readers")],
        )
        .await
        .ok();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachment_family_shapes() {
    let server = TestServer::start().await;
    let root = &server.root;
    server
        .ram(root, Style::V3, "CreateUser", &[("UserName", "alice")])
        .await
        .ok();
    server
        .ram(root, Style::V3, "CreateGroup", &[("GroupName", "devs")])
        .await
        .ok();
    server
        .ram(
            root,
            Style::V3,
            "CreateRole",
            &[("RoleName", "Ops"), ("AssumeRolePolicyDocument", TRUST)],
        )
        .await
        .ok();
    server
        .ram(
            root,
            Style::V3,
            "CreatePolicy",
            &[("PolicyName", "readers"), ("PolicyDocument", READ_USERS)],
        )
        .await
        .ok();
    for (action, param, name) in [
        ("AttachPolicyToUser", "UserName", "alice"),
        ("AttachPolicyToGroup", "GroupName", "devs"),
        ("AttachPolicyToRole", "RoleName", "Ops"),
    ] {
        server
            .ram(
                root,
                Style::V3,
                action,
                &[
                    (param, name),
                    ("PolicyName", "readers"),
                    ("PolicyType", "Custom"),
                ],
            )
            .await
            .ok();
    }
    server
        .ram(
            root,
            Style::V3,
            "AttachPolicyToUser",
            &[
                ("UserName", "alice"),
                ("PolicyName", "readers"),
                ("PolicyType", "Custom"),
            ],
        )
        .await
        .err(409, "EntityAlreadyExists.User.Policy");
    for (action, param, name) in [
        ("ListPoliciesForUser", "UserName", "alice"),
        ("ListPoliciesForGroup", "GroupName", "devs"),
        ("ListPoliciesForRole", "RoleName", "Ops"),
    ] {
        let listed = server.ram(root, Style::V3, action, &[(param, name)]).await;
        let policy = &listed.ok()["Policies"]["Policy"][0];
        assert_eq!(policy["PolicyName"], "readers");
        assert_eq!(policy["PolicyType"], "Custom");
        assert_eq!(policy["DefaultVersion"], "v1");
        assert!(is_date(&policy["AttachDate"]));
    }
    let entities = server
        .ram(
            root,
            Style::V3,
            "ListEntitiesForPolicy",
            &[("PolicyName", "readers"), ("PolicyType", "Custom")],
        )
        .await;
    let body = entities.ok();
    assert_eq!(body["Users"]["User"][0]["UserName"], "alice");
    assert_eq!(body["Groups"]["Group"][0]["GroupName"], "devs");
    assert_eq!(body["Roles"]["Role"][0]["RoleName"], "Ops");
    assert!(body["Roles"]["Role"][0]["Arn"]
        .as_str()
        .unwrap()
        .ends_with(":role/ops"));
    server
        .ram(
            root,
            Style::V3,
            "DeletePolicy",
            &[("PolicyName", "readers")],
        )
        .await
        .err(409, "DeleteConflict.Policy.User");
    for (action, param, name) in [
        ("DetachPolicyFromUser", "UserName", "alice"),
        ("DetachPolicyFromGroup", "GroupName", "devs"),
        ("DetachPolicyFromRole", "RoleName", "Ops"),
    ] {
        server
            .ram(
                root,
                Style::V3,
                action,
                &[
                    (param, name),
                    ("PolicyName", "readers"),
                    ("PolicyType", "Custom"),
                ],
            )
            .await
            .ok();
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_alias_family_shapes() {
    let server = TestServer::start().await;
    let root = &server.root;
    let empty = server.ram(root, Style::V3, "GetAccountAlias", &[]).await;
    assert_eq!(empty.ok()["AccountAlias"], "");
    server
        .ram(
            root,
            Style::V3,
            "SetAccountAlias",
            &[("AccountAlias", "company-a")],
        )
        .await
        .ok();
    let got = server.ram(root, Style::V1Get, "GetAccountAlias", &[]).await;
    assert_eq!(got.ok()["AccountAlias"], "company-a");
    let (_, other_root) = server.other_account().await;
    server
        .ram(
            &other_root,
            Style::V3,
            "SetAccountAlias",
            &[("AccountAlias", "company-a")],
        )
        .await
        .err(409, "EntityAlreadyExists.AccountAlias");
    server
        .ram(root, Style::V3, "ClearAccountAlias", &[])
        .await
        .ok();
    let cleared = server.ram(root, Style::V3, "GetAccountAlias", &[]).await;
    assert_eq!(cleared.ok()["AccountAlias"], "");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_over_form_and_query_together() {
    // The Node ram_role_arn provider's split: common parameters in the
    // query, business ones in the form body, one signature over both.
    let server = TestServer::start().await;
    let secret = Secret::new(server.root.secret.clone());
    let common: Vec<(String, String)> = vec![
        ("Action".into(), "CreateUser".into()),
        ("Version".into(), "2015-05-01".into()),
        ("Format".into(), "JSON".into()),
        ("AccessKeyId".into(), server.root.id.clone()),
        ("SignatureMethod".into(), "HMAC-SHA1".into()),
        ("SignatureVersion".into(), "1.0".into()),
        ("SignatureNonce".into(), fresh_nonce()),
        ("Timestamp".into(), Timestamp::now().to_iso8601()),
    ];
    let business: Vec<(String, String)> = vec![
        ("UserName".into(), "split".into()),
        ("Comments".into(), "a b+c".into()),
    ];
    let mut all = common.clone();
    all.extend(business.clone());
    let signature = v1::sign_params("POST", &all, &secret);
    let mut query = common;
    query.push(("Signature".into(), signature));
    let encode = |pairs: &[(String, String)]| {
        pairs
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    };
    let request = server
        .http
        .post(format!("{}/?{}", server.base(), encode(&query)))
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body(encode(&business))
        .build()
        .unwrap();
    let answer = server.send(request).await;
    assert_eq!(answer.ok()["User"]["Comments"], "a b+c");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_authenticated_call_is_audited() {
    let server = TestServer::start().await;
    let bob = server.user_with_key("bob").await;
    let denied = server
        .ram(&bob, Style::V3, "CreateUser", &[("UserName", "eve")])
        .await;
    denied.err(403, "NoPermission");
    let event = audit_of(&server, &denied).await;
    assert_eq!(event.action, "ram:CreateUser");
    assert_eq!(
        event.principal_arn,
        format!("acs:ram::{}:user/bob", server.account)
    );
    assert_eq!(
        event.resource,
        format!("acs:ram:*:{}:user/eve", server.account)
    );
    assert_eq!(event.decision, "ImplicitDeny");
    assert_eq!(event.error_code.as_deref(), Some("NoPermission"));
    assert_eq!(event.source_ip.as_deref(), Some("127.0.0.1"));

    let allowed = server
        .ram(
            &server.root,
            Style::V1Get,
            "GetUser",
            &[("UserName", "bob")],
        )
        .await;
    allowed.ok();
    let event = audit_of(&server, &allowed).await;
    assert_eq!(event.decision, "Allow");
    assert_eq!(event.deciding_statement.as_deref(), Some("AccountRoot"));
    assert_eq!(event.error_code, None);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditions_see_the_request_context() {
    let server = TestServer::start().await;
    let bob = server.user_with_key("bob").await;
    let account = server.account.clone();
    let document = format!(
        r#"{{"Version":"1","Statement":[
          {{"Effect":"Allow","Action":"ram:GetUser","Resource":"*",
            "Condition":{{"IpAddress":{{"acs:SourceIp":"127.0.0.0/8"}},
                          "StringEquals":{{"acs:PrincipalARN":"acs:ram::{account}:user/bob","acs:AccessId":"{}","acs:PrincipalAccount":"{account}"}},
                          "DateGreaterThan":{{"acs:CurrentTime":"2020-01-01T00:00:00Z"}}}}}},
          {{"Effect":"Allow","Action":"ram:ListUsers","Resource":"*",
            "Condition":{{"Bool":{{"acs:SecureTransport":"true"}}}}}},
          {{"Effect":"Allow","Action":"ram:ListGroups","Resource":"*",
            "Condition":{{"IpAddress":{{"acs:SourceIp":"10.0.0.0/8"}}}}}}]}}"#,
        bob.id
    );
    server
        .ram(
            &server.root,
            Style::V3,
            "CreatePolicy",
            &[("PolicyName", "conditional"), ("PolicyDocument", &document)],
        )
        .await
        .ok();
    server
        .ram(
            &server.root,
            Style::V3,
            "AttachPolicyToUser",
            &[
                ("UserName", "bob"),
                ("PolicyName", "conditional"),
                ("PolicyType", "Custom"),
            ],
        )
        .await
        .ok();
    server
        .ram(&bob, Style::V3, "GetUser", &[("UserName", "bob")])
        .await
        .ok();
    // Plain HTTP: SecureTransport is false.
    server
        .ram(&bob, Style::V3, "ListUsers", &[])
        .await
        .err(403, "NoPermission");
    // The peer is loopback, not 10/8.
    server
        .ram(&bob, Style::V3, "ListGroups", &[])
        .await
        .err(403, "NoPermission");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_with_a_form_body() {
    // Tea's formData body: business parameters in the body, covered by
    // x-acs-content-sha256; the query is empty.
    let server = TestServer::start().await;
    let body = format!(
        "PolicyName=from-body&PolicyDocument={}",
        percent_encode(READ_USERS)
    );
    let host = server.host();
    let sha = auth::v3::content_sha256_hex(body.as_bytes());
    let date = Timestamp::now().to_iso8601();
    let nonce = fresh_nonce();
    let headers: Vec<(&str, &str)> = vec![
        ("host", &host),
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-acs-action", "CreatePolicy"),
        ("x-acs-version", "2015-05-01"),
        ("x-acs-date", &date),
        ("x-acs-signature-nonce", &nonce),
        ("x-acs-content-sha256", &sha),
    ];
    let signed = auth::v3::sign_request(
        &auth::v3::Request {
            method: "POST",
            path: "/",
            query: &[],
            headers: &headers,
            body: body.as_bytes(),
        },
        &server.root.id,
        &Secret::new(server.root.secret.clone()),
    )
    .unwrap();
    let mut builder = server.http.post(format!("{}/", server.base()));
    for (name, value) in &headers {
        if *name != "host" {
            builder = builder.header(*name, *value);
        }
    }
    let request = builder
        .header("authorization", signed.to_string())
        .body(body.clone())
        .build()
        .unwrap();
    let answer = server.send(request).await;
    assert_eq!(answer.ok()["Policy"]["PolicyName"], "from-body");

    // The same headers over another body: the hash no longer matches.
    let mut builder = server.http.post(format!("{}/", server.base()));
    for (name, value) in &headers {
        if *name != "host" && *name != "x-acs-signature-nonce" {
            builder = builder.header(*name, *value);
        }
    }
    let request = builder
        .header("x-acs-signature-nonce", fresh_nonce())
        .header("authorization", signed.to_string())
        .body(format!("{body}&Description=x"))
        .build()
        .unwrap();
    server.send(request).await.err(400, "IncompleteSignature");
    server.stop().await;
}
