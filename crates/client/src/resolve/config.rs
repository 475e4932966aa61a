//! The credential helper's config file: one entry per registry, in TOML
//! (or JSON when the file name ends in `.json`), with defaults shared by
//! every entry.
//!
//! ```toml
//! cache_dir = "/var/cache/rampart-credential-helper"   # optional
//!
//! [defaults]
//! endpoint = "http://127.0.0.1:8080"
//! service_key_file = "/etc/rampart/eci-key.json"       # {"AccessKeyId","AccessKeySecret"}
//! acting_for = "1111111111111111"
//!
//! [[registries]]
//! registry = "demo-registry.cn-hangzhou.cr.rampart.internal:5000"
//! mode = "service-linked"
//! instance_id = "cri-…"
//! ```
//!
//! The fields follow ECI's `AcrRegistryInfo` (ArnService, ArnUser,
//! InstanceId, RegionId, Domain) and SAE's `acrAssumeRoleArn`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ResolveError;

/// How an entry's credentials are obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The service acting for `acting_for` assumes that account's
    /// service-linked role (`AliyunServiceRoleForECI` for
    /// eci.aliyuncs.com), then asks for a registry login.
    ServiceLinked,
    /// The service acting for `acting_for` assumes `arn_service` (a role
    /// trusted by the service), then, with `arn_user`, that role assumes
    /// `arn_user` (a role of the registry's account): two hops.
    Role,
    /// SAE's `acrAssumeRoleArn`: the service acting for `acting_for`
    /// assumes `role_arn` (usually another account's role) directly.
    AssumeRole,
    /// A stored user name and password.
    Static,
}

/// One registry (or the defaults: every field optional).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// `HOST[:PORT]` as image references write it.
    pub registry: Option<String>,
    /// Further host names of the same instance (ECI's `Domain`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    pub mode: Option<Mode>,
    /// The instance (`cri-…`): GetAuthorizationToken names it; a custom
    /// domain is resolved by it.
    pub instance_id: Option<String>,
    pub region_id: Option<String>,
    /// rampart's API, e.g. `http://127.0.0.1:8080`.
    pub endpoint: Option<String>,
    /// The service the key belongs to (`eci.aliyuncs.com`).
    pub service: Option<String>,
    pub service_key_id: Option<String>,
    pub service_key_secret: Option<String>,
    /// A JSON file with `AccessKeyId` and `AccessKeySecret` (and
    /// `Service`), as `rampart service key create --output json` prints.
    pub service_key_file: Option<PathBuf>,
    /// The account the service acts for (16 digits).
    pub acting_for: Option<String>,
    /// `mode = "role"`: a role of the acting account trusted by the
    /// service (ECI's ArnService).
    pub arn_service: Option<String>,
    /// `mode = "role"`: a role of the registry owner's account trusted by
    /// `arn_service`'s role (ECI's ArnUser).
    pub arn_user: Option<String>,
    /// `mode = "assume-role"`: the role to assume (SAE's acrAssumeRoleArn).
    pub role_arn: Option<String>,
    /// `mode = "service-linked"`: the linked role's name when the service
    /// is not one rampart knows the template of.
    pub role_name: Option<String>,
    /// RoleSessionName of the sessions [default: rampart-credential-helper].
    pub session_name: Option<String>,
    /// How long sessions last, 900-43200 [default: 3600].
    pub duration_seconds: Option<u32>,
    /// `mode = "static"`.
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<PathBuf>,
}

/// The file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where one-shot invocations keep credentials between runs (files
    /// 0600) [default: $XDG_CACHE_HOME or ~/.cache, /rampart-credential-helper].
    pub cache_dir: Option<PathBuf>,
    /// Fields every entry takes unless it sets them.
    #[serde(default)]
    pub defaults: Entry,
    #[serde(default)]
    pub registries: Vec<Entry>,
}

/// An entry with the defaults applied and checked for its mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub registry: String,
    pub domains: Vec<String>,
    pub mode: Mode,
    pub instance_id: Option<String>,
    pub region_id: Option<String>,
    pub endpoint: Option<String>,
    pub service: Option<String>,
    pub service_key: Option<ServiceKeySource>,
    pub acting_for: Option<String>,
    /// The roles assumed in order: the first by the service, each next
    /// one by the session of the one before.
    pub roles: Vec<String>,
    pub session_name: String,
    pub duration_seconds: u32,
    pub username: Option<String>,
    pub password: Option<PasswordSource>,
}

/// Where the service key is.
#[derive(Clone, PartialEq, Eq)]
pub enum ServiceKeySource {
    Inline { id: String, secret: String },
    File(PathBuf),
}

impl std::fmt::Debug for ServiceKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceKeySource::Inline { id, .. } => write!(f, "Inline({id}, <redacted>)"),
            ServiceKeySource::File(path) => write!(f, "File({})", path.display()),
        }
    }
}

/// Where a static password is.
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordSource {
    Inline(String),
    File(PathBuf),
}

impl std::fmt::Debug for PasswordSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordSource::Inline(_) => f.write_str("Inline(<redacted>)"),
            PasswordSource::File(path) => write!(f, "File({})", path.display()),
        }
    }
}

/// The name of a service's linked role, for the services rampart has a
/// template of.
pub fn service_linked_role_name(service: &str) -> Option<&'static str> {
    match service {
        "eci.aliyuncs.com" => Some("AliyunServiceRoleForECI"),
        _ => None,
    }
}

pub const DEFAULT_SESSION_NAME: &str = "rampart-credential-helper";
pub const DEFAULT_DURATION_SECONDS: u32 = 3600;

impl Config {
    /// Reads and checks `path` (JSON when it ends in `.json`, else TOML).
    pub fn load(path: &Path) -> Result<(Config, Vec<Resolved>), ResolveError> {
        let text = std::fs::read_to_string(path).map_err(|e| ResolveError::Config {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let config = Config::parse(&text, json).map_err(|message| ResolveError::Config {
            path: path.to_owned(),
            message,
        })?;
        let entries = config.entries().map_err(|message| ResolveError::Config {
            path: path.to_owned(),
            message,
        })?;
        Ok((config, entries))
    }

    pub fn parse(text: &str, json: bool) -> Result<Config, String> {
        if json {
            serde_json::from_str(text).map_err(|e| e.to_string())
        } else {
            toml::from_str(text).map_err(|e| e.to_string())
        }
    }

    /// Every entry with the defaults applied, checked for its mode.
    pub fn entries(&self) -> Result<Vec<Resolved>, String> {
        self.registries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                merge(entry, &self.defaults).map_err(|m| {
                    format!(
                        "registries[{i}]{}: {m}",
                        entry
                            .registry
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    )
                })
            })
            .collect()
    }
}

fn merge(entry: &Entry, defaults: &Entry) -> Result<Resolved, String> {
    fn pick<T: Clone>(a: &Option<T>, b: &Option<T>) -> Option<T> {
        a.clone().or_else(|| b.clone())
    }
    let registry = entry
        .registry
        .clone()
        .map(|r| normalize_host(&r))
        .filter(|r| !r.is_empty())
        .ok_or("`registry` (HOST[:PORT]) is required")?;
    let mode = pick(&entry.mode, &defaults.mode)
        .ok_or("`mode` is required: service-linked, role, assume-role or static")?;
    let domains = entry.domains.iter().map(|d| normalize_host(d)).collect();
    let instance_id = pick(&entry.instance_id, &defaults.instance_id);
    let endpoint = pick(&entry.endpoint, &defaults.endpoint);
    let service = pick(&entry.service, &defaults.service);
    let acting_for = pick(&entry.acting_for, &defaults.acting_for);
    let session_name = pick(&entry.session_name, &defaults.session_name)
        .unwrap_or_else(|| DEFAULT_SESSION_NAME.to_owned());
    let duration_seconds = pick(&entry.duration_seconds, &defaults.duration_seconds)
        .unwrap_or(DEFAULT_DURATION_SECONDS);
    if !(900..=43200).contains(&duration_seconds) {
        return Err(format!(
            "`duration_seconds` must be 900-43200, not {duration_seconds}"
        ));
    }
    let mut resolved = Resolved {
        registry,
        domains,
        mode,
        instance_id,
        region_id: pick(&entry.region_id, &defaults.region_id),
        endpoint,
        service,
        service_key: None,
        acting_for,
        roles: Vec::new(),
        session_name,
        duration_seconds,
        username: None,
        password: None,
    };
    if mode == Mode::Static {
        resolved.username = Some(
            entry
                .username
                .clone()
                .ok_or("mode \"static\" needs `username`")?,
        );
        resolved.password = Some(match (&entry.password, &entry.password_file) {
            (Some(p), None) => PasswordSource::Inline(p.clone()),
            (None, Some(f)) => PasswordSource::File(f.clone()),
            _ => return Err("mode \"static\" needs one of `password`, `password_file`".into()),
        });
        return Ok(resolved);
    }
    if resolved.instance_id.is_none() {
        return Err("`instance_id` is required: GetAuthorizationToken names the instance".into());
    }
    if resolved.endpoint.is_none() {
        return Err("`endpoint` (rampart's API URL) is required".into());
    }
    let acting_for = resolved
        .acting_for
        .clone()
        .ok_or("`acting_for` (the account the service acts for) is required")?;
    // The entry's own key (either form) beats the defaults'.
    let key_of = |e: &Entry| {
        match (&e.service_key_id, &e.service_key_secret, &e.service_key_file) {
        (Some(id), Some(secret), None) => Ok(Some(ServiceKeySource::Inline {
            id: id.clone(),
            secret: secret.clone(),
        })),
        (None, None, Some(file)) => Ok(Some(ServiceKeySource::File(file.clone()))),
        (None, None, None) => Ok(None),
        _ => Err(
            "a service key is `service_key_id` + `service_key_secret`, or `service_key_file` (not both)",
        ),
    }
    };
    resolved.service_key = Some(key_of(entry)?.or(key_of(defaults)?).ok_or(
        "a service key is required: `service_key_id` + `service_key_secret`, or `service_key_file`",
    )?);
    let arn_service = pick(&entry.arn_service, &defaults.arn_service);
    let arn_user = entry.arn_user.clone();
    let role_arn = entry.role_arn.clone();
    match mode {
        Mode::ServiceLinked => {
            let name = match pick(&entry.role_name, &defaults.role_name) {
                Some(name) => name,
                None => resolved
                    .service
                    .as_deref()
                    .and_then(service_linked_role_name)
                    .map(str::to_owned)
                    .ok_or("mode \"service-linked\" needs `service` (one with a linked-role template, such as eci.aliyuncs.com) or `role_name`")?,
            };
            resolved.roles.push(format!(
                "acs:ram::{acting_for}:role/{}",
                name.to_ascii_lowercase()
            ));
        }
        Mode::Role | Mode::AssumeRole => {
            let first = match (mode, &arn_service, &role_arn) {
                (Mode::Role, Some(a), _) => a.clone(),
                (Mode::AssumeRole, _, Some(r)) => r.clone(),
                (Mode::AssumeRole, Some(a), None) => a.clone(),
                (Mode::Role, None, _) => return Err("mode \"role\" needs `arn_service`".into()),
                _ => return Err("mode \"assume-role\" needs `role_arn`".into()),
            };
            resolved.roles.push(first);
            if let Some(user) = arn_user {
                resolved.roles.push(user);
            }
        }
        Mode::Static => {}
    }
    Ok(resolved)
}

/// `HOST[:PORT]` of a docker ServerURL, an image reference or a config
/// value: no scheme, no path, lower case.
pub fn normalize_host(value: &str) -> String {
    let value = value.trim();
    let value = value.split_once("://").map_or(value, |(_, rest)| rest);
    let value = value.split('/').next().unwrap_or_default();
    value.to_ascii_lowercase()
}

impl Resolved {
    /// Whether this entry serves `host` (normalised): its registry or one
    /// of its domains, with the port or (when the entry names none)
    /// without.
    pub fn serves_host(&self, host: &str) -> bool {
        let bare = host.rsplit_once(':').map_or(host, |(h, _)| h);
        std::iter::once(&self.registry)
            .chain(self.domains.iter())
            .any(|name| name == host || (!name.contains(':') && name == bare))
    }

    /// What identifies the credentials this entry obtains (for caches).
    pub fn cache_key(&self) -> String {
        let key_id = match &self.service_key {
            Some(ServiceKeySource::Inline { id, .. }) => id.clone(),
            Some(ServiceKeySource::File(path)) => path.display().to_string(),
            None => String::new(),
        };
        serde_json::json!([
            self.registry,
            self.mode,
            self.instance_id,
            self.endpoint,
            key_id,
            self.acting_for,
            self.roles,
            self.session_name,
            self.duration_seconds,
        ])
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    const EXAMPLE: &str = r#"
cache_dir = "/tmp/c"

[defaults]
endpoint = "http://127.0.0.1:8080"
service = "eci.aliyuncs.com"
service_key_id = "LTSVabc"
service_key_secret = "s"
acting_for = "1111111111111111"

[[registries]]
registry = "127.0.0.1:5000"
mode = "service-linked"
instance_id = "cri-a"

[[registries]]
registry = "Reg.Example.Internal"
domains = ["alias.example.internal:5000"]
mode = "role"
instance_id = "cri-x"
arn_service = "acs:ram::1111111111111111:role/role-assume"
arn_user = "acs:ram::2222222222222222:role/role-acr"
duration_seconds = 900

[[registries]]
registry = "sae.example.internal:5000"
mode = "assume-role"
service = "sae.aliyuncs.com"
service_key_file = "/etc/key.json"
instance_id = "cri-b"
role_arn = "acs:ram::2222222222222222:role/sae-pull"

[[registries]]
registry = "static.example.internal"
mode = "static"
username = "u@2222222222222222"
password = "pw"
"#;

    #[test]
    fn parses_every_mode_with_defaults() {
        let config = Config::parse(EXAMPLE, false).unwrap();
        assert_eq!(config.cache_dir.as_deref(), Some(Path::new("/tmp/c")));
        let entries = config.entries().unwrap();
        assert_eq!(entries.len(), 4);
        assert_eq!(
            entries[0].roles,
            vec!["acs:ram::1111111111111111:role/aliyunserviceroleforeci"]
        );
        assert_eq!(entries[0].duration_seconds, 3600);
        assert_eq!(entries[1].registry, "reg.example.internal");
        assert_eq!(entries[1].roles.len(), 2);
        assert_eq!(entries[1].duration_seconds, 900);
        assert_eq!(
            entries[2].roles,
            vec!["acs:ram::2222222222222222:role/sae-pull"]
        );
        assert_eq!(
            entries[2].service_key,
            Some(ServiceKeySource::File("/etc/key.json".into()))
        );
        assert_eq!(entries[3].mode, Mode::Static);
        assert!(!format!("{:?}", entries[3]).contains("\"pw\""));
        assert!(!format!("{:?}", entries[0]).contains("\"s\""));
    }

    #[test]
    fn json_parses_the_same() {
        let toml_config = Config::parse(EXAMPLE, false).unwrap();
        let json = serde_json::to_string(&toml_config).unwrap();
        assert_eq!(Config::parse(&json, true).unwrap(), toml_config);
    }

    #[test]
    fn refuses_incomplete_and_unknown() {
        let err = |text: &str| Config::parse(text, false).and_then(|c| c.entries().map(|_| ()));
        assert!(err("[[registries]]\nregistry = \"h\"\nmode = \"static\"\n")
            .unwrap_err()
            .contains("username"));
        assert!(err("[[registries]]\nregistry = \"h\"\nmode = \"role\"\ninstance_id = \"c\"\nendpoint = \"e\"\nacting_for = \"1\"\nservice_key_file = \"/k\"\n")
            .unwrap_err()
            .contains("arn_service"));
        assert!(
            err("[[registries]]\nregistry = \"h\"\nmode = \"service-linked\"\n")
                .unwrap_err()
                .contains("instance_id")
        );
        assert!(err("[[registries]]\nregistry = \"h\"\nmode = \"bogus\"\n").is_err());
        assert!(err("[[registries]]\nregistry = \"h\"\nmod = \"static\"\n").is_err());
        assert!(
            err("[[registries]]\nmode = \"static\"\nusername = \"u\"\npassword = \"p\"\n")
                .unwrap_err()
                .contains("registry")
        );
        assert!(err("[[registries]]\nregistry = \"h\"\nmode = \"service-linked\"\ninstance_id = \"c\"\nendpoint = \"e\"\nacting_for = \"1\"\nservice_key_file = \"/k\"\nservice = \"x.aliyuncs.com\"\n")
            .unwrap_err()
            .contains("role_name"));
    }

    #[test]
    fn hosts_match_with_and_without_port() {
        let entries = Config::parse(EXAMPLE, false).unwrap().entries().unwrap();
        assert!(entries[0].serves_host("127.0.0.1:5000"));
        assert!(!entries[0].serves_host("127.0.0.1:5001"));
        assert!(entries[1].serves_host("reg.example.internal:443"));
        assert!(entries[1].serves_host("alias.example.internal:5000"));
        assert!(!entries[1].serves_host("alias.example.internal"));
        assert_eq!(
            normalize_host("https://Index.Docker.io/v1/"),
            "index.docker.io"
        );
        assert_eq!(
            normalize_host("127.0.0.1:5000/ns/repo:tag"),
            "127.0.0.1:5000"
        );
    }
}
