//! Registry logins kept until shortly before they expire: in memory for a
//! long-running process, in files (0600) for one-shot helper invocations.
//!
//! A login obtained at `t0` that expires at `t1` is used until
//! `t1 - max(60 s, (t1 - t0) / 10)`, then obtained again: a pull that
//! starts with it has at least a minute left.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// A registry login with its lifetime (unix seconds, the server's clock).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    pub username: String,
    pub password: String,
    pub obtained_at: i64,
    pub expires_at: i64,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("obtained_at", &self.obtained_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The margin before expiry at which a login is renewed.
pub fn refresh_margin(obtained_at: i64, expires_at: i64) -> i64 {
    let lifetime = expires_at.saturating_sub(obtained_at).max(0);
    (lifetime / 10).max(60)
}

impl Login {
    /// When it stops being handed out.
    pub fn refresh_at(&self) -> i64 {
        self.expires_at
            .saturating_sub(refresh_margin(self.obtained_at, self.expires_at))
    }

    pub fn is_fresh(&self, now: i64) -> bool {
        now < self.refresh_at()
    }

    /// Seconds it still lasts at `now` (0 when expired).
    pub fn remaining(&self, now: i64) -> i64 {
        self.expires_at.saturating_sub(now).max(0)
    }
}

/// Memory, and optionally a folder.
pub struct Cache {
    memory: Mutex<HashMap<String, Login>>,
    dir: Option<PathBuf>,
}

impl Cache {
    pub fn new(dir: Option<PathBuf>) -> Cache {
        Cache {
            memory: Mutex::new(HashMap::new()),
            dir,
        }
    }

    /// The file a key is kept in.
    pub fn file_of(&self, key: &str) -> Option<PathBuf> {
        let digest = Sha256::digest(key.as_bytes());
        let name = hex::encode(digest.get(..16).unwrap_or_default());
        self.dir.as_ref().map(|d| d.join(format!("{name}.json")))
    }

    /// A fresh login for `key`, from memory or the folder.
    pub fn get(&self, key: &str, now: i64) -> Option<Login> {
        if let Some(login) = self
            .memory
            .lock()
            .ok()
            .and_then(|m| m.get(key).cloned())
            .filter(|l| l.is_fresh(now))
        {
            return Some(login);
        }
        let file = self.file_of(key)?;
        let login: Login = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())?;
        if !login.is_fresh(now) {
            return None;
        }
        if let Ok(mut memory) = self.memory.lock() {
            memory.insert(key.to_owned(), login.clone());
        }
        Some(login)
    }

    /// Keeps `login`; a folder that cannot be written is reported, not
    /// fatal (the login is still good).
    pub fn put(&self, key: &str, login: &Login) -> Result<(), String> {
        if let Ok(mut memory) = self.memory.lock() {
            memory.insert(key.to_owned(), login.clone());
        }
        match self.file_of(key) {
            Some(file) => write_private(&file, login)
                .map_err(|e| format!("cannot write the cache file {}: {e}", file.display())),
            None => Ok(()),
        }
    }

    /// Forgets `key` (docker's `erase`).
    pub fn remove(&self, key: &str) {
        if let Ok(mut memory) = self.memory.lock() {
            memory.remove(key);
        }
        if let Some(file) = self.file_of(key) {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Writes `login` to `file` readable by its owner only, atomically.
fn write_private(file: &Path, login: &Login) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let bytes = serde_json::to_vec(login).map_err(std::io::Error::other)?;
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut handle = options.open(&tmp)?;
    handle.write_all(&bytes)?;
    handle.sync_all()?;
    drop(handle);
    std::fs::rename(&tmp, file)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn login(obtained_at: i64, expires_at: i64) -> Login {
        Login {
            username: "cr_temp_user".into(),
            password: "tok".into(),
            obtained_at,
            expires_at,
        }
    }

    #[test]
    fn refreshes_a_tenth_or_a_minute_before_expiry() {
        // One hour: 360 s before.
        let l = login(1000, 4600);
        assert_eq!(l.refresh_at(), 4240);
        assert!(l.is_fresh(4239));
        assert!(!l.is_fresh(4240));
        // Fifteen minutes: a tenth is 90 s.
        assert_eq!(login(0, 900).refresh_at(), 810);
        // Short: at least a minute.
        assert_eq!(login(0, 300).refresh_at(), 240);
        // Expired or nonsense.
        assert!(!login(100, 50).is_fresh(0) || login(100, 50).refresh_at() == -10);
        assert_eq!(login(0, 100).remaining(150), 0);
        assert_eq!(login(0, 100).remaining(40), 60);
        assert!(!format!("{:?}", l).contains("tok\""));
    }

    #[test]
    fn files_survive_the_process_and_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(Some(dir.path().join("sub")));
        cache.put("k", &login(0, 3600)).unwrap();
        let again = Cache::new(Some(dir.path().join("sub")));
        assert_eq!(again.get("k", 100), Some(login(0, 3600)));
        assert_eq!(again.get("k", 3300), None);
        assert_eq!(again.get("other", 100), None);
        let file = again.file_of("k").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        again.remove("k");
        assert!(!file.exists());
        assert_eq!(Cache::new(None).get("k", 0), None);
    }
}
