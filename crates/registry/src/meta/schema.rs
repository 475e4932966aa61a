//! The registry's tables, as numbered migrations in their own
//! `registry_schema_migrations` table. They live in the same database as
//! the RAM store (the instance and namespace rows reference its
//! `accounts`), with the same rules: TEXT and BIGINT columns only, ids made
//! by the application, times as epoch seconds, one text for SQLite and
//! PostgreSQL. Migrations are append-only.
//!
//! Control plane (instances, host names, namespaces, repositories, login
//! passwords, endpoint ACLs) is what ACR's OpenAPI manages; content
//! (manifests, tags, blob links, upload sessions) is what OCI clients
//! write. Content rows are keyed by `repo_id`, so renaming nothing and
//! deleting a repository is one `repo_id` sweep.

pub(crate) const SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS registry_schema_migrations (
    version BIGINT NOT NULL PRIMARY KEY,
    applied_at BIGINT NOT NULL
)";

const V1: &[&str] = &[
    // An account's registry instance (`cri-…`). Its default host name is
    // derived from (name, region), so that pair is unique.
    "CREATE TABLE cr_instances (
        instance_id TEXT NOT NULL PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts (account_id),
        name TEXT NOT NULL,
        region TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        UNIQUE (region, name)
    )",
    "CREATE INDEX cr_instances_by_account ON cr_instances (account_id)",
    // Every host name an instance answers to (lower-case, no port):
    // kind `default`, `vpc` or `custom`.
    "CREATE TABLE cr_domains (
        domain TEXT NOT NULL PRIMARY KEY,
        instance_id TEXT NOT NULL REFERENCES cr_instances (instance_id),
        kind TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )",
    "CREATE INDEX cr_domains_by_instance ON cr_domains (instance_id)",
    // Endpoint switches per instance and endpoint type (`internet`, `vpc`).
    // No row: enabled, ACL off.
    "CREATE TABLE cr_endpoints (
        instance_id TEXT NOT NULL REFERENCES cr_instances (instance_id),
        endpoint_type TEXT NOT NULL,
        enabled BIGINT NOT NULL,
        acl_enabled BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (instance_id, endpoint_type)
    )",
    // CIDR entries of an endpoint's ACL.
    "CREATE TABLE cr_endpoint_acl (
        instance_id TEXT NOT NULL REFERENCES cr_instances (instance_id),
        endpoint_type TEXT NOT NULL,
        entry TEXT NOT NULL,
        comment TEXT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (instance_id, endpoint_type, entry)
    )",
    "CREATE TABLE cr_namespaces (
        instance_id TEXT NOT NULL REFERENCES cr_instances (instance_id),
        name TEXT NOT NULL,
        namespace_id TEXT NOT NULL UNIQUE,
        auto_create_repo BIGINT NOT NULL,
        default_repo_type TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (instance_id, name)
    )",
    // `repo_type` is `PRIVATE` or `PUBLIC`.
    "CREATE TABLE cr_repositories (
        repo_id TEXT NOT NULL PRIMARY KEY,
        instance_id TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        repo_type TEXT NOT NULL,
        summary TEXT NOT NULL,
        detail TEXT NOT NULL,
        tag_immutability BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        UNIQUE (instance_id, namespace, name),
        FOREIGN KEY (instance_id, namespace) REFERENCES cr_namespaces (instance_id, name)
    )",
    // A principal's fixed registry password for one instance
    // (`ResetLoginPassword`): `principal` is `root` or the RAM user id.
    // The password is kept as a salted, slow hash, never recoverable.
    "CREATE TABLE cr_login_passwords (
        instance_id TEXT NOT NULL REFERENCES cr_instances (instance_id),
        account_id TEXT NOT NULL,
        principal TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (instance_id, principal)
    )",
    // A manifest stored in a repository. Its bytes are a blob in the blob
    // store under `digest`. `subject` is the digest it refers to (referrers
    // API); `artifact_type` is what the referrers listing shows.
    "CREATE TABLE cr_manifests (
        repo_id TEXT NOT NULL REFERENCES cr_repositories (repo_id),
        digest TEXT NOT NULL,
        media_type TEXT NOT NULL,
        artifact_type TEXT,
        subject TEXT,
        size BIGINT NOT NULL,
        annotations TEXT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (repo_id, digest)
    )",
    "CREATE INDEX cr_manifests_by_subject ON cr_manifests (repo_id, subject)",
    // What a manifest names: its config and layers (`blob`) or, for an
    // index, its child manifests (`manifest`). Garbage collection keeps
    // every blob named here.
    "CREATE TABLE cr_manifest_refs (
        repo_id TEXT NOT NULL,
        manifest_digest TEXT NOT NULL,
        child_digest TEXT NOT NULL,
        child_kind TEXT NOT NULL,
        PRIMARY KEY (repo_id, manifest_digest, child_digest),
        FOREIGN KEY (repo_id, manifest_digest) REFERENCES cr_manifests (repo_id, digest)
    )",
    "CREATE INDEX cr_manifest_refs_by_child ON cr_manifest_refs (child_digest)",
    "CREATE TABLE cr_tags (
        repo_id TEXT NOT NULL REFERENCES cr_repositories (repo_id),
        tag TEXT NOT NULL,
        digest TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (repo_id, tag)
    )",
    "CREATE INDEX cr_tags_by_digest ON cr_tags (repo_id, digest)",
    // A blob made visible in a repository (pushed or mounted). The blob
    // store is shared; only a link lets a repository serve a blob.
    "CREATE TABLE cr_repo_blobs (
        repo_id TEXT NOT NULL REFERENCES cr_repositories (repo_id),
        digest TEXT NOT NULL,
        size BIGINT NOT NULL,
        linked_at BIGINT NOT NULL,
        PRIMARY KEY (repo_id, digest)
    )",
    "CREATE INDEX cr_repo_blobs_by_digest ON cr_repo_blobs (digest)",
    // An upload session (its bytes are on disk in the blob store) and the
    // repository it was opened in.
    "CREATE TABLE cr_uploads (
        upload_id TEXT NOT NULL PRIMARY KEY,
        repo_id TEXT NOT NULL REFERENCES cr_repositories (repo_id),
        started_at BIGINT NOT NULL
    )",
];

/// Every migration, in order.
pub(crate) const MIGRATIONS: &[(i64, &[&str])] = &[(1, V1)];
