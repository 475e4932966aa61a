//! `pull`: a manifest, its config and layers, into an OCI image layout.

use std::path::Path;

use reqwest::header::{ACCEPT, CONTENT_LENGTH};
use reqwest::{Method, StatusCode};

use crate::http::{content_type, error_of, header_text, read_limited, Request};
use crate::layout::Layout;
use crate::manifest::{self, Descriptor, Parsed, MAX_MANIFEST_BYTES};
use crate::{Algorithm, Client, Digest, Error, Platform, Progress, Reference};

/// What to pull beyond the reference.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// The platform picked from an index [default: linux/amd64].
    pub platform: Option<Platform>,
    /// The name written into `index.json` [default: the tag, or `latest`].
    pub ref_name: Option<String>,
}

/// What a pull did.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The digest of the image manifest written into the layout.
    pub manifest: Digest,
    /// The index it was picked from, when the reference named one.
    pub index: Option<Digest>,
    pub media_type: String,
    /// Blobs downloaded, and how many bytes.
    pub blobs_downloaded: usize,
    pub bytes_downloaded: u64,
    /// Blobs the layout already had.
    pub blobs_present: usize,
}

/// Pulls `reference` into the OCI image layout at `output` (made when
/// missing; other images in it stay).
pub async fn pull(
    client: &Client,
    reference: &Reference,
    output: &Path,
    options: &PullOptions,
    progress: &dyn Progress,
) -> Result<Pulled, Error> {
    let scope = format!("repository:{}:pull", reference.repository);
    let (media_type, bytes, digest) = get_manifest(
        client,
        &scope,
        &reference.repository,
        &reference.manifest_reference(),
        reference.digest.as_ref(),
    )
    .await?;
    let (mut media_type, mut parsed) = manifest::parse(Some(&media_type), &bytes)?;
    let (mut bytes, mut digest, mut index, mut platform) = (bytes, digest, None, None);
    if let Parsed::Index(list) = &parsed {
        let wanted = options
            .platform
            .clone()
            .unwrap_or_else(Platform::default_linux_amd64);
        let chosen = list.select(&wanted)?.clone();
        progress.note(&format!("index {digest}: {} is {}", wanted, chosen.digest));
        let (child_type, child_bytes, child_digest) = get_manifest(
            client,
            &scope,
            &reference.repository,
            &chosen.digest.to_string(),
            Some(&chosen.digest),
        )
        .await?;
        if child_bytes.len() as u64 != chosen.size {
            return Err(Error::SizeMismatch {
                what: format!("manifest {}", chosen.digest),
                expected: chosen.size,
                actual: child_bytes.len() as u64,
            });
        }
        let (child_media_type, child) = manifest::parse(Some(&child_type), &child_bytes)?;
        if matches!(child, Parsed::Index(_)) {
            return Err(Error::Protocol(format!(
                "{} is an index inside an index; not supported",
                chosen.digest
            )));
        }
        index = Some(digest);
        platform = chosen.platform.clone();
        (media_type, parsed, bytes, digest) = (child_media_type, child, child_bytes, child_digest);
    }
    let Parsed::Image(image) = parsed else {
        return Err(Error::Protocol("expected an image manifest".into()));
    };

    let layout = Layout::create(output).await?;
    let mut pulled = Pulled {
        manifest: digest.clone(),
        index,
        media_type: media_type.clone(),
        blobs_downloaded: 0,
        bytes_downloaded: 0,
        blobs_present: 0,
    };
    for blob in image.blobs() {
        if download_blob(
            client,
            &scope,
            &reference.repository,
            &layout,
            blob,
            progress,
        )
        .await?
        {
            pulled.blobs_downloaded = pulled.blobs_downloaded.saturating_add(1);
            pulled.bytes_downloaded = pulled.bytes_downloaded.saturating_add(blob.size);
        } else {
            pulled.blobs_present = pulled.blobs_present.saturating_add(1);
        }
    }
    layout.write_blob(&digest, &bytes).await?;
    let ref_name = options
        .ref_name
        .clone()
        .unwrap_or_else(|| reference.tag_or_latest().to_owned());
    layout
        .add_manifest(
            Descriptor {
                media_type,
                digest,
                size: bytes.len() as u64,
                platform,
                annotations: Default::default(),
                other: Default::default(),
            },
            &ref_name,
        )
        .await?;
    Ok(pulled)
}

/// GETs a manifest; checks its bytes against `expected` (a digest
/// reference) or the registry's `Docker-Content-Digest`, and returns its
/// media type, bytes and digest.
async fn get_manifest(
    client: &Client,
    scope: &str,
    repository: &str,
    reference: &str,
    expected: Option<&Digest>,
) -> Result<(String, Vec<u8>, Digest), Error> {
    let url = client.url(&format!("/v2/{repository}/manifests/{reference}"))?;
    let request = Request::new(Method::GET, url).header(ACCEPT, manifest::ACCEPT);
    let response = client.send(scope, request).await?;
    if response.status() != StatusCode::OK {
        return Err(error_of(response).await);
    }
    let media_type = content_type(&response).unwrap_or_default();
    let announced = header_text(
        &response,
        reqwest::header::HeaderName::from_static("docker-content-digest"),
    )
    .and_then(|d| Digest::parse(&d).ok());
    let bytes = read_limited(response, MAX_MANIFEST_BYTES).await?;
    let what = format!("manifest {repository}:{reference}");
    let digest = match expected.or(announced.as_ref()) {
        Some(d) => {
            d.verify(&what, &bytes)?;
            d.clone()
        }
        None => Digest::of(Algorithm::Sha256, &bytes),
    };
    // A registry that announced another digest than the one asked for.
    if let (Some(expected), Some(announced)) = (expected, &announced) {
        if expected != announced {
            announced.verify(&what, &bytes)?;
        }
    }
    Ok((media_type, bytes, digest))
}

/// Downloads one blob into the layout unless it is there already; true
/// when it moved.
async fn download_blob(
    client: &Client,
    scope: &str,
    repository: &str,
    layout: &Layout,
    blob: &Descriptor,
    progress: &dyn Progress,
) -> Result<bool, Error> {
    if layout.has_blob(blob).await? {
        progress.blob_finished(&blob.digest, true);
        return Ok(false);
    }
    progress.blob_started(&blob.digest, blob.size, "pulling");
    let url = client.url(&format!("/v2/{repository}/blobs/{}", blob.digest))?;
    let mut response = client.send(scope, Request::new(Method::GET, url)).await?;
    if response.status() != StatusCode::OK {
        return Err(error_of(response).await);
    }
    if let Some(length) = header_text(&response, CONTENT_LENGTH).and_then(|l| l.parse::<u64>().ok())
    {
        if length != blob.size {
            return Err(Error::SizeMismatch {
                what: blob.digest.to_string(),
                expected: blob.size,
                actual: length,
            });
        }
    }
    let mut writer = layout.blob_writer(blob).await?;
    let url = response.url().to_string();
    while let Some(chunk) = response.chunk().await.map_err(|source| Error::Network {
        url: url.clone(),
        source,
    })? {
        writer.write(&chunk).await?;
        progress.blob_advanced(&blob.digest, writer.written());
    }
    writer.commit().await?;
    progress.blob_finished(&blob.digest, false);
    Ok(true)
}
