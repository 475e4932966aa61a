//! A small map of values read from the database, each stamped with the
//! store's generation when it was read (see `Changes`). A value whose stamp
//! differs from the current generation is stale and is read again, so a
//! committed write (here, or on another PostgreSQL node through NOTIFY) is
//! seen by the very next lookup. Used for what every request made with
//! temporary credentials reads: the session's role and the user that
//! started its chain.

use std::collections::HashMap;
use std::sync::RwLock;

/// Entries kept before the map starts over (a bound on memory).
const CAPACITY: usize = 10_000;

#[derive(Debug)]
pub(crate) struct GenerationCache<V> {
    entries: RwLock<HashMap<String, (u64, V)>>,
}

impl<V> Default for GenerationCache<V> {
    fn default() -> Self {
        GenerationCache {
            entries: RwLock::new(HashMap::new()),
        }
    }
}

impl<V: Clone> GenerationCache<V> {
    /// The value read at `generation`, if there is one.
    pub(crate) fn get(&self, key: &str, generation: u64) -> Option<V> {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(stamp, _)| *stamp == generation)
            .map(|(_, value)| value.clone())
    }

    /// Remembers a value read at `generation` (read before the load began,
    /// so a write committed during the load leaves it stale).
    pub(crate) fn put(&self, key: String, generation: u64, value: V) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, (generation, value));
    }
}

/// Values computed from a text alone (a parsed policy from its document):
/// never stale, so no generation; bounded like `GenerationCache`.
#[derive(Debug)]
pub(crate) struct TextMemo<V> {
    entries: RwLock<HashMap<String, V>>,
}

impl<V> Default for TextMemo<V> {
    fn default() -> Self {
        TextMemo {
            entries: RwLock::new(HashMap::new()),
        }
    }
}

impl<V: Clone> TextMemo<V> {
    /// The value for `text`, computing and remembering it on a miss. Errors
    /// are not remembered.
    pub(crate) fn get_or_try<E>(
        &self,
        text: &str,
        compute: impl FnOnce(&str) -> Result<V, E>,
    ) -> Result<V, E> {
        {
            let entries = self
                .entries
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(value) = entries.get(text) {
                return Ok(value.clone());
            }
        }
        let value = compute(text)?;
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MEMO_CAPACITY {
            entries.clear();
        }
        entries.insert(text.to_owned(), value.clone());
        Ok(value)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

/// Entries a `TextMemo` keeps before it starts over.
const MEMO_CAPACITY: usize = 1_000;

/// The key of an entry scoped by account.
pub(crate) fn scoped(account: &str, name: &str) -> String {
    let mut key = String::with_capacity(account.len() + name.len() + 1);
    key.push_str(account);
    key.push('/');
    key.push_str(name);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_computes_once_forgets_errors_and_stays_bounded() {
        let memo = TextMemo::default();
        let mut calls = 0;
        let mut len = |t: &str| -> Result<usize, ()> {
            calls += 1;
            Ok(t.len())
        };
        assert_eq!(memo.get_or_try("abc", &mut len), Ok(3));
        assert_eq!(memo.get_or_try("abc", &mut len), Ok(3));
        assert_eq!(calls, 1);
        assert_eq!(memo.get_or_try("bad", |_| Err::<usize, _>("no")), Err("no"));
        assert_eq!(memo.get_or_try("bad", |t| Ok::<_, ()>(t.len())), Ok(3));
        for i in 0..MEMO_CAPACITY + 5 {
            memo.get_or_try(&i.to_string(), |t| Ok::<_, ()>(t.len()))
                .unwrap();
        }
        assert!(memo.len() <= MEMO_CAPACITY);
    }

    #[test]
    fn stale_generations_miss() {
        let cache = GenerationCache::default();
        cache.put(scoped("1", "a"), 7, Some(3));
        assert_eq!(cache.get("1/a", 7), Some(Some(3)));
        assert_eq!(cache.get("1/a", 8), None);
        assert_eq!(cache.get("1/b", 7), None);
        cache.put(scoped("1", "a"), 8, None);
        assert_eq!(cache.get("1/a", 8), Some(None));
    }
}
