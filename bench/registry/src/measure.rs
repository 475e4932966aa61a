//! The measurements: pushing the test data, blob GET (sequential and
//! parallel), manifest GET under load, and timed pushes of fresh blobs.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use bytes::Bytes;
use hyper::header::{
    HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
    LOCATION,
};
use hyper::{Method, StatusCode};
use sha2::{Digest as _, Sha256};

use crate::http::{drain, Connection, Url};
use crate::report::{Latency, ManifestLoad, Throughput};

pub const MIB: f64 = 1024.0 * 1024.0;
pub const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";

/// `sha256:HEX` of `data`.
pub fn digest(data: &[u8]) -> String {
    let sum = Sha256::digest(data);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for byte in sum {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// `len` incompressible bytes from a splitmix64 stream seeded with `seed`.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let mut state = seed;
    for chunk in out.chunks_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        for (dst, src) in chunk.iter_mut().zip(z.to_le_bytes()) {
            *dst = src;
        }
    }
    out
}

/// A seed that differs between runs and rounds.
pub fn fresh_seed(round: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (u64::from(std::process::id()) << 32) ^ round.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// A registry repository and how to authenticate to it.
#[derive(Clone)]
pub struct Repo {
    pub base: Url,
    pub name: String,
    pub tag: String,
    pub auth: Option<HeaderValue>,
}

impl Repo {
    fn url(&self, path: &str) -> Result<Url> {
        self.base.join(&format!("/v2/{}/{path}", self.name))
    }

    pub fn blob_url(&self, digest: &str) -> Result<Url> {
        self.url(&format!("blobs/{digest}"))
    }

    pub fn manifest_url(&self) -> Result<Url> {
        self.url(&format!("manifests/{}", self.tag))
    }

    fn headers(&self, extra: &[(HeaderName, HeaderValue)]) -> Vec<(HeaderName, HeaderValue)> {
        let mut out: Vec<_> = self
            .auth
            .iter()
            .map(|value| (AUTHORIZATION, value.clone()))
            .collect();
        out.extend_from_slice(extra);
        out
    }
}

/// How a blob is uploaded.
#[derive(Clone, Copy, Debug, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PushStyle {
    /// POST, then PUT ?digest= with the whole body.
    Monolithic,
    /// POST, one PATCH with the whole body, then PUT ?digest= with none (what docker and containerd do).
    Patch,
}

/// Uploads `data` (whose digest is `digest`) and checks with HEAD that the
/// registry holds it at its full length.
pub async fn push_blob(repo: &Repo, data: Bytes, digest: &str, style: PushStyle) -> Result<()> {
    let size = data.len();
    push_timed(repo, data, digest, style).await?;
    check_blob(repo, digest, size).await
}

/// HEAD of the blob: 200, its full length, and its digest when echoed.
async fn check_blob(repo: &Repo, digest: &str, size: usize) -> Result<()> {
    let head = repo.blob_url(digest)?;
    let mut conn = Connection::open(&head).await?;
    let reply = conn
        .call(
            Method::HEAD,
            &head.path_and_query,
            &repo.headers(&[]),
            Bytes::new(),
        )
        .await?;
    if reply.status != StatusCode::OK {
        return Err(reply.unexpected("HEAD blob after push"));
    }
    let length = reply
        .header(CONTENT_LENGTH.as_str())
        .and_then(|v| v.parse::<usize>().ok());
    if length != Some(size) {
        bail!("HEAD blob after push: Content-Length {length:?}, pushed {size}");
    }
    if let Some(echoed) = reply.header("docker-content-digest") {
        if echoed != digest {
            bail!("HEAD blob after push: Docker-Content-Digest {echoed}, pushed {digest}");
        }
    }
    Ok(())
}

fn upload_location(from: &Url, location: Option<&str>) -> Result<Url> {
    from.join(location.ok_or_else(|| anyhow!("upload answer without Location"))?)
}

/// The small image the harness pushes: a config and a manifest naming it
/// and the big blob.
pub struct Image {
    pub config: Bytes,
    pub config_digest: String,
    pub manifest: Bytes,
    pub manifest_digest: String,
}

impl Image {
    pub fn new(blob_digest: &str, blob_size: usize) -> Result<Image> {
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [blob_digest]},
        }))?;
        let config_digest = digest(&config);
        let manifest = serde_json::to_vec_pretty(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": LAYER_TYPE, "digest": blob_digest, "size": blob_size}],
        }))?;
        let manifest_digest = digest(&manifest);
        Ok(Image {
            config: Bytes::from(config),
            config_digest,
            manifest: Bytes::from(manifest),
            manifest_digest,
        })
    }
}

/// Pushes the blob, the config and the manifest, then reads the manifest
/// back and checks its bytes and digest.
pub async fn push_image(repo: &Repo, blob: Bytes, blob_digest: &str, image: &Image) -> Result<()> {
    push_blob(repo, blob, blob_digest, PushStyle::Monolithic)
        .await
        .context("pushing the blob")?;
    push_blob(
        repo,
        image.config.clone(),
        &image.config_digest,
        PushStyle::Monolithic,
    )
    .await
    .context("pushing the config")?;
    let url = repo.manifest_url()?;
    let mut conn = Connection::open(&url).await?;
    let reply = conn
        .call(
            Method::PUT,
            &url.path_and_query,
            &repo.headers(&[(CONTENT_TYPE, HeaderValue::from_static(MANIFEST_TYPE))]),
            image.manifest.clone(),
        )
        .await?;
    if reply.status != StatusCode::CREATED {
        return Err(reply.unexpected("PUT manifest"));
    }
    let reply = conn
        .call(
            Method::GET,
            &url.path_and_query,
            &repo.headers(&[(ACCEPT, HeaderValue::from_static(MANIFEST_TYPE))]),
            Bytes::new(),
        )
        .await?;
    if reply.status != StatusCode::OK {
        return Err(reply.unexpected("GET manifest"));
    }
    if reply.body != image.manifest {
        bail!("GET manifest: the bytes differ from those pushed");
    }
    if let Some(echoed) = reply.header("docker-content-digest") {
        if echoed != image.manifest_digest {
            bail!(
                "GET manifest: Docker-Content-Digest {echoed}, expected {}",
                image.manifest_digest
            );
        }
    }
    Ok(())
}

/// One blob GET, read whole; follows up to 3 redirects (dropping
/// `Authorization` when one leaves the server). Returns the bytes read,
/// which must be `expected`; `verify` also checks the content's digest.
pub async fn get_blob(
    url: &Url,
    auth: Option<&HeaderValue>,
    expected: u64,
    verify: Option<&str>,
) -> Result<u64> {
    let mut url = url.clone();
    let mut auth = auth.cloned();
    for _hop in 0..4 {
        let mut conn = Connection::open(&url).await?;
        let headers: Vec<_> = auth.iter().map(|v| (AUTHORIZATION, v.clone())).collect();
        let response = conn
            .send(Method::GET, &url.path_and_query, &headers, Bytes::new())
            .await?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| anyhow!("blob GET: {status} without Location"))?;
            let next = url.join(location)?;
            if next.authority != url.authority {
                auth = None;
            }
            url = next;
            continue;
        }
        if status != StatusCode::OK {
            let mut text = Vec::new();
            drain(response, |chunk| text.extend_from_slice(chunk)).await?;
            bail!(
                "blob GET {url}: HTTP {status} {}",
                String::from_utf8_lossy(&text).trim()
            );
        }
        let read = match verify {
            None => drain(response, |_| {}).await?,
            Some(want) => {
                let mut hasher = Sha256::new();
                let read = drain(response, |chunk| hasher.update(chunk)).await?;
                let got = digest_hex(&hasher.finalize());
                if want.strip_prefix("sha256:") != Some(got.as_str()) {
                    bail!("blob GET {url}: content digest sha256:{got}, expected {want}");
                }
                read
            }
        };
        if read != expected {
            bail!("blob GET {url}: read {read} bytes, expected {expected}");
        }
        return Ok(read);
    }
    bail!("blob GET: too many redirects")
}

fn digest_hex(sum: &[u8]) -> String {
    sum.iter().map(|b| format!("{b:02x}")).collect()
}

/// `rounds` GETs one after another (after one untimed warm-up GET).
pub async fn blob_sequential(
    url: &Url,
    auth: Option<&HeaderValue>,
    size: u64,
    rounds: usize,
    verify: Option<&str>,
) -> Result<Throughput> {
    get_blob(url, auth, size, verify)
        .await
        .context("warm-up GET")?;
    let mut seconds = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        get_blob(url, auth, size, verify).await?;
        seconds.push(started.elapsed().as_secs_f64());
    }
    Ok(Throughput::new(rounds, 1, size, seconds))
}

/// `rounds` times: `parallel` GETs at once, each on its own connection;
/// the time of a round is until the last one ends.
pub async fn blob_parallel(
    url: &Url,
    auth: Option<&HeaderValue>,
    size: u64,
    parallel: usize,
    rounds: usize,
    verify: Option<&str>,
) -> Result<Throughput> {
    let mut seconds = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(parallel);
        for _ in 0..parallel {
            let url = url.clone();
            let auth = auth.cloned();
            let verify = verify.map(str::to_string);
            tasks.push(tokio::spawn(async move {
                get_blob(&url, auth.as_ref(), size, verify.as_deref()).await
            }));
        }
        for task in tasks {
            task.await.context("a GET task failed")??;
        }
        seconds.push(started.elapsed().as_secs_f64());
    }
    Ok(Throughput::new(rounds, parallel, size, seconds))
}

/// `rounds` pushes of fresh random blobs of `size` bytes. The data and its
/// digest are made before the clock starts; the time covers POST to the
/// 201 of the final PUT (the registry verifies the digest before
/// answering), not the HEAD check after it.
pub async fn push_throughput(
    repo: &Repo,
    size: usize,
    rounds: usize,
    style: PushStyle,
) -> Result<Throughput> {
    let mut seconds = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let data = Bytes::from(random_bytes(size, fresh_seed(round as u64 + 1)));
        let want = digest(&data);
        let started = Instant::now();
        push_timed(repo, data, &want, style).await?;
        seconds.push(started.elapsed().as_secs_f64());
        // The HEAD check (untimed).
        check_blob(repo, &want, size)
            .await
            .with_context(|| format!("push round {round}"))?;
    }
    Ok(Throughput::new(rounds, 1, size as u64, seconds))
}

/// `push_blob` without its HEAD check: what the timed push covers.
async fn push_timed(repo: &Repo, data: Bytes, digest: &str, style: PushStyle) -> Result<()> {
    let start = repo.url("blobs/uploads/")?;
    let mut conn = Connection::open(&start).await?;
    let reply = conn
        .call(
            Method::POST,
            &start.path_and_query,
            &repo.headers(&[]),
            Bytes::new(),
        )
        .await?;
    if reply.status != StatusCode::ACCEPTED {
        return Err(reply.unexpected("POST blobs/uploads/"));
    }
    let mut session = upload_location(&start, reply.header(LOCATION.as_str()))?;
    if session.authority != start.authority {
        conn = Connection::open(&session).await?;
    }
    let octets = HeaderValue::from_static("application/octet-stream");
    let size = data.len();
    let body = match style {
        PushStyle::Monolithic => data,
        PushStyle::Patch => {
            let range = HeaderValue::from_str(&format!("0-{}", size.saturating_sub(1)))?;
            let reply = conn
                .call(
                    Method::PATCH,
                    &session.path_and_query,
                    &repo.headers(&[(CONTENT_TYPE, octets.clone()), (CONTENT_RANGE, range)]),
                    data,
                )
                .await?;
            if reply.status != StatusCode::ACCEPTED {
                return Err(reply.unexpected("PATCH upload"));
            }
            session = upload_location(&session, reply.header(LOCATION.as_str()))?;
            Bytes::new()
        }
    };
    let put = session.with_query("digest", digest);
    let reply = conn
        .call(
            Method::PUT,
            &put.path_and_query,
            &repo.headers(&[(CONTENT_TYPE, octets)]),
            body,
        )
        .await?;
    if reply.status != StatusCode::CREATED {
        return Err(reply.unexpected("PUT upload?digest="));
    }
    Ok(())
}

/// `connections` keep-alive connections each GETting the manifest in a
/// loop for `warmup` + `duration`; only requests started after the
/// warm-up and finished before the end count.
pub async fn manifest_load(
    repo: &Repo,
    expected: Bytes,
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<ManifestLoad> {
    let url = repo.manifest_url()?;
    let headers = repo.headers(&[(ACCEPT, HeaderValue::from_static(MANIFEST_TYPE))]);
    let begin = Instant::now() + Duration::from_millis(100);
    let measure_from = begin + warmup;
    let end = measure_from + duration;
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let url = url.clone();
        let headers = headers.clone();
        let expected = expected.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies: Vec<u32> = Vec::with_capacity(1 << 16);
            let mut errors = 0u64;
            let mut first_error = None;
            let mut conn = None;
            tokio::time::sleep_until(begin.into()).await;
            loop {
                let started = Instant::now();
                if started >= end {
                    break;
                }
                if conn.is_none() {
                    match Connection::open(&url).await {
                        Ok(c) => conn = Some(c),
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(format!("{e:#}"));
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    }
                }
                let Some(c) = conn.as_mut() else { continue };
                let outcome = c
                    .call(Method::GET, &url.path_and_query, &headers, Bytes::new())
                    .await;
                let finished = Instant::now();
                let counted = started >= measure_from && finished <= end;
                match outcome {
                    Ok(reply) if reply.status == StatusCode::OK && reply.body == expected => {
                        if counted {
                            let micros = finished.duration_since(started).as_micros();
                            latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
                        }
                    }
                    Ok(reply) => {
                        if counted {
                            errors += 1;
                        }
                        first_error.get_or_insert(format!(
                            "{:#}",
                            reply.unexpected("manifest GET (or body differs)")
                        ));
                    }
                    Err(e) => {
                        if counted {
                            errors += 1;
                        }
                        first_error.get_or_insert(format!("{e:#}"));
                        conn = None;
                    }
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for task in tasks {
        let (latencies, e, first) = task.await.context("a load task failed")?;
        all.extend(latencies);
        errors += e;
        if first_error.is_none() {
            first_error = first;
        }
    }
    all.sort_unstable();
    let requests = all.len() as u64;
    Ok(ManifestLoad {
        connections,
        seconds: duration.as_secs_f64(),
        requests,
        errors,
        first_error,
        requests_per_second: requests as f64 / duration.as_secs_f64(),
        latency_us: Latency::from_sorted(&all),
    })
}
