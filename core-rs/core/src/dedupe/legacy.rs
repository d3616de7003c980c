//! The deduper payedge shipped before issue 16, kept only as the
//! benchmarks' baseline (`bench/dedupe_memory.py`): it stores every key in
//! full (inline up to 38 bytes, else on the heap) in the sharded TTL table the
//! idempotency cache still uses. Use [`Deduper`](super::Deduper).
//!
//! Original documentation:
//!
//! [`LegacyDeduper::check_and_insert`] answers "is this the first time I see this
//! key (within its TTL)?" atomically, from any number of threads. The TTL runs
//! from the first sighting: a duplicate does not extend it.
//!
//! Memory is bounded by `max_entries`. When an insert goes over the bound the
//! globally oldest entries are removed first: expired ones silently (they were
//! dead anyway), then live ones, each counted in [`LegacyDeduper::evicted`]. A live
//! key is never dropped before its TTL for any other reason.
//!
//! Time is an explicit `now` in seconds on any clock that does not go
//! backwards (Python's `time.monotonic()` in the bindings).
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::{Error, Result};

use super::table::{self, Claim, Popped, Sharded};
use crate::args::{check_now, check_ttl};

/// A thread-safe, sharded "seen before?" set with a TTL and a size bound.
pub struct LegacyDeduper {
    ttl: f64,
    max_entries: usize,
    table: Sharded<()>,
    evicted: AtomicU64,
    /// Serialises evictions so that concurrent inserters never evict more than the bound forces.
    evicting: Mutex<()>,
}

impl std::fmt::Debug for LegacyDeduper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacyDeduper")
            .field("ttl", &self.ttl)
            .field("max_entries", &self.max_entries)
            .field("len", &self.len())
            .field("evicted", &self.evicted())
            .finish()
    }
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        // An empty id is a missing id: deduping on it would drop unrelated events.
        Err(Error::invalid("key", "must not be empty"))
    } else {
        Ok(())
    }
}

impl LegacyDeduper {
    /// The SPEC default TTL: 72 hours (Stripe retries deliveries for up to 3 days).
    pub const DEFAULT_TTL: f64 = 259_200.0;
    /// The SPEC default bound.
    pub const DEFAULT_MAX_ENTRIES: usize = 10_000_000;

    /// A deduper whose keys live `ttl` seconds, holding at most `max_entries`.
    pub fn new(ttl: f64, max_entries: usize) -> Result<Self> {
        Self::with_shards(ttl, max_entries, table::default_shards())
    }

    /// Same as [`LegacyDeduper::new`] with an explicit shard count (rounded up to a power of two).
    pub fn with_shards(ttl: f64, max_entries: usize, shards: usize) -> Result<Self> {
        check_ttl("ttl", ttl)?;
        if max_entries == 0 {
            return Err(Error::invalid("max_entries", "must be at least 1"));
        }
        Ok(LegacyDeduper {
            ttl,
            max_entries,
            table: Sharded::new(shards),
            evicted: AtomicU64::new(0),
            evicting: Mutex::new(()),
        })
    }

    pub fn ttl(&self) -> f64 {
        self.ttl
    }

    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    pub fn shard_count(&self) -> usize {
        self.table.shard_count()
    }

    /// `true` the first time a live `key` is seen at `now`, `false` for a
    /// duplicate. Errors only for an empty key or a non-finite `now`.
    pub fn check_and_insert(&self, key: &str, now: f64) -> Result<bool> {
        check_key(key)?;
        check_now(now)?;
        Ok(self.insert_checked(key, now))
    }

    /// [`LegacyDeduper::check_and_insert`] for each key in order, all at `now`
    /// (a key repeated in the batch is a duplicate after its first place).
    /// Every key is validated before any is inserted.
    pub fn check_and_insert_many<K: AsRef<str>>(&self, keys: &[K], now: f64) -> Result<Vec<bool>> {
        check_now(now)?;
        if let Some(index) = keys.iter().position(|k| k.as_ref().is_empty()) {
            return Err(Error::invalid(
                "keys",
                format!("element {index} must not be empty"),
            ));
        }
        Ok(keys
            .iter()
            .map(|key| self.insert_checked(key.as_ref(), now))
            .collect())
    }

    fn insert_checked(&self, key: &str, now: f64) -> bool {
        let hash = self.table.hash(key);
        let expires = now + self.ttl;
        let inserted = self.table.with_shard(hash, Some(now), |shard| {
            matches!(shard.claim(hash, key, now, expires, || ()), Claim::Inserted)
        });
        if inserted && self.table.len() > self.max_entries {
            self.enforce_bound(now);
        }
        inserted
    }

    /// Remove the oldest entries until the bound holds again.
    fn enforce_bound(&self, now: f64) {
        let _guard = self.evicting.lock();
        while self.table.len() > self.max_entries {
            match self.table.pop_oldest(now) {
                Popped::Removed { live: true } => {
                    self.evicted.fetch_add(1, Ordering::Relaxed);
                }
                Popped::Removed { live: false } | Popped::Stale => {}
                Popped::Empty => break,
            }
        }
    }

    /// Whether `key` is held and live at `now` (does not insert).
    pub fn contains(&self, key: &str, now: f64) -> Result<bool> {
        check_now(now)?;
        let hash = self.table.hash(key);
        Ok(self
            .table
            .with_shard(hash, None, |shard| shard.get_live(hash, key, now).is_some()))
    }

    /// Entries held. Expired entries are removed lazily, so this may count
    /// some that expired but were not purged yet; after
    /// [`LegacyDeduper::purge_expired`] it is the exact live count.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live entries removed early because of `max_entries`.
    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    /// Remove every entry expired at `now`; returns how many were removed.
    /// O(shards + removed).
    pub fn purge_expired(&self, now: f64) -> Result<usize> {
        check_now(now)?;
        Ok(self.table.purge_all(now))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn fits_in_a_python_object() {
        // PyO3 stores the value inline in a 16-byte-aligned Python object.
        assert!(std::mem::align_of::<LegacyDeduper>() <= 16);
        assert!(std::mem::align_of::<crate::idempotency::IdempotencyCache>() <= 16);
    }

    #[test]
    fn first_time_true_then_duplicate_until_ttl() {
        let d = LegacyDeduper::new(10.0, 100).unwrap();
        assert!(d.check_and_insert("evt_1", 0.0).unwrap());
        assert!(!d.check_and_insert("evt_1", 5.0).unwrap());
        // a duplicate does not extend the TTL
        assert!(!d.check_and_insert("evt_1", 9.999).unwrap());
        assert!(d.contains("evt_1", 9.999).unwrap());
        assert!(!d.contains("evt_1", 10.0).unwrap());
        assert!(d.check_and_insert("evt_1", 10.0).unwrap());
        assert_eq!(d.len(), 1);
        assert_eq!(d.evicted(), 0);
    }

    #[test]
    fn purge_removes_only_expired() {
        let d = LegacyDeduper::new(10.0, 100).unwrap();
        for i in 0..5 {
            d.check_and_insert(&format!("k{i}"), f64::from(i)).unwrap();
        }
        assert_eq!(d.purge_expired(12.0).unwrap(), 3); // k0, k1, k2 expire at 10, 11, 12
        assert_eq!(d.len(), 2);
        assert!(d.contains("k3", 12.0).unwrap());
        assert_eq!(d.purge_expired(100.0).unwrap(), 2);
        assert!(d.is_empty());
    }

    #[test]
    fn bound_evicts_oldest_and_counts() {
        let d = LegacyDeduper::with_shards(100.0, 3, 8).unwrap();
        for (i, key) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            assert!(d.check_and_insert(key, i as f64).unwrap());
        }
        assert_eq!(d.len(), 3);
        assert_eq!(d.evicted(), 2);
        assert!(!d.contains("a", 5.0).unwrap());
        assert!(!d.contains("b", 5.0).unwrap());
        for key in ["c", "d", "e"] {
            assert!(d.contains(key, 5.0).unwrap(), "{key}");
        }
    }

    #[test]
    fn bound_prefers_expired_entries_and_does_not_count_them() {
        let d = LegacyDeduper::with_shards(10.0, 2, 8).unwrap();
        d.check_and_insert("old", 0.0).unwrap();
        d.check_and_insert("live", 8.0).unwrap();
        // at 12 "old" has expired (but may not be purged); inserting makes 3 held
        assert!(d.check_and_insert("new", 12.0).unwrap());
        assert_eq!(d.evicted(), 0);
        assert!(d.contains("live", 12.0).unwrap());
        assert!(d.contains("new", 12.0).unwrap());
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn bad_arguments_are_named() {
        assert_eq!(
            LegacyDeduper::new(0.0, 1).unwrap_err().to_string(),
            "ttl: must be a positive, finite number of seconds, got 0"
        );
        assert!(LegacyDeduper::new(f64::NAN, 1).is_err());
        assert_eq!(
            LegacyDeduper::new(1.0, 0).unwrap_err().to_string(),
            "max_entries: must be at least 1"
        );
        let d = LegacyDeduper::new(1.0, 1).unwrap();
        assert_eq!(
            d.check_and_insert("", 0.0).unwrap_err().to_string(),
            "key: must not be empty"
        );
        assert!(d
            .check_and_insert("k", f64::NAN)
            .unwrap_err()
            .to_string()
            .starts_with("now: "));
        assert!(d.contains("k", f64::INFINITY).is_err());
        assert!(d.purge_expired(f64::NEG_INFINITY).is_err());
        let err = d.check_and_insert_many(&["a", "", "b"], 0.0).unwrap_err();
        assert_eq!(err.to_string(), "keys: element 1 must not be empty");
        assert!(d.is_empty(), "a rejected batch inserts nothing");
    }

    #[test]
    fn batch_matches_single_calls() {
        let d = LegacyDeduper::new(10.0, 100).unwrap();
        assert!(d.check_and_insert("x", 0.0).unwrap());
        let got = d.check_and_insert_many(&["a", "x", "b", "a"], 1.0).unwrap();
        assert_eq!(got, [true, false, true, false]);
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn threads_agree_on_exactly_one_first_per_key() {
        const THREADS: usize = 4;
        const KEYS: usize = 5_000;
        let d = LegacyDeduper::with_shards(1e9, 1_000_000, 8).unwrap();
        let keys: Vec<String> = (0..KEYS).map(|i| format!("evt_{i}")).collect();
        let firsts: Vec<Vec<usize>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (d, keys) = (&d, &keys);
                    scope.spawn(move || {
                        // each thread walks the keys from a different offset
                        (0..KEYS)
                            .map(|i| (i + t * KEYS / THREADS) % KEYS)
                            .filter(|&i| d.check_and_insert(&keys[i], 1.0).unwrap())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all: Vec<usize> = firsts.into_iter().flatten().collect();
        all.sort_unstable();
        assert_eq!(all, (0..KEYS).collect::<Vec<_>>());
        assert_eq!(d.len(), KEYS);
        assert_eq!(d.table.count_slots(), KEYS);
    }

    #[test]
    fn threads_respect_the_bound_and_count_every_eviction() {
        const THREADS: usize = 4;
        const PER_THREAD: usize = 3_000;
        const MAX: usize = 1_000;
        let d = LegacyDeduper::with_shards(1e9, MAX, 8).unwrap();
        std::thread::scope(|scope| {
            for t in 0..THREADS {
                let d = &d;
                scope.spawn(move || {
                    for i in 0..PER_THREAD {
                        assert!(d.check_and_insert(&format!("t{t}-{i}"), 1.0).unwrap());
                    }
                });
            }
        });
        assert_eq!(d.len(), MAX);
        assert_eq!(d.table.count_slots(), MAX);
        assert_eq!(d.evicted(), (THREADS * PER_THREAD - MAX) as u64);
    }

    /// A plain model: live keys with their expiry, in first-insertion order.
    struct Model {
        ttl: f64,
        max: usize,
        entries: Vec<(String, f64)>,
        evicted: u64,
    }

    impl Model {
        fn live(&mut self, now: f64) {
            self.entries.retain(|(_, exp)| *exp > now);
        }
        fn check_and_insert(&mut self, key: &str, now: f64) -> bool {
            self.live(now);
            if self.entries.iter().any(|(k, _)| k == key) {
                return false;
            }
            self.entries.push((key.to_owned(), now + self.ttl));
            if self.entries.len() > self.max {
                let extra = self.entries.len() - self.max;
                self.entries.drain(..extra);
                self.evicted += extra as u64;
            }
            true
        }
        fn contains(&mut self, key: &str, now: f64) -> bool {
            self.live(now);
            self.entries.iter().any(|(k, _)| k == key)
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8),
        Contains(u8),
        Batch(Vec<u8>),
        Purge,
    }

    fn op() -> impl Strategy<Value = (Op, u8)> {
        let op = prop_oneof![
            5 => (0u8..24).prop_map(Op::Insert),
            2 => (0u8..24).prop_map(Op::Contains),
            1 => prop::collection::vec(0u8..24, 0..6).prop_map(Op::Batch),
            1 => Just(Op::Purge),
        ];
        (op, 0u8..4) // time advances by 0..3 seconds before each op
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn behaves_like_the_model(
            ops in prop::collection::vec(op(), 1..120),
            max in 1usize..12,
            shards in 1usize..9,
        ) {
            let ttl = 10.0;
            let d = LegacyDeduper::with_shards(ttl, max, shards).unwrap();
            let mut model = Model { ttl, max, entries: Vec::new(), evicted: 0 };
            let mut now = 0.0;
            for (op, dt) in ops {
                now += f64::from(dt);
                match op {
                    Op::Insert(k) => {
                        let key = format!("k{k}");
                        prop_assert_eq!(d.check_and_insert(&key, now).unwrap(), model.check_and_insert(&key, now));
                    }
                    Op::Contains(k) => {
                        let key = format!("k{k}");
                        prop_assert_eq!(d.contains(&key, now).unwrap(), model.contains(&key, now));
                    }
                    Op::Batch(keys) => {
                        let keys: Vec<String> = keys.iter().map(|k| format!("k{k}")).collect();
                        let want: Vec<bool> = keys.iter().map(|k| model.check_and_insert(k, now)).collect();
                        prop_assert_eq!(d.check_and_insert_many(&keys, now).unwrap(), want);
                    }
                    Op::Purge => {
                        d.purge_expired(now).unwrap();
                        model.live(now);
                        prop_assert_eq!(d.len(), model.entries.len());
                    }
                }
                prop_assert!(d.len() <= max);
                prop_assert_eq!(d.len(), d.table.count_slots());
                prop_assert_eq!(d.evicted(), model.evicted);
            }
        }
    }
}
