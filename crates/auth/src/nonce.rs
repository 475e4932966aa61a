//! A bounded memory of recently seen nonces, to refuse replayed requests.
//!
//! Every signed request carries a fresh random nonce (`SignatureNonce` for
//! V1, `x-acs-signature-nonce` for V3). A captured request can be sent
//! again for as long as its timestamp passes the skew check, that is until
//! *request time + window*; the cache must remember the nonce that long and
//! no longer.
//!
//! Memory is fixed up front: at most `capacity` nonces of at most
//! [`MAX_NONCE_LEN`] bytes. When the cache is full of nonces that are still
//! live it refuses the new request ([`NonceError::Full`]) rather than
//! forgetting a live nonce (which would reopen a replay) or growing.
//!
//! Expiry is kept in a ring of time buckets, so inserting, checking and
//! expiring are all O(1) amortised: each nonce is dropped exactly once,
//! when the clock passes its bucket.
//!
//! The cache is plain data (`Send`, no locking); a server shares it behind
//! a `Mutex`. Insert a nonce only **after** the request's signature
//! verified, so unauthenticated traffic cannot fill it.

use std::collections::HashMap;
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::time::{Timestamp, MAX_CLOCK_SKEW};

/// The longest nonce accepted. The SDKs send 32 to 64 characters.
pub const MAX_NONCE_LEN: usize = 256;

/// The signing side's nonces: unique per request within a process and
/// across processes and runs (a random per-process prefix, then a shared
/// counter), e.g. `3f9a0c1d2e4b5a69-1a2b`.
#[derive(Debug)]
pub struct NonceSource {
    prefix: String,
    next: AtomicU64,
}

impl NonceSource {
    /// A new prefix: std's hasher seeds are random per process, mixed with
    /// the clock and the pid.
    pub fn new() -> Self {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        hasher.write_u128(nanos);
        Self {
            prefix: format!("{:016x}", hasher.finish()),
            next: AtomicU64::new(0),
        }
    }

    /// The next nonce.
    pub fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n:x}", self.prefix)
    }
}

impl Default for NonceSource {
    fn default() -> Self {
        Self::new()
    }
}

/// How many seconds of expiry the ring tracks one by one; a window wider
/// than half of this uses coarser buckets (nonces are then kept up to one
/// bucket longer than needed, never shorter). Alibaba's 15 minutes fit.
const MAX_BUCKETS: i64 = 2048;

/// Why a nonce was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NonceError {
    /// The nonce was seen within the window: a replay (Alibaba's
    /// `SignatureNonceUsed`).
    #[error("signature nonce was used already")]
    Replayed,
    /// Every slot holds a nonce that is still live; the request cannot be
    /// checked for replay, so it is refused.
    #[error("nonce cache is full ({capacity} live nonces); try again later")]
    Full {
        /// The cache's fixed capacity.
        capacity: usize,
    },
    /// The request time is outside the window around `now`: such a request
    /// must already have been refused by the skew check.
    #[error("request time is outside the nonce window; check the clock skew first")]
    OutsideWindow,
    /// The nonce is empty or longer than [`MAX_NONCE_LEN`] bytes.
    #[error("signature nonce must be 1 to {MAX_NONCE_LEN} bytes long, got {len}")]
    BadLength {
        /// The length received.
        len: usize,
    },
}

/// Remembers nonces until their request can no longer pass the skew check.
#[derive(Debug)]
pub struct NonceCache {
    capacity: usize,
    /// The skew window, in seconds.
    window: i64,
    /// Seconds per bucket.
    granularity: i64,
    /// Nonce → the last second at which its request still passes the skew
    /// check.
    live: HashMap<Arc<str>, i64>,
    /// Ring of buckets; bucket number `k` (covering seconds
    /// `k*granularity ..= (k+1)*granularity - 1`) lives at `k mod len`.
    buckets: Vec<Vec<Arc<str>>>,
    /// The first bucket number not yet swept, once the clock was seen.
    cursor: Option<i64>,
    /// The latest `now` seen (time as far as the cache is concerned never
    /// goes backwards, except for the reset described in `advance`).
    high_water: i64,
}

impl NonceCache {
    /// A cache for at most `capacity` nonces, each kept until its request
    /// time plus `window` (which should be the skew allowed by
    /// [`crate::check_skew`]). All memory for the entries is reserved here.
    pub fn new(capacity: usize, window: Duration) -> Self {
        let window = i64::try_from(window.as_secs()).unwrap_or(i64::MAX / 8);
        // Keep arithmetic on window multiples far from overflow.
        let window = window.min(i64::MAX / 8);
        let span = window.saturating_mul(2).max(1);
        let granularity = (span + MAX_BUCKETS - 1) / MAX_BUCKETS;
        // Live buckets lie within `ceil(span / granularity) + 1` of the
        // cursor.
        let ring_len = (span + granularity - 1) / granularity + 2;
        let ring_len = usize::try_from(ring_len).unwrap_or(1);
        Self {
            capacity,
            window,
            granularity,
            live: HashMap::with_capacity(capacity),
            buckets: (0..ring_len).map(|_| Vec::new()).collect(),
            cursor: None,
            high_water: i64::MIN,
        }
    }

    /// A cache for at most `capacity` nonces with Alibaba's 15-minute window.
    pub fn with_capacity(capacity: usize) -> Self {
        Self::new(capacity, MAX_CLOCK_SKEW)
    }

    /// Records `nonce` for a request made at `request_time`, or says why
    /// the request must be refused. `now` is the server's clock.
    ///
    /// Callers choose the scope of uniqueness: pass the bare nonce (as
    /// Alibaba does, one space for all keys) or, say, `AccessKeyId + "/" +
    /// nonce`.
    pub fn check_and_insert(
        &mut self,
        nonce: &str,
        request_time: Timestamp,
        now: Timestamp,
    ) -> Result<(), NonceError> {
        if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN {
            return Err(NonceError::BadLength { len: nonce.len() });
        }
        let request_time = request_time.unix_seconds();
        let now = now.unix_seconds();
        let offset = (i128::from(request_time) - i128::from(now)).unsigned_abs();
        if offset > self.window.unsigned_abs().into() {
            return Err(NonceError::OutsideWindow);
        }
        let cursor = self.advance(now);
        if self.live.contains_key(nonce) {
            return Err(NonceError::Replayed);
        }
        if self.live.len() >= self.capacity {
            return Err(NonceError::Full {
                capacity: self.capacity,
            });
        }
        // `request_time` is within `window` of `now`, so neither sum
        // overflows (the window is at most i64::MAX / 8 and the request
        // time is clamped first).
        let expires = request_time.saturating_add(self.window);
        // A nonce whose bucket was already swept (the clock stepped back)
        // goes into the current bucket: it is kept longer, never shorter.
        let bucket = expires.div_euclid(self.granularity).max(cursor);
        let ring_len = i64::try_from(self.buckets.len()).unwrap_or(i64::MAX);
        if bucket.saturating_sub(cursor) >= ring_len {
            return Err(NonceError::OutsideWindow);
        }
        let index = usize::try_from(bucket.rem_euclid(ring_len)).unwrap_or(usize::MAX);
        let Some(slot) = self.buckets.get_mut(index) else {
            return Err(NonceError::OutsideWindow);
        };
        let key: Arc<str> = Arc::from(nonce);
        slot.push(Arc::clone(&key));
        self.live.insert(key, expires);
        Ok(())
    }

    /// Whether `nonce` is currently remembered (after expiring what `now`
    /// makes stale).
    pub fn contains(&mut self, nonce: &str, now: Timestamp) -> bool {
        self.advance(now.unix_seconds());
        self.live.contains_key(nonce)
    }

    /// How many nonces are remembered now (expired ones may still count
    /// until the next call that passes a clock).
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// The fixed capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Moves the clock to `now`, dropping every bucket that lies wholly in
    /// the past, and returns the first live bucket number.
    fn advance(&mut self, now: i64) -> i64 {
        let target = now.div_euclid(self.granularity);
        let Some(mut cursor) = self.cursor else {
            self.cursor = Some(target);
            self.high_water = now;
            return target;
        };
        // A clock that stepped back further than any remembered request can
        // reach: a remembered request's time is at least
        // `high_water - 3*window - 2*granularity`, so from here its replay
        // fails the skew check anyway. Forget everything rather than hold
        // the slots until the clock catches up again.
        let reach = self
            .window
            .saturating_mul(4)
            .saturating_add(self.granularity.saturating_mul(2));
        if now < self.high_water.saturating_sub(reach) {
            self.clear_all();
            self.cursor = Some(target);
            self.high_water = now;
            return target;
        }
        self.high_water = self.high_water.max(now);
        let ring_len = self.buckets.len();
        let mut swept = 0;
        while cursor < target && swept < ring_len {
            let ring = i64::try_from(ring_len).unwrap_or(i64::MAX);
            let index = usize::try_from(cursor.rem_euclid(ring)).unwrap_or(usize::MAX);
            if let Some(bucket) = self.buckets.get_mut(index) {
                for key in std::mem::take(bucket) {
                    self.live.remove(&key);
                }
            }
            cursor = cursor.saturating_add(1);
            swept += 1;
        }
        // Past a whole turn of the ring, every bucket is empty already.
        let cursor = cursor.max(target);
        self.cursor = Some(cursor);
        cursor
    }

    fn clear_all(&mut self) {
        self.live.clear();
        for bucket in &mut self.buckets {
            *bucket = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    const T0: i64 = 1_704_110_400; // 2024-01-01T12:00:00Z

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_seconds(T0 + seconds)
    }

    #[test]
    fn second_use_is_a_replay() {
        let mut cache = NonceCache::with_capacity(10);
        assert_eq!(cache.check_and_insert("n1", at(0), at(0)), Ok(()));
        assert_eq!(
            cache.check_and_insert("n1", at(0), at(5)),
            Err(NonceError::Replayed)
        );
        // A replay with another (still valid) timestamp is a replay too.
        assert_eq!(
            cache.check_and_insert("n1", at(60), at(61)),
            Err(NonceError::Replayed)
        );
        assert_eq!(cache.check_and_insert("n2", at(0), at(5)), Ok(()));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn nonce_is_kept_until_request_time_plus_window() {
        let mut cache = NonceCache::with_capacity(10);
        // A request dated 10 minutes ahead of the server clock.
        cache.check_and_insert("ahead", at(600), at(0)).unwrap();
        // It passes the skew check until at(600 + 900): the nonce must live
        // that long, well past at(0) + 900.
        assert!(cache.contains("ahead", at(1_400)));
        assert!(cache.contains("ahead", at(1_500)));
        assert!(!cache.contains("ahead", at(1_501)));

        // A request dated 10 minutes behind.
        cache
            .check_and_insert("behind", at(1_000), at(1_600))
            .unwrap();
        assert!(cache.contains("behind", at(1_900)));
        assert!(!cache.contains("behind", at(1_901)));
    }

    #[test]
    fn expired_nonce_may_be_used_again() {
        let mut cache = NonceCache::with_capacity(1);
        cache.check_and_insert("n", at(0), at(0)).unwrap();
        assert_eq!(
            cache.check_and_insert("n", at(900), at(900)),
            Err(NonceError::Replayed)
        );
        assert_eq!(cache.check_and_insert("n", at(901), at(901)), Ok(()));
    }

    #[test]
    fn full_of_live_nonces_refuses_instead_of_evicting() {
        let mut cache = NonceCache::with_capacity(3);
        for n in ["a", "b", "c"] {
            cache.check_and_insert(n, at(0), at(0)).unwrap();
        }
        assert_eq!(
            cache.check_and_insert("d", at(10), at(10)),
            Err(NonceError::Full { capacity: 3 })
        );
        // Nothing was evicted: all three still count as replays.
        for n in ["a", "b", "c"] {
            assert_eq!(
                cache.check_and_insert(n, at(10), at(10)),
                Err(NonceError::Replayed)
            );
        }
        assert_eq!(cache.len(), 3);
        // Once they expire, there is room again.
        assert_eq!(cache.check_and_insert("d", at(901), at(901)), Ok(()));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn zero_capacity_refuses_everything() {
        let mut cache = NonceCache::with_capacity(0);
        assert_eq!(
            cache.check_and_insert("a", at(0), at(0)),
            Err(NonceError::Full { capacity: 0 })
        );
    }

    #[test]
    fn refuses_requests_outside_the_window_and_bad_nonces() {
        let mut cache = NonceCache::with_capacity(4);
        assert_eq!(
            cache.check_and_insert("a", at(901), at(0)),
            Err(NonceError::OutsideWindow)
        );
        assert_eq!(
            cache.check_and_insert("a", at(-901), at(0)),
            Err(NonceError::OutsideWindow)
        );
        assert_eq!(
            cache.check_and_insert("", at(0), at(0)),
            Err(NonceError::BadLength { len: 0 })
        );
        let long = "n".repeat(MAX_NONCE_LEN + 1);
        assert_eq!(
            cache.check_and_insert(&long, at(0), at(0)),
            Err(NonceError::BadLength {
                len: MAX_NONCE_LEN + 1
            })
        );
        assert!(cache.is_empty());
        assert_eq!(cache.capacity(), 4);
    }

    #[test]
    fn small_clock_step_back_keeps_nonces_at_least_as_long() {
        let mut cache = NonceCache::with_capacity(8);
        cache.check_and_insert("a", at(0), at(1_000)).unwrap_err();
        cache.check_and_insert("a", at(1_000), at(1_000)).unwrap();
        // The clock steps back 5 minutes; a request valid then is recorded.
        cache.check_and_insert("b", at(700), at(700)).unwrap();
        assert!(cache.contains("b", at(1_600)));
        assert!(cache.contains("a", at(1_900)));
        assert!(!cache.contains("a", at(1_901)));
    }

    #[test]
    fn large_clock_step_back_resets() {
        let mut cache = NonceCache::with_capacity(2);
        cache
            .check_and_insert("a", at(100_000), at(100_000))
            .unwrap();
        cache
            .check_and_insert("b", at(100_000), at(100_000))
            .unwrap();
        // The clock jumps back a day: those requests can never pass the skew
        // check again, and the cache must not stay full until it catches up.
        assert_eq!(cache.check_and_insert("c", at(0), at(0)), Ok(()));
        assert!(!cache.contains("a", at(0)));
    }

    #[test]
    fn long_idle_period_empties_everything() {
        let mut cache = NonceCache::with_capacity(100);
        for i in 0..100 {
            cache
                .check_and_insert(&format!("n{i}"), at(i), at(i))
                .unwrap();
        }
        assert!(!cache.contains("n0", at(1_000_000)));
        assert!(cache.is_empty());
    }

    #[test]
    fn huge_windows_do_not_overflow() {
        let mut cache = NonceCache::new(4, Duration::MAX);
        cache
            .check_and_insert("a", Timestamp::from_unix_seconds(i64::MAX), at(0))
            .unwrap_err();
        cache.check_and_insert("a", at(0), at(0)).unwrap();
        assert!(cache.contains("a", at(1_000_000_000)));
        assert!(!cache.contains("a", Timestamp::from_unix_seconds(i64::MAX)));
        let mut tiny = NonceCache::new(4, Duration::ZERO);
        tiny.check_and_insert("a", at(0), at(0)).unwrap();
        assert!(tiny.contains("a", at(0)));
        assert!(!tiny.contains("a", at(1)));
    }

    #[test]
    fn cache_is_send_for_a_mutex() {
        fn assert_send<T: Send>() {}
        assert_send::<NonceCache>();
    }

    /// The nonces a cache must hold at `now`: those recorded whose request
    /// time plus the window is not yet past.
    fn model_live(records: &[(String, i64)], now: i64, window: i64) -> Vec<&str> {
        records
            .iter()
            .filter(|(_, ts)| ts + window >= now)
            .map(|(n, _)| n.as_str())
            .collect()
    }

    proptest! {
        /// Against a simple model: a live nonce is always reported as a
        /// replay, the cache never holds more than its capacity, and it only
        /// says "full" when it really holds `capacity` nonces.
        #[test]
        fn behaves_like_the_model(
            steps in proptest::collection::vec((0_i64..40, -900_i64..=900, 0_u8..12), 1..300),
            capacity in 0_usize..12,
        ) {
            let window = 900;
            let mut cache = NonceCache::new(capacity, Duration::from_secs(900));
            let mut recorded: Vec<(String, i64)> = Vec::new();
            let mut now = T0;
            for (tick, offset, nonce) in steps {
                now += tick * 10;
                let ts = now + offset;
                let nonce = format!("nonce-{nonce}");
                let live = model_live(&recorded, now, window);
                let result = cache.check_and_insert(
                    &nonce,
                    Timestamp::from_unix_seconds(ts),
                    Timestamp::from_unix_seconds(now),
                );
                if live.contains(&nonce.as_str()) {
                    prop_assert_eq!(result, Err(NonceError::Replayed));
                } else {
                    match result {
                        Ok(()) => recorded.push((nonce, ts)),
                        Err(NonceError::Replayed) => {
                            prop_assert!(false, "{} reported as replayed after expiry", nonce);
                        }
                        Err(NonceError::Full { .. }) => prop_assert_eq!(cache.len(), capacity),
                        Err(other) => prop_assert!(false, "unexpected {:?}", other),
                    }
                }
                prop_assert!(cache.len() <= capacity);
            }
        }
    }
}
