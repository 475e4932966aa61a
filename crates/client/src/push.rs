//! `push`: an image of an OCI image layout into a repository.

use std::path::Path;

use bytes::Bytes;
use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, LOCATION};
use reqwest::{Method, Response, StatusCode, Url};
use tokio::io::AsyncReadExt as _;

use crate::http::{error_of, header_text, Request};
use crate::layout::Layout;
use crate::manifest::{self, Descriptor, ImageManifest, Parsed, MAX_MANIFEST_BYTES};
use crate::{Client, Digest, Error, Hasher, Progress, Reference};

/// Blobs up to this size go in one `POST ?digest=`; larger ones in
/// `PATCH` chunks of this size.
pub const CHUNK_BYTES: u64 = 8 * 1024 * 1024;

/// What to push beyond the reference.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// The image of the layout to push (its ref name annotation); without
    /// it, the only image, or the one named like the reference's tag.
    pub tag: Option<String>,
}

/// What a push did.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The digest of the pushed manifest (or index).
    pub manifest: Digest,
    pub media_type: String,
    pub blobs_uploaded: usize,
    pub bytes_uploaded: u64,
    /// Blobs the registry already had.
    pub blobs_present: usize,
}

/// Pushes the image of the layout at `input` to `reference` (its tag, or
/// `latest`; or its digest, which must then be the image's).
pub async fn push(
    client: &Client,
    input: &Path,
    reference: &Reference,
    options: &PushOptions,
    progress: &dyn Progress,
) -> Result<Pushed, Error> {
    let layout = Layout::open(input).await?;
    let top = layout
        .select(options.tag.as_deref(), reference.tag_or_latest())
        .await?;
    if let Some(wanted) = &reference.digest {
        if wanted != &top.digest {
            return Err(Error::DigestMismatch {
                what: format!("the image of {}", input.display()),
                expected: wanted.to_string(),
                actual: top.digest.to_string(),
            });
        }
    }
    let scope = format!("repository:{}:pull,push", reference.repository);
    let pusher = Pusher {
        client,
        scope: &scope,
        repository: &reference.repository,
        layout: &layout,
        progress,
    };
    let mut pushed = Pushed {
        manifest: top.digest.clone(),
        media_type: String::new(),
        blobs_uploaded: 0,
        bytes_uploaded: 0,
        blobs_present: 0,
    };
    let bytes = layout.read_blob(&top, MAX_MANIFEST_BYTES as u64).await?;
    let (media_type, parsed) = manifest::parse(Some(&top.media_type), &bytes)?;
    match parsed {
        Parsed::Image(image) => pusher.push_blobs(&image, &mut pushed).await?,
        Parsed::Index(index) => {
            // Every platform's manifest first, by digest.
            for child in &index.manifests {
                let child_bytes = layout.read_blob(child, MAX_MANIFEST_BYTES as u64).await?;
                let (child_type, child_parsed) =
                    manifest::parse(Some(&child.media_type), &child_bytes)?;
                let Parsed::Image(image) = child_parsed else {
                    return Err(Error::layout(
                        input,
                        format!(
                            "{} is an index inside an index; not supported",
                            child.digest
                        ),
                    ));
                };
                pusher.push_blobs(&image, &mut pushed).await?;
                pusher
                    .put_manifest(
                        &child.digest.to_string(),
                        &child_type,
                        child_bytes,
                        &child.digest,
                    )
                    .await?;
            }
        }
    }
    let target = reference.manifest_reference();
    pusher
        .put_manifest(&target, &media_type, bytes, &top.digest)
        .await?;
    pushed.media_type = media_type;
    Ok(pushed)
}

struct Pusher<'a> {
    client: &'a Client,
    scope: &'a str,
    repository: &'a str,
    layout: &'a Layout,
    progress: &'a dyn Progress,
}

impl Pusher<'_> {
    async fn push_blobs(&self, image: &ImageManifest, pushed: &mut Pushed) -> Result<(), Error> {
        for blob in image.blobs() {
            if self.upload(blob).await? {
                pushed.blobs_uploaded = pushed.blobs_uploaded.saturating_add(1);
                pushed.bytes_uploaded = pushed.bytes_uploaded.saturating_add(blob.size);
            } else {
                pushed.blobs_present = pushed.blobs_present.saturating_add(1);
            }
        }
        Ok(())
    }

    async fn send(&self, request: Request) -> Result<Response, Error> {
        self.client.send(self.scope, request).await
    }

    /// Uploads one blob unless the repository has it; true when it moved.
    async fn upload(&self, blob: &Descriptor) -> Result<bool, Error> {
        let blob_url = self
            .client
            .url(&format!("/v2/{}/blobs/{}", self.repository, blob.digest))?;
        let head = self.send(Request::new(Method::HEAD, blob_url)).await?;
        match head.status() {
            StatusCode::OK => {
                self.progress.blob_finished(&blob.digest, true);
                return Ok(false);
            }
            StatusCode::NOT_FOUND => {}
            _ => return Err(error_of(head).await),
        }
        let path = self.layout.blob_path(&blob.digest);
        let size = tokio::fs::metadata(&path)
            .await
            .map_err(Error::io(&path))?
            .len();
        if size != blob.size {
            return Err(Error::SizeMismatch {
                what: path.display().to_string(),
                expected: blob.size,
                actual: size,
            });
        }
        self.progress
            .blob_started(&blob.digest, blob.size, "pushing");
        let uploads = self
            .client
            .url(&format!("/v2/{}/blobs/uploads/", self.repository))?;
        if size <= CHUNK_BYTES {
            let bytes = tokio::fs::read(&path).await.map_err(Error::io(&path))?;
            blob.digest.verify(&path.display().to_string(), &bytes)?;
            let body = Bytes::from(bytes);
            let monolithic = with_digest(uploads, &blob.digest);
            let response = self
                .send(octets(Request::new(Method::POST, monolithic)).body(body.clone()))
                .await?;
            match response.status() {
                StatusCode::CREATED => {}
                // No monolithic upload here: a session was opened instead.
                StatusCode::ACCEPTED => {
                    let put = with_digest(self.location(&response)?, &blob.digest);
                    let done = self
                        .send(octets(Request::new(Method::PUT, put)).body(body))
                        .await?;
                    if done.status() != StatusCode::CREATED {
                        return Err(error_of(done).await);
                    }
                }
                _ => return Err(error_of(response).await),
            }
            self.progress.blob_advanced(&blob.digest, size);
        } else {
            self.chunked(blob, &path, uploads).await?;
        }
        self.progress.blob_finished(&blob.digest, false);
        Ok(true)
    }

    /// `POST`, `PATCH` chunks, `PUT ?digest=`, hashing the file as it is
    /// read: a layout whose blob does not match its name is not pushed.
    async fn chunked(&self, blob: &Descriptor, path: &Path, uploads: Url) -> Result<(), Error> {
        let started = self.send(Request::new(Method::POST, uploads)).await?;
        if started.status() != StatusCode::ACCEPTED {
            return Err(error_of(started).await);
        }
        let mut location = self.location(&started)?;
        let mut file = tokio::fs::File::open(path).await.map_err(Error::io(path))?;
        let mut hasher = Hasher::new(blob.digest.algorithm());
        let mut offset: u64 = 0;
        let chunk_len = usize::try_from(CHUNK_BYTES).unwrap_or(8 * 1024 * 1024);
        loop {
            let mut chunk = Vec::with_capacity(chunk_len);
            let read = (&mut file)
                .take(CHUNK_BYTES)
                .read_to_end(&mut chunk)
                .await
                .map_err(Error::io(path))?;
            if read == 0 {
                break;
            }
            hasher.update(&chunk);
            let end = offset.saturating_add(read as u64);
            let range = format!("{offset}-{}", end.saturating_sub(1));
            let response = self
                .send(
                    octets(Request::new(Method::PATCH, location.clone()))
                        .header(CONTENT_RANGE, range)
                        .body(Bytes::from(chunk)),
                )
                .await?;
            if response.status() != StatusCode::ACCEPTED {
                return Err(error_of(response).await);
            }
            location = self.location(&response)?;
            offset = end;
            self.progress.blob_advanced(&blob.digest, offset);
        }
        let actual = hasher.finish();
        if actual != blob.digest || offset != blob.size {
            // Leave no session behind; the error is what matters.
            let _ = self.send(Request::new(Method::DELETE, location)).await;
            return Err(Error::DigestMismatch {
                what: path.display().to_string(),
                expected: blob.digest.to_string(),
                actual: actual.to_string(),
            });
        }
        let done = self
            .send(Request::new(
                Method::PUT,
                with_digest(location, &blob.digest),
            ))
            .await?;
        if done.status() != StatusCode::CREATED {
            return Err(error_of(done).await);
        }
        Ok(())
    }

    fn location(&self, response: &Response) -> Result<Url, Error> {
        let location = header_text(response, LOCATION)
            .ok_or_else(|| Error::Protocol("the upload answer has no Location".into()))?;
        self.client.resolve(&location)
    }

    /// PUTs a manifest; the registry's `Docker-Content-Digest` must be
    /// ours.
    async fn put_manifest(
        &self,
        target: &str,
        media_type: &str,
        bytes: Vec<u8>,
        digest: &Digest,
    ) -> Result<(), Error> {
        let url = self
            .client
            .url(&format!("/v2/{}/manifests/{target}", self.repository))?;
        let response = self
            .send(
                Request::new(Method::PUT, url)
                    .header(CONTENT_TYPE, media_type)
                    .body(Bytes::from(bytes)),
            )
            .await?;
        if response.status() != StatusCode::CREATED {
            return Err(error_of(response).await);
        }
        let stored = header_text(
            &response,
            reqwest::header::HeaderName::from_static("docker-content-digest"),
        );
        if let Some(stored) = stored {
            if let Ok(stored) = Digest::parse(&stored) {
                if stored.algorithm() == digest.algorithm() && &stored != digest {
                    return Err(Error::DigestMismatch {
                        what: format!("manifest {} as the registry stored it", self.repository),
                        expected: digest.to_string(),
                        actual: stored.to_string(),
                    });
                }
            }
        }
        self.progress
            .note(&format!("manifest {digest} -> {target}"));
        Ok(())
    }
}

fn octets(request: Request) -> Request {
    request.header(CONTENT_TYPE, "application/octet-stream")
}

fn with_digest(mut url: Url, digest: &Digest) -> Url {
    url.query_pairs_mut()
        .append_pair("digest", &digest.to_string());
    url
}
