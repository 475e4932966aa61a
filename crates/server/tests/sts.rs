//! STS over real HTTP: AssumeRole and GetCallerIdentity in every signing
//! style, requests made with temporary credentials (authorized as the role,
//! narrowed by the session policy), the SecurityToken's codes, expiry on a
//! test clock, revocation, deletions, the audit chain, and the credentials
//! URI route.
// Tests fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Key, Style, TestServer, Tweak};
use serde_json::{json, Value};

const ALL_STYLES: [Style; 3] = [Style::V1Get, Style::V1Post, Style::V3];

/// Account A (the server's first) lends role `fc-admin` (RAM reads) to
/// account B; a user of B may assume roles.
struct World {
    server: TestServer,
    b: String,
    b_root: Key,
    assumer: Key,
    role_arn: String,
    role_id: String,
}

fn trust(principal: &str) -> String {
    json!({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"RAM": [principal]}}]})
    .to_string()
}

async fn world_with(server: TestServer) -> World {
    let (b, b_root) = server.other_account().await;
    let created = server
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
        .await;
    let role_id = created.ok()["Role"]["RoleId"].as_str().unwrap().to_owned();
    attach_role(&server, "AliyunRAMReadOnlyAccess").await;
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
    let key = server
        .ram(
            &b_root,
            Style::V3,
            "CreateAccessKey",
            &[("UserName", "bob")],
        )
        .await;
    let k = &key.ok()["AccessKey"];
    let assumer = Key {
        id: k["AccessKeyId"].as_str().unwrap().to_owned(),
        secret: k["AccessKeySecret"].as_str().unwrap().to_owned(),
        token: None,
    };
    let role_arn = format!("acs:ram::{}:role/fc-admin", server.account);
    World {
        server,
        b,
        b_root,
        assumer,
        role_arn,
        role_id,
    }
}

async fn world() -> World {
    world_with(TestServer::start().await).await
}

async fn attach_role(server: &TestServer, policy: &str) {
    server
        .ram(
            &server.root,
            Style::V3,
            "AttachPolicyToRole",
            &[
                ("RoleName", "fc-admin"),
                ("PolicyType", "System"),
                ("PolicyName", policy),
            ],
        )
        .await
        .ok();
}

async fn detach_role(server: &TestServer, policy: &str) {
    server
        .ram(
            &server.root,
            Style::V3,
            "DetachPolicyFromRole",
            &[
                ("RoleName", "fc-admin"),
                ("PolicyType", "System"),
                ("PolicyName", policy),
            ],
        )
        .await
        .ok();
}

impl World {
    async fn assume(&self, style: Style, session: &str, extra: &[(&str, &str)]) -> Key {
        let mut params = vec![
            ("RoleArn", self.role_arn.as_str()),
            ("RoleSessionName", session),
        ];
        params.extend_from_slice(extra);
        let answer = self
            .server
            .sts(&self.assumer, style, "AssumeRole", &params)
            .await;
        Key::from_assume_role(answer.ok())
    }

    async fn who(&self, key: &Key, style: Style) -> common::Answer {
        self.server.sts(key, style, "GetCallerIdentity", &[]).await
    }
}

fn members(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_role_and_the_session_in_every_style() {
    let w = world().await;
    let s = &w.server;
    for style in ALL_STYLES {
        let session = format!("s-{style:?}").to_ascii_lowercase();
        let answer = s
            .sts(
                &w.assumer,
                style,
                "AssumeRole",
                &[("RoleArn", &w.role_arn), ("RoleSessionName", &session)],
            )
            .await;
        let body = answer.ok();
        assert_eq!(
            members(body),
            ["AssumedRoleUser", "Credentials", "RequestId"],
            "{body}"
        );
        assert_eq!(
            body["AssumedRoleUser"],
            json!({"Arn": format!("{}/{session}", w.role_arn),
                   "AssumedRoleId": format!("{}:{session}", w.role_id)})
        );
        let creds = &body["Credentials"];
        assert_eq!(
            members(creds),
            [
                "AccessKeyId",
                "AccessKeySecret",
                "Expiration",
                "SecurityToken"
            ]
        );
        assert!(creds["AccessKeyId"].as_str().unwrap().starts_with("STS."));
        let expiration = auth::Timestamp::parse(creds["Expiration"].as_str().unwrap()).unwrap();
        let left = expiration.unix_seconds() - auth::Timestamp::now().unix_seconds();
        assert!((3590..=3600).contains(&left), "{left}");

        let key = Key::from_assume_role(body);
        for how in ALL_STYLES {
            let who = w.who(&key, how).await;
            assert_eq!(
                who.ok().clone(),
                json!({
                    "IdentityType": "AssumedRoleUser",
                    "AccountId": s.account,
                    "Arn": format!("acs:ram::{}:assumed-role/fc-admin/{session}", s.account),
                    "PrincipalId": format!("{}:{session}", w.role_id),
                    "RoleId": w.role_id,
                    "RequestId": who.body["RequestId"],
                })
            );
            // Authorized as the role, in the role's account.
            s.ram(&key, how, "GetRole", &[("RoleName", "fc-admin")])
                .await
                .ok();
            let denied = s.ram(&key, how, "CreateUser", &[("UserName", "x")]).await;
            denied.err(403, "NoPermission");
            assert!(denied
                .message()
                .contains(&format!("acs:ram:*:{}:user/x", s.account)));
            // A session has no keys of its own.
            s.ram(&key, how, "ListAccessKeys", &[])
                .await
                .err(400, "MissingUserName");
        }
    }
    // GetCallerIdentity of long-term keys.
    let root = w.who(&w.b_root, Style::V3).await;
    assert_eq!(root.ok()["IdentityType"], "Account");
    assert_eq!(root.body["UserId"], w.b.as_str());
    let user = w.who(&w.assumer, Style::V1Post).await;
    assert_eq!(user.ok()["IdentityType"], "RAMUser");
    assert_eq!(
        user.body["Arn"],
        format!("acs:ram::{}:user/bob", w.b).as_str()
    );
    w.server.stop().await;
}

/// Who asks, with which parameters, and the status and code refused with.
type Refusal<'a> = (Key, Vec<(&'a str, &'a str)>, u16, &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_of_assume_role() {
    let w = world().await;
    let s = &w.server;
    let arn = w.role_arn.as_str();
    let missing_role = format!("acs:ram::{}:role/none", s.account);
    let cases: Vec<Refusal<'_>> = vec![
        (
            w.b_root.clone(),
            vec![("RoleArn", arn), ("RoleSessionName", "s1")],
            403,
            "NoPermission",
        ),
        (
            w.assumer.clone(),
            vec![("RoleArn", "acs:ram::1:user/x"), ("RoleSessionName", "s1")],
            400,
            "InvalidParameter.RoleArn",
        ),
        (
            w.assumer.clone(),
            vec![("RoleArn", arn), ("RoleSessionName", "s")],
            400,
            "InvalidParameter.RoleSessionName",
        ),
        (
            w.assumer.clone(),
            vec![
                ("RoleArn", arn),
                ("RoleSessionName", "s1"),
                ("DurationSeconds", "3601"),
            ],
            400,
            "InvalidParameter.DurationSeconds",
        ),
        (
            w.assumer.clone(),
            vec![("RoleSessionName", "s1")],
            400,
            "MissingParameter.RoleArn",
        ),
        (
            w.assumer.clone(),
            vec![("RoleArn", &missing_role), ("RoleSessionName", "s1")],
            404,
            "EntityNotExist.Role",
        ),
    ];
    for (key, params, status, code) in &cases {
        for style in ALL_STYLES {
            s.sts(key, style, "AssumeRole", params)
                .await
                .err(*status, code);
        }
    }
    let root = s
        .sts(
            &w.b_root,
            Style::V3,
            "AssumeRole",
            &[("RoleArn", arn), ("RoleSessionName", "s1")],
        )
        .await;
    assert_eq!(root.message(), "Roles may not be assumed by root accounts.");
    // A user of B without sts:AssumeRole.
    let plain = {
        s.ram(&w.b_root, Style::V3, "CreateUser", &[("UserName", "carl")])
            .await
            .ok();
        let k = s
            .ram(
                &w.b_root,
                Style::V3,
                "CreateAccessKey",
                &[("UserName", "carl")],
            )
            .await;
        let k = &k.ok()["AccessKey"];
        Key {
            id: k["AccessKeyId"].as_str().unwrap().into(),
            secret: k["AccessKeySecret"].as_str().unwrap().into(),
            token: None,
        }
    };
    s.sts(
        &plain,
        Style::V1Get,
        "AssumeRole",
        &[("RoleArn", arn), ("RoleSessionName", "s1")],
    )
    .await
    .err(403, "NoPermission");
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_token_codes() {
    let w = world().await;
    let s = &w.server;
    let first = w.assume(Style::V3, "first", &[]).await;
    let second = w.assume(Style::V1Post, "second", &[]).await;
    let token = first.token.clone().unwrap();
    let mut bytes = token.clone().into_bytes();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(bytes).unwrap();
    let cases = [
        (
            Key {
                token: None,
                ..first.clone()
            },
            "MissingSecurityToken",
        ),
        (
            Key {
                token: Some(flipped),
                ..first.clone()
            },
            "InvalidSecurityToken.Malformed",
        ),
        (
            Key {
                token: Some(token.clone()),
                ..second.clone()
            },
            "InvalidSecurityToken.MismatchWithAccessKey",
        ),
    ];
    for (key, code) in &cases {
        for style in ALL_STYLES {
            w.who(key, style).await.err(400, code);
        }
    }
    // V3: the token header must be signed.
    let unsigned = Tweak {
        version: Some("2015-04-01".into()),
        unsigned_token: true,
        ..Tweak::default()
    };
    s.call(&first, Style::V3, "GetCallerIdentity", &[], &unsigned)
        .await
        .err(400, "IncompleteSignature");
    // The right token, a wrong secret.
    let wrong = Key {
        secret: second.secret.clone(),
        ..first.clone()
    };
    w.who(&wrong, Style::V1Get)
        .await
        .err(400, "SignatureDoesNotMatch");
    w.who(&first, Style::V1Get).await.ok();
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_on_the_test_clock() {
    let dir = tempfile::tempdir().unwrap();
    let offset = dir.path().join("offset");
    let clock = server::Clock::with_offset_file(&offset);
    let w = world_with(TestServer::start_with_clock(server::Config::default(), clock).await).await;
    let short = w
        .assume(Style::V3, "short", &[("DurationSeconds", "900")])
        .await;
    std::fs::write(&offset, "890").unwrap(); // a margin: a second may tick
    w.who(&short, Style::V3).await.ok();
    std::fs::write(&offset, "900").unwrap();
    for style in ALL_STYLES {
        let err = w.who(&short, style).await;
        err.err(400, "InvalidSecurityToken.Expired");
        assert_eq!(err.message(), "Specified SecurityToken is expired.");
    }
    std::fs::write(&offset, "0").unwrap();
    w.who(&short, Style::V1Get).await.ok();

    // acs:CurrentTime follows the same clock: a grant that ends tomorrow
    // no longer allows when the clock is two days ahead.
    let s = &w.server;
    let tomorrow =
        auth::Timestamp::from_unix_seconds(auth::Timestamp::now().unix_seconds() + 86_400);
    let until = json!({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:GetRole",
        "Resource": "*", "Condition": {"DateLessThan": {"acs:CurrentTime": tomorrow.to_iso8601()}}}]})
    .to_string();
    s.ram(
        &s.root,
        Style::V3,
        "CreatePolicy",
        &[("PolicyName", "until-tomorrow"), ("PolicyDocument", &until)],
    )
    .await
    .ok();
    detach_role(s, "AliyunRAMReadOnlyAccess").await;
    s.ram(
        &s.root,
        Style::V3,
        "AttachPolicyToRole",
        &[
            ("RoleName", "fc-admin"),
            ("PolicyType", "Custom"),
            ("PolicyName", "until-tomorrow"),
        ],
    )
    .await
    .ok();
    let now = w.assume(Style::V3, "today", &[]).await;
    s.ram(&now, Style::V3, "GetRole", &[("RoleName", "fc-admin")])
        .await
        .ok();
    std::fs::write(&offset, "172800").unwrap();
    let later = w.assume(Style::V3, "later", &[]).await;
    w.who(&later, Style::V3).await.ok();
    s.ram(&later, Style::V3, "GetRole", &[("RoleName", "fc-admin")])
        .await
        .err(403, "NoPermission");
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_deletion_and_detach() {
    let w = world().await;
    let s = &w.server;
    let before = w.assume(Style::V3, "before", &[]).await;
    let revoked = s
        .ram(
            &s.root,
            Style::V1Post,
            "RevokeRoleSessions",
            &[("RoleName", "fc-admin")],
        )
        .await;
    let role = &revoked.ok()["Role"];
    assert_eq!(role["RoleId"], w.role_id.as_str());
    let stamp = auth::Timestamp::parse(role["RevokedBefore"].as_str().unwrap()).unwrap();
    assert!(stamp.unix_seconds() > auth::Timestamp::now().unix_seconds() - 5);
    for style in ALL_STYLES {
        let err = w.who(&before, style).await;
        err.err(400, "InvalidSecurityToken.Expired");
        assert!(err.message().contains("revoked"), "{}", err.message());
    }
    // Issued after the revocation, even in the same second: valid.
    let after = w.assume(Style::V1Get, "after", &[]).await;
    w.who(&after, Style::V3).await.ok();

    // Detach: the next request of the same session is denied.
    s.ram(&after, Style::V3, "ListRoles", &[]).await.ok();
    detach_role(s, "AliyunRAMReadOnlyAccess").await;
    s.ram(&after, Style::V3, "ListRoles", &[])
        .await
        .err(403, "NoPermission");
    w.who(&after, Style::V3).await.ok();

    // Delete the role: the session ends.
    s.ram(
        &s.root,
        Style::V3,
        "DeleteRole",
        &[("RoleName", "fc-admin")],
    )
    .await
    .ok();
    let err = w.who(&after, Style::V1Post).await;
    err.err(400, "InvalidSecurityToken.Expired");
    assert!(err.message().contains("no longer exists"));
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_user_who_started_the_chain_ends_it() {
    let w = world().await;
    let s = &w.server;
    let session = w.assume(Style::V3, "orphan", &[]).await;
    w.who(&session, Style::V3).await.ok();
    for (action, params) in [
        (
            "DeleteAccessKey",
            vec![
                ("UserName", "bob"),
                ("UserAccessKeyId", w.assumer.id.as_str()),
            ],
        ),
        (
            "DetachPolicyFromUser",
            vec![
                ("UserName", "bob"),
                ("PolicyType", "System"),
                ("PolicyName", "AliyunSTSAssumeRoleAccess"),
            ],
        ),
        ("DeleteUser", vec![("UserName", "bob")]),
    ] {
        s.ram(&w.b_root, Style::V3, action, &params).await.ok();
    }
    let err = w.who(&session, Style::V3).await;
    err.err(400, "InvalidSecurityToken.Expired");
    assert!(err.message().contains("user who started the session"));
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_policies_narrow_and_the_audit_names_the_chain() {
    let w = world().await;
    let s = &w.server;
    let wide = json!({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "ram:GetRole", "Resource": "*"}]})
    .to_string();
    let key = w.assume(Style::V3, "narrowed", &[("Policy", &wide)]).await;
    s.ram(&key, Style::V3, "ListRoles", &[]).await.ok();
    s.ram(&key, Style::V3, "CreateUser", &[("UserName", "u")])
        .await
        .err(403, "NoPermission");
    let denied = s
        .ram(&key, Style::V3, "GetRole", &[("RoleName", "fc-admin")])
        .await;
    denied.err(403, "NoPermission");

    let request_id = denied.body["RequestId"].as_str().unwrap().to_owned();
    let rows = s
        .store
        .list_audit(&iam::AuditFilter {
            account_id: s.account.clone(),
            request_id: Some(request_id),
            ..iam::AuditFilter::default()
        })
        .await
        .unwrap();
    let row = &rows[0];
    assert_eq!(row.decision, "ExplicitDeny");
    assert_eq!(
        row.deciding_statement.as_deref(),
        Some("SessionPolicy:Statement[1]")
    );
    assert_eq!(
        row.principal_chain,
        [
            format!("acs:ram::{}:user/bob", w.b),
            format!("{}/narrowed", w.role_arn),
        ]
    );
    assert_eq!(row.principal_arn, format!("{}/narrowed", w.role_arn));
    assert!(row.session_id.is_some());
    // The AssumeRole is in both accounts' tables, with the issued session.
    for account in [&s.account, &w.b] {
        let rows = s
            .store
            .list_audit(&iam::AuditFilter {
                account_id: account.clone(),
                action: Some("sts:AssumeRole".into()),
                ..iam::AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].issued_session_id, row.session_id);
        assert_eq!(rows[0].resource, w.role_arn);
    }
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credentials_uri_route() {
    let w = world().await;
    let s = &w.server;
    let made = s
        .store
        .create_credentials_uri(
            &s.account,
            &iam::CreateCredentialsUri {
                role_name: "fc-admin".into(),
                session_name: Some("ci".into()),
                duration_seconds: Some(900),
            },
        )
        .await
        .unwrap();
    let path = format!(
        "/rampart/credentials/{}/{}",
        made.binding.binding_id,
        made.secret.expose()
    );
    let answer = s.get(&path).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        members(&answer.body),
        [
            "AccessKeyId",
            "AccessKeySecret",
            "Code",
            "Expiration",
            "SecurityToken"
        ]
    );
    assert_eq!(answer.body["Code"], "Success");
    let key = Key {
        id: answer.body["AccessKeyId"].as_str().unwrap().into(),
        secret: answer.body["AccessKeySecret"].as_str().unwrap().into(),
        token: Some(answer.body["SecurityToken"].as_str().unwrap().into()),
    };
    let who = w.who(&key, Style::V3).await;
    assert_eq!(
        who.ok()["Arn"],
        format!("acs:ram::{}:assumed-role/fc-admin/ci", s.account).as_str()
    );
    let expiration = auth::Timestamp::parse(answer.body["Expiration"].as_str().unwrap()).unwrap();
    let left = expiration.unix_seconds() - auth::Timestamp::now().unix_seconds();
    assert!((890..=900).contains(&left), "{left}");

    for bad in [
        format!("/rampart/credentials/{}/wrong", made.binding.binding_id),
        format!("/rampart/credentials/cu-none/{}", made.secret.expose()),
    ] {
        let refused = s.get(&bad).await;
        refused.err(404, "EntityNotExist.CredentialsUri");
    }
    w.server.stop().await;
}
