//! rampart's container registry: storage, metadata and the OCI
//! Distribution data plane.
//!
//! A registry stores blobs (image layers, configs, manifests) under the
//! digest of their content. Clients trust a digest to name exactly one
//! byte sequence, so the store has one rule above all others: **nothing
//! half-written is ever visible**. A reader who can see a blob under a
//! digest sees all of it, and its bytes hash to that digest.
//!
//! The local engine ([`storage::LocalStore`]) keeps that rule with the
//! classic write-verify-rename sequence:
//!
//! 1. bytes go to a fresh temporary file on the same filesystem as the
//!    blob folder, hashed while they are written;
//! 2. the file is fsynced, then its digest is compared with the one the
//!    client promised — a mismatch deletes the file and fails the write;
//! 3. the file is renamed to its content address (an atomic step on POSIX
//!    filesystems) and the directory is fsynced so the name survives a
//!    power cut.
//!
//! A crash before step 3 leaves only a temporary file, which no lookup
//! ever reads and which the next [`storage::LocalStore::open`] sweeps
//! away. Because the name is the hash of the content, two writers of the
//! same blob race harmlessly: whichever rename lands last replaces a file
//! with an identical one.
//!
//! Chunked uploads (the OCI `POST`/`PATCH`/`PUT` sequence) live on disk as
//! sessions under `uploads/<id>/`, so a restart does not lose them; they
//! become blobs through the same verify-then-rename step. Digests and
//! upload ids are parsed into types that only admit lower-case hex before
//! any path is built from them, so neither can escape the store's root.
//!
//! On top of the store, [`oci`] serves the Distribution API (spec v1.1):
//! [`oci::router`] over an [`oci::Registry`] (gate, blob store, metadata
//! handle, limits). Every request is first checked against the grammars of
//! [`name`], then put to the [`gate::Gate`] — the identity plane — and only
//! then touches [`meta`] (the SQL, shared with the RAM store) and the
//! blobs. Errors reach the wire in one place, `oci::error`, as the OCI
//! error body. `crates/registry/README.md` lists every endpoint, the
//! access each asks, and the error mapping.
//!
//! | module | what it is |
//! |---|---|
//! | [`digest`] | `sha256:`/`sha512:` digests and a streaming hasher |
//! | [`name`] | repository names, tags, references |
//! | [`manifest`] | a pushed manifest: its kind, the blobs and manifests it names, subject, artifact type |
//! | [`storage`] | the `BlobStore` interface and the local engine |
//! | [`meta`] | the registry tables; [`meta::content`] is the data plane's SQL |
//! | [`gate`] | the contract between the data plane and the identity plane |
//! | [`oci`] | the HTTP data plane: state, router, handlers, error mapping |

// Tests may fail loudly; library code may not.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod digest;
pub mod gate;
pub mod gc;
pub mod manifest;
pub mod meta;
pub mod name;
pub mod oci;
pub mod storage;
pub mod token;

pub use digest::{Algorithm, Digest, DigestError, Hasher};
pub use storage::{BlobRead, BlobStore, LocalStore, LocalStoreOptions, StorageError, UploadId};
