//! The content store (`meta::content`) on SQLite, and on PostgreSQL when
//! `RAMPART_TEST_POSTGRES_URL` is set (each run in a fresh schema,
//! dropped afterwards), e.g.
//! `RAMPART_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p rampart-registry`.
//! The full push/pull path over HTTP runs on both too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{create_repo, sha256, Database, Server, NS, OCI_MANIFEST};
use registry::meta::{ContentError, NewManifest};
use registry::oci::Limits;
use registry::Digest;

async fn engines() -> Vec<Database> {
    let mut all = vec![Database::sqlite().await];
    if let Some(pg) = Database::postgres().await {
        all.push(pg);
    }
    all
}

fn manifest<'a>(
    digest: &'a Digest,
    blobs: &'a [Digest],
    subject: Option<&'a Digest>,
) -> NewManifest<'a> {
    NewManifest {
        digest,
        media_type: OCI_MANIFEST,
        size: 100,
        artifact_type: Some("application/vnd.example"),
        subject,
        annotations: Some(r#"{"a":"b"}"#),
        blobs,
        children: &[],
    }
}

#[tokio::test]
async fn content_store() {
    for database in engines().await {
        let db = &database.db;
        let engine = if database.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        };
        let repo = create_repo(db, &database.instance_id, NS, "app", false).await;
        let layer = sha256(b"layer");
        let config = sha256(b"config");
        let m1 = sha256(b"m1");
        let blobs = [config.clone(), layer.clone()];

        // Blobs missing: refused, nothing written.
        db.link_blob(&repo, &config, 6).await.unwrap();
        match db
            .put_manifest(&repo, &manifest(&m1, &blobs, None), Some("v1"))
            .await
        {
            Err(ContentError::BlobsUnknown(missing)) => {
                assert_eq!(missing, vec![layer.to_string()], "{engine}")
            }
            other => panic!("{engine}: {other:?}"),
        }
        assert_eq!(db.manifest_by_digest(&repo, &m1).await.unwrap(), None);
        assert_eq!(db.manifest_by_tag(&repo, "v1").await.unwrap(), None);

        db.link_blob(&repo, &layer, 5).await.unwrap();
        db.link_blob(&repo, &layer, 5).await.unwrap();
        assert_eq!(db.blob_size(&repo, &layer).await.unwrap(), Some(5));
        db.put_manifest(&repo, &manifest(&m1, &blobs, None), Some("v1"))
            .await
            .unwrap();
        // Idempotent.
        db.put_manifest(&repo, &manifest(&m1, &blobs, None), Some("v1"))
            .await
            .unwrap();
        let row = db.manifest_by_tag(&repo, "v1").await.unwrap().unwrap();
        assert_eq!(row.digest, m1.to_string());
        assert_eq!(row.size, 100);
        assert_eq!(db.blob_size(&repo, &m1).await.unwrap(), Some(100));

        // Tags in byte order, paged.
        for tag in ["b", "B", "a-1", "a.1", "A"] {
            db.put_manifest(&repo, &manifest(&m1, &blobs, None), Some(tag))
                .await
                .unwrap();
        }
        let tags = db.list_tags(&repo, 100, None).await.unwrap();
        assert_eq!(tags, ["A", "B", "a-1", "a.1", "b", "v1"], "{engine}");
        let page = db.list_tags(&repo, 2, Some("B")).await.unwrap();
        assert_eq!(page, ["a-1", "a.1"], "{engine}");

        // Referrers.
        let r1 = sha256(b"r1");
        db.put_manifest(&repo, &manifest(&r1, &blobs, Some(&m1)), None)
            .await
            .unwrap();
        let refs = db.referrers(&repo, &m1, None).await.unwrap();
        assert_eq!(refs.len(), 1);
        assert_eq!(
            refs[0].artifact_type.as_deref(),
            Some("application/vnd.example")
        );
        assert_eq!(refs[0].annotations.as_deref(), Some(r#"{"a":"b"}"#));
        assert!(db
            .referrers(&repo, &m1, Some("other/type"))
            .await
            .unwrap()
            .is_empty());

        // Delete: tag, then manifest (its tags and refs with it).
        assert!(db.delete_tag(&repo, "b").await.unwrap());
        assert!(!db.delete_tag(&repo, "b").await.unwrap());
        assert!(db.delete_manifest(&repo, &m1).await.unwrap());
        assert!(!db.delete_manifest(&repo, &m1).await.unwrap());
        assert!(db.list_tags(&repo, 100, None).await.unwrap().is_empty());
        assert!(db.unlink_blob(&repo, &layer).await.unwrap());
        assert!(!db.unlink_blob(&repo, &layer).await.unwrap());

        // Immutable tags.
        let frozen = create_repo(db, &database.instance_id, NS, "frozen", true).await;
        let only_config = [config.clone()];
        db.link_blob(&frozen, &config, 6).await.unwrap();
        let (a, b) = (sha256(b"a"), sha256(b"b"));
        db.put_manifest(&frozen, &manifest(&a, &only_config, None), Some("v1"))
            .await
            .unwrap();
        db.put_manifest(&frozen, &manifest(&a, &only_config, None), Some("v1"))
            .await
            .unwrap();
        assert!(matches!(
            db.put_manifest(&frozen, &manifest(&b, &only_config, None), Some("v1"))
                .await,
            Err(ContentError::TagImmutable { .. })
        ));
        assert_eq!(db.manifest_by_digest(&frozen, &b).await.unwrap(), None);

        // Upload sessions.
        db.bind_upload("u1", &repo).await.unwrap();
        assert_eq!(
            db.upload_repo("u1").await.unwrap().as_deref(),
            Some(repo.as_str())
        );
        db.complete_upload("u1", &repo, &layer, 5).await.unwrap();
        assert_eq!(db.upload_repo("u1").await.unwrap(), None);
        assert_eq!(db.blob_linked(&repo, &layer).await.unwrap(), Some(5));

        // Catalog.
        create_repo(db, &database.instance_id, "a-team", "x", false).await;
        let all = db.catalog(&database.instance_id, 10, None).await.unwrap();
        assert_eq!(all, ["a-team/x", "ns/app", "ns/frozen"], "{engine}");
        let page = db
            .catalog(&database.instance_id, 1, Some("a-team/x"))
            .await
            .unwrap();
        assert_eq!(page, ["ns/app"]);
    }
}

#[tokio::test]
async fn push_and_pull_on_every_engine() {
    for database in engines().await {
        let s = Server::on(database, Limits::default()).await;
        let (bytes, digest) = s.push_image("ns/app", "v1", b"a layer").await;
        let r = s
            .http
            .get(s.url("/v2/ns/app/manifests/v1"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap().to_vec(), bytes);
        let r = s
            .http
            .get(s.url("/v2/ns/app/tags/list"))
            .send()
            .await
            .unwrap();
        let tags: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        assert_eq!(tags["tags"], serde_json::json!(["v1"]));
        let r = s
            .http
            .delete(s.url(&format!("/v2/ns/app/manifests/{digest}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }
}

#[tokio::test]
async fn racing_first_pushes_into_a_new_repository_agree_on_one() {
    // Clients push layers in parallel; the first pushes into a repository
    // (and namespace) that does not exist yet race to create it.
    for database in engines().await {
        let db = database.db.clone();
        let instance = database.instance_id.clone();
        let namespace = common::unique("race");
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (db, instance, namespace) = (db.clone(), instance.clone(), namespace.clone());
            tasks.push(tokio::spawn(async move {
                registry::meta::repositories::repository_for_push(&db, &instance, &namespace, "app")
                    .await
            }));
        }
        let mut ids = std::collections::BTreeSet::new();
        for task in tasks {
            let repo = task.await.unwrap().unwrap().unwrap();
            ids.insert(repo.repo_id);
        }
        assert_eq!(ids.len(), 1, "one repository, whatever the race");
    }
}

#[tokio::test]
async fn racing_explicit_creations_are_already_exists_not_failures() {
    use registry::meta::control::{ControlError, Thing};
    use registry::meta::namespaces::{create_namespace, NamespaceSettings};
    for database in engines().await {
        let db = database.db.clone();
        let instance = database.instance_id.clone();
        let namespace = common::unique("twice");
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (db, instance, namespace) = (db.clone(), instance.clone(), namespace.clone());
            tasks.push(tokio::spawn(async move {
                create_namespace(&db, &instance, &namespace, NamespaceSettings::default()).await
            }));
        }
        let (mut made, mut exists) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => made += 1,
                Err(ControlError::AlreadyExists {
                    thing: Thing::Namespace,
                    ..
                }) => exists += 1,
                Err(other) => panic!("neither made nor already there: {other}"),
            }
        }
        assert_eq!((made, exists), (1, 5));
    }
}
