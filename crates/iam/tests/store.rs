//! Store scenarios. Every scenario runs against SQLite (a temporary file)
//! and against PostgreSQL when `RAMPART_TEST_POSTGRES_URL` is set (each test
//! in a fresh schema of that database, dropped afterwards).
//!
//! Run the PostgreSQL half with e.g.
//! `RAMPART_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p rampart-iam`.

// Tests fail loudly: unwrap and indexing are how they say what broke.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Debug;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth::{KeyRing, SealingKey};
use iam::policy::{Context, Outcome};
use iam::{
    AuditEvent, AuditFilter, Basis, CreatePolicy, CreateRole, CreateUser, IamError, KeyStatus,
    Limits, ListOptions, PolicyType, Principal, RotateStrategy, Store, StoreOptions, Timestamp,
    UpdateRole, UpdateUser,
};
use rand::distr::{Alphanumeric, SampleString};
use sqlx::{AnyPool, Row};

const POSTGRES_ENV: &str = "RAMPART_TEST_POSTGRES_URL";

// ---------------------------------------------------------------------------
// Harness

enum Engine {
    Sqlite { dir: PathBuf },
    Postgres { admin_url: String, schema: String },
}

struct Harness {
    url: String,
    engine: Engine,
    store: Store,
}

/// A key ring of the given keys; the first one seals.
fn ring(keys: &[(&str, [u8; 32])]) -> KeyRing {
    KeyRing::new(
        keys.iter()
            .map(|(id, key)| SealingKey::new(id, *key).unwrap())
            .collect(),
    )
    .unwrap()
}

fn keyring() -> KeyRing {
    ring(&[("test-k1", [0x5a; 32])])
}

fn options(limits: Limits) -> StoreOptions {
    StoreOptions {
        limits,
        max_connections: Some(4),
    }
}

fn unique(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!(
        "{prefix}_{secs}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        Alphanumeric
            .sample_string(&mut rand::rng(), 6)
            .to_ascii_lowercase()
    )
}

/// Says so on the terminal, past the test harness's output capture.
fn announce_postgres_skipped() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "PostgreSQL store tests skipped: set {POSTGRES_ENV}=postgres://USER@HOST:PORT/DB to run them"
        );
    });
}

async fn admin_pool(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::pool::PoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap()
}

impl Harness {
    async fn sqlite() -> Harness {
        let dir = std::env::temp_dir().join(unique("rampart-iam-test"));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.join("iam.db").display());
        let store = Store::open_with(&url, keyring(), options(Limits::default()))
            .await
            .unwrap();
        Harness {
            url,
            engine: Engine::Sqlite { dir },
            store,
        }
    }

    async fn postgres() -> Option<Harness> {
        let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
            announce_postgres_skipped();
            return None;
        };
        let admin = admin_pool(&admin_url).await;
        // Schemas left behind by a crashed run more than an hour ago go.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let old = sqlx::query(
            "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'rampart_iam_test_%'",
        )
        .fetch_all(&admin)
        .await
        .unwrap();
        for row in old {
            let name: String = row.get(0);
            let born = name
                .split('_')
                .nth(3)
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(now);
            if now.saturating_sub(born) > 3600 {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS \"{name}\" CASCADE"
                )))
                .execute(&admin)
                .await;
            }
        }
        let schema = unique("rampart_iam_test");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-c%20search_path%3D{schema}");
        let store = Store::open_with(&url, keyring(), options(Limits::default()))
            .await
            .unwrap();
        Some(Harness {
            url,
            engine: Engine::Postgres { admin_url, schema },
            store,
        })
    }

    fn is_postgres(&self) -> bool {
        matches!(self.engine, Engine::Postgres { .. })
    }

    /// Another store on the same database (other limits, or a second node).
    async fn open(&self, limits: Limits) -> Store {
        Store::open_with(&self.url, keyring(), options(limits))
            .await
            .unwrap()
    }

    async fn raw(&self) -> AnyPool {
        admin_pool(&self.url).await
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        match &self.engine {
            Engine::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Engine::Postgres { admin_url, schema } => {
                let (admin_url, schema) = (admin_url.clone(), schema.clone());
                // Drop runs inside the test's runtime; clean up from another thread.
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
}

/// Generates one test per scenario and engine.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let h = crate::Harness::sqlite().await;
                    crate::$name(&h).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(h) = crate::Harness::postgres().await else {
                        return;
                    };
                    crate::$name(&h).await;
                }
            )*
        }
    };
}

scenarios!(
    accounts_and_aliases,
    first_account,
    users,
    user_deletion_conflicts,
    access_keys,
    root_access_keys,
    groups,
    roles,
    policies,
    policy_deletion,
    policy_versions,
    attachments,
    pagination,
    limits,
    failed_writes_change_nothing,
    account_isolation,
    secrets_are_encrypted_at_rest,
    authorize_root,
    authorize_users,
    authorize_roles,
    authorize_system_policies,
    cache_invalidation,
    audit_log,
    migrations_are_idempotent_and_concurrent,
    racing_writers_respect_limits_and_names,
    role_sessions_revocation_and_lookups,
    audit_chain_of_a_session,
    audit_queue_batches_flushes_and_closes,
    credentials_uris,
);

/// PostgreSQL only: a second node sees a revocation and a deleted user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_second_node_sees_revocation_within_a_second() {
    let Some(h) = Harness::postgres().await else {
        return;
    };
    second_node_sees_revocation(&h).await;
}

/// PostgreSQL only: a second node hears the first one's writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_second_node_sees_detach_within_a_second() {
    let Some(h) = Harness::postgres().await else {
        return;
    };
    second_node_sees_detach(&h).await;
}

/// PostgreSQL only: a second node that cached an access key refuses it
/// once the first node deactivates it, and forgets it once deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_second_node_sees_key_changes_within_a_second() {
    let Some(h) = Harness::postgres().await else {
        return;
    };
    let first = &h.store;
    let second = h.open(Limits::default()).await;
    let a = account(&h).await;
    first.create_user(&a, &user("kim")).await.unwrap();
    let key = first.create_access_key(&a, Some("kim")).await.unwrap();
    let id = key.access_key_id.clone();
    let status = || async { second.access_key(&id).await.unwrap().map(|r| r.status) };
    for _ in 0..2 {
        assert_eq!(status().await, Some(KeyStatus::Active));
    }
    first
        .update_access_key(&a, Some("kim"), &id, KeyStatus::Inactive)
        .await
        .unwrap();
    let start = Instant::now();
    while status().await != Some(KeyStatus::Inactive) {
        assert!(start.elapsed() < Duration::from_secs(1), "still active");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.delete_access_key(&a, Some("kim"), &id).await.unwrap();
    let start = Instant::now();
    while status().await.is_some() {
        assert!(start.elapsed() < Duration::from_secs(1), "still there");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    second.close().await;
}

// ---------------------------------------------------------------------------
// Helpers

/// The Alibaba code of an error, or a panic saying the call succeeded.
fn code<T: Debug>(result: Result<T, IamError>) -> String {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code().into_owned(),
    }
}

fn status<T: Debug>(result: Result<T, IamError>) -> u16 {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.http_status(),
    }
}

fn user(name: &str) -> CreateUser {
    CreateUser {
        name: name.to_string(),
        ..CreateUser::default()
    }
}

fn trust(account: &str) -> String {
    format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{account}:root"]}}}}]}}"#
    )
}

fn allow(action: &str) -> String {
    format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#
    )
}

fn deny(action: &str) -> String {
    format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Deny","Action":"{action}","Resource":"*"}}]}}"#
    )
}

fn custom(name: &str, document: &str) -> CreatePolicy {
    CreatePolicy {
        name: name.to_string(),
        document: document.to_string(),
        description: None,
    }
}

fn repo(account: &str) -> String {
    format!("acs:cr:cn-hangzhou:{account}:repository/cri-x/team/app")
}

async fn account(h: &Harness) -> String {
    h.store
        .create_account(None)
        .await
        .unwrap()
        .account
        .account_id
}

async fn user_principal(h: &Harness, account: &str, name: &str) -> Principal {
    let u = h.store.get_user(account, name).await.unwrap();
    Principal::User {
        account: account.to_string(),
        user_id: u.user_id,
        name: u.name,
    }
}

async fn decide(store: &Store, principal: &Principal, action: &str, resource: &str) -> Outcome {
    store
        .authorize(principal, action, &[resource], &Context::new())
        .await
        .unwrap()
        .decision
        .outcome
}

// ---------------------------------------------------------------------------
// Scenarios

async fn accounts_and_aliases(h: &Harness) {
    let s = &h.store;
    let created = s.create_account(None).await.unwrap();
    let a = created.account.account_id.clone();
    assert_eq!(a.len(), 16);
    assert!(!a.starts_with('0') && a.bytes().all(|b| b.is_ascii_digit()));
    assert!(created.root_access_key.access_key_id.starts_with("LTAI"));
    assert_eq!(created.root_access_key.secret.expose().len(), 30);
    assert_eq!(s.get_account(&a).await.unwrap().alias, None);

    assert_eq!(s.get_account_alias(&a).await.unwrap(), None);
    s.set_account_alias(&a, "acme-prod").await.unwrap();
    assert_eq!(
        s.get_account_alias(&a).await.unwrap().as_deref(),
        Some("acme-prod")
    );
    s.set_account_alias(&a, "acme-prod").await.unwrap(); // same again: fine
    s.set_account_alias(&a, "acme-2").await.unwrap(); // replaces
    assert_eq!(
        s.get_account_alias(&a).await.unwrap().as_deref(),
        Some("acme-2")
    );

    let b = account(h).await;
    assert_eq!(
        code(s.set_account_alias(&b, "acme-2").await),
        "EntityAlreadyExists.AccountAlias"
    );
    assert_eq!(
        code(s.set_account_alias(&b, "ab").await),
        "InvalidParameter.AccountAlias.Length"
    );
    assert_eq!(
        code(s.set_account_alias(&b, "a--b").await),
        "InvalidParameter.AccountAlias.Format"
    );
    assert_eq!(
        code(s.set_account_alias(&b, "Upper").await),
        "InvalidParameter.AccountAlias.Format"
    );

    // Created with an alias, in one transaction: a refused alias leaves no
    // account behind.
    let raw = h.raw().await;
    let accounts = || async {
        sqlx::query("SELECT COUNT(*) FROM accounts")
            .fetch_one(&raw)
            .await
            .unwrap()
            .get::<i64, _>(0)
    };
    let with_alias = s.create_account(Some("acme-staging")).await.unwrap();
    assert_eq!(with_alias.account.alias.as_deref(), Some("acme-staging"));
    assert_eq!(
        s.get_account_alias(&with_alias.account.account_id)
            .await
            .unwrap()
            .as_deref(),
        Some("acme-staging")
    );
    let before = accounts().await;
    for (alias, expected) in [
        ("acme-2", "EntityAlreadyExists.AccountAlias"),
        ("acme-staging", "EntityAlreadyExists.AccountAlias"),
        ("ab", "InvalidParameter.AccountAlias.Length"),
        ("-acme", "InvalidParameter.AccountAlias.Format"),
        ("acme_x", "InvalidParameter.AccountAlias.Format"),
    ] {
        assert_eq!(
            code(s.create_account(Some(alias)).await),
            expected,
            "{alias}"
        );
        assert_eq!(accounts().await, before, "{alias} left an account behind");
    }
    let keys = sqlx::query("SELECT COUNT(*) FROM access_keys WHERE user_id IS NULL")
        .fetch_one(&raw)
        .await
        .unwrap()
        .get::<i64, _>(0);
    assert_eq!(keys, before, "one root key per account, no orphans");
    raw.close().await;

    s.clear_account_alias(&a).await.unwrap();
    s.clear_account_alias(&a).await.unwrap(); // nothing to clear: fine
    assert_eq!(s.get_account_alias(&a).await.unwrap(), None);
    s.set_account_alias(&b, "acme-2").await.unwrap(); // free again

    assert_eq!(
        code(s.get_account("9999999999999999").await),
        "EntityNotExist.Account"
    );
    assert_eq!(
        code(s.create_user("9999999999999999", &user("x")).await),
        "EntityNotExist.Account"
    );
}

async fn first_account(h: &Harness) {
    // Nodes starting together on one empty store create exactly one account.
    let other = h.open(Limits::default()).await;
    let (one, two) = tokio::join!(h.store.create_first_account(), other.create_first_account());
    let created: Vec<_> = [one.unwrap(), two.unwrap()].into_iter().flatten().collect();
    assert_eq!(created.len(), 1);
    let first = &created[0].account;
    assert_eq!(first.alias, None);
    assert_eq!(
        h.store.get_account(&first.account_id).await.unwrap(),
        *first
    );
    // Any later start finds it and creates nothing.
    assert!(h.store.create_first_account().await.unwrap().is_none());
    other.close().await;

    // Other accounts do not make a store look empty, nor the reverse.
    let b = account(h).await;
    assert!(h.store.create_first_account().await.unwrap().is_none());
    assert_ne!(b, first.account_id);
}

async fn users(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    let created = s
        .create_user(
            &a,
            &CreateUser {
                name: "alice".into(),
                display_name: Some("Alice A.".into()),
                mobile_phone: Some("86-18600008888".into()),
                email: Some("alice@example.com".into()),
                comments: Some("first".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(created.user_id.len(), 16);
    let got = s.get_user(&a, "alice").await.unwrap();
    assert_eq!(got, created);

    // Update fields, clear one, rename.
    let updated = s
        .update_user(
            &a,
            "alice",
            &UpdateUser {
                new_name: Some("alice2".into()),
                new_display_name: Some("Alice B.".into()),
                new_comments: Some(String::new()),
                ..UpdateUser::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "alice2");
    assert_eq!(updated.user_id, created.user_id);
    assert_eq!(updated.display_name.as_deref(), Some("Alice B."));
    assert_eq!(updated.comments, None);
    assert_eq!(updated.email.as_deref(), Some("alice@example.com"));
    assert_eq!(s.get_user(&a, "alice2").await.unwrap(), updated);
    assert_eq!(code(s.get_user(&a, "alice").await), "EntityNotExist.User");

    s.create_user(&a, &user("bob")).await.unwrap();
    let listed = s.list_users(&a, &ListOptions::default()).await.unwrap();
    let names: Vec<_> = listed.items.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["alice2", "bob"]);
    assert!(!listed.is_truncated);
    assert_eq!(listed.marker, None);

    // 400: name rules and formats.
    assert_eq!(
        code(s.create_user(&a, &user("")).await),
        "InvalidParameter.UserName.Length"
    );
    assert_eq!(
        code(s.create_user(&a, &user(&"u".repeat(65))).await),
        "InvalidParameter.UserName.Length"
    );
    assert_eq!(
        code(s.create_user(&a, &user("bad name")).await),
        "InvalidParameter.UserName.InvalidChars"
    );
    assert_eq!(status(s.create_user(&a, &user("bad/name")).await), 400);
    let mut bad_email = user("carol");
    bad_email.email = Some("carol-at-example".into());
    assert_eq!(
        code(s.create_user(&a, &bad_email).await),
        "InvalidParameter.Email.Format"
    );
    let mut bad_phone = user("carol");
    bad_phone.mobile_phone = Some("18600008888".into());
    assert_eq!(
        code(s.create_user(&a, &bad_phone).await),
        "InvalidParameter.MobilePhone.Format"
    );
    let mut long_display = user("carol");
    long_display.display_name = Some("d".repeat(129));
    assert_eq!(
        code(s.create_user(&a, &long_display).await),
        "InvalidParameter.DisplayName.Length"
    );
    let rename_bad = UpdateUser {
        new_name: Some("no spaces".into()),
        ..UpdateUser::default()
    };
    assert_eq!(
        code(s.update_user(&a, "bob", &rename_bad).await),
        "InvalidParameter.NewUserName.InvalidChars"
    );
    let bad_new_email = UpdateUser {
        new_email: Some("x".into()),
        ..UpdateUser::default()
    };
    assert_eq!(
        code(s.update_user(&a, "bob", &bad_new_email).await),
        "InvalidParameter.NewEmail.Format"
    );

    // 409: duplicates, by create and by rename.
    assert_eq!(
        code(s.create_user(&a, &user("bob")).await),
        "EntityAlreadyExists.User"
    );
    assert_eq!(status(s.create_user(&a, &user("bob")).await), 409);
    let rename_to_bob = UpdateUser {
        new_name: Some("bob".into()),
        ..UpdateUser::default()
    };
    assert_eq!(
        code(s.update_user(&a, "alice2", &rename_to_bob).await),
        "EntityAlreadyExists.User"
    );

    // 404.
    assert_eq!(code(s.get_user(&a, "nobody").await), "EntityNotExist.User");
    assert_eq!(status(s.get_user(&a, "nobody").await), 404);
    assert_eq!(
        code(s.update_user(&a, "nobody", &UpdateUser::default()).await),
        "EntityNotExist.User"
    );
    assert_eq!(
        code(s.delete_user(&a, "nobody").await),
        "EntityNotExist.User"
    );

    s.delete_user(&a, "bob").await.unwrap();
    assert_eq!(code(s.get_user(&a, "bob").await), "EntityNotExist.User");
    // The name is free again.
    s.create_user(&a, &user("bob")).await.unwrap();
}

async fn user_deletion_conflicts(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    s.create_user(&a, &user("dave")).await.unwrap();
    s.create_group(&a, "devs", None).await.unwrap();

    s.add_user_to_group(&a, "devs", "dave").await.unwrap();
    assert_eq!(
        code(s.delete_user(&a, "dave").await),
        "DeleteConflict.User.Group"
    );
    s.remove_user_from_group(&a, "devs", "dave").await.unwrap();

    let key = s.create_access_key(&a, Some("dave")).await.unwrap();
    assert_eq!(
        code(s.delete_user(&a, "dave").await),
        "DeleteConflict.User.AccessKey"
    );
    s.delete_access_key(&a, Some("dave"), &key.access_key_id)
        .await
        .unwrap();

    s.attach_policy_to_user(&a, PolicyType::System, "AliyunOSSReadOnlyAccess", "dave")
        .await
        .unwrap();
    assert_eq!(
        code(s.delete_user(&a, "dave").await),
        "DeleteConflict.User.Policy"
    );
    s.detach_policy_from_user(&a, PolicyType::System, "AliyunOSSReadOnlyAccess", "dave")
        .await
        .unwrap();

    s.delete_user(&a, "dave").await.unwrap();
}

async fn access_keys(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    s.create_user(&a, &user("erin")).await.unwrap();
    let k1 = s.create_access_key(&a, Some("erin")).await.unwrap();
    assert!(k1.access_key_id.starts_with("LTAI"));
    assert_eq!(k1.access_key_id.len(), 24);
    assert!(k1.access_key_id[4..]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(k1.secret.expose().len(), 30);
    assert!(k1
        .secret
        .expose()
        .bytes()
        .all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(k1.status, KeyStatus::Active);
    assert!(!format!("{k1:?}").contains(k1.secret.expose()));
    let k2 = s.create_access_key(&a, Some("erin")).await.unwrap();
    assert_ne!(k1.secret.expose(), k2.secret.expose());
    assert_eq!(
        code(s.create_access_key(&a, Some("erin")).await),
        "LimitExceeded.User.AccessKey"
    );
    assert_eq!(
        code(s.create_access_key(&a, Some("nobody")).await),
        "EntityNotExist.User"
    );

    let listed = s.list_access_keys(&a, Some("erin")).await.unwrap();
    let mut ids: Vec<_> = listed.iter().map(|k| k.access_key_id.clone()).collect();
    ids.sort();
    let mut expected = vec![k1.access_key_id.clone(), k2.access_key_id.clone()];
    expected.sort();
    assert_eq!(ids, expected);

    // The authentication lookup.
    let record = s.access_key(&k1.access_key_id).await.unwrap().unwrap();
    assert_eq!(record.secret.expose(), k1.secret.expose());
    assert_eq!(record.status, KeyStatus::Active);
    match &record.principal {
        Principal::User { account, name, .. } => {
            assert_eq!(account, &a);
            assert_eq!(name, "erin");
        }
        other => panic!("expected a user, got {other:?}"),
    }
    assert!(s
        .access_key("LTAI00000000000000000000")
        .await
        .unwrap()
        .is_none());

    s.update_access_key(&a, Some("erin"), &k1.access_key_id, KeyStatus::Inactive)
        .await
        .unwrap();
    let record = s.access_key(&k1.access_key_id).await.unwrap().unwrap();
    assert_eq!(record.status, KeyStatus::Inactive);
    let listed = s.list_access_keys(&a, Some("erin")).await.unwrap();
    assert!(listed
        .iter()
        .any(|k| k.access_key_id == k1.access_key_id && k.status == KeyStatus::Inactive));
    assert_eq!(
        code(KeyStatus::parse("Disabled")),
        "InvalidParameter.Status"
    );
    assert_eq!(
        code(
            s.update_access_key(&a, Some("erin"), "LTAInope", KeyStatus::Active)
                .await
        ),
        "EntityNotExist.User.AccessKey"
    );

    // Last used: none, then recorded (at most once a minute).
    assert_eq!(
        s.get_access_key_last_used(&a, Some("erin"), &k2.access_key_id)
            .await
            .unwrap(),
        None
    );
    s.record_access_key_use(&k2.access_key_id).await.unwrap();
    s.record_access_key_use(&k2.access_key_id).await.unwrap();
    let used = s
        .get_access_key_last_used(&a, Some("erin"), &k2.access_key_id)
        .await
        .unwrap()
        .unwrap();
    assert!((Timestamp::now().0 - used.0).abs() <= 5);
    assert_eq!(
        code(
            s.get_access_key_last_used(&a, Some("erin"), "LTAInope")
                .await
        ),
        "EntityNotExist.User.AccessKey"
    );

    // Keys belong to their user: another user cannot touch them.
    s.create_user(&a, &user("frank")).await.unwrap();
    assert_eq!(
        code(
            s.delete_access_key(&a, Some("frank"), &k1.access_key_id)
                .await
        ),
        "EntityNotExist.User.AccessKey"
    );
    assert_eq!(
        code(s.delete_access_key(&a, None, &k1.access_key_id).await),
        "EntityNotExist.User.AccessKey"
    );

    s.delete_access_key(&a, Some("erin"), &k1.access_key_id)
        .await
        .unwrap();
    assert!(s.access_key(&k1.access_key_id).await.unwrap().is_none());
    assert_eq!(
        code(
            s.delete_access_key(&a, Some("erin"), &k1.access_key_id)
                .await
        ),
        "EntityNotExist.User.AccessKey"
    );
    // Room for a new one again.
    s.create_access_key(&a, Some("erin")).await.unwrap();
}

async fn root_access_keys(h: &Harness) {
    let s = &h.store;
    let created = s.create_account(None).await.unwrap();
    let a = created.account.account_id.clone();
    let first = created.root_access_key;
    let record = s.access_key(&first.access_key_id).await.unwrap().unwrap();
    assert_eq!(record.principal, Principal::Root { account: a.clone() });
    assert_eq!(record.secret.expose(), first.secret.expose());

    let listed = s.list_access_keys(&a, None).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].access_key_id, first.access_key_id);

    let second = s.create_access_key(&a, None).await.unwrap();
    assert_eq!(
        code(s.create_access_key(&a, None).await),
        "LimitExceeded.User.AccessKey"
    );
    s.update_access_key(&a, None, &second.access_key_id, KeyStatus::Inactive)
        .await
        .unwrap();
    s.delete_access_key(&a, None, &second.access_key_id)
        .await
        .unwrap();
    assert_eq!(s.list_access_keys(&a, None).await.unwrap().len(), 1);

    // User keys and root keys are counted apart.
    s.create_user(&a, &user("gina")).await.unwrap();
    s.create_access_key(&a, Some("gina")).await.unwrap();
    assert_eq!(s.list_access_keys(&a, None).await.unwrap().len(), 1);
    assert_eq!(
        code(s.create_access_key("1111111111111111", None).await),
        "EntityNotExist.Account"
    );
}

async fn groups(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    let g = s
        .create_group(&a, "devs", Some("developers"))
        .await
        .unwrap();
    assert!(g.group_id.starts_with("g-"));
    assert_eq!(s.get_group(&a, "devs").await.unwrap(), g);
    assert_eq!(
        code(s.create_group(&a, "devs", None).await),
        "EntityAlreadyExists.Group"
    );
    assert_eq!(
        code(s.create_group(&a, "dev ops", None).await),
        "InvalidParameter.GroupName.InvalidChars"
    );
    assert_eq!(
        code(s.create_group(&a, &"g".repeat(65), None).await),
        "InvalidParameter.GroupName.Length"
    );
    assert_eq!(
        code(s.create_group(&a, "ops", Some(&"c".repeat(129))).await),
        "InvalidParameter.Comments.Length"
    );
    assert_eq!(code(s.get_group(&a, "nope").await), "EntityNotExist.Group");

    s.create_user(&a, &user("hank")).await.unwrap();
    s.create_user(&a, &user("ivy")).await.unwrap();
    s.add_user_to_group(&a, "devs", "hank").await.unwrap();
    s.add_user_to_group(&a, "devs", "ivy").await.unwrap();
    assert_eq!(
        code(s.add_user_to_group(&a, "devs", "hank").await),
        "EntityAlreadyExists.User.Group"
    );
    assert_eq!(
        code(s.add_user_to_group(&a, "nope", "hank").await),
        "EntityNotExist.Group"
    );
    assert_eq!(
        code(s.add_user_to_group(&a, "devs", "nobody").await),
        "EntityNotExist.User"
    );

    // Rename keeps members.
    let renamed = s
        .update_group(&a, "devs", Some("developers"), Some("new comment"))
        .await
        .unwrap();
    assert_eq!(renamed.group_id, g.group_id);
    assert_eq!(renamed.comments.as_deref(), Some("new comment"));
    s.create_group(&a, "ops", None).await.unwrap();
    assert_eq!(
        code(s.update_group(&a, "ops", Some("developers"), None).await),
        "EntityAlreadyExists.Group"
    );
    assert_eq!(
        code(s.update_group(&a, "ops", Some("bad name"), None).await),
        "InvalidParameter.NewGroupName.InvalidChars"
    );

    let members = s
        .list_users_for_group(&a, "developers", &ListOptions::default())
        .await
        .unwrap();
    let names: Vec<_> = members.items.iter().map(|m| m.user_name.as_str()).collect();
    assert_eq!(names, ["hank", "ivy"]);
    s.add_user_to_group(&a, "ops", "hank").await.unwrap();
    let hank_groups = s.list_groups_for_user(&a, "hank").await.unwrap();
    let names: Vec<_> = hank_groups.iter().map(|m| m.group.name.as_str()).collect();
    assert_eq!(names, ["developers", "ops"]);
    assert_eq!(
        code(s.list_groups_for_user(&a, "nobody").await),
        "EntityNotExist.User"
    );

    let listed = s.list_groups(&a, &ListOptions::default()).await.unwrap();
    let names: Vec<_> = listed.items.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["developers", "ops"]);

    assert_eq!(
        code(s.delete_group(&a, "developers").await),
        "DeleteConflict.Group.User"
    );
    s.remove_user_from_group(&a, "developers", "hank")
        .await
        .unwrap();
    s.remove_user_from_group(&a, "developers", "ivy")
        .await
        .unwrap();
    assert_eq!(
        code(s.remove_user_from_group(&a, "developers", "ivy").await),
        "EntityNotExist.User.Group"
    );
    s.attach_policy_to_group(
        &a,
        PolicyType::System,
        "AliyunOSSReadOnlyAccess",
        "developers",
    )
    .await
    .unwrap();
    assert_eq!(
        code(s.delete_group(&a, "developers").await),
        "DeleteConflict.Group.Policy"
    );
    s.detach_policy_from_group(
        &a,
        PolicyType::System,
        "AliyunOSSReadOnlyAccess",
        "developers",
    )
    .await
    .unwrap();
    s.delete_group(&a, "developers").await.unwrap();
    assert_eq!(
        code(s.get_group(&a, "developers").await),
        "EntityNotExist.Group"
    );
    assert_eq!(
        code(s.delete_group(&a, "developers").await),
        "EntityNotExist.Group"
    );
}

async fn roles(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    let role = s
        .create_role(
            &a,
            &CreateRole {
                name: "ECSAdmin".into(),
                trust_policy: trust(&a),
                description: Some("ECS administrator".into()),
                max_session_duration: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(role.role_id.len(), 19);
    assert!(role.role_id.bytes().all(|b| b.is_ascii_digit()) && !role.role_id.starts_with('0'));
    assert_eq!(role.arn, format!("acs:ram::{a}:role/ecsadmin"));
    assert_eq!(role.max_session_duration, 3600);
    assert_eq!(role.name, "ECSAdmin");
    // Names compare without regard to case.
    assert_eq!(s.get_role(&a, "ecsadmin").await.unwrap(), role);
    let dup = CreateRole {
        name: "ecsADMIN".into(),
        trust_policy: trust(&a),
        ..CreateRole::default()
    };
    assert_eq!(
        code(s.create_role(&a, &dup).await),
        "EntityAlreadyExists.Role"
    );

    // 400s.
    let bad = |name: &str, doc: String, duration: Option<i64>| CreateRole {
        name: name.into(),
        trust_policy: doc,
        description: None,
        max_session_duration: duration,
    };
    assert_eq!(
        code(s.create_role(&a, &bad("bad_name", trust(&a), None)).await),
        "InvalidParameter.RoleName.InvalidChars"
    );
    assert_eq!(
        code(
            s.create_role(&a, &bad(&"r".repeat(65), trust(&a), None))
                .await
        ),
        "InvalidParameter.RoleName.Length"
    );
    assert_eq!(
        code(s.create_role(&a, &bad("r1", trust(&a), Some(3599))).await),
        "InvalidParameter.MaxSessionDuration.Range"
    );
    assert_eq!(
        code(s.create_role(&a, &bad("r1", trust(&a), Some(43201))).await),
        "InvalidParameter.MaxSessionDuration.Range"
    );
    assert_eq!(
        code(s.create_role(&a, &bad("r1", String::new(), None)).await),
        "InvalidParameter.AssumeRolePolicyDocument.Length"
    );
    // A permission policy is not a trust policy.
    let err = s
        .create_role(&a, &bad("r1", allow("oss:*"), None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "MalformedPolicyDocument");
    assert_eq!(err.http_status(), 400);
    assert!(err.message().contains("Principal"), "{}", err.message());
    assert_eq!(code(s.get_role(&a, "r1").await), "EntityNotExist.Role");

    // Update.
    let updated = s
        .update_role(
            &a,
            "ECSADMIN",
            &UpdateRole {
                new_trust_policy: Some(trust("1234567890123456")),
                new_description: Some("changed".into()),
                new_max_session_duration: Some(43200),
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.role_id, role.role_id);
    assert_eq!(updated.description.as_deref(), Some("changed"));
    assert_eq!(updated.max_session_duration, 43200);
    assert!(updated.trust_policy.contains("1234567890123456"));
    assert_eq!(s.get_role(&a, "ECSAdmin").await.unwrap(), updated);
    assert_eq!(
        code(
            s.update_role(
                &a,
                "ECSAdmin",
                &UpdateRole {
                    new_max_session_duration: Some(100),
                    ..UpdateRole::default()
                }
            )
            .await
        ),
        "InvalidParameter.NewMaxSessionDuration.Range"
    );
    assert_eq!(
        code(
            s.update_role(
                &a,
                "ECSAdmin",
                &UpdateRole {
                    new_trust_policy: Some("{".into()),
                    ..UpdateRole::default()
                }
            )
            .await
        ),
        "MalformedPolicyDocument"
    );
    assert_eq!(
        code(s.update_role(&a, "ghost", &UpdateRole::default()).await),
        "EntityNotExist.Role"
    );

    let second = CreateRole {
        name: "Deployer".into(),
        trust_policy: trust(&a),
        max_session_duration: Some(7200),
        ..CreateRole::default()
    };
    s.create_role(&a, &second).await.unwrap();
    let listed = s.list_roles(&a, &ListOptions::default()).await.unwrap();
    let names: Vec<_> = listed.items.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Deployer", "ECSAdmin"]);

    s.attach_policy_to_role(
        &a,
        PolicyType::System,
        "AliyunOSSReadOnlyAccess",
        "deployer",
    )
    .await
    .unwrap();
    assert_eq!(
        code(s.delete_role(&a, "Deployer").await),
        "DeleteConflict.Role.Policy"
    );
    s.detach_policy_from_role(
        &a,
        PolicyType::System,
        "AliyunOSSReadOnlyAccess",
        "Deployer",
    )
    .await
    .unwrap();
    s.delete_role(&a, "Deployer").await.unwrap();
    assert_eq!(
        code(s.delete_role(&a, "Deployer").await),
        "EntityNotExist.Role"
    );
}

async fn policies(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    let info = s
        .create_policy(
            &a,
            &CreatePolicy {
                name: "OSS-Read".into(),
                document: allow("oss:Get*"),
                description: Some("read objects".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(info.policy_type, PolicyType::Custom);
    assert_eq!(info.default_version, "v1");
    assert_eq!(
        code(
            s.create_policy(&a, &custom("OSS-Read", &allow("oss:*")))
                .await
        ),
        "EntityAlreadyExists.Policy"
    );
    assert_eq!(
        code(
            s.create_policy(&a, &custom("OSS.Read", &allow("oss:*")))
                .await
        ),
        "InvalidParameter.PolicyName.InvalidChars"
    );
    assert_eq!(
        code(
            s.create_policy(&a, &custom(&"p".repeat(129), &allow("oss:*")))
                .await
        ),
        "InvalidParameter.PolicyName.Length"
    );
    assert_eq!(
        code(s.create_policy(&a, &custom("Empty", "")).await),
        "InvalidParameter.PolicyDocument.Length"
    );
    let huge = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"oss:{}","Resource":"*"}}]}}"#,
        "a".repeat(6200)
    );
    assert_eq!(
        code(s.create_policy(&a, &custom("Huge", &huge)).await),
        "InvalidParameter.PolicyDocument.Length"
    );
    // Every problem reaches the message.
    let broken = r#"{"Version":"2","Statement":[{"Effect":"Permit","Action":"oss:*"}]}"#;
    let err = s
        .create_policy(&a, &custom("Broken", broken))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "MalformedPolicyDocument");
    assert_eq!(err.http_status(), 400);
    let message = err.message();
    assert!(message.contains("Version"), "{message}");
    assert!(message.contains("Effect"), "{message}");
    assert!(message.contains("Resource"), "{message}");
    assert_eq!(
        code(s.get_policy(&a, "Broken", PolicyType::Custom).await),
        "EntityNotExist.Policy"
    );

    // GetPolicy, custom and system.
    let detail = s
        .get_policy(&a, "OSS-Read", PolicyType::Custom)
        .await
        .unwrap();
    assert_eq!(detail.policy.description.as_deref(), Some("read objects"));
    assert_eq!(detail.default_version.version_id, "v1");
    assert!(detail.default_version.is_default);
    assert_eq!(detail.default_version.document, allow("oss:Get*"));
    assert_eq!(detail.policy.attachment_count, 0);
    let admin = s
        .get_policy(&a, "AdministratorAccess", PolicyType::System)
        .await
        .unwrap();
    assert_eq!(admin.policy.policy_type, PolicyType::System);
    assert_eq!(admin.policy.default_version, "v1");
    assert!(admin.default_version.document.contains("\"*\""));
    assert_eq!(
        code(
            s.get_policy(&a, "AdministratorAccess", PolicyType::Custom)
                .await
        ),
        "EntityNotExist.Policy"
    );
    assert_eq!(
        code(s.get_policy(&a, "OSS-Read", PolicyType::System).await),
        "EntityNotExist.Policy"
    );
    assert_eq!(
        code(PolicyType::parse("Builtin")),
        "InvalidParameter.PolicyType"
    );

    // System policies are read-only.
    assert_eq!(
        code(s.delete_policy(&a, "AdministratorAccess", false).await),
        "EntityNotExist.Policy"
    );
    assert_eq!(
        code(
            s.create_policy_version(
                &a,
                "AdministratorAccess",
                &allow("*"),
                true,
                RotateStrategy::None
            )
            .await
        ),
        "EntityNotExist.Policy"
    );
    assert_eq!(
        code(
            s.update_policy_description(&a, "AdministratorAccess", "x")
                .await
        ),
        "EntityNotExist.Policy"
    );

    // ListPolicies: system first, then custom; filters.
    s.create_policy(&a, &custom("A-First", &allow("oss:*")))
        .await
        .unwrap();
    let all = s
        .list_policies(&a, None, &ListOptions::first(1000))
        .await
        .unwrap();
    let system_count = iam::policy::SYSTEM_POLICIES.len();
    assert_eq!(all.items.len(), system_count + 2);
    assert!(all.items[..system_count]
        .iter()
        .all(|p| p.policy_type == PolicyType::System));
    let custom_names: Vec<_> = all.items[system_count..]
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(custom_names, ["A-First", "OSS-Read"]);
    let only_custom = s
        .list_policies(&a, Some(PolicyType::Custom), &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(only_custom.items.len(), 2);
    let only_system = s
        .list_policies(&a, Some(PolicyType::System), &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(only_system.items.len(), system_count);

    // UpdatePolicyDescription.
    let updated = s
        .update_policy_description(&a, "OSS-Read", "new words")
        .await
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("new words"));
    assert_eq!(
        code(
            s.update_policy_description(&a, "OSS-Read", &"d".repeat(1025))
                .await
        ),
        "InvalidParameter.NewDescription.Length"
    );
    assert_eq!(
        code(s.update_policy_description(&a, "Nope", "x").await),
        "EntityNotExist.Policy"
    );
}

async fn policy_deletion(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    s.create_user(&a, &user("ken")).await.unwrap();
    s.create_group(&a, "team", None).await.unwrap();
    let role = CreateRole {
        name: "Runner".into(),
        trust_policy: trust(&a),
        ..CreateRole::default()
    };
    s.create_role(&a, &role).await.unwrap();
    s.create_policy(&a, &custom("Shared", &allow("oss:*")))
        .await
        .unwrap();

    s.attach_policy_to_user(&a, PolicyType::Custom, "Shared", "ken")
        .await
        .unwrap();
    assert_eq!(
        code(s.delete_policy(&a, "Shared", false).await),
        "DeleteConflict.Policy.User"
    );
    s.detach_policy_from_user(&a, PolicyType::Custom, "Shared", "ken")
        .await
        .unwrap();
    s.attach_policy_to_group(&a, PolicyType::Custom, "Shared", "team")
        .await
        .unwrap();
    assert_eq!(
        code(s.delete_policy(&a, "Shared", false).await),
        "DeleteConflict.Policy.Group"
    );
    s.detach_policy_from_group(&a, PolicyType::Custom, "Shared", "team")
        .await
        .unwrap();
    s.attach_policy_to_role(&a, PolicyType::Custom, "Shared", "Runner")
        .await
        .unwrap();
    assert_eq!(
        code(s.delete_policy(&a, "Shared", false).await),
        "DeleteConflict.Policy.Role"
    );
    s.detach_policy_from_role(&a, PolicyType::Custom, "Shared", "Runner")
        .await
        .unwrap();
    s.create_policy_version(
        &a,
        "Shared",
        &allow("oss:Get*"),
        false,
        RotateStrategy::None,
    )
    .await
    .unwrap();
    assert_eq!(
        code(s.delete_policy(&a, "Shared", false).await),
        "DeleteConflict.Policy.Version"
    );
    s.delete_policy_version(&a, "Shared", "v2").await.unwrap();
    s.delete_policy(&a, "Shared", false).await.unwrap();
    assert_eq!(
        code(s.get_policy(&a, "Shared", PolicyType::Custom).await),
        "EntityNotExist.Policy"
    );

    // CascadingDelete: detached everywhere, versions gone, in one go.
    s.create_policy(&a, &custom("Everywhere", &allow("oss:*")))
        .await
        .unwrap();
    s.create_policy_version(
        &a,
        "Everywhere",
        &allow("oss:Get*"),
        true,
        RotateStrategy::None,
    )
    .await
    .unwrap();
    s.attach_policy_to_user(&a, PolicyType::Custom, "Everywhere", "ken")
        .await
        .unwrap();
    s.attach_policy_to_group(&a, PolicyType::Custom, "Everywhere", "team")
        .await
        .unwrap();
    s.attach_policy_to_role(&a, PolicyType::Custom, "Everywhere", "Runner")
        .await
        .unwrap();
    assert_eq!(
        s.get_policy(&a, "Everywhere", PolicyType::Custom)
            .await
            .unwrap()
            .policy
            .attachment_count,
        3
    );
    s.delete_policy(&a, "Everywhere", true).await.unwrap();
    assert!(s
        .list_policies_for_user(&a, "ken")
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .list_policies_for_group(&a, "team")
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .list_policies_for_role(&a, "Runner")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        code(s.delete_policy(&a, "Everywhere", true).await),
        "EntityNotExist.Policy"
    );
    // And the name can be used again, starting from v1.
    let again = s
        .create_policy(&a, &custom("Everywhere", &allow("oss:*")))
        .await
        .unwrap();
    assert_eq!(again.default_version, "v1");
}

async fn policy_versions(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    s.create_policy(&a, &custom("Evolving", &allow("oss:Get*")))
        .await
        .unwrap();
    let v2 = s
        .create_policy_version(
            &a,
            "Evolving",
            &allow("oss:List*"),
            false,
            RotateStrategy::None,
        )
        .await
        .unwrap();
    assert_eq!(v2.version_id, "v2");
    assert!(!v2.is_default);
    let v3 = s
        .create_policy_version(
            &a,
            "Evolving",
            &allow("oss:Put*"),
            true,
            RotateStrategy::None,
        )
        .await
        .unwrap();
    assert!(v3.is_default);
    assert_eq!(
        s.get_policy(&a, "Evolving", PolicyType::Custom)
            .await
            .unwrap()
            .policy
            .default_version,
        "v3"
    );
    for _ in 0..2 {
        s.create_policy_version(&a, "Evolving", &allow("oss:*"), false, RotateStrategy::None)
            .await
            .unwrap();
    }
    // Five versions: the limit.
    assert_eq!(
        code(
            s.create_policy_version(&a, "Evolving", &allow("oss:*"), false, RotateStrategy::None)
                .await
        ),
        "LimitExceeded.Policy.Version"
    );
    let versions = s
        .list_policy_versions(&a, "Evolving", PolicyType::Custom)
        .await
        .unwrap();
    let ids: Vec<_> = versions.iter().map(|v| v.version_id.as_str()).collect();
    assert_eq!(ids, ["v1", "v2", "v3", "v4", "v5"]);
    assert_eq!(versions.iter().filter(|v| v.is_default).count(), 1);

    // Rotation deletes the oldest non-default version (v1), ids keep counting.
    let rotate = RotateStrategy::parse("DeleteOldestNonDefaultVersionWhenLimitExceeded").unwrap();
    let v6 = s
        .create_policy_version(&a, "Evolving", &allow("oss:Head*"), false, rotate)
        .await
        .unwrap();
    assert_eq!(v6.version_id, "v6");
    let ids: Vec<_> = s
        .list_policy_versions(&a, "Evolving", PolicyType::Custom)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.version_id)
        .collect();
    assert_eq!(ids, ["v2", "v3", "v4", "v5", "v6"]);
    // The default (v3) is never rotated away.
    s.set_default_policy_version(&a, "Evolving", "v2")
        .await
        .unwrap();
    s.create_policy_version(&a, "Evolving", &allow("oss:*"), false, rotate)
        .await
        .unwrap();
    let ids: Vec<_> = s
        .list_policy_versions(&a, "Evolving", PolicyType::Custom)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.version_id)
        .collect();
    assert_eq!(ids, ["v2", "v4", "v5", "v6", "v7"]);

    // Get, delete, set default.
    let got = s
        .get_policy_version(&a, "Evolving", PolicyType::Custom, "v6")
        .await
        .unwrap();
    assert_eq!(got.document, allow("oss:Head*"));
    assert!(!got.is_default);
    assert_eq!(
        code(
            s.get_policy_version(&a, "Evolving", PolicyType::Custom, "v1")
                .await
        ),
        "EntityNotExist.Policy.Version"
    );
    assert_eq!(
        code(
            s.get_policy_version(&a, "Evolving", PolicyType::Custom, "1")
                .await
        ),
        "InvalidParameter.VersionId.Format"
    );
    assert_eq!(
        code(s.delete_policy_version(&a, "Evolving", "v2").await),
        "DeleteConflict.Policy.Version.Default"
    );
    assert_eq!(
        code(s.delete_policy_version(&a, "Evolving", "v3").await),
        "EntityNotExist.Policy.Version"
    );
    assert_eq!(
        code(s.set_default_policy_version(&a, "Evolving", "v99").await),
        "EntityNotExist.Policy.Version"
    );
    assert_eq!(
        code(s.set_default_policy_version(&a, "Nope", "v1").await),
        "EntityNotExist.Policy"
    );
    s.delete_policy_version(&a, "Evolving", "v4").await.unwrap();
    s.set_default_policy_version(&a, "Evolving", "v7")
        .await
        .unwrap();
    let detail = s
        .get_policy(&a, "Evolving", PolicyType::Custom)
        .await
        .unwrap();
    assert_eq!(detail.default_version.version_id, "v7");
    // A freed slot is not a reused id.
    let v8 = s
        .create_policy_version(&a, "Evolving", &allow("oss:*"), false, RotateStrategy::None)
        .await
        .unwrap();
    assert_eq!(v8.version_id, "v8");
    assert_eq!(
        code(
            s.create_policy_version(&a, "Evolving", "{}", false, RotateStrategy::None)
                .await
        ),
        "MalformedPolicyDocument"
    );

    // System policies have one version.
    let system = s
        .list_policy_versions(&a, "AliyunOSSFullAccess", PolicyType::System)
        .await
        .unwrap();
    assert_eq!(system.len(), 1);
    assert_eq!(system[0].version_id, "v1");
    assert!(system[0].is_default);
    s.get_policy_version(&a, "AliyunOSSFullAccess", PolicyType::System, "v1")
        .await
        .unwrap();
    assert_eq!(
        code(
            s.get_policy_version(&a, "AliyunOSSFullAccess", PolicyType::System, "v2")
                .await
        ),
        "EntityNotExist.Policy.Version"
    );
}

async fn attachments(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    s.create_user(&a, &user("lena")).await.unwrap();
    s.create_group(&a, "ops", Some("operators")).await.unwrap();
    s.create_role(
        &a,
        &CreateRole {
            name: "Builder".into(),
            trust_policy: trust(&a),
            description: Some("builds".into()),
            ..CreateRole::default()
        },
    )
    .await
    .unwrap();
    s.create_policy(
        &a,
        &CreatePolicy {
            name: "Pull".into(),
            document: allow("cr:Pull*"),
            description: Some("pulls".into()),
        },
    )
    .await
    .unwrap();

    s.attach_policy_to_user(&a, PolicyType::System, "AliyunOSSReadOnlyAccess", "lena")
        .await
        .unwrap();
    s.attach_policy_to_user(&a, PolicyType::Custom, "Pull", "lena")
        .await
        .unwrap();
    s.attach_policy_to_group(&a, PolicyType::Custom, "Pull", "ops")
        .await
        .unwrap();
    s.attach_policy_to_role(&a, PolicyType::Custom, "Pull", "builder")
        .await
        .unwrap();

    assert_eq!(
        code(
            s.attach_policy_to_user(&a, PolicyType::Custom, "Pull", "lena")
                .await
        ),
        "EntityAlreadyExists.User.Policy"
    );
    assert_eq!(
        code(
            s.attach_policy_to_group(&a, PolicyType::Custom, "Pull", "ops")
                .await
        ),
        "EntityAlreadyExists.Group.Policy"
    );
    assert_eq!(
        code(
            s.attach_policy_to_role(&a, PolicyType::Custom, "Pull", "Builder")
                .await
        ),
        "EntityAlreadyExists.Role.Policy"
    );
    assert_eq!(
        code(
            s.attach_policy_to_user(&a, PolicyType::Custom, "Nope", "lena")
                .await
        ),
        "EntityNotExist.Policy"
    );
    assert_eq!(
        code(
            s.attach_policy_to_user(&a, PolicyType::System, "Pull", "lena")
                .await
        ),
        "EntityNotExist.Policy"
    );
    assert_eq!(
        code(
            s.attach_policy_to_user(&a, PolicyType::Custom, "Pull", "ghost")
                .await
        ),
        "EntityNotExist.User"
    );
    assert_eq!(
        code(
            s.attach_policy_to_group(&a, PolicyType::Custom, "Pull", "ghosts")
                .await
        ),
        "EntityNotExist.Group"
    );
    assert_eq!(
        code(
            s.attach_policy_to_role(&a, PolicyType::Custom, "Pull", "Ghost")
                .await
        ),
        "EntityNotExist.Role"
    );
    assert_eq!(
        code(
            s.attach_policy_to_user(&a, PolicyType::Custom, "Pull", "bad name")
                .await
        ),
        "InvalidParameter.UserName.InvalidChars"
    );

    let for_user = s.list_policies_for_user(&a, "lena").await.unwrap();
    let names: Vec<_> = for_user
        .iter()
        .map(|p| (p.policy_type, p.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (PolicyType::System, "AliyunOSSReadOnlyAccess"),
            (PolicyType::Custom, "Pull")
        ]
    );
    assert_eq!(for_user[1].description.as_deref(), Some("pulls"));
    assert_eq!(for_user[1].default_version, "v1");
    assert_eq!(for_user[0].default_version, "v1");
    assert_eq!(s.list_policies_for_group(&a, "ops").await.unwrap().len(), 1);
    assert_eq!(
        s.list_policies_for_role(&a, "BUILDER").await.unwrap().len(),
        1
    );
    assert_eq!(
        code(s.list_policies_for_user(&a, "ghost").await),
        "EntityNotExist.User"
    );

    let entities = s
        .list_entities_for_policy(&a, "Pull", PolicyType::Custom)
        .await
        .unwrap();
    assert_eq!(entities.users.len(), 1);
    assert_eq!(entities.users[0].user_name, "lena");
    assert_eq!(entities.groups.len(), 1);
    assert_eq!(entities.groups[0].group_name, "ops");
    assert_eq!(entities.groups[0].comments.as_deref(), Some("operators"));
    assert_eq!(entities.roles.len(), 1);
    assert_eq!(entities.roles[0].arn, format!("acs:ram::{a}:role/builder"));
    assert_eq!(entities.roles[0].description.as_deref(), Some("builds"));
    let system_entities = s
        .list_entities_for_policy(&a, "AliyunOSSReadOnlyAccess", PolicyType::System)
        .await
        .unwrap();
    assert_eq!(system_entities.users.len(), 1);
    assert!(system_entities.groups.is_empty());
    assert_eq!(
        code(
            s.list_entities_for_policy(&a, "Nope", PolicyType::Custom)
                .await
        ),
        "EntityNotExist.Policy"
    );
    assert_eq!(
        s.get_policy(&a, "AliyunOSSReadOnlyAccess", PolicyType::System)
            .await
            .unwrap()
            .policy
            .attachment_count,
        1
    );

    s.detach_policy_from_user(&a, PolicyType::Custom, "Pull", "lena")
        .await
        .unwrap();
    assert_eq!(
        code(
            s.detach_policy_from_user(&a, PolicyType::Custom, "Pull", "lena")
                .await
        ),
        "EntityNotExist.User.Policy"
    );
    assert_eq!(
        code(
            s.detach_policy_from_user(&a, PolicyType::Custom, "Nope", "lena")
                .await
        ),
        "EntityNotExist.Policy"
    );
    s.detach_policy_from_group(&a, PolicyType::Custom, "Pull", "ops")
        .await
        .unwrap();
    assert_eq!(
        code(
            s.detach_policy_from_group(&a, PolicyType::Custom, "Pull", "ops")
                .await
        ),
        "EntityNotExist.Group.Policy"
    );
    s.detach_policy_from_role(&a, PolicyType::Custom, "Pull", "Builder")
        .await
        .unwrap();
    assert_eq!(
        code(
            s.detach_policy_from_role(&a, PolicyType::Custom, "Pull", "Builder")
                .await
        ),
        "EntityNotExist.Role.Policy"
    );
    assert_eq!(s.list_policies_for_user(&a, "lena").await.unwrap().len(), 1);
}

async fn pagination(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    let names = ["u-b", "u-a", "u-g", "u-c", "u-f", "u-e", "u-d"];
    for n in names {
        s.create_user(&a, &user(n)).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut options = ListOptions::first(3);
    let mut pages = 0;
    loop {
        let page = s.list_users(&a, &options).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|u| u.name.clone()));
        if !page.is_truncated {
            assert_eq!(page.marker, None);
            break;
        }
        assert_eq!(page.items.len(), 3);
        options.marker = page.marker;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["u-a", "u-b", "u-c", "u-d", "u-e", "u-f", "u-g"]);
    // An exact fit is not truncated.
    let all = s.list_users(&a, &ListOptions::first(7)).await.unwrap();
    assert_eq!(all.items.len(), 7);
    assert!(!all.is_truncated);

    assert_eq!(
        code(s.list_users(&a, &ListOptions::first(0)).await),
        "InvalidParameter.MaxItems.Range"
    );
    assert_eq!(
        code(s.list_users(&a, &ListOptions::first(1001)).await),
        "InvalidParameter.MaxItems.Range"
    );
    s.list_users(&a, &ListOptions::first(1000)).await.unwrap();
    let bad = ListOptions {
        marker: Some("not-hex!".into()),
        max_items: None,
    };
    assert_eq!(
        code(s.list_users(&a, &bad).await),
        "InvalidParameter.Marker.Format"
    );

    // Groups, roles and group members page the same way.
    for g in ["g3", "g1", "g2"] {
        s.create_group(&a, g, None).await.unwrap();
        s.create_role(
            &a,
            &CreateRole {
                name: format!("R{g}"),
                trust_policy: trust(&a),
                ..CreateRole::default()
            },
        )
        .await
        .unwrap();
    }
    let first = s.list_groups(&a, &ListOptions::first(2)).await.unwrap();
    assert!(first.is_truncated);
    let second = s
        .list_groups(
            &a,
            &ListOptions {
                marker: first.marker.clone(),
                max_items: Some(2),
            },
        )
        .await
        .unwrap();
    let names: Vec<_> = first
        .items
        .iter()
        .chain(second.items.iter())
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(names, ["g1", "g2", "g3"]);
    assert!(!second.is_truncated);
    let roles1 = s.list_roles(&a, &ListOptions::first(1)).await.unwrap();
    let roles2 = s
        .list_roles(
            &a,
            &ListOptions {
                marker: roles1.marker.clone(),
                max_items: Some(5),
            },
        )
        .await
        .unwrap();
    assert_eq!(roles1.items[0].name, "Rg1");
    assert_eq!(roles2.items.len(), 2);
    for n in names_of_users() {
        s.add_user_to_group(&a, "g1", n).await.unwrap();
    }
    let m1 = s
        .list_users_for_group(&a, "g1", &ListOptions::first(2))
        .await
        .unwrap();
    let m2 = s
        .list_users_for_group(
            &a,
            "g1",
            &ListOptions {
                marker: m1.marker.clone(),
                max_items: Some(2),
            },
        )
        .await
        .unwrap();
    assert!(m1.is_truncated && !m2.is_truncated);
    let members: Vec<_> = m1
        .items
        .iter()
        .chain(m2.items.iter())
        .map(|m| m.user_name.as_str())
        .collect();
    assert_eq!(members, ["u-a", "u-c", "u-e"]);

    // ListPolicies pages across the System/Custom boundary.
    for p in ["C-2", "C-1"] {
        s.create_policy(&a, &custom(p, &allow("oss:*")))
            .await
            .unwrap();
    }
    let mut all = Vec::new();
    let mut options = ListOptions::first(4);
    loop {
        let page = s.list_policies(&a, None, &options).await.unwrap();
        all.extend(page.items.iter().map(|p| (p.policy_type, p.name.clone())));
        if !page.is_truncated {
            break;
        }
        options.marker = page.marker;
    }
    let system_count = iam::policy::SYSTEM_POLICIES.len();
    assert_eq!(all.len(), system_count + 2);
    assert_eq!(all[system_count].1, "C-1");
    assert_eq!(all[system_count + 1].1, "C-2");
    let mut sorted_system: Vec<_> = all[..system_count].iter().map(|(_, n)| n.clone()).collect();
    sorted_system.sort();
    let system_names: Vec<_> = all[..system_count].iter().map(|(_, n)| n.clone()).collect();
    assert_eq!(system_names, sorted_system);
}

fn names_of_users() -> [&'static str; 3] {
    ["u-e", "u-a", "u-c"]
}

async fn limits(h: &Harness) {
    let tight = h
        .open(Limits {
            users: 2,
            groups: 1,
            roles: 1,
            custom_policies: 1,
            ..Limits::default()
        })
        .await;
    let a = account(h).await;
    tight.create_user(&a, &user("one")).await.unwrap();
    tight.create_user(&a, &user("two")).await.unwrap();
    let err = tight.create_user(&a, &user("three")).await.unwrap_err();
    assert_eq!(err.code(), "LimitExceeded.User");
    assert_eq!(err.http_status(), 409);
    tight.create_group(&a, "g", None).await.unwrap();
    assert_eq!(
        code(tight.create_group(&a, "h", None).await),
        "LimitExceeded.Group"
    );
    let role = |name: &str| CreateRole {
        name: name.into(),
        trust_policy: trust(&a),
        ..CreateRole::default()
    };
    tight.create_role(&a, &role("r")).await.unwrap();
    assert_eq!(
        code(tight.create_role(&a, &role("s")).await),
        "LimitExceeded.Role"
    );
    tight
        .create_policy(&a, &custom("P", &allow("oss:*")))
        .await
        .unwrap();
    assert_eq!(
        code(tight.create_policy(&a, &custom("Q", &allow("oss:*"))).await),
        "LimitExceeded.Policy"
    );
    // Limits are per account.
    let b = account(h).await;
    tight.create_user(&b, &user("one")).await.unwrap();
}

async fn failed_writes_change_nothing(h: &Harness) {
    let tight = h
        .open(Limits {
            custom_policies_per_principal: 1,
            system_policies_per_principal: 1,
            groups_per_user: 1,
            ..Limits::default()
        })
        .await;
    let raw = h.raw().await;
    let a = account(h).await;
    let rows = |table: &'static str| {
        let raw = raw.clone();
        let a = a.clone();
        async move {
            let sql = match table {
                "policy_attachments" => {
                    "SELECT COUNT(*) FROM policy_attachments WHERE account_id = $1"
                }
                "group_members" => "SELECT COUNT(*) FROM group_members WHERE account_id = $1",
                "policy_versions" => "SELECT COUNT(*) FROM policy_versions WHERE account_id = $1",
                "users" => "SELECT COUNT(*) FROM users WHERE account_id = $1",
                _ => unreachable!(),
            };
            sqlx::query(sql)
                .bind(a)
                .fetch_one(&raw)
                .await
                .unwrap()
                .get::<i64, _>(0)
        }
    };
    tight.create_user(&a, &user("mia")).await.unwrap();
    tight.create_group(&a, "first", None).await.unwrap();
    tight.create_group(&a, "second", None).await.unwrap();
    tight
        .create_policy(&a, &custom("One", &allow("oss:*")))
        .await
        .unwrap();
    tight
        .create_policy(&a, &custom("Two", &allow("oss:*")))
        .await
        .unwrap();

    // Attaching to a user that does not exist writes nothing.
    let before = rows("policy_attachments").await;
    assert_eq!(
        code(
            tight
                .attach_policy_to_user(&a, PolicyType::Custom, "One", "ghost")
                .await
        ),
        "EntityNotExist.User"
    );
    assert_eq!(rows("policy_attachments").await, before);
    assert!(tight
        .list_entities_for_policy(&a, "One", PolicyType::Custom)
        .await
        .unwrap()
        .users
        .is_empty());

    // An attach beyond the limit is written, counted, and rolled back.
    tight
        .attach_policy_to_user(&a, PolicyType::Custom, "One", "mia")
        .await
        .unwrap();
    let before = rows("policy_attachments").await;
    assert_eq!(
        code(
            tight
                .attach_policy_to_user(&a, PolicyType::Custom, "Two", "mia")
                .await
        ),
        "LimitExceeded.User.Policy"
    );
    assert_eq!(rows("policy_attachments").await, before);
    let names: Vec<_> = tight
        .list_policies_for_user(&a, "mia")
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["One"]);
    // System and custom limits are separate.
    tight
        .attach_policy_to_user(&a, PolicyType::System, "AliyunOSSReadOnlyAccess", "mia")
        .await
        .unwrap();
    assert_eq!(
        code(
            tight
                .attach_policy_to_user(&a, PolicyType::System, "AliyunOSSFullAccess", "mia")
                .await
        ),
        "LimitExceeded.User.Policy"
    );

    // A join beyond the limit likewise.
    tight.add_user_to_group(&a, "first", "mia").await.unwrap();
    let before = rows("group_members").await;
    assert_eq!(
        code(tight.add_user_to_group(&a, "second", "mia").await),
        "LimitExceeded.User.Group"
    );
    assert_eq!(rows("group_members").await, before);
    assert!(tight
        .list_users_for_group(&a, "second", &ListOptions::default())
        .await
        .unwrap()
        .items
        .is_empty());

    // A refused version changes no version.
    let before = rows("policy_versions").await;
    assert_eq!(
        code(
            tight
                .create_policy_version(&a, "One", "not json", true, RotateStrategy::None)
                .await
        ),
        "MalformedPolicyDocument"
    );
    assert_eq!(rows("policy_versions").await, before);
    assert_eq!(
        tight
            .get_policy(&a, "One", PolicyType::Custom)
            .await
            .unwrap()
            .policy
            .default_version,
        "v1"
    );

    // A refused rename with other changes changes nothing either.
    tight.create_user(&a, &user("noah")).await.unwrap();
    let before_user = tight.get_user(&a, "noah").await.unwrap();
    let update = UpdateUser {
        new_name: Some("mia".into()),
        new_comments: Some("should not stick".into()),
        ..UpdateUser::default()
    };
    assert_eq!(
        code(tight.update_user(&a, "noah", &update).await),
        "EntityAlreadyExists.User"
    );
    assert_eq!(tight.get_user(&a, "noah").await.unwrap(), before_user);
    let users_before = rows("users").await;
    assert_eq!(
        code(tight.create_user(&a, &user("noah")).await),
        "EntityAlreadyExists.User"
    );
    assert_eq!(rows("users").await, users_before);
    raw.close().await;
}

async fn account_isolation(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    let b = account(h).await;
    for acct in [&a, &b] {
        s.create_user(acct, &user("same")).await.unwrap();
        s.create_group(acct, "same", None).await.unwrap();
        s.create_role(
            acct,
            &CreateRole {
                name: "Same".into(),
                trust_policy: trust(acct),
                ..CreateRole::default()
            },
        )
        .await
        .unwrap();
        s.create_policy(acct, &custom("Same", &allow("oss:*")))
            .await
            .unwrap();
    }
    let ua = s.get_user(&a, "same").await.unwrap();
    let ub = s.get_user(&b, "same").await.unwrap();
    assert_ne!(ua.user_id, ub.user_id);
    assert_ne!(
        s.get_role(&a, "Same").await.unwrap().arn,
        s.get_role(&b, "Same").await.unwrap().arn
    );

    // Names only in one account are invisible from the other.
    s.create_user(&a, &user("only-a")).await.unwrap();
    assert_eq!(code(s.get_user(&b, "only-a").await), "EntityNotExist.User");
    assert_eq!(
        s.list_users(&b, &ListOptions::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        s.list_users(&a, &ListOptions::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    s.create_policy(&a, &custom("OnlyA", &allow("oss:*")))
        .await
        .unwrap();
    assert_eq!(
        code(s.get_policy(&b, "OnlyA", PolicyType::Custom).await),
        "EntityNotExist.Policy"
    );
    assert_eq!(
        code(
            s.attach_policy_to_user(&b, PolicyType::Custom, "OnlyA", "same")
                .await
        ),
        "EntityNotExist.Policy"
    );

    // Changes in one account leave the other's same-named entities alone.
    s.attach_policy_to_user(&a, PolicyType::Custom, "Same", "same")
        .await
        .unwrap();
    s.add_user_to_group(&a, "same", "same").await.unwrap();
    assert!(s
        .list_policies_for_user(&b, "same")
        .await
        .unwrap()
        .is_empty());
    assert!(s.list_groups_for_user(&b, "same").await.unwrap().is_empty());
    assert_eq!(
        s.get_policy(&b, "Same", PolicyType::Custom)
            .await
            .unwrap()
            .policy
            .attachment_count,
        0
    );
    s.delete_user(&b, "same").await.unwrap();
    assert_eq!(s.get_user(&a, "same").await.unwrap(), ua);

    // Keys: another account cannot list, change or delete them.
    let key = s.create_access_key(&a, Some("same")).await.unwrap();
    s.create_user(&b, &user("same")).await.unwrap();
    assert!(s
        .list_access_keys(&b, Some("same"))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        code(
            s.delete_access_key(&b, Some("same"), &key.access_key_id)
                .await
        ),
        "EntityNotExist.User.AccessKey"
    );
    assert_eq!(
        code(
            s.update_access_key(&b, Some("same"), &key.access_key_id, KeyStatus::Inactive)
                .await
        ),
        "EntityNotExist.User.AccessKey"
    );
    assert_eq!(
        code(s.delete_access_key(&b, None, &key.access_key_id).await),
        "EntityNotExist.User.AccessKey"
    );
    assert_eq!(
        s.access_key(&key.access_key_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        KeyStatus::Active
    );

    // Aliases are the one thing shared: unique across accounts.
    s.set_account_alias(&a, &format!("iso-{}", &a[..8]))
        .await
        .unwrap();
    assert_eq!(s.get_account_alias(&b).await.unwrap(), None);
}

async fn secrets_are_encrypted_at_rest(h: &Harness) {
    let s = &h.store;
    let created = s.create_account(None).await.unwrap();
    let a = created.account.account_id.clone();
    s.create_user(&a, &user("olga")).await.unwrap();
    let user_key = s.create_access_key(&a, Some("olga")).await.unwrap();
    let secrets = [
        created.root_access_key.secret.expose().to_string(),
        user_key.secret.expose().to_string(),
    ];

    // No column of any key row holds a secret, whole or in part.
    let raw = h.raw().await;
    let rows = sqlx::query(
        "SELECT access_key_id, account_id, COALESCE(user_id, '') AS user_id, status,
                secret_key_id, secret_sealed
         FROM access_keys WHERE account_id = $1",
    )
    .bind(&a)
    .fetch_all(&raw)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let mut text = String::new();
        for column in 0..6 {
            text.push_str(&row.get::<String, _>(column));
            text.push('\n');
        }
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "plain secret in the row");
            assert!(!text.contains(&secret[..12]), "part of a secret in the row");
            assert!(
                !text.to_ascii_lowercase().contains(&hex::encode(secret)),
                "hex of a secret in the row"
            );
        }
        // Sealed by auth's KeyRing: its format names the sealing key.
        assert_eq!(row.get::<String, _>("secret_key_id"), "test-k1");
        assert!(row
            .get::<String, _>("secret_sealed")
            .starts_with("v1.test-k1."));
    }

    // Nor anywhere in the SQLite files.
    if let Engine::Sqlite { dir } = &h.engine {
        for entry in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            for secret in &secrets {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "plain secret in a database file"
                );
            }
        }
    }

    // The right key opens them; a wrong master key does not.
    let record = s
        .access_key(&user_key.access_key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.secret.expose(), secrets[1]);
    let wrong = Store::open(&h.url, ring(&[("test-k1", [0x11; 32])]))
        .await
        .unwrap();
    let err = wrong.access_key(&user_key.access_key_id).await.unwrap_err();
    assert_eq!(err.code(), "InternalError");
    assert!(!err.message().contains("SELECT"));

    // Rotation: a new active key seals new secrets, the old one still opens.
    let fresh_key = SealingKey::generate("test-k2").unwrap();
    let old_key = SealingKey::new("test-k1", [0x5a; 32]).unwrap();
    let rotated = Store::open(&h.url, KeyRing::new(vec![fresh_key, old_key]).unwrap())
        .await
        .unwrap();
    assert_eq!(
        rotated
            .access_key(&user_key.access_key_id)
            .await
            .unwrap()
            .unwrap()
            .secret
            .expose(),
        secrets[1]
    );
    let fresh = rotated.create_access_key(&a, Some("olga")).await.unwrap();
    assert_eq!(
        rotated
            .access_key(&fresh.access_key_id)
            .await
            .unwrap()
            .unwrap()
            .secret
            .expose(),
        fresh.secret.expose()
    );
    assert!(s.access_key(&fresh.access_key_id).await.is_err());
    let fresh_row = sqlx::query("SELECT secret_key_id FROM access_keys WHERE access_key_id = $1")
        .bind(&fresh.access_key_id)
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(fresh_row.get::<String, _>("secret_key_id"), "test-k2");

    // A sealed secret copied onto another key's row does not open there.
    sqlx::query(
        "UPDATE access_keys SET secret_sealed =
             (SELECT secret_sealed FROM access_keys WHERE access_key_id = $1)
         WHERE access_key_id = $2",
    )
    .bind(&created.root_access_key.access_key_id)
    .bind(&user_key.access_key_id)
    .execute(&raw)
    .await
    .unwrap();
    // Written behind the store's back (no generation bump), so a store
    // that has not cached the key reads it.
    let reopened = Store::open(&h.url, keyring()).await.unwrap();
    let err = reopened
        .access_key(&user_key.access_key_id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InternalError");
    reopened.close().await;
    raw.close().await;
}

async fn authorize_root(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    let b = account(h).await;
    let root = Principal::Root { account: a.clone() };
    let own = s
        .authorize(&root, "cr:PushRepository", &[&repo(&a)], &Context::new())
        .await
        .unwrap();
    assert!(own.is_allowed());
    assert_eq!(own.basis, Basis::AccountRoot);
    assert_eq!(own.deciding, None);
    assert_eq!(
        decide(s, &root, "ram:DeleteUser", &format!("acs:ram::{a}:user/x")).await,
        Outcome::Allow
    );

    let other = s
        .authorize(&root, "cr:PullRepository", &[&repo(&b)], &Context::new())
        .await
        .unwrap();
    assert!(!other.is_allowed());
    assert_eq!(other.basis, Basis::OutsideAccount { resource: repo(&b) });
    // One foreign resource among own ones is enough to deny.
    let mixed = s
        .authorize(
            &root,
            "cr:PullRepository",
            &[&repo(&a), &repo(&b)],
            &Context::new(),
        )
        .await
        .unwrap();
    assert!(!mixed.is_allowed());
    // Resources that name no account are outside every account.
    assert_eq!(
        decide(s, &root, "oss:GetObject", "acs:oss:*:*:bucket").await,
        Outcome::ImplicitDeny
    );
    assert_eq!(
        decide(s, &root, "ram:ListUsers", "*").await,
        Outcome::ImplicitDeny
    );
    // Assuming another account's role is that account's consent (its trust
    // policy, checked by STS), not a boundary violation.
    assert_eq!(
        decide(
            s,
            &root,
            "sts:AssumeRole",
            &format!("acs:ram::{b}:role/deployer")
        )
        .await,
        Outcome::Allow
    );
}

async fn authorize_users(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    let b = account(h).await;
    s.create_user(&a, &user("pat")).await.unwrap();
    let pat = user_principal(h, &a, "pat").await;

    // No policies: implicitly denied.
    let none = s
        .authorize(&pat, "cr:PullRepository", &[&repo(&a)], &Context::new())
        .await
        .unwrap();
    assert_eq!(none.decision.outcome, Outcome::ImplicitDeny);
    assert_eq!(none.basis, Basis::Policies);
    assert_eq!(none.deciding, None);

    // A system policy allows; the deciding statement is named.
    s.attach_policy_to_user(
        &a,
        PolicyType::System,
        "AliyunContainerRegistryReadOnlyAccess",
        "pat",
    )
    .await
    .unwrap();
    let pull = s
        .authorize(&pat, "cr:PullRepository", &[&repo(&a)], &Context::new())
        .await
        .unwrap();
    assert!(pull.is_allowed());
    let deciding = pull.deciding.clone().unwrap();
    assert_eq!(
        deciding.policy.name,
        "AliyunContainerRegistryReadOnlyAccess"
    );
    assert_eq!(deciding.policy.policy_type, PolicyType::System);
    assert_eq!(deciding.policy.version, "v1");
    assert_eq!(deciding.statement, 0);
    assert_eq!(
        decide(s, &pat, "cr:PushRepository", &repo(&a)).await,
        Outcome::ImplicitDeny
    );
    // Never into another account, whatever the policy says.
    assert_eq!(
        decide(s, &pat, "cr:PullRepository", &repo(&b)).await,
        Outcome::ImplicitDeny
    );

    // Through a group, with a custom policy at its default version.
    s.create_group(&a, "pushers", None).await.unwrap();
    s.create_policy(&a, &custom("Push", &allow("cr:Push*")))
        .await
        .unwrap();
    s.attach_policy_to_group(&a, PolicyType::Custom, "Push", "pushers")
        .await
        .unwrap();
    assert_eq!(
        decide(s, &pat, "cr:PushRepository", &repo(&a)).await,
        Outcome::ImplicitDeny
    );
    s.add_user_to_group(&a, "pushers", "pat").await.unwrap();
    let push = s
        .authorize(&pat, "cr:PushRepository", &[&repo(&a)], &Context::new())
        .await
        .unwrap();
    assert!(push.is_allowed());
    let deciding = push.deciding.unwrap();
    assert_eq!(deciding.policy.name, "Push");
    assert_eq!(deciding.policy.policy_type, PolicyType::Custom);
    assert_eq!(deciding.policy.version, "v1");

    // Deny wins, wherever it comes from.
    s.create_policy(
        &a,
        &custom(
            "NoPull",
            &format!(
                r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"oss:*","Resource":"*"}},{{"Effect":"Deny","Action":"cr:PullRepository","Resource":"acs:cr:*:{a}:repository/cri-x/*"}}]}}"#
            ),
        ),
    )
    .await
    .unwrap();
    s.create_group(&a, "restricted", None).await.unwrap();
    s.attach_policy_to_group(&a, PolicyType::Custom, "NoPull", "restricted")
        .await
        .unwrap();
    s.add_user_to_group(&a, "restricted", "pat").await.unwrap();
    let denied = s
        .authorize(&pat, "cr:PullRepository", &[&repo(&a)], &Context::new())
        .await
        .unwrap();
    assert_eq!(denied.decision.outcome, Outcome::ExplicitDeny);
    let deciding = denied.deciding.unwrap();
    assert_eq!(deciding.policy.name, "NoPull");
    assert_eq!(deciding.statement, 1);
    assert_eq!(deciding.to_string(), "Custom:NoPull:v1:Statement[1]");
    // Other repositories are still allowed.
    assert_eq!(
        decide(
            s,
            &pat,
            "cr:PullRepository",
            &format!("acs:cr:cn-hangzhou:{a}:repository/cri-y/team/app")
        )
        .await,
        Outcome::Allow
    );

    // Conditions see the request's context.
    s.create_user(&a, &user("quinn")).await.unwrap();
    s.create_policy(
        &a,
        &custom(
            "FromOffice",
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}}]}"#,
        ),
    )
    .await
    .unwrap();
    s.attach_policy_to_user(&a, PolicyType::Custom, "FromOffice", "quinn")
        .await
        .unwrap();
    let quinn = user_principal(h, &a, "quinn").await;
    let office = Context::new().with(iam::policy::keys::SOURCE_IP, "10.1.2.3");
    let home = Context::new().with(iam::policy::keys::SOURCE_IP, "192.0.2.1");
    assert!(s
        .authorize(&quinn, "cr:PushRepository", &[&repo(&a)], &office)
        .await
        .unwrap()
        .is_allowed());
    assert!(!s
        .authorize(&quinn, "cr:PushRepository", &[&repo(&a)], &home)
        .await
        .unwrap()
        .is_allowed());

    // A principal that does not exist (any more) is denied.
    let ghost = Principal::User {
        account: a.clone(),
        user_id: "1000000000000000".into(),
        name: "ghost".into(),
    };
    let unknown = s
        .authorize(&ghost, "cr:PullRepository", &[&repo(&a)], &Context::new())
        .await
        .unwrap();
    assert_eq!(unknown.basis, Basis::UnknownPrincipal);
    assert!(!unknown.is_allowed());
}

async fn authorize_roles(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    let role = s
        .create_role(
            &a,
            &CreateRole {
                name: "Deployer".into(),
                trust_policy: trust(&a),
                ..CreateRole::default()
            },
        )
        .await
        .unwrap();
    let session = Principal::Role {
        account: a.clone(),
        role_id: role.role_id.clone(),
        name: role.name.clone(),
    };
    assert_eq!(session.arn(), format!("acs:ram::{a}:role/deployer"));
    assert_eq!(
        decide(s, &session, "cr:PushRepository", &repo(&a)).await,
        Outcome::ImplicitDeny
    );
    s.attach_policy_to_role(
        &a,
        PolicyType::System,
        "AliyunContainerRegistryFullAccess",
        "Deployer",
    )
    .await
    .unwrap();
    assert_eq!(
        decide(s, &session, "cr:PushRepository", &repo(&a)).await,
        Outcome::Allow
    );
    let compiled = s.compiled_policies(&session).await.unwrap();
    assert!(compiled.principal_exists());
    assert_eq!(compiled.set().len(), 1);
    assert_eq!(
        compiled.source(0).unwrap().name,
        "AliyunContainerRegistryFullAccess"
    );
    s.detach_policy_from_role(
        &a,
        PolicyType::System,
        "AliyunContainerRegistryFullAccess",
        "Deployer",
    )
    .await
    .unwrap();
    assert_eq!(
        decide(s, &session, "cr:PushRepository", &repo(&a)).await,
        Outcome::ImplicitDeny
    );
}

async fn authorize_system_policies(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    let b = account(h).await;
    let admin = "acs:ram:*:system:policy/AdministratorAccess";
    let attach = "ram:AttachPolicyToUser";

    // The root acts on system policies as on its own resources.
    let root = Principal::Root { account: a.clone() };
    let answer = s
        .authorize(&root, attach, &[admin], &Context::new())
        .await
        .unwrap();
    assert!(answer.is_allowed());
    assert_eq!(answer.basis, Basis::AccountRoot);
    // Alibaba's own spelling, with an empty region, too.
    assert_eq!(
        decide(
            s,
            &root,
            "ram:GetPolicy",
            "acs:ram::system:policy/AliyunRAMReadOnlyAccess"
        )
        .await,
        Outcome::Allow
    );
    // With the entity, as AttachPolicyToUser asks: own user, system policy.
    let both = s
        .authorize(
            &root,
            attach,
            &[&format!("acs:ram:*:{a}:user/pat"), admin],
            &Context::new(),
        )
        .await
        .unwrap();
    assert!(both.is_allowed());
    // The pseudo-account names nothing else, and other accounts stay out.
    for outside in [
        "acs:ram:*:system:user/pat".to_string(),
        "acs:cr:*:system:policy/AdministratorAccess".to_string(),
        format!("acs:ram:*:{b}:policy/Theirs"),
    ] {
        let answer = s
            .authorize(&root, attach, &[admin, &outside], &Context::new())
            .await
            .unwrap();
        assert_eq!(answer.basis, Basis::OutsideAccount { resource: outside });
    }

    // Users and roles: their identity policies decide.
    s.create_user(&a, &user("pat")).await.unwrap();
    let pat = user_principal(h, &a, "pat").await;
    let none = s
        .authorize(&pat, "ram:GetPolicy", &[admin], &Context::new())
        .await
        .unwrap();
    assert_eq!(none.decision.outcome, Outcome::ImplicitDeny);
    assert_eq!(none.basis, Basis::Policies);
    s.attach_policy_to_user(&a, PolicyType::System, "AliyunRAMReadOnlyAccess", "pat")
        .await
        .unwrap();
    let read = s
        .authorize(&pat, "ram:GetPolicy", &[admin], &Context::new())
        .await
        .unwrap();
    assert!(read.is_allowed());
    assert_eq!(read.basis, Basis::Policies);
    assert_eq!(
        read.deciding.unwrap().policy.name,
        "AliyunRAMReadOnlyAccess"
    );
    assert_eq!(decide(s, &pat, attach, admin).await, Outcome::ImplicitDeny);

    // A grant to attach policies, with a Deny that names one system policy.
    s.create_policy(
        &a,
        &custom(
            "AttachButNotAdmin",
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:AttachPolicyToUser","Resource":"*"},{"Effect":"Deny","Action":"ram:AttachPolicyToUser","Resource":"acs:ram:*:system:policy/AdministratorAccess"}]}"#,
        ),
    )
    .await
    .unwrap();
    s.attach_policy_to_user(&a, PolicyType::Custom, "AttachButNotAdmin", "pat")
        .await
        .unwrap();
    assert_eq!(
        decide(
            s,
            &pat,
            attach,
            "acs:ram:*:system:policy/AliyunRAMReadOnlyAccess"
        )
        .await,
        Outcome::Allow
    );
    let denied = s
        .authorize(&pat, attach, &[admin], &Context::new())
        .await
        .unwrap();
    assert_eq!(denied.decision.outcome, Outcome::ExplicitDeny);
    assert_eq!(
        denied.deciding.unwrap().to_string(),
        "Custom:AttachButNotAdmin:v1:Statement[1]"
    );
}

async fn cache_invalidation(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    s.create_user(&a, &user("rita")).await.unwrap();
    let rita = user_principal(h, &a, "rita").await;
    s.create_policy(&a, &custom("Pull", &allow("cr:Pull*")))
        .await
        .unwrap();

    // Detach.
    s.attach_policy_to_user(&a, PolicyType::Custom, "Pull", "rita")
        .await
        .unwrap();
    for _ in 0..3 {
        // Served from the cache after the first.
        assert_eq!(
            decide(s, &rita, "cr:PullRepository", &repo(&a)).await,
            Outcome::Allow
        );
    }
    s.detach_policy_from_user(&a, PolicyType::Custom, "Pull", "rita")
        .await
        .unwrap();
    assert_eq!(
        decide(s, &rita, "cr:PullRepository", &repo(&a)).await,
        Outcome::ImplicitDeny
    );

    // Group removal.
    s.create_group(&a, "readers", None).await.unwrap();
    s.attach_policy_to_group(&a, PolicyType::Custom, "Pull", "readers")
        .await
        .unwrap();
    s.add_user_to_group(&a, "readers", "rita").await.unwrap();
    assert_eq!(
        decide(s, &rita, "cr:PullRepository", &repo(&a)).await,
        Outcome::Allow
    );
    s.remove_user_from_group(&a, "readers", "rita")
        .await
        .unwrap();
    assert_eq!(
        decide(s, &rita, "cr:PullRepository", &repo(&a)).await,
        Outcome::ImplicitDeny
    );

    // Detach from the group while the user is in it.
    s.add_user_to_group(&a, "readers", "rita").await.unwrap();
    assert_eq!(
        decide(s, &rita, "cr:PullRepository", &repo(&a)).await,
        Outcome::Allow
    );
    s.detach_policy_from_group(&a, PolicyType::Custom, "Pull", "readers")
        .await
        .unwrap();
    assert_eq!(
        decide(s, &rita, "cr:PullRepository", &repo(&a)).await,
        Outcome::ImplicitDeny
    );

    // A new default version.
    s.attach_policy_to_user(&a, PolicyType::Custom, "Pull", "rita")
        .await
        .unwrap();
    assert_eq!(
        decide(s, &rita, "cr:PullRepository", &repo(&a)).await,
        Outcome::Allow
    );
    s.create_policy_version(&a, "Pull", &deny("cr:Pull*"), true, RotateStrategy::None)
        .await
        .unwrap();
    let after = s
        .authorize(&rita, "cr:PullRepository", &[&repo(&a)], &Context::new())
        .await
        .unwrap();
    assert_eq!(after.decision.outcome, Outcome::ExplicitDeny);
    assert_eq!(after.deciding.unwrap().policy.version, "v2");
    s.set_default_policy_version(&a, "Pull", "v1")
        .await
        .unwrap();
    assert_eq!(
        decide(s, &rita, "cr:PullRepository", &repo(&a)).await,
        Outcome::Allow
    );

    // Deleting the user.
    s.detach_policy_from_user(&a, PolicyType::Custom, "Pull", "rita")
        .await
        .unwrap();
    s.remove_user_from_group(&a, "readers", "rita")
        .await
        .unwrap();
    s.delete_user(&a, "rita").await.unwrap();
    let gone = s
        .authorize(&rita, "cr:PullRepository", &[&repo(&a)], &Context::new())
        .await
        .unwrap();
    assert_eq!(gone.basis, Basis::UnknownPrincipal);
}

async fn second_node_sees_detach(h: &Harness) {
    assert!(h.is_postgres());
    let first = &h.store;
    let second = h.open(Limits::default()).await;
    let a = account(h).await;
    first.create_user(&a, &user("sam")).await.unwrap();
    let sam = user_principal(h, &a, "sam").await;
    first
        .create_policy(&a, &custom("Pull", &allow("cr:Pull*")))
        .await
        .unwrap();
    first
        .attach_policy_to_user(&a, PolicyType::Custom, "Pull", "sam")
        .await
        .unwrap();
    // The second node compiles and caches Sam's policies.
    assert_eq!(
        decide(&second, &sam, "cr:PullRepository", &repo(&a)).await,
        Outcome::Allow
    );
    assert_eq!(
        decide(&second, &sam, "cr:PullRepository", &repo(&a)).await,
        Outcome::Allow
    );

    first
        .detach_policy_from_user(&a, PolicyType::Custom, "Pull", "sam")
        .await
        .unwrap();
    let start = Instant::now();
    loop {
        let outcome = decide(&second, &sam, "cr:PullRepository", &repo(&a)).await;
        if outcome == Outcome::ImplicitDeny {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "the second node still allowed after a second"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // And the other way round, through a group.
    second.create_group(&a, "readers", None).await.unwrap();
    second
        .attach_policy_to_group(&a, PolicyType::Custom, "Pull", "readers")
        .await
        .unwrap();
    second
        .add_user_to_group(&a, "readers", "sam")
        .await
        .unwrap();
    assert_eq!(
        decide(first, &sam, "cr:PullRepository", &repo(&a)).await,
        Outcome::Allow
    );
    second
        .remove_user_from_group(&a, "readers", "sam")
        .await
        .unwrap();
    let start = Instant::now();
    while decide(first, &sam, "cr:PullRepository", &repo(&a)).await != Outcome::ImplicitDeny {
        assert!(start.elapsed() < Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn audit_log(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    let b = account(h).await;
    let event = |request: &str, time: i64, action: &str, decision: &str| AuditEvent {
        request_id: request.to_string(),
        time: Timestamp(time),
        account_id: a.clone(),
        principal_arn: format!("acs:ram::{a}:user/tess"),
        action: action.to_string(),
        resource: repo(&a),
        decision: decision.to_string(),
        deciding_statement: Some(
            "System:AliyunContainerRegistryReadOnlyAccess:v1:Statement[0]".into(),
        ),
        source_ip: Some("10.0.0.1".into()),
        error_code: None,
        principal_chain: Vec::new(),
        session_id: None,
        issued_session_id: None,
        acting_service: None,
    };
    s.record_audit(&event("r1", 1000, "cr:PullRepository", "Allow"))
        .await
        .unwrap();
    let mut denied = event("r2", 2000, "cr:PushRepository", "ImplicitDeny");
    denied.deciding_statement = None;
    denied.error_code = Some("NoPermission".into());
    s.record_audit(&denied).await.unwrap();
    s.record_audit(&event("r3", 3000, "cr:PullRepository", "Allow"))
        .await
        .unwrap();
    let mut other = event("r4", 1500, "cr:PullRepository", "Allow");
    other.account_id = b.clone();
    s.record_audit(&other).await.unwrap();

    let all = s
        .list_audit(&AuditFilter {
            account_id: a.clone(),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let ids: Vec<_> = all.iter().map(|e| e.request_id.as_str()).collect();
    assert_eq!(ids, ["r3", "r2", "r1"]);
    assert_eq!(all[1], denied);

    let pulls = s
        .list_audit(&AuditFilter {
            account_id: a.clone(),
            action: Some("cr:PullRepository".into()),
            since: Some(Timestamp(1500)),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0].request_id, "r3");
    let by_request = s
        .list_audit(&AuditFilter {
            account_id: a.clone(),
            request_id: Some("r1".into()),
            principal_arn: Some(format!("acs:ram::{a}:user/tess")),
            until: Some(Timestamp(1001)),
            limit: Some(10),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(by_request.len(), 1);
    let limited = s
        .list_audit(&AuditFilter {
            account_id: a.clone(),
            limit: Some(2),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(limited.len(), 2);
    // Another account's events stay there.
    let theirs = s
        .list_audit(&AuditFilter {
            account_id: b.clone(),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].request_id, "r4");
    assert_eq!(
        code(
            s.list_audit(&AuditFilter {
                account_id: a.clone(),
                limit: Some(0),
                ..AuditFilter::default()
            })
            .await
        ),
        "InvalidParameter.MaxItems.Range"
    );
}

async fn migrations_are_idempotent_and_concurrent(h: &Harness) {
    // Two more stores opening the same database at the same moment.
    let (one, two) = tokio::join!(
        Store::open(&h.url, keyring()),
        Store::open(&h.url, keyring())
    );
    let (one, two) = (one.unwrap(), two.unwrap());
    let a = account(h).await;
    one.create_user(&a, &user("uma")).await.unwrap();
    assert_eq!(two.get_user(&a, "uma").await.unwrap().name, "uma");
    let raw = h.raw().await;
    let versions: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(&raw)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<i64, _>(0))
        .collect();
    assert_eq!(versions, [1, 2, 3, 4, 5]);
    raw.close().await;
    // Reopening changes nothing.
    drop(one);
    let three = Store::open(&h.url, keyring()).await.unwrap();
    assert_eq!(three.get_user(&a, "uma").await.unwrap().name, "uma");
    assert!(Store::open("mysql://nope", keyring()).await.is_err());
}

async fn racing_writers_respect_limits_and_names(h: &Harness) {
    let a = account(h).await;
    h.store.create_user(&a, &user("vera")).await.unwrap();
    // Two stores (two pools) racing, as two nodes or two processes would.
    let other = h.open(Limits::default()).await;
    let stores = [h.store.clone(), other.clone()];

    // Eight concurrent CreateAccessKey calls: exactly two keys come to be.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = stores[i % 2].clone();
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            store.create_access_key(&a, Some("vera")).await
        }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(e) => assert_eq!(e.code(), "LimitExceeded.User.AccessKey"),
        }
    }
    assert_eq!(created, 2);
    assert_eq!(
        h.store
            .list_access_keys(&a, Some("vera"))
            .await
            .unwrap()
            .len(),
        2
    );

    // Eight concurrent CreateUser calls with one name: exactly one user.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = stores[i % 2].clone();
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            store.create_user(&a, &user("walt")).await
        }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(e) => assert_eq!(e.code(), "EntityAlreadyExists.User"),
        }
    }
    assert_eq!(created, 1);

    // Many distinct writers at once all succeed (no lock errors).
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = stores[i % 2].clone();
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            store.create_user(&a, &user(&format!("w{i:02}"))).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let listed = h
        .store
        .list_users(&a, &ListOptions::first(100))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 18);
}

async fn role_sessions_revocation_and_lookups(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    let b = account(h).await;
    let role = s
        .create_role(
            &a,
            &CreateRole {
                name: "Fc-Admin".into(),
                trust_policy: trust(&b),
                ..CreateRole::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(role.revoked_before, None);
    // Looked up in any case, and the same twice (the second from the cache).
    let found = s.role_record(&a, "fc-admin").await.unwrap().unwrap();
    assert_eq!(found, role);
    assert_eq!(s.role_record(&a, "FC-ADMIN").await.unwrap().unwrap(), role);
    assert_eq!(s.role_record(&b, "fc-admin").await.unwrap(), None);
    assert_eq!(s.role_record(&a, "nobody").await.unwrap(), None);

    // Revocation is seen by the next lookup, and only moves forward.
    let revoked = s
        .revoke_role_sessions(&a, "FC-admin", Timestamp(2_000_000_000))
        .await
        .unwrap();
    assert_eq!(revoked.revoked_before, Some(Timestamp(2_000_000_000)));
    assert_eq!(
        s.role_record(&a, "fc-admin")
            .await
            .unwrap()
            .unwrap()
            .revoked_before,
        Some(Timestamp(2_000_000_000))
    );
    let again = s
        .revoke_role_sessions(&a, "fc-admin", Timestamp(1_000_000_000))
        .await
        .unwrap();
    assert_eq!(again.revoked_before, Some(Timestamp(2_000_000_000)));
    let later = s
        .revoke_role_sessions(&a, "fc-admin", Timestamp(2_000_000_100))
        .await
        .unwrap();
    assert_eq!(later.revoked_before, Some(Timestamp(2_000_000_100)));
    // The stamp comes back with the role everywhere.
    assert_eq!(
        s.get_role(&a, "fc-admin").await.unwrap().revoked_before,
        Some(Timestamp(2_000_000_100))
    );
    let listed = s.list_roles(&a, &ListOptions::default()).await.unwrap();
    assert_eq!(
        listed.items[0].revoked_before,
        Some(Timestamp(2_000_000_100))
    );
    let updated = s
        .update_role(
            &a,
            "fc-admin",
            &UpdateRole {
                new_description: Some("d".into()),
                ..UpdateRole::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.revoked_before, Some(Timestamp(2_000_000_100)));
    assert_eq!(
        code(s.revoke_role_sessions(&a, "nobody", Timestamp(1)).await),
        "EntityNotExist.Role"
    );
    assert_eq!(
        code(s.revoke_role_sessions(&a, "bad_name", Timestamp(1)).await),
        "InvalidParameter.RoleName.InvalidChars"
    );
    // Another account's role of the same name is untouched.
    s.create_role(
        &b,
        &CreateRole {
            name: "fc-admin".into(),
            trust_policy: trust(&a),
            ..CreateRole::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.role_record(&b, "fc-admin")
            .await
            .unwrap()
            .unwrap()
            .revoked_before,
        None
    );

    // Deleted and re-created: a new id, no stamp.
    s.delete_role(&a, "fc-admin").await.unwrap();
    assert_eq!(s.role_record(&a, "fc-admin").await.unwrap(), None);
    let fresh = s
        .create_role(
            &a,
            &CreateRole {
                name: "fc-admin".into(),
                trust_policy: trust(&b),
                ..CreateRole::default()
            },
        )
        .await
        .unwrap();
    let looked = s.role_record(&a, "fc-admin").await.unwrap().unwrap();
    assert_eq!(looked.role_id, fresh.role_id);
    assert_ne!(looked.role_id, role.role_id);
    assert_eq!(looked.revoked_before, None);

    // Users by id, and their deletion.
    let alice = s.create_user(&b, &user("alice")).await.unwrap();
    let got = s.user_by_id(&b, &alice.user_id).await.unwrap().unwrap();
    assert_eq!(got.name, "alice");
    assert_eq!(s.user_by_id(&a, &alice.user_id).await.unwrap(), None);
    assert_eq!(s.user_by_id(&b, "1234").await.unwrap(), None);
    s.delete_user(&b, "alice").await.unwrap();
    assert_eq!(s.user_by_id(&b, &alice.user_id).await.unwrap(), None);
}

async fn second_node_sees_revocation(h: &Harness) {
    assert!(h.is_postgres());
    let first = &h.store;
    let second = h.open(Limits::default()).await;
    let a = account(h).await;
    first
        .create_role(
            &a,
            &CreateRole {
                name: "r".into(),
                trust_policy: trust(&a),
                ..CreateRole::default()
            },
        )
        .await
        .unwrap();
    let bob = first.create_user(&a, &user("bob")).await.unwrap();
    // The second node caches both.
    for _ in 0..2 {
        assert_eq!(
            second
                .role_record(&a, "r")
                .await
                .unwrap()
                .unwrap()
                .revoked_before,
            None
        );
        assert!(second.user_by_id(&a, &bob.user_id).await.unwrap().is_some());
    }
    first
        .revoke_role_sessions(&a, "r", Timestamp(2_000_000_000))
        .await
        .unwrap();
    first.delete_user(&a, "bob").await.unwrap();
    let start = Instant::now();
    loop {
        let role = second.role_record(&a, "r").await.unwrap().unwrap();
        let user = second.user_by_id(&a, &bob.user_id).await.unwrap();
        if role.revoked_before == Some(Timestamp(2_000_000_000)) && user.is_none() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "the second node still had the old role or user after a second"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Queued events: written in batches by the background writer, all of
/// them (more than one batch, with chains and NULLs), visible after a
/// flush, and the ones still queued when the store closes are written too.
async fn audit_queue_batches_flushes_and_closes(h: &Harness) {
    let store = h.open(Limits::default()).await;
    let a = account(h).await;
    let event = |n: usize| AuditEvent {
        request_id: format!("q-{n}"),
        time: Timestamp(5_000 + i64::try_from(n).unwrap()),
        account_id: a.clone(),
        principal_arn: format!("acs:ram::{a}:user/quinn"),
        action: "ram:GetUser".into(),
        resource: format!("acs:ram::{a}:user/quinn"),
        decision: "Allow".into(),
        deciding_statement: n
            .is_multiple_of(2)
            .then(|| "Custom:p:v1:Statement[0]".into()),
        source_ip: Some("127.0.0.1".into()),
        error_code: n.is_multiple_of(3).then(|| "NoPermission".into()),
        principal_chain: if n.is_multiple_of(5) {
            vec![
                format!("acs:ram::{a}:user/quinn"),
                format!("acs:ram::{a}:role/r/s{n}"),
            ]
        } else {
            Vec::new()
        },
        session_id: n.is_multiple_of(5).then(|| format!("s-{n}")),
        issued_session_id: None,
        acting_service: None,
    };
    let total = iam::AUDIT_BATCH * 2 + 7;
    for n in 0..total {
        store.queue_audit(event(n)).await.unwrap();
    }
    store.flush_audit().await;
    let filter = AuditFilter {
        account_id: a.clone(),
        limit: Some(1000),
        ..AuditFilter::default()
    };
    // Read through the harness's store: its own flush does not help here.
    let mut rows = h.store.list_audit(&filter).await.unwrap();
    assert_eq!(rows.len(), total);
    rows.reverse(); // oldest first
    for (n, row) in rows.iter().enumerate() {
        assert_eq!(*row, event(n));
    }

    // Queued just before closing: written by close.
    for n in total..total + 50 {
        store.queue_audit(event(n)).await.unwrap();
    }
    store.close().await;
    assert_eq!(h.store.list_audit(&filter).await.unwrap().len(), total + 50);
}

async fn audit_chain_of_a_session(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    let chain = vec![
        format!("acs:ram::{a}:user/alice"),
        format!("acs:ram::{a}:role/x/one"),
        format!("acs:ram::{a}:role/y/two"),
    ];
    let event = AuditEvent {
        request_id: "chained".into(),
        time: Timestamp(1000),
        account_id: a.clone(),
        principal_arn: format!("acs:ram::{a}:role/y/two"),
        action: "sts:GetCallerIdentity".into(),
        resource: String::new(),
        decision: "NotEvaluated".into(),
        deciding_statement: None,
        source_ip: None,
        error_code: None,
        principal_chain: chain.clone(),
        session_id: Some("sess-two".into()),
        issued_session_id: None,
        acting_service: None,
    };
    s.record_audit(&event).await.unwrap();
    let mut issued = event.clone();
    issued.request_id = "issuing".into();
    issued.time = Timestamp(900);
    issued.principal_chain = Vec::new();
    issued.session_id = None;
    issued.issued_session_id = Some("sess-one".into());
    s.record_audit(&issued).await.unwrap();
    let all = s
        .list_audit(&AuditFilter {
            account_id: a.clone(),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(all, vec![event, issued]);
    assert_eq!(all[0].principal_chain, chain);
}

async fn credentials_uris(h: &Harness) {
    let s = &h.store;
    let a = account(h).await;
    let b = account(h).await;
    s.create_role(
        &a,
        &CreateRole {
            name: "Builder".into(),
            trust_policy: trust(&a),
            max_session_duration: Some(7200),
            ..CreateRole::default()
        },
    )
    .await
    .unwrap();
    let made = s
        .create_credentials_uri(
            &a,
            &iam::CreateCredentialsUri {
                role_name: "builder".into(),
                ..iam::CreateCredentialsUri::default()
            },
        )
        .await
        .unwrap();
    let binding = made.binding.clone();
    assert!(binding.binding_id.starts_with("cu-"));
    assert_eq!(binding.role_name, "Builder", "the role's own spelling");
    assert_eq!(binding.session_name, format!("uri-{}", binding.binding_id));
    assert_eq!(binding.duration_seconds, 3600);
    assert!(made.secret.expose().len() >= 40);
    assert!(!format!("{made:?}").contains(made.secret.expose()));

    let opened = s
        .open_credentials_uri(&binding.binding_id, made.secret.expose())
        .await
        .unwrap();
    assert_eq!(opened, Some(binding.clone()));
    let wrong = made.secret.expose().replacen(|_| true, "#", 1);
    assert_eq!(
        s.open_credentials_uri(&binding.binding_id, &wrong)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.open_credentials_uri("cu-nothing", made.secret.expose())
            .await
            .unwrap(),
        None
    );
    // Only a digest is stored.
    let raw = h.raw().await;
    let stored: String =
        sqlx::query("SELECT secret_sha256 FROM credential_uris WHERE binding_id = $1")
            .bind(&binding.binding_id)
            .fetch_one(&raw)
            .await
            .unwrap()
            .get(0);
    assert_eq!(stored.len(), 64);
    assert!(!stored.contains(made.secret.expose()));
    raw.close().await;

    let named = s
        .create_credentials_uri(
            &a,
            &iam::CreateCredentialsUri {
                role_name: "Builder".into(),
                session_name: Some("ci@runner-1".into()),
                duration_seconds: Some(900),
            },
        )
        .await
        .unwrap();
    assert_eq!(named.binding.session_name, "ci@runner-1");
    assert_eq!(named.binding.duration_seconds, 900);
    let mut listed: Vec<_> = s
        .list_credentials_uris(&a)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.binding_id)
        .collect();
    listed.sort();
    let mut expected = vec![binding.binding_id.clone(), named.binding.binding_id.clone()];
    expected.sort();
    assert_eq!(listed, expected);
    assert!(s.list_credentials_uris(&b).await.unwrap().is_empty());

    // Refusals.
    let refused =
        |role: &str, session: Option<&str>, duration: Option<i64>| iam::CreateCredentialsUri {
            role_name: role.into(),
            session_name: session.map(str::to_string),
            duration_seconds: duration,
        };
    assert_eq!(
        code(
            s.create_credentials_uri(&a, &refused("nobody", None, None))
                .await
        ),
        "EntityNotExist.Role"
    );
    assert_eq!(
        code(
            s.create_credentials_uri(&b, &refused("builder", None, None))
                .await
        ),
        "EntityNotExist.Role"
    );
    assert_eq!(
        code(
            s.create_credentials_uri(&a, &refused("builder", Some("a b"), None))
                .await
        ),
        "InvalidParameter.RoleSessionName.InvalidChars"
    );
    assert_eq!(
        code(
            s.create_credentials_uri(&a, &refused("builder", None, Some(899)))
                .await
        ),
        "InvalidParameter.DurationSeconds.Range"
    );

    // Deleting: only in its own account, then gone.
    assert_eq!(
        code(s.delete_credentials_uri(&b, &binding.binding_id).await),
        "EntityNotExist.CredentialsUri"
    );
    s.delete_credentials_uri(&a, &binding.binding_id)
        .await
        .unwrap();
    assert_eq!(
        s.open_credentials_uri(&binding.binding_id, made.secret.expose())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        code(s.delete_credentials_uri(&a, &binding.binding_id).await),
        "EntityNotExist.CredentialsUri"
    );
}
