//! A real router on 127.0.0.1:0 over a SQLite store in a temp folder, and a
//! client that signs like the SDKs (with `auth`'s signers).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use auth::{percent_encode, v1, v3, Secret, Timestamp};
use serde_json::Value;
use tokio::sync::oneshot;

/// A running server and what tests need to talk to it.
pub struct TestServer {
    pub store: iam::Store,
    pub port: u16,
    pub http: reqwest::Client,
    pub root: Key,
    pub account: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

/// An AccessKey pair, with its SecurityToken when it is temporary.
#[derive(Debug, Clone, Default)]
pub struct Key {
    pub id: String,
    pub secret: String,
    pub token: Option<String>,
}

impl Key {
    /// The temporary credentials of an AssumeRole answer.
    pub fn from_assume_role(body: &Value) -> Key {
        let c = &body["Credentials"];
        Key {
            id: c["AccessKeyId"].as_str().unwrap().to_owned(),
            secret: c["AccessKeySecret"].as_str().unwrap().to_owned(),
            token: Some(c["SecurityToken"].as_str().unwrap().to_owned()),
        }
    }
}

/// How a request is signed and where its parameters go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// V1, GET, everything in the query (aliyun-python-sdk-core style).
    V1Get,
    /// V1, POST, everything in a form body (pop-core style).
    V1Post,
    /// V3, POST, business parameters in the query (Tea style).
    V3,
}

/// Knobs for signature-failure tests.
#[derive(Debug, Clone, Default)]
pub struct Tweak {
    /// Sign with this secret instead of the key's.
    pub secret: Option<String>,
    /// Use this timestamp.
    pub timestamp: Option<String>,
    /// Use this nonce.
    pub nonce: Option<String>,
    /// Use this API version.
    pub version: Option<String>,
    /// V3: send the SecurityToken header without signing it.
    pub unsigned_token: bool,
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub request_id_header: Option<String>,
    pub content_type: Option<String>,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["Code"].as_str().unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.body["Message"].as_str().unwrap_or("")
    }

    /// Asserts success and returns the body.
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "expected success, got {:?}", self.body);
        assert!(
            self.body.get("Code").is_none(),
            "a success body carries a Code: {}",
            self.body
        );
        &self.body
    }

    /// Asserts an error with this status and code.
    pub fn err(&self, status: u16, code: &str) -> &Self {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "body: {}",
            self.body
        );
        self
    }
}

static NONCE: AtomicU64 = AtomicU64::new(0);

pub fn fresh_nonce() -> String {
    format!(
        "{:016x}{:016x}",
        std::process::id(),
        NONCE.fetch_add(1, Ordering::Relaxed) ^ 0x5eed_0000_0000
    )
}

fn encode_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl TestServer {
    /// Boots the router with the default configuration.
    pub async fn start() -> TestServer {
        TestServer::start_with(server::Config::default()).await
    }

    pub async fn start_with(config: server::Config) -> TestServer {
        TestServer::start_with_clock(config, server::Clock::system()).await
    }

    /// Boots the router with a clock (a test clock, to move past expiry).
    pub async fn start_with_clock(config: server::Config, clock: server::Clock) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/rampart.db?mode=rwc", dir.path().display());
        let keys = auth::KeyRing::new(vec![auth::SealingKey::generate("test").unwrap()]).unwrap();
        let store = iam::Store::open(&url, keys).await.unwrap();
        let first = store.create_account(None).await.unwrap();
        let state = Arc::new(server::AppState::new(store.clone(), config).with_clock(clock));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        TestServer {
            store,
            port,
            http: reqwest::Client::new(),
            root: Key {
                id: first.root_access_key.access_key_id.clone(),
                secret: first.root_access_key.secret.expose().to_owned(),
                token: None,
            },
            account: first.account.account_id.clone(),
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A RAM call, signed as `style` with `key`.
    pub async fn ram(
        &self,
        key: &Key,
        style: Style,
        action: &str,
        params: &[(&str, &str)],
    ) -> Answer {
        self.call(key, style, action, params, &Tweak::default())
            .await
    }

    /// Builds, signs and sends a request; returns what came back.
    pub async fn call(
        &self,
        key: &Key,
        style: Style,
        action: &str,
        params: &[(&str, &str)],
        tweak: &Tweak,
    ) -> Answer {
        let request = self.build(key, style, action, params, tweak);
        self.send(request).await
    }

    /// Builds a signed request without sending it.
    pub fn build(
        &self,
        key: &Key,
        style: Style,
        action: &str,
        params: &[(&str, &str)],
        tweak: &Tweak,
    ) -> reqwest::Request {
        let secret = Secret::new(tweak.secret.clone().unwrap_or_else(|| key.secret.clone()));
        let timestamp = tweak
            .timestamp
            .clone()
            .unwrap_or_else(|| Timestamp::now().to_iso8601());
        let nonce = tweak.nonce.clone().unwrap_or_else(fresh_nonce);
        let version = tweak
            .version
            .clone()
            .unwrap_or_else(|| "2015-05-01".to_owned());
        let business: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        match style {
            Style::V1Get | Style::V1Post => {
                let method = if style == Style::V1Get { "GET" } else { "POST" };
                let mut all = business;
                for (k, v) in [
                    ("Action", action.to_owned()),
                    ("Version", version),
                    ("Format", "JSON".to_owned()),
                    ("AccessKeyId", key.id.clone()),
                    ("SignatureMethod", "HMAC-SHA1".to_owned()),
                    ("SignatureVersion", "1.0".to_owned()),
                    ("SignatureNonce", nonce),
                    ("SignatureType", String::new()),
                    ("Timestamp", timestamp),
                    ("RegionId", "cn-hangzhou".to_owned()),
                ] {
                    all.push((k.to_owned(), v));
                }
                if let Some(token) = &key.token {
                    all.push(("SecurityToken".to_owned(), token.clone()));
                }
                let signature = v1::sign_params(method, &all, &secret);
                all.push(("Signature".to_owned(), signature));
                let encoded = encode_pairs(&all);
                if style == Style::V1Get {
                    self.http
                        .get(format!("{}/?{encoded}", self.base()))
                        .build()
                        .unwrap()
                } else {
                    self.http
                        .post(format!("{}/", self.base()))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .header("x-acs-action", action)
                        .body(encoded)
                        .build()
                        .unwrap()
                }
            }
            Style::V3 => {
                let host = self.host();
                let content_sha = v3::content_sha256_hex(b"");
                let mut headers: Vec<(&str, &str)> = vec![
                    ("host", &host),
                    ("x-acs-action", action),
                    ("x-acs-version", &version),
                    ("x-acs-date", &timestamp),
                    ("x-acs-signature-nonce", &nonce),
                    ("x-acs-content-sha256", &content_sha),
                    ("accept", "application/json"),
                ];
                if let (Some(token), false) = (&key.token, tweak.unsigned_token) {
                    headers.push(("x-acs-security-token", token));
                }
                let query: Vec<(&str, &str)> = business
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let signed = v3::sign_request(
                    &v3::Request {
                        method: "POST",
                        path: "/",
                        query: &query,
                        headers: &headers,
                        body: b"",
                    },
                    &key.id,
                    &secret,
                )
                .unwrap();
                let url = if business.is_empty() {
                    format!("{}/", self.base())
                } else {
                    format!("{}/?{}", self.base(), encode_pairs(&business))
                };
                let mut builder = self.http.post(url);
                for (name, value) in &headers {
                    if *name != "host" {
                        builder = builder.header(*name, *value);
                    }
                }
                if let (Some(token), true) = (&key.token, tweak.unsigned_token) {
                    builder = builder.header("x-acs-security-token", token);
                }
                builder
                    .header("authorization", signed.to_string())
                    .build()
                    .unwrap()
            }
        }
    }

    /// An STS call (`2015-04-01`).
    pub async fn sts(
        &self,
        key: &Key,
        style: Style,
        action: &str,
        params: &[(&str, &str)],
    ) -> Answer {
        let tweak = Tweak {
            version: Some("2015-04-01".to_owned()),
            ..Tweak::default()
        };
        self.call(key, style, action, params, &tweak).await
    }

    /// A plain GET of a path.
    pub async fn get(&self, path: &str) -> Answer {
        let request = self
            .http
            .get(format!("{}{path}", self.base()))
            .build()
            .unwrap();
        self.send(request).await
    }

    /// Sends a request and reads the JSON answer.
    pub async fn send(&self, request: reqwest::Request) -> Answer {
        let response = self.http.execute(request).await.unwrap();
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let request_id_header = header("x-acs-request-id");
        let content_type = header("content-type");
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
        Answer {
            status,
            body,
            request_id_header,
            content_type,
        }
    }

    /// Creates a RAM user with an AccessKey (as the root).
    pub async fn user_with_key(&self, name: &str) -> Key {
        self.ram(&self.root, Style::V3, "CreateUser", &[("UserName", name)])
            .await
            .ok();
        let created = self
            .ram(
                &self.root,
                Style::V3,
                "CreateAccessKey",
                &[("UserName", name)],
            )
            .await;
        let key = &created.ok()["AccessKey"];
        Key {
            id: key["AccessKeyId"].as_str().unwrap().to_owned(),
            secret: key["AccessKeySecret"].as_str().unwrap().to_owned(),
            token: None,
        }
    }

    /// A second account and its root key, made in the store directly.
    pub async fn other_account(&self) -> (String, Key) {
        let new = self.store.create_account(None).await.unwrap();
        (
            new.account.account_id.clone(),
            Key {
                id: new.root_access_key.access_key_id.clone(),
                secret: new.root_access_key.secret.expose().to_owned(),
                token: None,
            },
        )
    }
}
