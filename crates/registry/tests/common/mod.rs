//! The OCI tests' harness: a real RAM store (SQLite in a temporary folder,
//! or PostgreSQL in a fresh schema when `RAMPART_TEST_POSTGRES_URL` is
//! set), the registry tables on it, one instance with a namespace, a local
//! blob store, a test gate, and the router served on 127.0.0.1:0.
//!
//! The test gate admits everything into its instance (creating the
//! repository on a push, the way an auto-creating namespace does), records
//! what it was asked, and can be switched to refuse.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{SystemTime, UNIX_EPOCH};

use auth::{KeyRing, SealingKey};
use registry::gate::{Access, AccessRequest, Admitted, Gate, Refusal};
use registry::meta::Db;
use registry::oci::{router, Limits, Registry};
use registry::{Algorithm, Digest, LocalStore, LocalStoreOptions};
use sqlx::AnyPool;

pub const POSTGRES_ENV: &str = "RAMPART_TEST_POSTGRES_URL";
pub const NS: &str = "ns";

pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    format!(
        "{prefix}_{}_{}_{}_{}",
        now.as_secs(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        now.subsec_nanos()
    )
}

pub fn announce_postgres_skipped() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "registry PostgreSQL tests skipped: set {POSTGRES_ENV}=postgres://USER@HOST:PORT/DB to run them"
        );
    });
}

fn keyring() -> KeyRing {
    KeyRing::new(vec![SealingKey::new("test-k1", [0x5a; 32]).unwrap()]).unwrap()
}

/// What the gate was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub access: Access,
    pub repository: Option<String>,
}

#[derive(Clone)]
pub struct TestGate {
    pub db: Db,
    pub instance_id: String,
    pub refusal: Arc<Mutex<Option<Refusal>>>,
    /// Repositories `Pull` is refused on (mount tests).
    pub no_pull: Arc<Mutex<Vec<String>>>,
    pub asked: Arc<Mutex<Vec<Asked>>>,
}

impl TestGate {
    pub fn refuse(&self, refusal: Option<Refusal>) {
        *self.refusal.lock().unwrap() = refusal;
    }

    pub fn asked(&self) -> Vec<Asked> {
        std::mem::take(&mut *self.asked.lock().unwrap())
    }
}

impl Gate for TestGate {
    async fn admit(&self, request: AccessRequest<'_>) -> Result<Admitted, Refusal> {
        self.asked.lock().unwrap().push(Asked {
            access: request.access,
            repository: request.repository.map(str::to_owned),
        });
        if let Some(refusal) = self.refusal.lock().unwrap().clone() {
            return Err(refusal);
        }
        let Some(name) = request.repository else {
            return Ok(Admitted {
                instance_id: self.instance_id.clone(),
                repo_id: None,
            });
        };
        if request.access == Access::Pull && self.no_pull.lock().unwrap().iter().any(|n| n == name)
        {
            return Err(Refusal::Denied {
                message: "no pull".into(),
            });
        }
        let Some((namespace, repo)) = name.split_once('/') else {
            return Err(Refusal::NameInvalid {
                message: "names are namespace/repository".into(),
            });
        };
        let found = repo_id(&self.db, &self.instance_id, namespace, repo).await;
        let repo_id = match (found, request.access) {
            (Some(id), _) => id,
            (None, Access::Push) => {
                create_repo(&self.db, &self.instance_id, namespace, repo, false).await
            }
            (None, _) => {
                return Err(Refusal::NameUnknown {
                    message: format!("repository {name} not found"),
                })
            }
        };
        Ok(Admitted {
            instance_id: self.instance_id.clone(),
            repo_id: Some(repo_id),
        })
    }
}

pub async fn repo_id(db: &Db, instance: &str, namespace: &str, name: &str) -> Option<String> {
    use sqlx::Row as _;
    sqlx::query(
        "SELECT repo_id FROM cr_repositories WHERE instance_id = $1 AND namespace = $2 AND name = $3",
    )
    .bind(instance)
    .bind(namespace)
    .bind(name)
    .fetch_optional(db.pool())
    .await
    .unwrap()
    .map(|r| r.get::<String, _>("repo_id"))
}

pub async fn create_namespace(db: &Db, instance: &str, namespace: &str) {
    sqlx::query(
        "INSERT INTO cr_namespaces (instance_id, name, namespace_id, auto_create_repo,
            default_repo_type, created_at, updated_at)
         VALUES ($1, $2, $3, 1, 'PRIVATE', 0, 0) ON CONFLICT (instance_id, name) DO NOTHING",
    )
    .bind(instance)
    .bind(namespace)
    .bind(unique("ns"))
    .execute(db.pool())
    .await
    .unwrap();
}

pub async fn create_repo(
    db: &Db,
    instance: &str,
    namespace: &str,
    name: &str,
    immutable: bool,
) -> String {
    create_namespace(db, instance, namespace).await;
    let id = unique("crr");
    sqlx::query(
        "INSERT INTO cr_repositories (repo_id, instance_id, namespace, name, repo_type, summary,
            detail, tag_immutability, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'PRIVATE', '', '', $5, 0, 0)
         ON CONFLICT (instance_id, namespace, name) DO NOTHING",
    )
    .bind(&id)
    .bind(instance)
    .bind(namespace)
    .bind(name)
    .bind(i64::from(immutable))
    .execute(db.pool())
    .await
    .unwrap();
    repo_id(db, instance, namespace, name).await.unwrap()
}

enum Engine {
    Sqlite,
    Postgres { admin_url: String, schema: String },
}

/// A database with the RAM and registry schemas, one account and one
/// registry instance.
pub struct Database {
    pub store: iam::Store,
    pub db: Db,
    pub instance_id: String,
    engine: Engine,
    _dir: tempfile::TempDir,
}

async fn admin_pool(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::pool::PoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap()
}

impl Database {
    pub async fn sqlite() -> Database {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("db.sqlite").display()
        );
        Database::open(&url, Engine::Sqlite, dir).await
    }

    /// `None` (and a note on stderr) unless `RAMPART_TEST_POSTGRES_URL` is set.
    pub async fn postgres() -> Option<Database> {
        let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
            announce_postgres_skipped();
            return None;
        };
        let admin = admin_pool(&admin_url).await;
        let schema = unique("rampart_registry_test");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-c%20search_path%3D{schema}");
        let dir = tempfile::tempdir().unwrap();
        Some(Database::open(&url, Engine::Postgres { admin_url, schema }, dir).await)
    }

    async fn open(url: &str, engine: Engine, dir: tempfile::TempDir) -> Database {
        let store = iam::Store::open(url, keyring()).await.unwrap();
        let account = store.create_account(None).await.unwrap();
        let db = Db::open(store.pool(), store.is_postgres()).await.unwrap();
        let instance_id = unique("cri");
        sqlx::query(
            "INSERT INTO cr_instances (instance_id, account_id, name, region, created_at, updated_at)
             VALUES ($1, $2, $3, 'cn-hangzhou', 0, 0)",
        )
        .bind(&instance_id)
        .bind(&account.account.account_id)
        .bind(&instance_id)
        .execute(db.pool())
        .await
        .unwrap();
        create_namespace(&db, &instance_id, NS).await;
        Database {
            store,
            db,
            instance_id,
            engine,
            _dir: dir,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.engine, Engine::Postgres { .. })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Engine::Postgres { admin_url, schema } = &self.engine {
            let (admin_url, schema) = (admin_url.clone(), schema.clone());
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    let admin = admin_pool(&admin_url).await;
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
                    )))
                    .execute(&admin)
                    .await;
                    admin.close().await;
                });
            })
            .join();
        }
    }
}

/// The registry served over HTTP.
pub struct Server {
    pub base: String,
    pub http: reqwest::Client,
    pub gate: TestGate,
    pub database: Database,
    pub blobs: PathBuf,
    pub registry: Arc<Registry<TestGate, LocalStore>>,
    blob_dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub async fn start() -> Server {
        Server::on(Database::sqlite().await, Limits::default()).await
    }

    pub async fn on(database: Database, limits: Limits) -> Server {
        let blob_dir = tempfile::tempdir().unwrap();
        let gate = TestGate {
            db: database.db.clone(),
            instance_id: database.instance_id.clone(),
            refusal: Arc::default(),
            no_pull: Arc::default(),
            asked: Arc::default(),
        };
        let (base, registry, task) = serve(&gate, &database, blob_dir.path(), limits).await;
        Server {
            base,
            http: reqwest::Client::new(),
            gate,
            blobs: blob_dir.path().to_owned(),
            database,
            registry,
            blob_dir,
            task,
        }
    }

    /// Stops the server and starts a fresh one (new process state: new
    /// blob store handle, new cache) on the same database and folder.
    pub async fn restart(&mut self) {
        self.task.abort();
        let (base, registry, task) = serve(
            &self.gate,
            &self.database,
            self.blob_dir.path(),
            self.registry.limits().clone(),
        )
        .await;
        self.base = base;
        self.registry = registry;
        self.task = task;
        self.http = reqwest::Client::new();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn db(&self) -> &Db {
        &self.database.db
    }

    pub fn instance(&self) -> &str {
        &self.database.instance_id
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    gate: &TestGate,
    database: &Database,
    blobs: &std::path::Path,
    limits: Limits,
) -> (
    String,
    Arc<Registry<TestGate, LocalStore>>,
    tokio::task::JoinHandle<()>,
) {
    let store = LocalStore::open(blobs, LocalStoreOptions::default())
        .await
        .unwrap();
    let registry = Arc::new(Registry::new(
        gate.clone(),
        store,
        database.db.clone(),
        limits,
    ));
    let app = router(Arc::clone(&registry));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (format!("http://{addr}"), registry, task)
}

// ---------------------------------------------------------------------------
// Client helpers

pub fn sha256(bytes: &[u8]) -> Digest {
    Digest::of(Algorithm::Sha256, bytes)
}

pub fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// The `code` of the first error in an OCI error body.
pub async fn error_code(response: reqwest::Response) -> String {
    let body: serde_json::Value =
        serde_json::from_slice(&response.bytes().await.unwrap()).expect("an OCI error body");
    body["errors"][0]["code"].as_str().unwrap().to_owned()
}

impl Server {
    /// Pushes a blob monolithically (`POST ?digest=`); returns its digest.
    pub async fn push_blob(&self, repo: &str, bytes: &[u8]) -> Digest {
        let digest = sha256(bytes);
        let r = self
            .http
            .post(self.url(&format!("/v2/{repo}/blobs/uploads/?digest={digest}")))
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "monolithic push of {digest}");
        digest
    }

    /// Pushes a manifest body under a reference; returns the response.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> reqwest::Response {
        self.http
            .put(self.url(&format!("/v2/{repo}/manifests/{reference}")))
            .header("content-type", media_type)
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    /// Pushes a config and one layer, and an OCI image manifest naming
    /// them under `tag`; returns the manifest's bytes and digest.
    pub async fn push_image(&self, repo: &str, tag: &str, layer: &[u8]) -> (Vec<u8>, Digest) {
        let config = br#"{"architecture":"amd64","os":"linux"}"#;
        let config_digest = self.push_blob(repo, config).await;
        let layer_digest = self.push_blob(repo, layer).await;
        let manifest = image_manifest(
            &config_digest,
            config.len(),
            &[(&layer_digest, layer.len())],
            None,
            None,
        );
        let r = self
            .put_manifest(repo, tag, OCI_MANIFEST, manifest.as_bytes())
            .await;
        assert_eq!(r.status(), 201);
        (manifest.clone().into_bytes(), sha256(manifest.as_bytes()))
    }
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// An OCI image manifest (optionally an artifact with a subject).
pub fn image_manifest(
    config: &Digest,
    config_size: usize,
    layers: &[(&Digest, usize)],
    artifact_type: Option<&str>,
    subject: Option<(&Digest, usize)>,
) -> String {
    let layers = layers
        .iter()
        .map(|(d, s)| {
            format!(r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{d}","size":{s}}}"#)
        })
        .collect::<Vec<_>>()
        .join(",");
    let artifact = artifact_type
        .map(|t| format!(r#""artifactType":"{t}","#))
        .unwrap_or_default();
    let subject = subject
        .map(|(d, s)| {
            format!(r#","subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{d}","size":{s}}}"#)
        })
        .unwrap_or_default();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}",{artifact}"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":{config_size}}},"layers":[{layers}],"annotations":{{"org.example":"yes"}}{subject}}}"#
    )
}
