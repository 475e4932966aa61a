//! Where `serve` and the admin verbs find their settings: flags, then
//! `RAMPART_*` environment variables, then the TOML config file, then
//! defaults.
//!
//! | setting | flag | environment | config file key | default |
//! |---|---|---|---|---|
//! | data folder | `--data-dir` | `RAMPART_DATA_DIR` | `data_dir` | `./rampart-data` |
//! | RPC listen address | `--listen` | `RAMPART_LISTEN` | `listen` | `127.0.0.1:8080` |
//! | registry listen address | `--registry-listen` | `RAMPART_REGISTRY_LISTEN` | `registry_listen` | none |
//! | store URL | `--store` | `RAMPART_STORE` | `store` | `sqlite://DATA_DIR/rampart.db` |
//! | master key (hex) | — | `RAMPART_MASTER_KEY` | `master_key` | `DATA_DIR/keys/master.key`, made on first start |
//! | STS key (hex) | — | `RAMPART_STS_KEY` | `sts_key` | `DATA_DIR/keys/sts.key`, made on first start |
//! | older STS keys that still verify (hex) | — | `RAMPART_STS_OLD_KEYS` (comma-separated) | `sts_old_keys` (a list) | none |
//!
//! The STS key seals the SecurityTokens of temporary credentials and
//! derives their secrets; the first key of the ring seals, every key
//! verifies. The key file holds one key per line, the first one sealing:
//! rotating on one node is adding a new first line. Nodes that share a
//! store must share the STS keys too (the environment or the config file).
//!
//! The config file is `--config FILE`, else `DATA_DIR/rampart.toml` when it
//! exists (DATA_DIR from the flag, the environment or the default; a
//! `data_dir` inside that file then moves the rest). Unknown keys in the
//! file are errors, so a misspelt key does not silently fall back to a
//! default.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The default RPC listen address: loopback only, the port the protocol
/// notes and SDK examples use.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The default data folder.
pub const DEFAULT_DATA_DIR: &str = "rampart-data";

/// The config file looked for in the data folder.
pub const CONFIG_FILE_NAME: &str = "rampart.toml";

/// The master key's place in the data folder.
pub const MASTER_KEY_PATH: &str = "keys/master.key";

/// The STS key file's place in the data folder.
pub const STS_KEY_PATH: &str = "keys/sts.key";

/// What the command line said (each `None` when not given).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub registry_listen: Option<String>,
    pub store: Option<String>,
    pub config: Option<PathBuf>,
}

/// The config file's contents.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<String>,
    registry_listen: Option<String>,
    store: Option<String>,
    master_key: Option<String>,
    sts_key: Option<String>,
    sts_old_keys: Option<Vec<String>>,
}

/// Where the master key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum MasterKeySource {
    /// Given as hex (environment or config file), already decoded.
    Given([u8; 32]),
    /// The file in the data folder, made on first use.
    File(PathBuf),
}

impl std::fmt::Debug for MasterKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Given(_) => f.write_str("Given(<redacted>)"),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

/// Where the STS keys come from.
#[derive(Clone, PartialEq, Eq)]
pub enum StsKeySource {
    /// The sealing key given as hex (environment or config file).
    Given([u8; 32]),
    /// The key file in the data folder (one hex key per line, the first
    /// sealing), made with one random key on first use.
    File(PathBuf),
}

impl std::fmt::Debug for StsKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Given(_) => f.write_str("Given(<redacted>)"),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

/// Every setting, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: String,
    pub registry_listen: Option<String>,
    pub store: String,
    pub master_key: MasterKeySource,
    pub sts_key: StsKeySource,
    /// Older STS keys that still verify (never seal).
    pub sts_old_keys: Vec<[u8; 32]>,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
}

/// The store used when none is named: SQLite in the data folder.
pub fn default_store(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("rampart.db").display())
}

impl Settings {
    /// Whether the settings name a store other than the data folder's own.
    pub fn store_is_elsewhere(&self) -> bool {
        self.store != default_store(&self.data_dir)
    }
}

/// Checks `HOST:PORT` (`[v6]:PORT` too): a non-empty host and a port
/// number. Names are resolved only when binding.
pub fn check_address(what: &str, value: &str) -> Result<(), String> {
    let bad =
        |why: &str| format!("{what} {value:?}: {why}; expected HOST:PORT, e.g. {DEFAULT_LISTEN}");
    let (host, port) = value.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    if host.is_empty() {
        return Err(bad("no host"));
    }
    if host.starts_with('[') != host.ends_with(']') {
        return Err(bad("unbalanced brackets around an IPv6 address"));
    }
    if host.contains(':') && !host.starts_with('[') {
        return Err(bad("an IPv6 address must be in brackets"));
    }
    port.parse::<u16>()
        .map_err(|_| bad("the port is not a number from 0 to 65535"))?;
    Ok(())
}

/// Decodes a 64-hex-digit master key.
pub fn parse_master_key(what: &str, text: &str) -> Result<[u8; 32], String> {
    let mut key = [0_u8; 32];
    hex::decode_to_slice(text.trim(), &mut key)
        .map_err(|_| format!("{what}: the master key must be 64 hex digits (32 bytes)"))?;
    Ok(key)
}

/// Decodes a 64-hex-digit key (STS keys).
pub fn parse_key(what: &str, text: &str) -> Result<[u8; 32], String> {
    let mut key = [0_u8; 32];
    hex::decode_to_slice(text.trim(), &mut key)
        .map_err(|_| format!("{what}: each key must be 64 hex digits (32 bytes)"))?;
    Ok(key)
}

impl Settings {
    /// Resolves the settings from flags, the environment (read through
    /// `env`) and the config file.
    pub fn resolve(
        flags: &Flags,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, String> {
        let env = |name: &str| env(name).filter(|v| !v.is_empty());
        let early_data_dir = flags
            .data_dir
            .clone()
            .or_else(|| env("RAMPART_DATA_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));

        let config_path = match &flags.config {
            Some(path) => Some(path.clone()),
            None => {
                let path = early_data_dir.join(CONFIG_FILE_NAME);
                path.is_file().then_some(path)
            }
        };
        let file = match &config_path {
            Some(path) => {
                let text = fs::read_to_string(path)
                    .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
                toml::from_str::<FileConfig>(&text)
                    .map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };

        let data_dir = flags
            .data_dir
            .clone()
            .or_else(|| env("RAMPART_DATA_DIR").map(PathBuf::from))
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));

        let listen = flags
            .listen
            .clone()
            .or_else(|| env("RAMPART_LISTEN"))
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        check_address("--listen", &listen)?;

        let registry_listen = flags
            .registry_listen
            .clone()
            .or_else(|| env("RAMPART_REGISTRY_LISTEN"))
            .or(file.registry_listen);
        if let Some(address) = &registry_listen {
            check_address("--registry-listen", address)?;
        }

        let store = flags
            .store
            .clone()
            .or_else(|| env("RAMPART_STORE"))
            .or(file.store)
            .unwrap_or_else(|| default_store(&data_dir));

        let master_key = match (env("RAMPART_MASTER_KEY"), file.master_key) {
            (Some(hex), _) => MasterKeySource::Given(parse_master_key("RAMPART_MASTER_KEY", &hex)?),
            (None, Some(hex)) => {
                MasterKeySource::Given(parse_master_key("config file master_key", &hex)?)
            }
            (None, None) => MasterKeySource::File(data_dir.join(MASTER_KEY_PATH)),
        };

        let sts_key = match (env("RAMPART_STS_KEY"), file.sts_key) {
            (Some(hex), _) => StsKeySource::Given(parse_key("RAMPART_STS_KEY", &hex)?),
            (None, Some(hex)) => StsKeySource::Given(parse_key("config file sts_key", &hex)?),
            (None, None) => StsKeySource::File(data_dir.join(STS_KEY_PATH)),
        };
        let sts_old_keys = match (env("RAMPART_STS_OLD_KEYS"), file.sts_old_keys) {
            (Some(list), _) => list
                .split([',', ' ', '\n'])
                .filter(|k| !k.trim().is_empty())
                .map(|k| parse_key("RAMPART_STS_OLD_KEYS", k))
                .collect::<Result<Vec<_>, _>>()?,
            (None, Some(list)) => list
                .iter()
                .map(|k| parse_key("config file sts_old_keys", k))
                .collect::<Result<Vec<_>, _>>()?,
            (None, None) => Vec::new(),
        };

        Ok(Settings {
            data_dir,
            listen,
            registry_listen,
            store,
            master_key,
            sts_key,
            sts_old_keys,
            config_file: config_path,
        })
    }

    /// The settings for this process: its flags and environment.
    pub fn from_process(flags: &Flags) -> Result<Settings, String> {
        Self::resolve(flags, |name| std::env::var(name).ok())
    }

    /// Makes the data folder (owner-only on Unix).
    pub fn ensure_data_dir(&self) -> Result<(), String> {
        create_private_dir(&self.data_dir)
    }

    /// The STS keys, sealing key first: the given one or the key file's
    /// (made with one random key, mode 0600, when absent), then the older
    /// ones.
    pub fn sts_keys(&self) -> Result<Vec<[u8; 32]>, String> {
        let mut keys = match &self.sts_key {
            StsKeySource::Given(key) => vec![*key],
            StsKeySource::File(path) => load_or_create_key_list(path)?,
        };
        for old in &self.sts_old_keys {
            if !keys.contains(old) {
                keys.push(*old);
            }
        }
        Ok(keys)
    }

    /// The master key: the given one, or the one in the data folder, made
    /// (32 random bytes, mode 0600, in a 0700 folder) when absent.
    pub fn master_key(&self) -> Result<[u8; 32], String> {
        match &self.master_key {
            MasterKeySource::Given(key) => Ok(*key),
            MasterKeySource::File(path) => load_or_create_key(path),
        }
    }
}

/// Makes a folder and its parents; the folder itself is 0700 on Unix.
pub fn create_private_dir(path: &Path) -> Result<(), String> {
    if path.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(path)
        .map_err(|e| format!("{}: cannot create folder: {e}", path.display()))
}

/// Writes `contents` to a new file readable by its owner only (0600 on
/// Unix), failing if the file exists.
pub fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), String> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("{}: cannot create: {e}", path.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

fn load_or_create_key(path: &Path) -> Result<[u8; 32], String> {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes)
                .map_err(|_| format!("{}: not a hex master key", path.display()))?;
            parse_master_key(&path.display().to_string(), &text)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(folder) = path.parent() {
                create_private_dir(folder)?;
            }
            let mut key = [0_u8; 32];
            getrandom::fill(&mut key)
                .map_err(|e| format!("no randomness for the master key: {e}"))?;
            let mut text = hex::encode(key);
            text.push('\n');
            match write_private_file(path, text.as_bytes()) {
                Ok(()) => Ok(key),
                // Another process (a concurrent `account create`) made it
                // first: use theirs.
                Err(_) if path.is_file() => load_or_create_key(path),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(format!(
            "{}: cannot read the master key: {e}",
            path.display()
        )),
    }
}

/// Reads a key file of one hex key per line (blank lines and `#` comments
/// skipped), making it with one random key when it does not exist.
fn load_or_create_key_list(path: &Path) -> Result<Vec<[u8; 32]>, String> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let keys = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| parse_key(&path.display().to_string(), l))
                .collect::<Result<Vec<_>, _>>()?;
            if keys.is_empty() {
                return Err(format!("{}: holds no key", path.display()));
            }
            Ok(keys)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // One random key, made exactly as the master key is.
            load_or_create_key(path).map(|key| vec![key])
        }
        Err(e) => Err(format!("{}: cannot read the STS keys: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("rampart-settings-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn defaults() {
        let s = Settings::resolve(&Flags::default(), |_| None).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("rampart-data"));
        assert_eq!(s.listen, "127.0.0.1:8080");
        assert_eq!(s.store, "sqlite://rampart-data/rampart.db");
        assert_eq!(s.registry_listen, None);
        assert_eq!(
            s.master_key,
            MasterKeySource::File(PathBuf::from("rampart-data/keys/master.key"))
        );
        assert_eq!(
            s.sts_key,
            StsKeySource::File(PathBuf::from("rampart-data/keys/sts.key"))
        );
        assert!(s.sts_old_keys.is_empty());
    }

    #[test]
    fn sts_keys_from_env_config_and_file() {
        let dir = scratch("sts");
        let hex1 = "11".repeat(32);
        let hex2 = "22".repeat(32);
        let hex3 = "33".repeat(32);
        // The file: made once, 0600, and read back the same.
        let data = dir.display().to_string();
        let env_data = |name: &str| (name == "RAMPART_DATA_DIR").then(|| data.clone());
        let s = Settings::resolve(&Flags::default(), env_data).unwrap();
        let made = s.sts_keys().unwrap();
        assert_eq!(made.len(), 1);
        assert_eq!(s.sts_keys().unwrap(), made);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(dir.join("keys/sts.key"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600);
        }
        // A rotated file: the new first line seals, the old one still verifies.
        fs::write(
            dir.join("keys/sts.key"),
            format!("# rotated\n{hex1}\n\n{}\n", hex::encode(made[0])),
        )
        .unwrap();
        let rotated = Settings::resolve(&Flags::default(), env_data)
            .unwrap()
            .sts_keys()
            .unwrap();
        assert_eq!(rotated, vec![[0x11; 32], made[0]]);
        // The environment wins, and adds older keys.
        let env = |name: &str| match name {
            "RAMPART_DATA_DIR" => Some(data.clone()),
            "RAMPART_STS_KEY" => Some(hex2.clone()),
            "RAMPART_STS_OLD_KEYS" => Some(format!("{hex3}, {hex1}")),
            _ => None,
        };
        let s = Settings::resolve(&Flags::default(), env).unwrap();
        assert_eq!(
            s.sts_keys().unwrap(),
            vec![[0x22; 32], [0x33; 32], [0x11; 32]]
        );
        assert!(!format!("{s:?}").contains(&hex2));
        // The config file.
        fs::write(
            dir.join("rampart.toml"),
            format!("sts_key = \"{hex3}\"\nsts_old_keys = [\"{hex2}\"]\n"),
        )
        .unwrap();
        let s = Settings::resolve(&Flags::default(), env_data).unwrap();
        assert_eq!(s.sts_keys().unwrap(), vec![[0x33; 32], [0x22; 32]]);
        // Bad keys are refused.
        let bad = |name: &str| (name == "RAMPART_STS_OLD_KEYS").then(|| "abc".to_owned());
        assert!(Settings::resolve(&Flags::default(), bad)
            .unwrap_err()
            .contains("64 hex digits"));
        fs::write(dir.join("keys/sts.key"), "# nothing\n").unwrap();
        fs::remove_file(dir.join("rampart.toml")).unwrap();
        assert!(Settings::resolve(&Flags::default(), env_data)
            .unwrap()
            .sts_keys()
            .unwrap_err()
            .contains("no key"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn flags_beat_env_beat_file() {
        let dir = scratch("precedence");
        fs::write(
            dir.join("rampart.toml"),
            "listen = \"127.0.0.1:7001\"\nstore = \"sqlite:///file.db\"\nregistry_listen = \"127.0.0.1:5000\"\n",
        )
        .unwrap();
        let data = dir.display().to_string();
        let env = |name: &str| match name {
            "RAMPART_DATA_DIR" => Some(data.clone()),
            "RAMPART_LISTEN" => Some("127.0.0.1:7002".to_owned()),
            _ => None,
        };
        let s = Settings::resolve(&Flags::default(), env).unwrap();
        assert_eq!(s.listen, "127.0.0.1:7002");
        assert_eq!(s.store, "sqlite:///file.db");
        assert_eq!(s.registry_listen.as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(s.config_file, Some(dir.join("rampart.toml")));
        let flags = Flags {
            listen: Some("127.0.0.1:7003".into()),
            ..Flags::default()
        };
        assert_eq!(
            Settings::resolve(&flags, env).unwrap().listen,
            "127.0.0.1:7003"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn refuses_bad_values() {
        let flags = Flags {
            listen: Some("8080".into()),
            ..Flags::default()
        };
        assert!(Settings::resolve(&flags, |_| None)
            .unwrap_err()
            .contains("HOST:PORT"));
        let flags = Flags {
            registry_listen: Some("localhost:99999".into()),
            ..Flags::default()
        };
        assert!(Settings::resolve(&flags, |_| None).is_err());
        let env = |name: &str| (name == "RAMPART_MASTER_KEY").then(|| "abc".to_owned());
        assert!(Settings::resolve(&Flags::default(), env)
            .unwrap_err()
            .contains("64 hex digits"));
        assert!(check_address("x", "[::1]:80").is_ok());
        assert!(check_address("x", "::1:80").is_err());
        assert!(check_address("x", "localhost:0").is_ok());
    }

    #[test]
    fn unknown_config_keys_are_errors() {
        let dir = scratch("unknown");
        let path = dir.join("c.toml");
        fs::write(&path, "lisen = \"127.0.0.1:1\"\n").unwrap();
        let flags = Flags {
            config: Some(path),
            ..Flags::default()
        };
        assert!(Settings::resolve(&flags, |_| None)
            .unwrap_err()
            .contains("lisen"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn master_key_is_made_once_and_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = scratch("key");
        let path = dir.join("keys/master.key");
        let first = load_or_create_key(&path).unwrap();
        let again = load_or_create_key(&path).unwrap();
        assert_eq!(first, again);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let folder_mode = fs::metadata(dir.join("keys")).unwrap().permissions().mode() & 0o777;
        assert_eq!(folder_mode, 0o700);
        fs::remove_dir_all(dir).unwrap();
    }
}
