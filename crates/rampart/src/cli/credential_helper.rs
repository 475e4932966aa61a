//! `rampart credential-helper`: registry credentials for docker and the
//! kubelet, resolved as ECI and SAE resolve them (`client::resolve`).
//!
//! * `rampart credential-helper docker get|store|erase|list`, or the same
//!   binary installed as `docker-credential-rampart` (a symlink; the verb
//!   is then the first argument): docker's credential-helper protocol.
//! * `rampart credential-helper kubelet`: the kubelet's image credential
//!   provider protocol (`credentialprovider.kubelet.k8s.io/v1`).
//!
//! The config file is `--config FILE`, else
//! RAMPART_CREDENTIAL_HELPER_CONFIG. Logins are cached in memory and in
//! files (0600) under the config's `cache_dir` (or `--cache-dir`, or
//! ~/.cache/rampart-credential-helper) until shortly before they expire.

use std::ffi::OsStr;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use client::resolve::protocol::{
    image_host, DockerCredentials, KubeletRequest, KubeletResponse, DOCKER_NOT_FOUND,
};
use client::resolve::{Clock, Mode, ResolveError, Resolver};

/// The environment variable naming the config file.
pub const CONFIG_ENV: &str = "RAMPART_CREDENTIAL_HELPER_CONFIG";
/// The name docker runs the helper by (`credsStore: "rampart"`).
pub const DOCKER_HELPER_NAME: &str = "docker-credential-rampart";
/// The test clock's offset file (see README "Testing aid: the test clock").
const TEST_CLOCK_ENV: &str = "RAMPART_TEST_CLOCK_OFFSET_FILE";

#[derive(Debug, clap::Args)]
pub struct CredentialHelperArgs {
    /// The config file (TOML, or JSON when it ends in .json)
    /// [env: RAMPART_CREDENTIAL_HELPER_CONFIG]
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Where logins are cached between runs [default: the config's
    /// cache_dir, else ~/.cache/rampart-credential-helper]
    #[arg(long, value_name = "DIR", global = true)]
    cache_dir: Option<PathBuf>,
    /// TESTING ONLY: judge expiry by the clock shifted by the seconds in
    /// the file named by RAMPART_TEST_CLOCK_OFFSET_FILE.
    #[arg(long, hide = true, global = true)]
    test_clock: bool,
    #[command(subcommand)]
    protocol: Protocol,
}

#[derive(Debug, clap::Subcommand)]
enum Protocol {
    /// docker's credential-helper protocol (what docker-credential-rampart
    /// runs): get reads a server URL on stdin and prints
    /// {"ServerURL","Username","Secret"}.
    Docker {
        #[arg(value_enum)]
        verb: DockerVerb,
    },
    /// The kubelet's image credential provider: a CredentialProviderRequest
    /// on stdin, a CredentialProviderResponse on stdout.
    Kubelet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DockerVerb {
    Get,
    Store,
    Erase,
    List,
}

/// `rampart credential-helper …`.
pub fn run(args: &CredentialHelperArgs) -> ExitCode {
    let clock = if args.test_clock {
        match std::env::var_os(TEST_CLOCK_ENV) {
            Some(file) => Clock::OffsetFile(PathBuf::from(file)),
            None => Clock::System,
        }
    } else {
        Clock::System
    };
    let config = args.config.clone();
    match args.protocol {
        Protocol::Docker { verb } => docker(verb, config, args.cache_dir.clone(), clock),
        Protocol::Kubelet => kubelet(config, args.cache_dir.clone(), clock),
    }
}

/// Run as `docker-credential-rampart VERB` (argv[0] names the helper):
/// `Some(exit code)`; otherwise `None` and the usual grammar applies.
pub fn invoked_as_docker_helper() -> Option<ExitCode> {
    let mut argv = std::env::args_os();
    let program = argv.next()?;
    let name = Path::new(&program).file_name()?;
    if name != OsStr::new(DOCKER_HELPER_NAME) {
        return None;
    }
    let verb = match argv.next().as_deref().and_then(OsStr::to_str) {
        Some("get") => DockerVerb::Get,
        Some("store") => DockerVerb::Store,
        Some("erase") => DockerVerb::Erase,
        Some("list") => DockerVerb::List,
        Some("version" | "--version" | "-v") => {
            println!(
                "{DOCKER_HELPER_NAME} (rampart) {}",
                env!("CARGO_PKG_VERSION")
            );
            return Some(ExitCode::SUCCESS);
        }
        other => {
            println!(
                "Usage: {DOCKER_HELPER_NAME} <get|store|erase|list> (got {:?}); config: ${CONFIG_ENV}",
                other.unwrap_or_default()
            );
            return Some(ExitCode::FAILURE);
        }
    };
    Some(docker(verb, None, None, Clock::System))
}

fn load(
    config: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
    clock: Clock,
) -> Result<Resolver, String> {
    let path = config
        .or_else(|| {
            std::env::var_os(CONFIG_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .ok_or_else(|| format!("no config file: pass --config FILE or set {CONFIG_ENV}"))?;
    Resolver::load(&path, cache_dir, clock).map_err(|e| e.to_string())
}

fn read_stdin() -> Result<String, String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| format!("reading stdin: {e}"))?;
    Ok(text)
}

/// docker: the answer or the error on stdout; exit 1 on failure.
fn docker(
    verb: DockerVerb,
    config: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
    clock: Clock,
) -> ExitCode {
    let outcome = (|| -> Result<Option<String>, String> {
        match verb {
            DockerVerb::Store => {
                // Logins come from the config; what docker offers is not kept.
                read_stdin()?;
                Ok(None)
            }
            DockerVerb::Erase => {
                let url = read_stdin()?;
                if let Ok(resolver) = load(config, cache_dir, clock) {
                    resolver.forget(url.trim());
                }
                Ok(None)
            }
            DockerVerb::List => {
                let resolver = load(config, cache_dir, clock)?;
                let listed: serde_json::Map<String, serde_json::Value> = resolver
                    .entries()
                    .iter()
                    .map(|e| {
                        let user = match e.mode {
                            Mode::Static => e.username.clone().unwrap_or_default(),
                            _ => "cr_temp_user".to_owned(),
                        };
                        (e.registry.clone(), serde_json::Value::String(user))
                    })
                    .collect();
                Ok(Some(serde_json::Value::Object(listed).to_string()))
            }
            DockerVerb::Get => {
                let url = read_stdin()?;
                let url = url.trim();
                if url.is_empty() {
                    return Err("no server URL on stdin".into());
                }
                let resolver = load(config, cache_dir, clock)?;
                let credential = resolver.resolve_blocking(url).map_err(|e| match e {
                    ResolveError::NoEntry { .. } => DOCKER_NOT_FOUND.to_owned(),
                    other => other.to_string(),
                })?;
                let answer = DockerCredentials {
                    server_url: url.to_owned(),
                    username: credential.login.username,
                    secret: credential.login.password,
                };
                serde_json::to_string(&answer)
                    .map(Some)
                    .map_err(|e| e.to_string())
            }
        }
    })();
    match outcome {
        Ok(answer) => {
            if let Some(answer) = answer {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{answer}");
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            // docker reads the error from stdout.
            println!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// kubelet: the response on stdout, or the error on stderr and exit 1.
fn kubelet(config: Option<PathBuf>, cache_dir: Option<PathBuf>, clock: Clock) -> ExitCode {
    let outcome = (|| -> Result<String, String> {
        let request = KubeletRequest::parse(&read_stdin()?)?;
        let host = image_host(&request.image);
        let resolver = load(config, cache_dir, clock)?;
        let credential = resolver
            .resolve_blocking(&host)
            .map_err(|e| format!("image {}: {e}", request.image))?;
        let remaining = credential
            .expires
            .then(|| credential.login.remaining(resolver.now()));
        let response = KubeletResponse::new(
            &host,
            &credential.login.username,
            &credential.login.password,
            remaining,
        );
        serde_json::to_string(&response).map_err(|e| e.to_string())
    })();
    match outcome {
        Ok(answer) => {
            println!("{answer}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("rampart credential-helper kubelet: {message}");
            ExitCode::FAILURE
        }
    }
}
