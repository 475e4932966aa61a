//! `rampart serve` and `rampart account create`, driven through the built
//! binary as an operator drives them: a free port, a fresh data folder,
//! `/healthz`, the first account's file, a signed call, SIGTERM.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use auth::{percent_encode, v1, Secret, Timestamp};
use serde_json::Value;

/// A scratch folder removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let path = std::env::temp_dir().join(format!("rampart-serve-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `rampart serve` child, killed if the test fails before stopping it.
struct Server {
    child: Option<Child>,
    port: u16,
}

impl Server {
    fn start(data_dir: &Path, port: u16) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(["serve", "--data-dir"])
            .arg(data_dir)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env_remove("RAMPART_DATA_DIR")
            .env_remove("RAMPART_LISTEN")
            .env_remove("RAMPART_STORE")
            .env_remove("RAMPART_MASTER_KEY")
            .env("RAMPART_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Server {
            child: Some(child),
            port,
        };
        server.wait_until_healthy();
        server
    }

    fn wait_until_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some((200, body)) = http(self.port, "GET", "/healthz", "", &[]) {
                assert_eq!(body, "ok");
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("rampart serve exited early: {status}");
            }
            assert!(Instant::now() < deadline, "no /healthz within 20 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits; returns the exit output.
    fn terminate(self) -> Output {
        self.signal_term().wait_with_output().unwrap()
    }

    /// Sends SIGTERM; the caller waits for the child.
    fn signal_term(mut self) -> Child {
        let child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        child
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One HTTP/1.1 request over a fresh connection; `None` when nothing
/// listens yet.
fn http(
    port: u16,
    method: &str,
    target: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// A V1-signed GET of a RAM action, as aliyun-python-sdk-core sends it.
fn ram_call(
    port: u16,
    key_id: &str,
    secret: &str,
    action: &str,
    params: &[(&str, &str)],
) -> (u16, Value) {
    let mut all: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nonce = format!(
        "{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    for (k, v) in [
        ("Action", action),
        ("Version", "2015-05-01"),
        ("Format", "JSON"),
        ("AccessKeyId", key_id),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", &nonce),
        ("Timestamp", &Timestamp::now().to_iso8601()),
    ] {
        all.push((k.to_owned(), v.to_owned()));
    }
    let signature = v1::sign_params("GET", &all, &Secret::new(secret));
    all.push(("Signature".to_owned(), signature));
    let query: Vec<String> = all
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    let (status, body) = http(port, "GET", &format!("/?{}", query.join("&")), "", &[]).unwrap();
    (status, serde_json::from_str(&body).unwrap())
}

fn read_first_account(data_dir: &Path) -> Value {
    let path = data_dir.join("first-account.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "first-account.json must be owner-only");
    }
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn serve_first_start_signed_call_sigterm_and_restart() {
    let dir = Dir::new("lifecycle");
    let data = dir.0.join("data");

    // First start: the first account is made, printed once and written.
    let port = free_port();
    let server = Server::start(&data, port);
    let first = read_first_account(&data);
    let account = first["AccountId"].as_str().unwrap().to_owned();
    let key_id = first["AccessKeyId"].as_str().unwrap().to_owned();
    let secret = first["AccessKeySecret"].as_str().unwrap().to_owned();
    assert_eq!(account.len(), 16);
    assert!(account.bytes().all(|b| b.is_ascii_digit()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let key_mode = std::fs::metadata(data.join("keys/master.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(key_mode, 0o600);
        let folder_mode = std::fs::metadata(data.join("keys"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(folder_mode, 0o700);
    }

    let (status, body) = ram_call(
        port,
        &key_id,
        &secret,
        "CreateUser",
        &[("UserName", "alice")],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["User"]["UserName"], "alice");
    let (status, body) = ram_call(port, &key_id, "wrong", "ListUsers", &[]);
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("SignatureDoesNotMatch"))
    );

    let output = server.terminate();
    assert!(
        output.status.success(),
        "exit status after SIGTERM: {:?}",
        output.status
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains(&secret),
        "the first start prints the key: {stdout}"
    );
    assert!(
        stdout.contains(&format!("ALIBABA_CLOUD_ACCESS_KEY_ID={key_id}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("endpoint='127.0.0.1:{port}'")),
        "{stdout}"
    );

    // Second start: same data, nothing printed, the key and user are still there.
    let port = free_port();
    let server = Server::start(&data, port);
    let (status, body) = ram_call(port, &key_id, &secret, "GetUser", &[("UserName", "alice")]);
    assert_eq!(status, 200, "{body}");

    // `account create` next to the running server.
    let created = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["account", "create", "--data-dir"])
        .arg(&data)
        .args(["--alias", "second-company", "--output", "json"])
        .env_remove("RAMPART_MASTER_KEY")
        .env_remove("RAMPART_STORE")
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let new: Value = serde_json::from_slice(&created.stdout).unwrap();
    for field in ["AccountId", "AccessKeyId", "AccessKeySecret"] {
        assert!(
            new[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field} in {new}"
        );
    }
    assert_ne!(new["AccountId"], account.as_str());
    let (status, body) = ram_call(
        port,
        new["AccessKeyId"].as_str().unwrap(),
        new["AccessKeySecret"].as_str().unwrap(),
        "GetAccountAlias",
        &[],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["AccountAlias"], "second-company");
    // The new account does not see the first one's users.
    let (status, body) = ram_call(
        port,
        new["AccessKeyId"].as_str().unwrap(),
        new["AccessKeySecret"].as_str().unwrap(),
        "GetUser",
        &[("UserName", "alice")],
    );
    assert_eq!(
        (status, body["Code"].as_str()),
        (404, Some("EntityNotExist.User"))
    );

    let output = server.terminate();
    assert!(output.status.success(), "{:?}", output.status);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        !stdout.contains(&secret),
        "a later start must not print the key again: {stdout}"
    );
    assert!(!stdout.contains("created the first account"), "{stdout}");
    // The file is still the first account's.
    assert_eq!(read_first_account(&data)["AccessKeyId"], key_id.as_str());
}

/// Audit rows are written off the request path, in batches; the ones
/// queued when SIGTERM arrives are still written before the process exits.
#[test]
fn audit_events_queued_before_sigterm_are_written() {
    let dir = Dir::new("audit-flush");
    let data = dir.0.join("data");
    let port = free_port();
    let server = Server::start(&data, port);
    let first = read_first_account(&data);
    let account = first["AccountId"].as_str().unwrap().to_owned();
    let key_id = first["AccessKeyId"].as_str().unwrap().to_owned();
    let secret = first["AccessKeySecret"].as_str().unwrap().to_owned();
    // The key's first use is recorded with a write on the request path:
    // make it before the lock below.
    let (status, body) = ram_call(port, &key_id, &secret, "GetAccountAlias", &[]);
    assert_eq!(status, 200, "{body}");

    // Another process holds SQLite's write lock, so the server's audit
    // writer cannot write and every event stays queued (reads go on).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = data.join("rampart.db");
    let mut blocker = runtime.block_on(async {
        use sqlx::Connection as _;
        let url = format!("sqlite://{}?mode=rw", db.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .unwrap();
        conn
    });

    // Four clients at once, SIGTERM right after the last answer.
    let per_thread = 100;
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (key_id, secret) = (key_id.clone(), secret.clone());
            std::thread::spawn(move || {
                (0..per_thread)
                    .map(|_| {
                        let (status, body) = ram_call(port, &key_id, &secret, "ListUsers", &[]);
                        assert_eq!(status, 200, "{body}");
                        body["RequestId"].as_str().unwrap().to_owned()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut answered: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let child = server.signal_term();
    std::thread::sleep(Duration::from_millis(300));
    runtime.block_on(async {
        sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    });
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{:?}", output.status);

    // The table, read after the process is gone.
    let mut stored: Vec<String> = runtime.block_on(async {
        let url = format!("sqlite://{}?mode=rw", data.join("rampart.db").display());
        let ring = auth::KeyRing::new(vec![auth::SealingKey::new("t", [7; 32]).unwrap()]).unwrap();
        let store = iam::Store::open(&url, ring).await.unwrap();
        let rows = store
            .list_audit(&iam::AuditFilter {
                account_id: account.clone(),
                action: Some("ram:ListUsers".into()),
                limit: Some(1000),
                ..iam::AuditFilter::default()
            })
            .await
            .unwrap();
        store.close().await;
        rows.into_iter().map(|r| r.request_id).collect()
    });
    answered.sort();
    stored.sort();
    assert_eq!(answered.len(), 4 * per_thread);
    assert_eq!(stored.len(), answered.len(), "audit rows lost at shutdown");
    assert!(stored == answered, "other rows than the answered requests");
}

#[test]
fn account_create_without_a_server() {
    let dir = Dir::new("account");
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["account", "create", "--data-dir"])
        .arg(dir.0.join("data"))
        .args(["--output", "json"])
        .env_remove("RAMPART_MASTER_KEY")
        .env_remove("RAMPART_STORE")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Exactly these fields, in this order (no AccountAlias: none was given),
    // however serde_json orders its maps in this build. The text is
    // `{"K":"V","K":"V",...}` with no quote inside a value, so every fourth
    // piece between quotes is a key.
    let text = String::from_utf8(output.stdout).unwrap();
    let fields: Vec<&str> = text.split('"').skip(1).step_by(4).collect();
    assert_eq!(
        fields,
        ["AccountId", "AccessKeyId", "AccessKeySecret"],
        "{text}"
    );
    let new: Value = serde_json::from_str(&text).unwrap();
    assert!(new["AccessKeyId"].as_str().unwrap().starts_with("LTAI"));
}

#[test]
fn serve_refuses_bad_settings() {
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["serve", "--listen", "8080"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("HOST:PORT"));
    // A store elsewhere, and no key for it: refused before anything is
    // written, rather than sealing a secret with a key the server lacks.
    let dir = Dir::new("nokey");
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .current_dir(&dir.0)
        .args(["account", "create", "--output", "json", "--store"])
        .arg(format!("sqlite://{}/elsewhere.db", dir.0.display()))
        .env_remove("RAMPART_MASTER_KEY")
        .env_remove("RAMPART_DATA_DIR")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("RAMPART_MASTER_KEY"));
    assert!(!dir.0.join("elsewhere.db").exists());
}

#[test]
fn account_create_with_a_store_and_the_server_s_key() {
    // Several nodes on one store share the key: it comes from the
    // environment, and `account create --store URL` needs nothing else.
    let dir = Dir::new("sharedkey");
    let store = format!("sqlite://{}/shared.db", dir.0.display());
    let key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .current_dir(&dir.0)
        .args(["account", "create", "--output", "json", "--store", &store])
        .env("RAMPART_MASTER_KEY", key)
        .env_remove("RAMPART_DATA_DIR")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let new: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(new["AccountId"].is_string());
    // The data folder was not needed, and was not made.
    assert!(!dir.0.join("rampart-data").exists());
}

#[test]
fn account_create_with_a_refused_alias_leaves_no_account() {
    let dir = Dir::new("refused-alias");
    let data = dir.0.join("data");
    let create = |alias: &str| {
        Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(["account", "create", "--data-dir"])
            .arg(&data)
            .args(["--alias", alias, "--output", "json"])
            .env_remove("RAMPART_MASTER_KEY")
            .env_remove("RAMPART_STORE")
            .output()
            .unwrap()
    };
    for (alias, code) in [
        ("Bad_Alias", "InvalidParameter.AccountAlias.Format"),
        ("ab", "InvalidParameter.AccountAlias.Length"),
    ] {
        let output = create(alias);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{alias}: {stderr}");
        assert!(output.stdout.is_empty(), "{alias}");
        assert!(stderr.contains(code), "{alias}: {stderr}");
        assert!(stderr.contains("no account was created"), "{stderr}");
    }

    // The store is still empty: the first start makes the first account.
    let port = free_port();
    let server = Server::start(&data, port);
    let first = read_first_account(&data);
    let (id, secret) = (
        first["AccessKeyId"].as_str().unwrap().to_owned(),
        first["AccessKeySecret"].as_str().unwrap().to_owned(),
    );
    let (status, body) = ram_call(
        port,
        &id,
        &secret,
        "SetAccountAlias",
        &[("AccountAlias", "taken-alias")],
    );
    assert_eq!(status, 200, "{body}");
    // Another account's alias is refused too, while the server runs.
    let output = create("taken-alias");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("EntityAlreadyExists.AccountAlias"),
        "{stderr}"
    );
    let output = server.terminate();
    assert!(output.status.success(), "{:?}", output.status);
}

#[test]
fn serve_test_clock_needs_its_offset_file() {
    let dir = Dir::new("testclock");
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["serve", "--test-clock", "--data-dir"])
        .arg(dir.0.join("data"))
        .env_remove("RAMPART_TEST_CLOCK_OFFSET_FILE")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("RAMPART_TEST_CLOCK_OFFSET_FILE"));
    // The flag is a testing aid: not in the help.
    let help = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&help.stdout).contains("test-clock"));
}

fn credentials_uri(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("credentials-uri")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("RAMPART_MASTER_KEY")
        .env_remove("RAMPART_STORE")
        .output()
        .unwrap()
}

#[test]
fn credentials_uris_and_sessions_that_outlive_a_restart() {
    let dir = Dir::new("creduri");
    let data = dir.0.join("data");
    let port = free_port();
    let server = Server::start(&data, port);
    let first = read_first_account(&data);
    let account = first["AccountId"].as_str().unwrap().to_owned();
    let (id, secret) = (
        first["AccessKeyId"].as_str().unwrap().to_owned(),
        first["AccessKeySecret"].as_str().unwrap().to_owned(),
    );
    let trust = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{account}:root"]}}}}]}}"#
    );
    let (status, _) = ram_call(
        port,
        &id,
        &secret,
        "CreateRole",
        &[
            ("RoleName", "Builder"),
            ("AssumeRolePolicyDocument", &trust),
        ],
    );
    assert_eq!(status, 200);
    let (status, _) = ram_call(
        port,
        &id,
        &secret,
        "AttachPolicyToRole",
        &[
            ("RoleName", "Builder"),
            ("PolicyType", "System"),
            ("PolicyName", "AliyunRAMReadOnlyAccess"),
        ],
    );
    assert_eq!(status, 200);

    // A role that does not exist: refused, nothing made.
    let refused = credentials_uri(
        &data,
        &["create", "--account", &account, "--role", "nobody"],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("EntityNotExist.Role"));

    let endpoint = format!("http://127.0.0.1:{port}");
    let made = credentials_uri(
        &data,
        &[
            "create",
            "--account",
            &account,
            "--role",
            "builder",
            "--endpoint",
            &endpoint,
            "--output",
            "json",
        ],
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let made: Value = serde_json::from_slice(&made.stdout).unwrap();
    let binding = made["BindingId"].as_str().unwrap().to_owned();
    let uri = made["Uri"].as_str().unwrap();
    let path = uri.strip_prefix(&endpoint).unwrap().to_owned();
    assert!(path.starts_with(&format!("/rampart/credentials/{binding}/")));
    assert_eq!(made["RoleName"], "Builder");

    let (status, body) = http(port, "GET", &path, "", &[]).unwrap();
    assert_eq!(status, 200, "{body}");
    let creds: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(creds["Code"], "Success");
    let (sts_id, sts_secret, token) = (
        creds["AccessKeyId"].as_str().unwrap().to_owned(),
        creds["AccessKeySecret"].as_str().unwrap().to_owned(),
        creds["SecurityToken"].as_str().unwrap().to_owned(),
    );
    let get_role = || {
        ram_call(
            port,
            &sts_id,
            &sts_secret,
            "GetRole",
            &[("RoleName", "Builder"), ("SecurityToken", &token)],
        )
    };
    assert_eq!(get_role().0, 200);

    // The STS key lives in the data folder: the session outlives a restart.
    let key_file = data.join("keys/sts.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert!(server.terminate().status.success());
    let server = Server::start(&data, port);
    let (status, body) = get_role();
    assert_eq!(status, 200, "{body}");

    // Listed (without the secret), then removed: the URI hands out nothing.
    let listed = credentials_uri(&data, &["list", "--account", &account, "--output", "json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["BindingId"], binding.as_str());
    assert!(listed[0].get("Uri").is_none());
    let deleted = credentials_uri(
        &data,
        &["delete", "--account", &account, "--binding", &binding],
    );
    assert!(deleted.status.success());
    let (status, body) = http(port, "GET", &path, "", &[]).unwrap();
    assert_eq!(status, 404);
    assert!(body.contains("EntityNotExist.CredentialsUri"));
    assert!(server.terminate().status.success());
}

#[test]
fn audit_list_reads_allowed_and_denied_calls_after_sigterm() {
    let dir = Dir::new("audit-list");
    let data = dir.0.join("data");
    let port = free_port();
    let server = Server::start(&data, port);
    let first = read_first_account(&data);
    let account = first["AccountId"].as_str().unwrap().to_owned();
    let key_id = first["AccessKeyId"].as_str().unwrap().to_owned();
    let secret = first["AccessKeySecret"].as_str().unwrap().to_owned();

    // Allowed: the root key. Denied: a new user's key with no policy.
    let (status, body) = ram_call(port, &key_id, &secret, "CreateUser", &[("UserName", "bob")]);
    assert_eq!(status, 200, "{body}");
    let (status, body) = ram_call(
        port,
        &key_id,
        &secret,
        "CreateAccessKey",
        &[("UserName", "bob")],
    );
    assert_eq!(status, 200, "{body}");
    let bob_id = body["AccessKey"]["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob_secret = body["AccessKey"]["AccessKeySecret"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, allowed) = ram_call(port, &key_id, &secret, "ListUsers", &[]);
    assert_eq!(status, 200, "{allowed}");
    let (status, denied) = ram_call(port, &bob_id, &bob_secret, "ListUsers", &[]);
    assert_eq!(status, 403, "{denied}");
    let output = server.terminate();
    assert!(output.status.success(), "{:?}", output.status);

    let audit = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(["audit", "list", "--data-dir"])
            .arg(&data)
            .args(["--account", &account])
            .args(extra)
            .env_remove("RAMPART_DATA_DIR")
            .env_remove("RAMPART_STORE")
            .env_remove("RAMPART_MASTER_KEY")
            .output()
            .unwrap()
    };
    let out = audit(&["--action", "ram:ListUsers", "--output", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Value = serde_json::from_slice(&out.stdout).unwrap();
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    // Both calls, found by request id: the store orders by second, and
    // the two may share one.
    let find = |answer: &Value| {
        events
            .iter()
            .find(|e| e["request_id"] == answer["RequestId"])
            .unwrap_or_else(|| panic!("no event for {answer}: {events:?}"))
    };
    let (newest, oldest) = (find(&denied), find(&allowed));
    assert_eq!(newest["request_id"], denied["RequestId"]);
    assert_eq!(newest["decision"], "ImplicitDeny");
    assert!(
        newest["principal_arn"]
            .as_str()
            .unwrap()
            .ends_with(":user/bob"),
        "{newest}"
    );
    assert!(newest["error_code"].is_string(), "{newest}");
    assert_eq!(oldest["request_id"], allowed["RequestId"]);
    assert_eq!(oldest["decision"], "Allow");
    assert_eq!(oldest["action"], "ram:ListUsers");
    assert!(oldest["error_code"].is_null(), "{oldest}");
    assert_eq!(oldest["account_id"], account.as_str());

    // The whole log, in text; --limit caps it.
    let out = audit(&[]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() >= 4);
    let out = audit(&["--limit", "1"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);

    // Bad input exits 2.
    for bad in [&["--limit", "0"][..], &["--limit", "10001"][..]] {
        let out = audit(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["audit", "list", "--data-dir"])
        .arg(&data)
        .args(["--account", "acme"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an account id"));
}
