//! `rampart serve`: the RAM and STS APIs (and the credentials URI) on one
//! port, until SIGTERM or SIGINT.
//!
//! Start-up, in order: settings (flags > `RAMPART_*` > config file >
//! defaults, see `settings.rs`), the clock (the system's, or with the
//! hidden `--test-clock` flag a clock shifted by the offset in the file
//! `RAMPART_TEST_CLOCK_OFFSET_FILE` names: a testing aid, see
//! `server::Clock`), the data folder, master key and STS keys, the store
//! (schema brought up to date), the listener, the first account when the
//! store has none (printed once, and written to
//! `DATA_DIR/first-account.json`, mode 0600), then serving. `/healthz`
//! answers once all of that is done.
//!
//! Shutdown: on SIGTERM or SIGINT the listener closes, requests in flight
//! finish, the store's pool closes, and the process exits 0.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use sha2::{Digest as _, Sha256};

use super::settings::{write_private_file, Flags, MasterKeySource, Settings, StsKeySource};
use super::ServeArgs;

/// How long requests in flight may take to finish after SIGTERM/SIGINT.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// The file the first account's root key is written to, in the data folder.
pub const FIRST_ACCOUNT_FILE: &str = "first-account.json";

/// The key ring for a master key, the key named by a fingerprint of itself:
/// nodes sharing one key agree on its name, and a store opened with another
/// key says which key sealed its secrets.
pub fn keyring(key: [u8; 32]) -> Result<auth::KeyRing, String> {
    let digest = Sha256::new()
        .chain_update(b"rampart master key id\0")
        .chain_update(key)
        .finalize();
    let id = format!("k-{}", hex::encode(digest.get(..6).unwrap_or_default()));
    auth::SealingKey::new(&id, key)
        .and_then(|key| auth::KeyRing::new(vec![key]))
        .map_err(|e| format!("the master key: {e}"))
}

/// The STS key ring: the first key seals, the others still verify. Each
/// key is named by a fingerprint of itself, so nodes sharing keys agree on
/// the names tokens carry.
pub fn sts_keyring(keys: &[[u8; 32]]) -> Result<auth::KeyRing, String> {
    let mut ring = Vec::with_capacity(keys.len());
    for key in keys {
        let digest = Sha256::new()
            .chain_update(b"rampart sts key id\0")
            .chain_update(key)
            .finalize();
        let id = format!("s-{}", hex::encode(digest.get(..6).unwrap_or_default()));
        ring.push(auth::SealingKey::new(&id, *key).map_err(|e| format!("an STS key: {e}"))?);
    }
    auth::KeyRing::new(ring).map_err(|e| format!("the STS keys: {e}"))
}

/// The test clock, when asked for with `--test-clock`: the offset file
/// comes from `RAMPART_TEST_CLOCK_OFFSET_FILE`, and is required.
fn test_clock(asked: bool) -> Result<server::Clock, String> {
    let file = std::env::var_os(TEST_CLOCK_ENV).filter(|v| !v.is_empty());
    match (asked, file) {
        (false, None) => Ok(server::Clock::system()),
        (false, Some(_)) => {
            tracing::warn!(
                "{TEST_CLOCK_ENV} is set but --test-clock was not given: the system clock is used"
            );
            Ok(server::Clock::system())
        }
        (true, None) => Err(format!(
            "--test-clock needs {TEST_CLOCK_ENV} to name the file holding the offset in seconds"
        )),
        (true, Some(path)) => {
            tracing::warn!(
                offset_file = %std::path::Path::new(&path).display(),
                "TEST CLOCK: sessions are issued and checked by a clock shifted by the offset in this file; never run production like this"
            );
            Ok(server::Clock::with_offset_file(path))
        }
    }
}

/// The environment variable naming the test clock's offset file.
pub const TEST_CLOCK_ENV: &str = "RAMPART_TEST_CLOCK_OFFSET_FILE";

/// The store URL handed to the store: a SQLite URL without `mode=` gets
/// `mode=rwc`, so the database file is created on first start.
pub fn store_url(url: &str) -> String {
    if url.starts_with("sqlite:") && !url.contains("mode=") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}mode=rwc")
    } else {
        url.to_owned()
    }
}

/// Opens the store named by the settings.
pub async fn open_store(settings: &Settings, key: [u8; 32]) -> Result<iam::Store, String> {
    iam::Store::open(&store_url(&settings.store), keyring(key)?)
        .await
        .map_err(|e| describe_store_error(&settings.store, &e))
}

/// A store error for a person: the code and message, plus the source of
/// an internal error (which the HTTP layer never shows, but an operator
/// starting the server must see).
pub fn describe_store_error(url: &str, err: &iam::IamError) -> String {
    let mut text = format!("store {url}: {}", err.message());
    if let iam::IamError::Internal { context, source } = err {
        text.push_str(&format!(" ({context}"));
        if let Some(source) = source {
            text.push_str(&format!(": {source}"));
        }
        text.push(')');
    }
    text
}

/// The address SDKs should be pointed at: the bound address, with an
/// unspecified IP (`0.0.0.0`, `::`) replaced by loopback.
fn client_endpoint(bound: SocketAddr) -> String {
    let ip = if bound.ip().is_unspecified() {
        match bound {
            SocketAddr::V4(_) => std::net::IpAddr::from([127, 0, 0, 1]),
            SocketAddr::V6(_) => std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        }
    } else {
        bound.ip()
    };
    SocketAddr::new(ip, bound.port()).to_string()
}

/// How to use the first account, for stdout.
fn first_account_text(new: &iam::NewAccount, endpoint: &str, file: &Path) -> String {
    let id = &new.root_access_key.access_key_id;
    let secret = new.root_access_key.secret.expose();
    let account = &new.account.account_id;
    format!(
        "\
rampart: created the first account. Its root AccessKey is shown this once
(a copy is in {file}, readable by you only).

  AccountId        {account}
  AccessKeyId      {id}
  AccessKeySecret  {secret}

Point the Alibaba Cloud SDKs at http://{endpoint}:

  export ALIBABA_CLOUD_ACCESS_KEY_ID={id}
  export ALIBABA_CLOUD_ACCESS_KEY_SECRET={secret}

  Tea SDKs (Python alibabacloud_*, Node @alicloud/*):
    Config(access_key_id=..., access_key_secret=..., endpoint='{endpoint}', protocol='http')
  Classic Python SDK (aliyun-python-sdk-core):
    request.set_endpoint('{endpoint}'); request.set_protocol_type('http')
  Node @alicloud/pop-core:
    new RPCClient({{accessKeyId, accessKeySecret, endpoint: 'http://{endpoint}', apiVersion: '2015-05-01'}})
",
        file = file.display()
    )
}

/// Creates the first account when the store has none: prints it once and
/// writes `first-account.json`. Another node (or an earlier start, or
/// `rampart account create`) having created an account is the normal case,
/// and does nothing; nodes starting together on one empty store create one
/// account between them (the store checks and creates in one transaction).
async fn ensure_first_account(
    store: &iam::Store,
    settings: &Settings,
    endpoint: &str,
) -> Result<(), String> {
    let created = store
        .create_first_account()
        .await
        .map_err(|e| describe_store_error(&settings.store, &e))?;
    let Some(new) = created else {
        return Ok(());
    };
    let file = settings.data_dir.join(FIRST_ACCOUNT_FILE);
    let record = json!({
        "AccountId": new.account.account_id,
        "AccessKeyId": new.root_access_key.access_key_id,
        "AccessKeySecret": new.root_access_key.secret.expose(),
        "Endpoint": endpoint,
        "Protocol": "http",
        "CreateDate": new.account.create_date.to_string(),
    });
    let mut text = serde_json::to_string_pretty(&record).map_err(|e| e.to_string())?;
    text.push('\n');
    // A stale file from an earlier store would be misleading: replace it.
    let _ = std::fs::remove_file(&file);
    write_private_file(&file, text.as_bytes())?;
    println!("{}", first_account_text(&new, endpoint, &file));
    Ok(())
}

/// Completes on the first SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT: shutting down"),
        () = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}

async fn serve(settings: Settings, started: Instant, clock: server::Clock) -> Result<(), String> {
    settings.ensure_data_dir()?;
    let key = settings.master_key()?;
    let sts_keys = sts_keyring(&settings.sts_keys()?)?;
    let store = open_store(&settings, key).await?;

    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    let endpoint = client_endpoint(bound);

    ensure_first_account(&store, &settings, &endpoint).await?;

    let registry_db = registry::meta::Db::open(store.pool(), store.is_postgres())
        .await
        .map_err(|e| format!("opening the registry tables: {e}"))?;
    let mut registry_settings = server::registry::RegistrySettings::default();
    if let Ok(id) = std::env::var("RAMPART_REGISTRY_DEFAULT_INSTANCE") {
        if !id.is_empty() {
            registry_settings.default_instance = Some(id);
        }
    }
    let state = Arc::new(
        server::AppState::new(store.clone(), server::Config::default())
            .with_sts_keys(sts_keys)
            .with_clock(clock)
            .with_registry(server::registry::RegistryPlane::new(
                registry_db.clone(),
                registry_settings,
            )),
    );
    let stopping = Arc::new(tokio::sync::Notify::new());
    let registry_task = match &settings.registry_listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(|e| format!("cannot listen on {address} (registry): {e}"))?;
            let registry_bound = listener
                .local_addr()
                .map_err(|e| format!("cannot read the registry's listening address: {e}"))?;
            let blobs = registry::LocalStore::open(
                &settings.data_dir.join(super::registry::BLOB_DIR),
                registry::LocalStoreOptions::default(),
            )
            .await
            .map_err(|e| format!("opening the blob store: {e}"))?;
            let data = Arc::new(registry::oci::Registry::new(
                server::registry::gate::RamGate::new(Arc::clone(&state)),
                blobs,
                registry_db,
                registry::oci::Limits::default(),
            ));
            let purger = Arc::clone(&data);
            tokio::spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
                loop {
                    every.tick().await;
                    if let Err(e) = purger
                        .purge_expired_uploads(std::time::SystemTime::now())
                        .await
                    {
                        tracing::warn!(error = %e, "purging expired upload sessions failed");
                    }
                }
            });
            let stop = Arc::clone(&stopping);
            tracing::info!(registry_listen = %registry_bound, "the container registry is serving");
            Some(tokio::spawn(server::registry::serve(
                listener,
                Arc::clone(&state),
                data,
                async move { stop.notified().await },
            )))
        }
        None => None,
    };

    tracing::info!(
        listen = %bound,
        data_dir = %settings.data_dir.display(),
        config = %settings.config_file.as_ref().map_or_else(|| "-".to_owned(), |p| p.display().to_string()),
        master_key = match settings.master_key { MasterKeySource::Given(_) => "given", MasterKeySource::File(_) => "file" },
        sts_key = match settings.sts_key { StsKeySource::Given(_) => "given", StsKeySource::File(_) => "file" },
        sts_old_keys = settings.sts_old_keys.len(),
        startup_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "rampart is serving the RAM and STS APIs"
    );
    let signalled = Arc::clone(&stopping);
    let serving = server::serve(listener, state, async move {
        shutdown_signal().await;
        signalled.notify_waiters();
    });
    let served = tokio::select! {
        served = serving => served,
        () = async {
            stopping.notified().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!(grace_s = SHUTDOWN_GRACE.as_secs(), "requests still in flight after the grace period; stopping anyway");
            Ok(())
        }
    };
    if let Some(task) = registry_task {
        stopping.notify_waiters();
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, task).await;
    }
    store.close().await;
    served.map_err(|e| format!("serving on {bound}: {e}"))?;
    tracing::info!("stopped");
    Ok(())
}

/// Logging for the admin verbs: warnings and errors unless `RAMPART_LOG`
/// says otherwise, so their stdout stays what scripts read.
pub fn init_logging_quiet() {
    init_logging_to(tracing::Level::WARN, std::io::stderr);
}

/// Sets up logging: `RAMPART_LOG` (`error`, `warn`, `info`, `debug`,
/// `trace`; `default` when unset) to `writer`, as text, or as JSON lines
/// when `RAMPART_LOG_FORMAT=json`. `serve` logs at `info` through
/// [`super::log_writer`]; the admin verbs write stderr line by line.
fn init_logging_to<W>(default: tracing::Level, writer: W)
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let level = std::env::var("RAMPART_LOG")
        .ok()
        .and_then(|v| v.parse::<tracing::Level>().ok())
        .unwrap_or(default);
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(true);
    let json = std::env::var("RAMPART_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

pub fn run(args: &ServeArgs) -> ExitCode {
    let started = Instant::now();
    init_logging_to(
        tracing::Level::INFO,
        super::log_writer::BatchedStderr::install(),
    );
    let code = run_logged(args, started);
    super::log_writer::flush();
    code
}

fn run_logged(args: &ServeArgs, started: Instant) -> ExitCode {
    let flags = Flags {
        data_dir: args.data_dir.clone(),
        listen: args.listen.clone(),
        registry_listen: args.registry_listen.clone(),
        store: args.store.clone(),
        config: args.config.clone(),
    };
    let settings = match Settings::from_process(&flags) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rampart serve: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rampart serve: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let clock = match test_clock(args.test_clock) {
        Ok(clock) => clock,
        Err(e) => {
            eprintln!("rampart serve: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(serve(settings, started, clock)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rampart serve: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode() {
        assert_eq!(
            store_url("sqlite://d/rampart.db"),
            "sqlite://d/rampart.db?mode=rwc"
        );
        assert_eq!(
            store_url("sqlite://d/r.db?cache=shared"),
            "sqlite://d/r.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            store_url("sqlite://d/r.db?mode=ro"),
            "sqlite://d/r.db?mode=ro"
        );
        assert_eq!(store_url("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn endpoints_are_reachable_addresses() {
        assert_eq!(
            client_endpoint("0.0.0.0:8080".parse().unwrap()),
            "127.0.0.1:8080"
        );
        assert_eq!(client_endpoint("[::]:81".parse().unwrap()), "[::1]:81");
        assert_eq!(
            client_endpoint("10.0.0.5:80".parse().unwrap()),
            "10.0.0.5:80"
        );
    }

    #[test]
    fn sts_key_ids_are_fingerprints_and_the_first_key_seals() {
        let ring = sts_keyring(&[[1; 32], [2; 32]]).unwrap();
        let again = sts_keyring(&[[1; 32]]).unwrap();
        let first = ring.active().unwrap().id().to_owned();
        assert!(first.starts_with("s-"));
        assert_eq!(first, again.active().unwrap().id());
        let master = keyring([1; 32]).unwrap().active().unwrap().id().to_owned();
        assert_ne!(
            first.trim_start_matches("s-"),
            master.trim_start_matches("k-")
        );
        assert!(sts_keyring(&[]).is_err());
    }

    #[test]
    fn key_ids_are_stable_fingerprints() {
        let id = |key| keyring(key).unwrap().active().unwrap().id().to_owned();
        assert_eq!(id([1; 32]), id([1; 32]));
        assert_ne!(id([1; 32]), id([2; 32]));
        assert!(id([1; 32]).starts_with("k-"));
    }
}
