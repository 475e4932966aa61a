//! `rampart pull IMAGE --output DIR` and `rampart push DIR IMAGE`: copy
//! images between a registry and an OCI image layout folder where no
//! container engine exists (the client is `crates/client`).
//!
//! Credentials: `--username` with the password on stdin
//! (`--password-stdin`), else RAMPART_REGISTRY_USERNAME and
//! RAMPART_REGISTRY_PASSWORD, else anonymous; or, with
//! `--credential-config FILE`, the credential helper's resolution (a
//! service assuming roles, see `client::resolve`). Progress goes to stderr (a
//! bar per blob on a terminal, plain lines otherwise); the last line on
//! stdout is the manifest digest. Exit 0 on success, 1 with the cause on
//! stderr otherwise.

use std::collections::HashMap;
use std::io::{IsTerminal as _, Read as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use client::resolve::{Clock, Resolver};
use client::{
    Client, CredentialSource, Credentials, Digest, Platform, Progress, PullOptions, PushOptions,
    Reference, StaticCredentials,
};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

const USERNAME_ENV: &str = "RAMPART_REGISTRY_USERNAME";
const PASSWORD_ENV: &str = "RAMPART_REGISTRY_PASSWORD";

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// HOST[:PORT]/NAMESPACE/REPO[:TAG|@sha256:…] (plain http).
    image: String,
    /// The OCI image layout folder to write (made when missing; other
    /// images in it stay). The image is named by its tag in index.json.
    #[arg(long, value_name = "DIR")]
    output: PathBuf,
    /// The platform to pick when the image is an index
    /// [default: linux/amd64]
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<String>,
    #[command(flatten)]
    login: LoginArgs,
}

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The OCI image layout folder to read.
    dir: PathBuf,
    /// HOST[:PORT]/NAMESPACE/REPO[:TAG] (plain http) [default tag: latest]
    image: String,
    /// The image of the layout to push, by its name in index.json
    /// (org.opencontainers.image.ref.name) [default: the only one, or the
    /// one named like IMAGE's tag]
    #[arg(long, value_name = "NAME")]
    tag: Option<String>,
    #[command(flatten)]
    login: LoginArgs,
}

#[derive(Debug, clap::Args)]
struct LoginArgs {
    /// The registry user name (cr_temp_user, USER@ACCOUNT or ACCOUNT)
    /// [env: RAMPART_REGISTRY_USERNAME] [default: anonymous]
    #[arg(long, value_name = "NAME")]
    username: Option<String>,
    /// Read the password from stdin (one line)
    /// [otherwise: RAMPART_REGISTRY_PASSWORD]
    #[arg(long)]
    password_stdin: bool,
    /// Resolve the registry's credentials with a credential helper config
    /// (the entry of the image's host; see README "The credential helper")
    #[arg(long, value_name = "FILE", conflicts_with_all = ["username", "password_stdin"])]
    credential_config: Option<PathBuf>,
}

impl LoginArgs {
    /// Where the registry's credentials come from.
    fn source(&self) -> Result<Box<dyn CredentialSource + Send + Sync>, String> {
        match &self.credential_config {
            Some(path) => Ok(Box::new(
                Resolver::load(path, None, Clock::System).map_err(|e| e.to_string())?,
            )),
            None => Ok(Box::new(StaticCredentials(self.credentials()?))),
        }
    }

    fn credentials(&self) -> Result<Option<Credentials>, String> {
        let username = self
            .username
            .clone()
            .or_else(|| std::env::var(USERNAME_ENV).ok().filter(|u| !u.is_empty()));
        let password = if self.password_stdin {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("reading the password from stdin: {e}"))?;
            let line = text.lines().next().unwrap_or_default().to_owned();
            if line.is_empty() {
                return Err("--password-stdin: stdin holds no password".into());
            }
            Some(line)
        } else {
            std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty())
        };
        match (username, password) {
            (Some(username), Some(password)) => Ok(Some(Credentials::new(username, password))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(format!(
                "a user name needs a password: --password-stdin or {PASSWORD_ENV}"
            )),
            (None, Some(_)) => Err(format!(
                "a password needs a user name: --username or {USERNAME_ENV}"
            )),
        }
    }
}

pub fn pull(args: &PullArgs) -> ExitCode {
    let outcome = (|| {
        let reference = Reference::parse(&args.image).map_err(|e| e.to_string())?;
        let platform = args
            .platform
            .as_deref()
            .map(Platform::parse)
            .transpose()
            .map_err(|e| format!("--platform: {e}"))?;
        let credentials = args.login.source()?;
        let options = PullOptions {
            platform,
            ref_name: None,
        };
        let progress = reporter();
        run_async(async {
            let client = Client::connect(&reference.host, credentials.as_ref()).await?;
            client::pull(
                &client,
                &reference,
                &args.output,
                &options,
                progress.as_ref(),
            )
            .await
        })
        .map(|pulled| {
            if let Some(index) = &pulled.index {
                progress.note(&format!("from index {index}"));
            }
            progress.note(&format!(
                "pulled {reference} into {}: {} blobs ({} bytes) downloaded, {} already there",
                args.output.display(),
                pulled.blobs_downloaded,
                pulled.bytes_downloaded,
                pulled.blobs_present
            ));
            pulled.manifest
        })
    })();
    finish("pull", outcome)
}

pub fn push(args: &PushArgs) -> ExitCode {
    let outcome = (|| {
        let reference = Reference::parse(&args.image).map_err(|e| e.to_string())?;
        let credentials = args.login.source()?;
        let options = PushOptions {
            tag: args.tag.clone(),
        };
        let progress = reporter();
        run_async(async {
            let client = Client::connect(&reference.host, credentials.as_ref()).await?;
            client::push(&client, &args.dir, &reference, &options, progress.as_ref()).await
        })
        .map(|pushed| {
            progress.note(&format!(
                "pushed {} to {reference}: {} blobs ({} bytes) uploaded, {} already there",
                args.dir.display(),
                pushed.blobs_uploaded,
                pushed.bytes_uploaded,
                pushed.blobs_present
            ));
            pushed.manifest
        })
    })();
    finish("push", outcome)
}

fn run_async<T>(
    work: impl std::future::Future<Output = Result<T, client::Error>>,
) -> Result<T, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(work).map_err(|e| e.to_string())
}

fn finish(verb: &str, outcome: Result<Digest, String>) -> ExitCode {
    match outcome {
        Ok(digest) => {
            println!("{digest}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("rampart {verb}: {message}");
            ExitCode::FAILURE
        }
    }
}

fn reporter() -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Box::new(Bars::default())
    } else {
        Box::new(Lines)
    }
}

fn short(digest: &Digest) -> String {
    let hex = digest.hex();
    format!(
        "{}:{}",
        digest.algorithm().name(),
        hex.get(..12).unwrap_or(hex)
    )
}

/// Plain lines on stderr, for logs and pipes.
struct Lines;

impl Progress for Lines {
    fn blob_started(&self, digest: &Digest, size: u64, verb: &str) {
        eprintln!("{verb} {digest} {size} bytes");
    }

    fn blob_finished(&self, digest: &Digest, already: bool) {
        if already {
            eprintln!("exists {digest}");
        } else {
            eprintln!("done {digest}");
        }
    }

    fn note(&self, text: &str) {
        eprintln!("{text}");
    }
}

/// One bar per blob on a terminal.
#[derive(Default)]
struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<Digest, ProgressBar>>,
}

impl Bars {
    fn style() -> ProgressStyle {
        ProgressStyle::with_template(
            "{msg:24} [{bar:32}] {bytes:>10}/{total_bytes:10} {bytes_per_sec:>12}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
    }
}

impl Progress for Bars {
    fn blob_started(&self, digest: &Digest, size: u64, verb: &str) {
        let bar = self.multi.add(ProgressBar::new(size));
        bar.set_style(Self::style());
        bar.set_message(format!("{verb} {}", short(digest)));
        if let Ok(mut bars) = self.bars.lock() {
            bars.insert(digest.clone(), bar);
        }
    }

    fn blob_advanced(&self, digest: &Digest, done: u64) {
        if let Some(bar) = self.bars.lock().ok().and_then(|b| b.get(digest).cloned()) {
            bar.set_position(done);
        }
    }

    fn blob_finished(&self, digest: &Digest, already: bool) {
        let bar = self.bars.lock().ok().and_then(|mut b| b.remove(digest));
        match bar {
            Some(bar) => bar.finish_with_message(format!("done {}", short(digest))),
            None if already => {
                let _ = self.multi.println(format!("exists {}", short(digest)));
            }
            None => {}
        }
    }

    fn note(&self, text: &str) {
        let _ = self.multi.println(text);
    }
}
