//! `rampart push` and `rampart pull` against a real `rampart serve
//! --registry-listen`: an instance made with `rampart registry instance
//! create`, the root's registry password set with `instance
//! login-password`, a layout of two random layers (one large enough to go
//! up in PATCH chunks) pushed and pulled back byte for byte; a wrong
//! password, an anonymous pull of a private repository and a RAM user
//! without a policy fail with exit 1 and the cause on stderr.
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
use serde_json::{json, Value};
use sha2::Digest as _;

/// A scratch folder removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let path =
            std::env::temp_dir().join(format!("rampart-pull-push-{tag}-{}", std::process::id()));
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

/// A `rampart serve --registry-listen` child, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    registry_port: u16,
}

impl Server {
    fn start(data_dir: &Path) -> Server {
        let port = free_port();
        let mut registry_port = free_port();
        while registry_port == port {
            registry_port = free_port();
        }
        let child = Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(["serve", "--data-dir"])
            .arg(data_dir)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--registry-listen", &format!("127.0.0.1:{registry_port}")])
            .env_remove("RAMPART_DATA_DIR")
            .env_remove("RAMPART_LISTEN")
            .env_remove("RAMPART_REGISTRY_LISTEN")
            .env_remove("RAMPART_STORE")
            .env_remove("RAMPART_MASTER_KEY")
            .env("RAMPART_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Server {
            child,
            port,
            registry_port,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let api = http(port, "GET", "/healthz", "", &[]).map(|(s, _)| s);
            let registry = http(registry_port, "GET", "/v2/", "", &[]).map(|(s, _)| s);
            // Before any instance exists, /v2/ names no known host: any
            // answer means the listener is up.
            if api == Some(200) && registry.is_some() {
                return server;
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("rampart serve exited early: {status}");
            }
            assert!(Instant::now() < deadline, "not serving within 20 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
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

/// A V1-signed GET of a RAM action.
fn ram_call(port: u16, key_id: &str, secret: &str, action: &str, params: &[(&str, &str)]) -> Value {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nonce = format!(
        "pp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut all: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
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
    assert_eq!(status, 200, "{action}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Runs `rampart ARGS` with `stdin`, without registry credentials in the
/// environment unless `env` gives them.
fn rampart(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rampart"));
    command
        .args(args)
        .env_remove("RAMPART_REGISTRY_USERNAME")
        .env_remove("RAMPART_REGISTRY_PASSWORD")
        .env_remove("RAMPART_DATA_DIR")
        .env_remove("RAMPART_STORE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn random(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).unwrap();
    bytes
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Writes a blob into a layout; returns its descriptor.
fn put_blob(layout: &Path, media_type: &str, bytes: &[u8]) -> Value {
    let digest = sha256(bytes);
    let path = layout
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    std::fs::write(path, bytes).unwrap();
    json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
}

/// An OCI image layout with two random layers (one over the client's
/// 8 MiB chunk size), a config and a manifest named `name`; returns the
/// manifest digest and every blob's digest.
fn build_layout(layout: &Path, name: &str) -> (String, Vec<String>) {
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let big = put_blob(
        layout,
        "application/vnd.oci.image.layer.v1.tar",
        &random(9 * 1024 * 1024 + 17),
    );
    let small = put_blob(
        layout,
        "application/vnd.oci.image.layer.v1.tar",
        &random(3000),
    );
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [big["digest"], small["digest"]]},
    });
    let config = put_blob(
        layout,
        "application/vnd.oci.image.config.v1+json",
        config.to_string().as_bytes(),
    );
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": [big, small],
    });
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
    let mut descriptor = put_blob(
        layout,
        "application/vnd.oci.image.manifest.v1+json",
        &manifest_bytes,
    );
    descriptor["annotations"] = json!({"org.opencontainers.image.ref.name": name});
    let index = json!({"schemaVersion": 2, "manifests": [descriptor]});
    std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
    let blobs = [&config, &big, &small]
        .iter()
        .map(|d| d["digest"].as_str().unwrap().to_owned())
        .chain([descriptor["digest"].as_str().unwrap().to_owned()])
        .collect();
    (descriptor["digest"].as_str().unwrap().to_owned(), blobs)
}

fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap()
}

fn last_line(output: &Output) -> String {
    text(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn push_then_pull_back_byte_for_byte_and_refusals() {
    let dir = Dir::new("roundtrip");
    let data = dir.0.join("data");
    let server = Server::start(&data);
    let data_arg = data.to_str().unwrap();
    let first: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("first-account.json")).unwrap())
            .unwrap();
    let account = first["AccountId"].as_str().unwrap().to_owned();

    let made = rampart(
        &[
            "registry",
            "instance",
            "create",
            "--data-dir",
            data_arg,
            "--account",
            &account,
            "--name",
            "demo",
            "--region",
            "cn-hangzhou",
            "--output",
            "json",
        ],
        "",
        &[],
    );
    assert!(made.status.success(), "{}", text(&made.stderr));
    let instance: Value = serde_json::from_slice(&made.stdout).unwrap();
    let instance_id = instance["InstanceId"].as_str().unwrap().to_owned();
    let set = rampart(
        &[
            "registry",
            "instance",
            "login-password",
            "--data-dir",
            data_arg,
            "--account",
            &account,
            "--instance",
            &instance_id,
        ],
        "Root-pass-1234\n",
        &[],
    );
    assert!(set.status.success(), "{}", text(&set.stderr));

    let source = dir.0.join("source");
    let (manifest_digest, blobs) = build_layout(&source, "v1");
    let image = format!("127.0.0.1:{}/team/app:v1", server.registry_port);

    // Push with --password-stdin.
    let pushed = rampart(
        &[
            "push",
            source.to_str().unwrap(),
            &image,
            "--username",
            &account,
            "--password-stdin",
        ],
        "Root-pass-1234\n",
        &[],
    );
    let stderr = text(&pushed.stderr);
    assert!(pushed.status.success(), "push failed: {stderr}");
    assert_eq!(last_line(&pushed), manifest_digest);
    for digest in &blobs[..3] {
        assert!(stderr.contains(&format!("pushing {digest}")), "{stderr}");
        assert!(stderr.contains(&format!("done {digest}")), "{stderr}");
    }

    // Again, from the environment: the registry has every blob.
    let creds = [
        ("RAMPART_REGISTRY_USERNAME", account.as_str()),
        ("RAMPART_REGISTRY_PASSWORD", "Root-pass-1234"),
    ];
    let again = rampart(&["push", source.to_str().unwrap(), &image], "", &creds);
    let stderr = text(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert_eq!(last_line(&again), manifest_digest);
    assert!(!stderr.contains("pushing "), "{stderr}");
    assert!(stderr.contains(&format!("exists {}", blobs[1])), "{stderr}");

    // Pull it back into another folder.
    let target = dir.0.join("target");
    let pulled = rampart(
        &["pull", &image, "--output", target.to_str().unwrap()],
        "",
        &creds,
    );
    let stderr = text(&pulled.stderr);
    assert!(pulled.status.success(), "pull failed: {stderr}");
    assert_eq!(last_line(&pulled), manifest_digest);
    assert!(
        stderr.contains(&format!("pulling {} {}", blobs[1], 9 * 1024 * 1024 + 17)),
        "{stderr}"
    );
    for digest in &blobs {
        assert_eq!(blob(&source, digest), blob(&target, digest), "{digest}");
    }
    let layout: Value =
        serde_json::from_str(&std::fs::read_to_string(target.join("oci-layout")).unwrap()).unwrap();
    assert_eq!(layout["imageLayoutVersion"], "1.0.0");
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(target.join("index.json")).unwrap()).unwrap();
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{index}");
    assert_eq!(entries[0]["digest"], manifest_digest.as_str());
    assert_eq!(
        entries[0]["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        entries[0]["annotations"]["org.opencontainers.image.ref.name"],
        "v1"
    );

    // By digest, into the same folder: nothing moves, the name is `latest`.
    let by_digest = format!(
        "127.0.0.1:{}/team/app@{manifest_digest}",
        server.registry_port
    );
    let again = rampart(
        &["pull", &by_digest, "--output", target.to_str().unwrap()],
        "",
        &creds,
    );
    let stderr = text(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(!stderr.contains("pulling "), "{stderr}");
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(target.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2, "{index}");

    // A wrong password.
    let wrong = rampart(
        &[
            "pull",
            &image,
            "--output",
            dir.0.join("wrong").to_str().unwrap(),
            "--username",
            &account,
            "--password-stdin",
        ],
        "not-the-password\n",
        &[],
    );
    assert_eq!(wrong.status.code(), Some(1));
    let stderr = text(&wrong.stderr);
    assert!(
        stderr.contains("rampart pull: unauthorized: wrong user name or password"),
        "{stderr}"
    );
    let wrong_push = rampart(
        &["push", source.to_str().unwrap(), &image],
        "",
        &[
            ("RAMPART_REGISTRY_USERNAME", &account),
            ("RAMPART_REGISTRY_PASSWORD", "nope"),
        ],
    );
    assert_eq!(wrong_push.status.code(), Some(1));
    assert!(text(&wrong_push.stderr).contains("unauthorized: wrong user name or password"));

    // Anonymous, on a private repository.
    let anonymous = rampart(
        &[
            "pull",
            &image,
            "--output",
            dir.0.join("anon").to_str().unwrap(),
        ],
        "",
        &[],
    );
    assert_eq!(anonymous.status.code(), Some(1));
    let stderr = text(&anonymous.stderr);
    assert!(stderr.contains("rampart pull: unauthorized: "), "{stderr}");
    assert!(!dir.0.join("anon/index.json").exists());

    // A RAM user with a registry password and no policy: denied, by RAM.
    let key_id = first["AccessKeyId"].as_str().unwrap();
    let secret = first["AccessKeySecret"].as_str().unwrap();
    ram_call(
        server.port,
        key_id,
        secret,
        "CreateUser",
        &[("UserName", "carol")],
    );
    let set = rampart(
        &[
            "registry",
            "instance",
            "login-password",
            "--data-dir",
            data_arg,
            "--account",
            &account,
            "--instance",
            &instance_id,
            "--user",
            "carol",
        ],
        "Carol-pass-1234\n",
        &[],
    );
    assert!(set.status.success(), "{}", text(&set.stderr));
    let carol = format!("carol@{account}");
    let denied = rampart(
        &[
            "pull",
            &image,
            "--output",
            dir.0.join("carol").to_str().unwrap(),
            "--username",
            &carol,
            "--password-stdin",
        ],
        "Carol-pass-1234\n",
        &[],
    );
    assert_eq!(denied.status.code(), Some(1));
    let stderr = text(&denied.stderr);
    assert!(stderr.contains("rampart pull: denied: "), "{stderr}");
    assert!(stderr.contains("may not cr:PullRepository on"), "{stderr}");

    // A two-platform index: pushed children first, pulled by --platform.
    let multi = dir.0.join("multi");
    let (amd64, _) = build_layout(&multi, "amd64");
    let (arm64, _) = build_layout(&dir.0.join("multi-arm"), "arm64");
    for entry in std::fs::read_dir(dir.0.join("multi-arm/blobs/sha256")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            multi.join("blobs/sha256").join(entry.file_name()),
        )
        .unwrap();
    }
    let size = |d: &str| blob(&multi, d).len();
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd64, "size": size(&amd64),
             "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm64, "size": size(&arm64),
             "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        ],
    });
    let mut index_descriptor = put_blob(
        &multi,
        "application/vnd.oci.image.index.v1+json",
        index.to_string().as_bytes(),
    );
    let index_digest = index_descriptor["digest"].as_str().unwrap().to_owned();
    index_descriptor["annotations"] = json!({"org.opencontainers.image.ref.name": "multi"});
    std::fs::write(
        multi.join("index.json"),
        json!({"schemaVersion": 2, "manifests": [index_descriptor]}).to_string(),
    )
    .unwrap();
    let multi_image = format!("127.0.0.1:{}/team/multi:v1", server.registry_port);
    let pushed = rampart(&["push", multi.to_str().unwrap(), &multi_image], "", &creds);
    assert!(pushed.status.success(), "{}", text(&pushed.stderr));
    assert_eq!(last_line(&pushed), index_digest);
    let arm = dir.0.join("arm");
    let pulled = rampart(
        &[
            "pull",
            &multi_image,
            "--output",
            arm.to_str().unwrap(),
            "--platform",
            "linux/arm64",
        ],
        "",
        &creds,
    );
    assert!(pulled.status.success(), "{}", text(&pulled.stderr));
    assert_eq!(last_line(&pulled), arm64);
    assert!(text(&pulled.stderr).contains(&format!("from index {index_digest}")));
    assert_eq!(blob(&arm, &arm64), blob(&multi, &arm64));
    let none = rampart(
        &[
            "pull",
            &multi_image,
            "--output",
            arm.to_str().unwrap(),
            "--platform",
            "linux/s390x",
        ],
        "",
        &creds,
    );
    assert_eq!(none.status.code(), Some(1));
    assert!(
        text(&none.stderr).contains("no manifest for platform linux/s390x"),
        "{}",
        text(&none.stderr)
    );

    // A reference that does not parse, and a tag that is not there.
    let bad = rampart(&["pull", "team/app", "--output", "x"], "", &[]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("invalid image reference"));
    let missing = format!("127.0.0.1:{}/team/app:nope", server.registry_port);
    let missing = rampart(
        &[
            "pull",
            &missing,
            "--output",
            dir.0.join("missing").to_str().unwrap(),
        ],
        "",
        &creds,
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("not found: "),
        "{}",
        text(&missing.stderr)
    );
}
