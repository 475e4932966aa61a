//! A short-lived memory of the control-plane rows every registry request
//! reads: the instance a host names, an endpoint's switches and ACL, a
//! repository's record. Without it a manifest GET would cost four queries
//! before any content is read.
//!
//! Entries live [`TTL`] at most, and every Container Registry write made
//! through this node clears the whole memory, so a change made here counts
//! at the next request; a change made on another node (or by an admin
//! verb in another process) counts within [`TTL`]. Permissions are not
//! kept here: RAM decides every request with its own, exact cache.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use registry::meta::control::{Instance, Repository};
use registry::meta::instances::Endpoint;

/// How long an entry may be served.
pub const TTL: Duration = Duration::from_secs(2);

/// Entries kept per map before it starts over.
const CAPACITY: usize = 10_000;

#[derive(Debug)]
struct Timed<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K, V> Default for Timed<K, V> {
    fn default() -> Self {
        Timed {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Timed<K, V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, V)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, key: &K) -> Option<V> {
        let map = self.lock();
        let (at, value) = map.get(key)?;
        (at.elapsed() < TTL).then(|| value.clone())
    }

    fn put(&self, key: K, value: V) {
        let mut map = self.lock();
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(key, (Instant::now(), value));
    }

    fn clear(&self) {
        self.lock().clear();
    }
}

/// The memory itself.
#[derive(Debug, Default)]
pub struct ControlCache {
    hosts: Timed<String, Option<(Instance, &'static str)>>,
    endpoints: Timed<(String, &'static str), Endpoint>,
    repositories: Timed<(String, String, String), Option<Repository>>,
}

impl ControlCache {
    pub fn host(&self, host: &str) -> Option<Option<(Instance, &'static str)>> {
        self.hosts.get(&host.to_owned())
    }

    pub fn put_host(&self, host: &str, found: Option<(Instance, &'static str)>) {
        self.hosts.put(host.to_owned(), found);
    }

    pub fn endpoint(&self, instance: &str, kind: &'static str) -> Option<Endpoint> {
        self.endpoints.get(&(instance.to_owned(), kind))
    }

    pub fn put_endpoint(&self, instance: &str, kind: &'static str, endpoint: Endpoint) {
        self.endpoints.put((instance.to_owned(), kind), endpoint);
    }

    pub fn repository(&self, instance: &str, ns: &str, repo: &str) -> Option<Option<Repository>> {
        self.repositories
            .get(&(instance.to_owned(), ns.to_owned(), repo.to_owned()))
    }

    pub fn put_repository(&self, instance: &str, ns: &str, repo: &str, found: Option<Repository>) {
        self.repositories
            .put((instance.to_owned(), ns.to_owned(), repo.to_owned()), found);
    }

    /// Forgets everything (after a control-plane write).
    pub fn clear(&self) {
        self.hosts.clear();
        self.endpoints.clear();
        self.repositories.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_clear() {
        let cache: Timed<u8, u8> = Timed::default();
        cache.put(1, 2);
        assert_eq!(cache.get(&1), Some(2));
        cache.clear();
        assert_eq!(cache.get(&1), None);
        cache
            .lock()
            .insert(3, (Instant::now().checked_sub(TTL * 2).unwrap(), 4));
        assert_eq!(cache.get(&3), None);
    }
}
