//! `rampart-bench-registry`: the registry benchmark client. `run` pushes
//! the test data into a registry and measures blob GET (sequential and
//! parallel), manifest GET under load with token auth, and pushes of fresh
//! 100 MiB blobs; `--plain` measures only the blob GETs against a plain
//! file server (nginx). The helpers (`gen-blob`, `mint-token`,
//! `free-port`, `wait-http`, `compare`) are what `run.sh` drives.

mod http;
mod measure;
mod report;
mod token;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use bytes::Bytes;
use clap::{Parser, Subcommand};
use hyper::header::HeaderValue;
use hyper::Method;

use crate::http::Url;
use crate::measure::{PushStyle, Repo, MIB};
use crate::report::Results;

#[derive(Parser)]
#[command(
    version,
    about = "Registry benchmark client (blob GET, manifest GET, push)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes a random blob file and prints its digest (`sha256:…`).
    GenBlob {
        #[arg(long, default_value_t = 100)]
        size_mib: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Prints an ES256 JWT for Distribution's `auth: token:` (x5c header).
    MintToken {
        /// PKCS#8 P-256 private key (PEM).
        #[arg(long)]
        key: PathBuf,
        /// Its certificate (PEM), the one in `rootcertbundle`.
        #[arg(long)]
        cert: PathBuf,
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        service: String,
        /// `repository:NAME:pull,push`; repeat for more.
        #[arg(long, required = true)]
        scope: Vec<String>,
        #[arg(long, default_value = "bench")]
        subject: String,
        #[arg(long, default_value_t = 3600)]
        ttl_seconds: u64,
    },
    /// Prints a loopback TCP port that was free a moment ago.
    FreePort,
    /// Waits until `url` answers HTTP at all (any status).
    WaitHttp {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 15.0)]
        timeout_seconds: f64,
    },
    /// Pushes the test data and measures one peer.
    Run(RunArgs),
    /// One comparison table from the JSON files `run --out` wrote. Each
    /// flag repeats (one file per repetition); a peer's figure is then the
    /// median over its files.
    Compare {
        #[arg(long)]
        rampart: Vec<PathBuf>,
        #[arg(long)]
        distribution: Vec<PathBuf>,
        #[arg(long)]
        nginx: Vec<PathBuf>,
        /// Also print the per-peer tables.
        #[arg(long)]
        detail: bool,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Name for the report (rampart, distribution, nginx).
    #[arg(long)]
    label: String,
    /// The registry's base URL (`http://127.0.0.1:5000`), or with
    /// `--plain` the blob file's URL.
    #[arg(long)]
    url: String,
    /// A plain file server: only the blob GETs, no registry API.
    #[arg(long)]
    plain: bool,
    /// Repository name.
    #[arg(long, default_value = "bench/blob")]
    name: String,
    #[arg(long, default_value = "v1")]
    tag: String,
    /// The `Authorization` value to send (`Bearer …`).
    #[arg(long, conflicts_with = "basic")]
    auth: Option<String>,
    /// `USER:PASSWORD` for the registry's token realm: the harness follows
    /// the `WWW-Authenticate` challenge of `GET /v2/` and asks the realm
    /// for `repository:NAME:pull,push`.
    #[arg(long)]
    basic: Option<String>,
    /// The blob to push and GET (`gen-blob` makes one).
    #[arg(long)]
    blob_file: PathBuf,
    /// Sequential blob GETs (after one warm-up GET).
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    /// Blob GETs at once in the parallel measurement.
    #[arg(long, default_value_t = 8)]
    parallel: usize,
    #[arg(long, default_value_t = 3)]
    parallel_rounds: usize,
    /// Keep-alive connections for the manifest GET load.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Seconds of manifest GET load (after the warm-up).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Pushes of fresh random blobs.
    #[arg(long, default_value_t = 5)]
    push_rounds: usize,
    /// Size of each pushed blob (default: the blob file's size).
    #[arg(long)]
    push_size_mib: Option<usize>,
    #[arg(long, value_enum, default_value_t = PushStyle::Monolithic)]
    push_style: PushStyle,
    /// Also check each GET's content digest (costs client CPU).
    #[arg(long)]
    verify_digest: bool,
    #[arg(long)]
    skip_blob: bool,
    #[arg(long)]
    skip_manifest: bool,
    #[arg(long)]
    skip_push: bool,
    /// Print JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write the JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[tokio::main]
async fn main() {
    if let Err(e) = dispatch(Cli::parse()).await {
        eprintln!("rampart-bench-registry: {e:#}");
        std::process::exit(1);
    }
}

async fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::GenBlob { size_mib, out } => {
            let data = measure::random_bytes(size_mib * (1 << 20), measure::fresh_seed(0));
            std::fs::write(&out, &data).with_context(|| format!("writing {}", out.display()))?;
            println!("{}", measure::digest(&data));
        }
        Command::MintToken {
            key,
            cert,
            issuer,
            service,
            scope,
            subject,
            ttl_seconds,
        } => {
            let key = read_text(&key)?;
            let cert = read_text(&cert)?;
            let claims = token::Claims {
                issuer: &issuer,
                service: &service,
                subject: &subject,
                scopes: &scope,
                ttl_seconds,
            };
            println!("{}", token::mint(&key, &cert, &claims)?);
        }
        Command::FreePort => {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding port 0")?;
            println!("{}", listener.local_addr()?.port());
        }
        Command::WaitHttp {
            url,
            timeout_seconds,
        } => {
            let url = Url::parse(&url)?;
            let deadline = Instant::now() + Duration::from_secs_f64(timeout_seconds);
            loop {
                match http::call_once(Method::GET, &url, &[], Bytes::new()).await {
                    Ok(_) => break,
                    Err(e) if Instant::now() >= deadline => {
                        bail!("{url} did not answer within {timeout_seconds} s: {e:#}")
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        }
        Command::Run(args) => run(args).await?,
        Command::Compare {
            rampart,
            distribution,
            nginx,
            detail,
        } => {
            let load = |files: &[PathBuf]| -> Result<Option<Results>> {
                let mut runs = Vec::with_capacity(files.len());
                for p in files {
                    runs.push(
                        serde_json::from_str(&read_text(p)?)
                            .with_context(|| format!("{} is not a result file", p.display()))?,
                    );
                }
                Ok(report::median(runs))
            };
            let (r, d, n) = (load(&rampart)?, load(&distribution)?, load(&nginx)?);
            if detail {
                for peer in [&r, &d, &n].into_iter().flatten() {
                    println!("{}", report::table(peer));
                }
            }
            print!("{}", report::compare(r.as_ref(), d.as_ref(), n.as_ref()));
        }
    }
    Ok(())
}

fn read_text(path: &PathBuf) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn note(text: &str) {
    eprintln!("rampart-bench-registry: {text}");
}

async fn run(args: RunArgs) -> Result<()> {
    let blob = Bytes::from(
        std::fs::read(&args.blob_file)
            .with_context(|| format!("reading {}", args.blob_file.display()))?,
    );
    let size = blob.len() as u64;
    let blob_digest = measure::digest(&blob);
    let verify = args.verify_digest.then_some(blob_digest.as_str());
    let url = Url::parse(&args.url)?;
    let mut results = Results {
        label: args.label.clone(),
        url: args.url.clone(),
        blob_bytes: size,
        blob_digest: blob_digest.clone(),
        blob_get_sequential: None,
        blob_get_parallel: None,
        manifest_get: None,
        push: None,
        push_style: None,
        runs: 1,
    };

    if args.plain {
        if !args.skip_blob {
            note(&format!("{}: blob GET, sequential", args.label));
            results.blob_get_sequential =
                Some(measure::blob_sequential(&url, None, size, args.rounds, verify).await?);
            note(&format!(
                "{}: blob GET, {} parallel",
                args.label, args.parallel
            ));
            results.blob_get_parallel = Some(
                measure::blob_parallel(
                    &url,
                    None,
                    size,
                    args.parallel,
                    args.parallel_rounds,
                    verify,
                )
                .await?,
            );
        }
        return emit(&args, &results);
    }

    let auth = match (&args.auth, &args.basic) {
        (Some(value), _) => Some(value.clone()),
        (None, Some(basic)) => token::from_realm(&url, &args.name, basic)
            .await
            .context("getting a token from the registry's realm")?,
        (None, None) => None,
    };
    let auth = auth
        .map(|v| HeaderValue::from_str(&v).map_err(|e| anyhow!("Authorization value: {e}")))
        .transpose()?;
    let repo = Repo {
        base: url.clone(),
        name: args.name.clone(),
        tag: args.tag.clone(),
        auth,
    };
    let image = measure::Image::new(&blob_digest, blob.len())?;
    note(&format!(
        "{}: pushing the test image ({:.0} MiB blob {blob_digest})",
        args.label,
        size as f64 / MIB
    ));
    measure::push_image(&repo, blob.clone(), &blob_digest, &image).await?;
    drop(blob);

    if !args.skip_blob {
        let blob_url = repo.blob_url(&blob_digest)?;
        note(&format!("{}: blob GET, sequential", args.label));
        results.blob_get_sequential = Some(
            measure::blob_sequential(&blob_url, repo.auth.as_ref(), size, args.rounds, verify)
                .await?,
        );
        note(&format!(
            "{}: blob GET, {} parallel",
            args.label, args.parallel
        ));
        results.blob_get_parallel = Some(
            measure::blob_parallel(
                &blob_url,
                repo.auth.as_ref(),
                size,
                args.parallel,
                args.parallel_rounds,
                verify,
            )
            .await?,
        );
    }
    if !args.skip_manifest {
        note(&format!(
            "{}: manifest GET, {} connections, {} s",
            args.label, args.connections, args.duration
        ));
        results.manifest_get = Some(
            measure::manifest_load(
                &repo,
                image.manifest.clone(),
                args.connections,
                Duration::from_secs_f64(args.warmup),
                Duration::from_secs_f64(args.duration),
            )
            .await?,
        );
    }
    if !args.skip_push {
        let push_size = args.push_size_mib.map_or(size as usize, |m| m * (1 << 20));
        note(&format!(
            "{}: {} pushes of {:.0} MiB",
            args.label,
            args.push_rounds,
            push_size as f64 / MIB
        ));
        results.push = Some(
            measure::push_throughput(&repo, push_size, args.push_rounds, args.push_style).await?,
        );
        results.push_style = Some(format!("{:?}", args.push_style).to_lowercase());
    }
    emit(&args, &results)
}

fn emit(args: &RunArgs, results: &Results) -> Result<()> {
    let json = serde_json::to_string_pretty(results)?;
    if let Some(out) = &args.out {
        std::fs::write(out, &json).with_context(|| format!("writing {}", out.display()))?;
    }
    if args.json {
        println!("{json}");
    } else {
        println!("{}", report::table(results));
    }
    Ok(())
}
