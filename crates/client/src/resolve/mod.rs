//! Registry credentials resolved the way ECI's `AcrRegistryInfo` and SAE's
//! `acrAssumeRoleArn` obtain them: a platform service, with a key the
//! operator issued (`rampart service key create`), acts for an account
//! and assumes a role — the account's service-linked role, a narrowed
//! role trusted by the service, or another account's role, directly or in
//! two hops — and asks Container Registry's `GetAuthorizationToken` for a
//! temporary login (`cr_temp_user` + token) with the last session. Or a
//! stored user name and password.
//!
//! ```text
//! service key ──AssumeRoleWithServiceIdentity(RoleArn, AssumeRoleFor)──▶ session 1
//! session 1   ──AssumeRole(arn_user)──────────────────────────────────▶ session 2 (two hops only)
//! session N   ──GetAuthorizationToken(InstanceId)─────────────────────▶ cr_temp_user / token
//! ```
//!
//! Logins are cached ([`cache`]) until shortly before they expire. The
//! `credential-helper` verbs of the `rampart` binary (docker and kubelet
//! protocols) and `rampart pull/push --credential-config` use this.

mod cache;
pub mod config;
mod error;
pub mod protocol;

use std::path::{Path, PathBuf};

pub use cache::{refresh_margin, Cache, Login};
pub use config::{Config, Mode, Resolved as Entry};
pub use error::ResolveError;

use config::{normalize_host, PasswordSource, ServiceKeySource};

use crate::rpc::{AccessKey, RpcClient, CR_VERSION, STS_VERSION};
use crate::{CredentialSource, Error};

/// The clock logins are judged by.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    #[default]
    System,
    /// TESTING ONLY: the system clock shifted by the whole seconds written
    /// in a file (read on every use), as `rampart serve --test-clock`.
    OffsetFile(PathBuf),
}

impl Clock {
    pub fn now(&self) -> i64 {
        let system = auth::Timestamp::now().unix_seconds();
        match self {
            Clock::System => system,
            Clock::OffsetFile(path) => {
                let offset = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|t| t.trim().parse::<i64>().ok())
                    .unwrap_or(0);
                system.saturating_add(offset)
            }
        }
    }
}

/// What a registry host resolved to.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The entry's registry (`HOST[:PORT]`).
    pub registry: String,
    pub login: Login,
    /// Whether it expires (static secrets do not).
    pub expires: bool,
}

/// Config entries, a cache, a clock.
pub struct Resolver {
    config_path: PathBuf,
    entries: Vec<Entry>,
    cache: Cache,
    clock: Clock,
}

impl Resolver {
    /// Loads `path`; `cache_dir` overrides the file's `cache_dir`.
    pub fn load(
        path: &Path,
        cache_dir: Option<PathBuf>,
        clock: Clock,
    ) -> Result<Resolver, ResolveError> {
        let (config, entries) = Config::load(path)?;
        let dir = cache_dir.or(config.cache_dir).or_else(default_cache_dir);
        Ok(Resolver {
            config_path: path.to_owned(),
            entries,
            cache: Cache::new(dir),
            clock,
        })
    }

    pub fn new(config_path: PathBuf, entries: Vec<Entry>, cache: Cache, clock: Clock) -> Resolver {
        Resolver {
            config_path,
            entries,
            cache,
            clock,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The entry for `host` (a host name, `HOST:PORT`, a URL or an image
    /// reference): by host name or domain, else by InstanceId.
    pub fn entry_for(&self, host: &str) -> Result<&Entry, ResolveError> {
        let wanted = normalize_host(host);
        self.entries
            .iter()
            .find(|e| e.serves_host(&wanted))
            .or_else(|| {
                self.entries.iter().find(|e| {
                    e.instance_id
                        .as_deref()
                        .is_some_and(|i| i.eq_ignore_ascii_case(&wanted))
                })
            })
            .ok_or(ResolveError::NoEntry { host: wanted })
    }

    /// A login for `host`: cached while fresh, else obtained.
    pub async fn resolve(&self, host: &str) -> Result<Credential, ResolveError> {
        let entry = self.entry_for(host)?;
        if entry.mode == Mode::Static {
            return self.static_login(entry);
        }
        let key = entry.cache_key();
        let now = self.clock.now();
        if let Some(login) = self.cache.get(&key, now) {
            return Ok(Credential {
                registry: entry.registry.clone(),
                login,
                expires: true,
            });
        }
        let login = self.obtain(entry, now).await?;
        // A cache that cannot be written costs a call next time, no more.
        let _ = self.cache.put(&key, &login);
        Ok(Credential {
            registry: entry.registry.clone(),
            login,
            expires: true,
        })
    }

    /// [`Resolver::resolve`] from synchronous code, inside an async
    /// runtime or not: it runs on a thread of its own.
    pub fn resolve_blocking(&self, host: &str) -> Result<Credential, ResolveError> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| ResolveError::Runtime(e.to_string()))?;
                    runtime.block_on(self.resolve(host))
                })
                .join()
                .map_err(|_| ResolveError::Runtime("the resolving thread panicked".into()))?
        })
    }

    /// Forgets the cached login of `host`'s entry.
    pub fn forget(&self, host: &str) {
        if let Ok(entry) = self.entry_for(host) {
            self.cache.remove(&entry.cache_key());
        }
    }

    fn static_login(&self, entry: &Entry) -> Result<Credential, ResolveError> {
        let username = entry.username.clone().unwrap_or_default();
        let password = match &entry.password {
            Some(PasswordSource::Inline(p)) => p.clone(),
            Some(PasswordSource::File(path)) => std::fs::read_to_string(path)
                .map_err(|e| ResolveError::Config {
                    path: path.clone(),
                    message: format!("password_file of {}: {e}", entry.registry),
                })?
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
            None => {
                return Err(ResolveError::Config {
                    path: self.config_path.clone(),
                    message: format!("{}: no password", entry.registry),
                })
            }
        };
        Ok(Credential {
            registry: entry.registry.clone(),
            login: Login {
                username,
                password,
                obtained_at: self.clock.now(),
                expires_at: i64::MAX,
            },
            expires: false,
        })
    }

    /// The role chain, then GetAuthorizationToken.
    async fn obtain(&self, entry: &Entry, now: i64) -> Result<Login, ResolveError> {
        let config_error = |message: String| ResolveError::Config {
            path: self.config_path.clone(),
            message: format!("{}: {message}", entry.registry),
        };
        let endpoint = entry
            .endpoint
            .as_deref()
            .ok_or_else(|| config_error("no endpoint".into()))?;
        let acting_for = entry
            .acting_for
            .as_deref()
            .ok_or_else(|| config_error("no acting_for".into()))?;
        let instance_id = entry
            .instance_id
            .as_deref()
            .ok_or_else(|| config_error("no instance_id".into()))?;
        let service_key = self.service_key(entry)?;
        let rpc = RpcClient::new(endpoint).map_err(|e| ResolveError::from_rpc("connecting", e))?;
        let duration = entry.duration_seconds.to_string();
        let mut roles = entry.roles.iter();
        let first = roles
            .next()
            .ok_or_else(|| config_error("no role to assume".into()))?;
        let service = entry.service.as_deref().unwrap_or("the service");
        let step = format!(
            "AssumeRoleWithServiceIdentity of {first} by {service} acting for {acting_for}"
        );
        let body = rpc
            .call(
                &service_key,
                STS_VERSION,
                "AssumeRoleWithServiceIdentity",
                &[
                    ("RoleArn", first.as_str()),
                    ("RoleSessionName", entry.session_name.as_str()),
                    ("AssumeRoleFor", acting_for),
                    ("DurationSeconds", duration.as_str()),
                ],
            )
            .await
            .map_err(|e| ResolveError::from_rpc(&step, e))?;
        let mut session = session_of(&step, &body)?;
        let mut previous = first;
        for role in roles {
            let step = format!("AssumeRole of {role} by the session of {previous}");
            let body = rpc
                .call(
                    &session.0,
                    STS_VERSION,
                    "AssumeRole",
                    &[
                        ("RoleArn", role.as_str()),
                        ("RoleSessionName", entry.session_name.as_str()),
                        ("DurationSeconds", duration.as_str()),
                    ],
                )
                .await
                .map_err(|e| ResolveError::from_rpc(&step, e))?;
            session = session_of(&step, &body)?;
            previous = role;
        }
        let step = format!("GetAuthorizationToken of {instance_id} by the session of {previous}");
        let body = rpc
            .call(
                &session.0,
                CR_VERSION,
                "GetAuthorizationToken",
                &[("InstanceId", instance_id)],
            )
            .await
            .map_err(|e| ResolveError::from_rpc(&step, e))?;
        let field = |name: &str| {
            body.get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| ResolveError::Protocol {
                    step: step.clone(),
                    message: format!("the answer has no {name}"),
                })
        };
        let password = field("AuthorizationToken")?;
        let username = field("TempUsername")?;
        let expire_ms = body
            .get("ExpireTime")
            .and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .ok_or_else(|| ResolveError::Protocol {
                step: step.clone(),
                message: "the answer has no ExpireTime".into(),
            })?;
        let expires_at = (expire_ms / 1000).min(session.1);
        Ok(Login {
            username,
            password,
            obtained_at: now,
            expires_at,
        })
    }

    fn service_key(&self, entry: &Entry) -> Result<AccessKey, ResolveError> {
        match &entry.service_key {
            Some(ServiceKeySource::Inline { id, secret }) => Ok(AccessKey::new(id, secret)),
            Some(ServiceKeySource::File(path)) => read_service_key(path),
            None => Err(ResolveError::Config {
                path: self.config_path.clone(),
                message: format!("{}: no service key", entry.registry),
            }),
        }
    }
}

/// A key file as `rampart service key create --output json` prints it.
fn read_service_key(path: &Path) -> Result<AccessKey, ResolveError> {
    let error = |message: String| ResolveError::ServiceKey {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| error(format!("not JSON: {e}")))?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| error(format!("no {name}")))
    };
    Ok(AccessKey::new(
        field("AccessKeyId")?,
        field("AccessKeySecret")?,
    ))
}

/// The temporary key of an AssumeRole-shaped answer, and when it expires.
fn session_of(step: &str, body: &serde_json::Value) -> Result<(AccessKey, i64), ResolveError> {
    let error = |message: &str| ResolveError::Protocol {
        step: step.to_owned(),
        message: message.to_owned(),
    };
    let credentials = body
        .get("Credentials")
        .ok_or_else(|| error("the answer has no Credentials"))?;
    let field = |name: &str| {
        credentials
            .get(name)
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| error(&format!("the answer has no Credentials.{name}")))
    };
    let mut key = AccessKey::new(field("AccessKeyId")?, field("AccessKeySecret")?);
    key.security_token = Some(field("SecurityToken")?.to_owned());
    let expires = auth::Timestamp::parse(field("Expiration")?)
        .map_err(|e| error(&format!("Credentials.Expiration: {e}")))?
        .unix_seconds();
    Ok((key, expires))
}

/// `$XDG_CACHE_HOME/rampart-credential-helper`, else
/// `$HOME/.cache/rampart-credential-helper`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("rampart-credential-helper"))
}

/// `rampart pull/push --credential-config`: the login of the image's host.
impl CredentialSource for Resolver {
    fn credentials(&self, registry_host: &str) -> Result<Option<(String, String)>, Error> {
        let credential = self
            .resolve_blocking(registry_host)
            .map_err(|e| Error::Credentials(e.to_string()))?;
        Ok(Some((credential.login.username, credential.login.password)))
    }
}
