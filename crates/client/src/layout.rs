//! The OCI image layout on disk: `oci-layout`, `index.json`,
//! `blobs/ALGORITHM/HEX` (image-spec `image-layout.md`), as skopeo's
//! `oci:DIR:NAME` reads and writes it.
//!
//! Blobs are written to a temporary file beside their final place, hashed
//! as they are written, and renamed only once their digest and size are
//! right; `index.json` is replaced atomically too.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::manifest::{Descriptor, Index, REF_NAME};
use crate::{Digest, Error, Hasher};

/// The content of `oci-layout`.
const LAYOUT_VERSION: &str = "1.0.0";

/// An OCI image layout folder.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// Opens `root`, making it (and `oci-layout`) when missing. An existing
    /// `oci-layout` must say version 1.0.0.
    pub async fn create(root: &Path) -> Result<Layout, Error> {
        tokio::fs::create_dir_all(root.join("blobs"))
            .await
            .map_err(Error::io(root))?;
        let layout = Layout {
            root: root.to_owned(),
        };
        let marker = root.join("oci-layout");
        if tokio::fs::try_exists(&marker)
            .await
            .map_err(Error::io(&marker))?
        {
            layout.check_marker().await?;
        } else {
            let text = serde_json::json!({ "imageLayoutVersion": LAYOUT_VERSION }).to_string();
            write_atomic(&marker, text.as_bytes()).await?;
        }
        Ok(layout)
    }

    /// Opens an existing layout.
    pub async fn open(root: &Path) -> Result<Layout, Error> {
        let layout = Layout {
            root: root.to_owned(),
        };
        layout.check_marker().await?;
        Ok(layout)
    }

    async fn check_marker(&self) -> Result<(), Error> {
        let marker = self.root.join("oci-layout");
        let text = tokio::fs::read(&marker).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::layout(&self.root, "not an OCI image layout (no oci-layout file)")
            } else {
                Error::Io {
                    path: marker.clone(),
                    source: e,
                }
            }
        })?;
        let value: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| Error::layout(&marker, format!("not JSON: {e}")))?;
        match value
            .get("imageLayoutVersion")
            .and_then(serde_json::Value::as_str)
        {
            Some(LAYOUT_VERSION) => Ok(()),
            other => Err(Error::layout(
                &marker,
                format!("imageLayoutVersion {other:?} is not {LAYOUT_VERSION:?}"),
            )),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `blobs/ALGORITHM/HEX`.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    }

    /// `index.json`; an empty index when there is none yet.
    pub async fn read_index(&self) -> Result<Index, Error> {
        let path = self.root.join("index.json");
        match tokio::fs::read(&path).await {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::layout(&path, format!("does not parse: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index::empty()),
            Err(e) => Err(Error::Io { path, source: e }),
        }
    }

    /// Adds `descriptor` to `index.json` under `ref_name`, replacing an
    /// entry of the same name.
    pub async fn add_manifest(
        &self,
        mut descriptor: Descriptor,
        ref_name: &str,
    ) -> Result<(), Error> {
        let mut index = self.read_index().await?;
        index.manifests.retain(|d| d.ref_name() != Some(ref_name));
        descriptor
            .annotations
            .insert(REF_NAME.to_owned(), ref_name.to_owned());
        index.manifests.push(descriptor);
        let text = serde_json::to_vec_pretty(&index)
            .map_err(|e| Error::Protocol(format!("index.json: {e}")))?;
        write_atomic(&self.root.join("index.json"), &text).await
    }

    /// The manifest to push: the entry named `name` (the ref name
    /// annotation); without a name, the only entry, or the one named
    /// `fallback`.
    pub async fn select(&self, name: Option<&str>, fallback: &str) -> Result<Descriptor, Error> {
        let index = self.read_index().await?;
        let names = || {
            index
                .manifests
                .iter()
                .map(|d| d.ref_name().unwrap_or("(unnamed)"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let named = |n: &str| index.manifests.iter().find(|d| d.ref_name() == Some(n));
        let found = match name {
            Some(n) => named(n).ok_or_else(|| {
                Error::layout(
                    &self.root,
                    format!("no image named {n:?} in index.json (it has: {})", names()),
                )
            })?,
            None => match index.manifests.as_slice() {
                [] => return Err(Error::layout(&self.root, "index.json lists no image")),
                [only] => only,
                _ => named(fallback).ok_or_else(|| {
                    Error::layout(
                        &self.root,
                        format!(
                            "index.json lists several images ({}); name one with --tag",
                            names()
                        ),
                    )
                })?,
            },
        };
        Ok(found.clone())
    }

    /// Whether the blob is present with the right size and digest.
    pub async fn has_blob(&self, descriptor: &Descriptor) -> Result<bool, Error> {
        let path = self.blob_path(&descriptor.digest);
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.len() == descriptor.size => {}
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::Io { path, source: e }),
        }
        let actual = hash_file(&path, descriptor.digest.algorithm()).await?;
        Ok(actual == descriptor.digest)
    }

    /// Reads a small blob whole (a manifest, a config), checking its size
    /// and digest.
    pub async fn read_blob(&self, descriptor: &Descriptor, limit: u64) -> Result<Vec<u8>, Error> {
        if descriptor.size > limit {
            return Err(Error::layout(
                &self.root,
                format!(
                    "{} is {} bytes, more than {limit}",
                    descriptor.digest, descriptor.size
                ),
            ));
        }
        let path = self.blob_path(&descriptor.digest);
        let bytes = tokio::fs::read(&path).await.map_err(Error::io(&path))?;
        let what = path.display().to_string();
        check_size(&what, descriptor.size, bytes.len() as u64)?;
        descriptor.digest.verify(&what, &bytes)?;
        Ok(bytes)
    }

    /// Writes a small blob whole, checking its digest first.
    pub async fn write_blob(&self, digest: &Digest, bytes: &[u8]) -> Result<(), Error> {
        digest.verify(&digest.to_string(), bytes)?;
        let path = self.blob_path(digest);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(Error::io(parent))?;
        }
        write_atomic(&path, bytes).await
    }

    /// Starts writing the blob `descriptor` names; bytes are hashed as
    /// they come and the blob appears only when [`BlobWriter::commit`]
    /// finds them right.
    pub async fn blob_writer(&self, descriptor: &Descriptor) -> Result<BlobWriter, Error> {
        let path = self.blob_path(&descriptor.digest);
        let parent = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.root.clone());
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(Error::io(&parent))?;
        let temp = parent.join(format!(
            ".{}.{}.partial",
            descriptor.digest.hex(),
            std::process::id()
        ));
        let file = tokio::fs::File::create(&temp)
            .await
            .map_err(Error::io(&temp))?;
        Ok(BlobWriter {
            file: Some(file),
            temp,
            path,
            hasher: Some(Hasher::new(descriptor.digest.algorithm())),
            expected: descriptor.digest.clone(),
            size: descriptor.size,
            written: 0,
        })
    }
}

/// A blob being written; removed unless committed.
pub struct BlobWriter {
    file: Option<tokio::fs::File>,
    temp: PathBuf,
    path: PathBuf,
    hasher: Option<Hasher>,
    expected: Digest,
    size: u64,
    written: u64,
}

impl BlobWriter {
    /// Appends bytes; more than the descriptor's size is an error at once.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let written = self.written.saturating_add(bytes.len() as u64);
        if written > self.size {
            return Err(Error::SizeMismatch {
                what: self.expected.to_string(),
                expected: self.size,
                actual: written,
            });
        }
        if let Some(hasher) = &mut self.hasher {
            hasher.update(bytes);
        }
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| Error::Protocol("write after commit".into()))?;
        file.write_all(bytes).await.map_err(Error::io(&self.temp))?;
        self.written = written;
        Ok(())
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    /// Checks size and digest, syncs, and renames into place.
    pub async fn commit(mut self) -> Result<(), Error> {
        let what = self.expected.to_string();
        check_size(&what, self.size, self.written)?;
        let actual = self
            .hasher
            .take()
            .map(Hasher::finish)
            .ok_or_else(|| Error::Protocol("commit twice".into()))?;
        if actual != self.expected {
            return Err(Error::DigestMismatch {
                what,
                expected: self.expected.to_string(),
                actual: actual.to_string(),
            });
        }
        if let Some(mut file) = self.file.take() {
            file.flush().await.map_err(Error::io(&self.temp))?;
            file.sync_all().await.map_err(Error::io(&self.temp))?;
        }
        tokio::fs::rename(&self.temp, &self.path)
            .await
            .map_err(Error::io(&self.path))?;
        Ok(())
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // Not committed (or the rename failed): nothing half-written stays.
        if self.hasher.is_some() || self.file.is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

fn check_size(what: &str, expected: u64, actual: u64) -> Result<(), Error> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::SizeMismatch {
            what: what.to_owned(),
            expected,
            actual,
        })
    }
}

/// The digest of a file's content.
pub(crate) async fn hash_file(path: &Path, algorithm: crate::Algorithm) -> Result<Digest, Error> {
    let mut file = tokio::fs::File::open(path).await.map_err(Error::io(path))?;
    let mut hasher = Hasher::new(algorithm);
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buffer).await.map_err(Error::io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(buffer.get(..n).unwrap_or_default());
    }
    Ok(hasher.finish())
}

async fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = tokio::fs::File::create(&temp)
        .await
        .map_err(Error::io(&temp))?;
    let written = async {
        file.write_all(bytes).await?;
        file.sync_all().await
    }
    .await;
    if let Err(e) = written {
        let _ = tokio::fs::remove_file(&temp).await;
        return Err(Error::Io {
            path: temp,
            source: e,
        });
    }
    tokio::fs::rename(&temp, path)
        .await
        .map_err(Error::io(path))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::manifest::OCI_MANIFEST;
    use crate::Algorithm;

    fn descriptor(bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: OCI_MANIFEST.to_owned(),
            digest: Digest::of(Algorithm::Sha256, bytes),
            size: bytes.len() as u64,
            platform: None,
            annotations: Default::default(),
            other: Default::default(),
        }
    }

    #[tokio::test]
    async fn writes_and_reads_a_layout() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::create(dir.path()).await.unwrap();
        let marker: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("oci-layout")).unwrap()).unwrap();
        assert_eq!(marker["imageLayoutVersion"], "1.0.0");

        let a = descriptor(b"manifest a");
        let b = descriptor(b"manifest b");
        layout.write_blob(&a.digest, b"manifest a").await.unwrap();
        layout.write_blob(&b.digest, b"manifest b").await.unwrap();
        assert!(layout.write_blob(&a.digest, b"other").await.is_err());
        layout.add_manifest(a.clone(), "v1").await.unwrap();
        layout.add_manifest(b.clone(), "v2").await.unwrap();
        // Same name again: replaced, not added.
        layout.add_manifest(b.clone(), "v1").await.unwrap();

        let layout = Layout::open(dir.path()).await.unwrap();
        let index = layout.read_index().await.unwrap();
        assert_eq!(index.manifests.len(), 2);
        assert_eq!(
            index
                .manifests
                .iter()
                .filter_map(|d| d.ref_name())
                .collect::<Vec<_>>(),
            vec!["v2", "v1"]
        );
        assert_eq!(
            layout.select(Some("v1"), "x").await.unwrap().digest,
            b.digest
        );
        assert!(layout.select(None, "nope").await.is_err());
        assert_eq!(layout.select(None, "v2").await.unwrap().digest, b.digest);
        assert!(layout
            .select(Some("v3"), "x")
            .await
            .unwrap_err()
            .to_string()
            .contains("v2, v1"));
        assert_eq!(layout.read_blob(&a, 1024).await.unwrap(), b"manifest a");
        assert!(layout.has_blob(&a).await.unwrap());
        assert!(dir
            .path()
            .join("blobs/sha256")
            .join(a.digest.hex())
            .is_file());
    }

    #[tokio::test]
    async fn a_blob_writer_commits_only_right_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::create(dir.path()).await.unwrap();
        let good = descriptor(b"hello world");

        let mut w = layout.blob_writer(&good).await.unwrap();
        w.write(b"hello ").await.unwrap();
        w.write(b"world").await.unwrap();
        w.commit().await.unwrap();
        assert!(layout.has_blob(&good).await.unwrap());

        let wrong = descriptor(b"hello there");
        let mut w = layout.blob_writer(&wrong).await.unwrap();
        w.write(b"hello world").await.unwrap();
        assert!(matches!(
            w.commit().await,
            Err(Error::DigestMismatch { .. })
        ));
        assert!(!layout.has_blob(&wrong).await.unwrap());

        let mut w = layout.blob_writer(&wrong).await.unwrap();
        assert!(matches!(
            w.write(b"hello there, and more").await,
            Err(Error::SizeMismatch { .. })
        ));
        drop(w);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".partial"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");

        // A corrupt file on disk is not "present".
        std::fs::write(layout.blob_path(&good.digest), b"hello WORLD").unwrap();
        assert!(!layout.has_blob(&good).await.unwrap());
        assert!(matches!(
            layout.read_blob(&good, 1024).await,
            Err(Error::DigestMismatch { .. })
        ));
    }

    #[tokio::test]
    async fn open_refuses_a_folder_that_is_not_a_layout() {
        let dir = tempfile::tempdir().unwrap();
        let err = Layout::open(dir.path()).await.unwrap_err();
        assert!(err.to_string().contains("not an OCI image layout"), "{err}");
        std::fs::write(
            dir.path().join("oci-layout"),
            r#"{"imageLayoutVersion":"2.0.0"}"#,
        )
        .unwrap();
        assert!(Layout::open(dir.path()).await.is_err());
    }
}
