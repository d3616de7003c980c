//! Deduper tests: unit cases, threads, and property tests against a plain
//! `HashMap` + `VecDeque` model.
use std::collections::{HashMap, VecDeque};

use proptest::prelude::*;

use super::*;

#[test]
fn fits_in_a_python_object() {
    // PyO3 stores the value inline in a 16-byte-aligned Python object.
    assert!(std::mem::align_of::<Deduper>() <= 16);
    assert!(std::mem::align_of::<crate::idempotency::IdempotencyCache>() <= 16);
}

#[test]
fn first_time_true_then_duplicate_until_ttl() {
    let d = Deduper::new(10.0, 100).unwrap();
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
fn keys_of_any_length_and_content() {
    let d = Deduper::new(10.0, 100).unwrap();
    let keys: Vec<String> = [1, 7, 8, 9, 15, 16, 17, 38, 39, 300, 100_000]
        .iter()
        .map(|&n| "k".repeat(n))
        .chain(["é".repeat(20), "\u{0}".into(), "evt\u{0}".into()])
        .collect();
    for key in &keys {
        assert!(d.check_and_insert(key, 0.0).unwrap(), "{key}");
    }
    for key in &keys {
        assert!(d.contains(key, 1.0).unwrap());
        // a prefix or an extension of a key is another key
        assert!(!d.contains(&format!("{key}#"), 1.0).unwrap());
        assert!(!d.check_and_insert(key, 1.0).unwrap());
    }
    assert_eq!(d.len(), keys.len());
}

#[test]
fn purge_removes_only_expired() {
    let d = Deduper::new(10.0, 100).unwrap();
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
    let d = Deduper::new(100.0, 3).unwrap();
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
    // ties in `now` are broken by insertion order
    let d = Deduper::new(100.0, 2).unwrap();
    assert_eq!(
        d.check_and_insert_many(&["x", "y", "z", "x"], 1.0).unwrap(),
        [true, true, true, true]
    );
    assert!(d.contains("z", 1.0).unwrap() && d.contains("x", 1.0).unwrap());
    assert_eq!(d.evicted(), 2);
}

#[test]
fn bound_prefers_expired_entries_and_does_not_count_them() {
    let d = Deduper::new(10.0, 2).unwrap();
    d.check_and_insert("old", 0.0).unwrap();
    d.check_and_insert("live", 8.0).unwrap();
    // at 12 "old" has expired: inserting purges it first
    assert!(d.check_and_insert("new", 12.0).unwrap());
    assert_eq!(d.evicted(), 0);
    assert!(d.contains("live", 12.0).unwrap());
    assert!(d.contains("new", 12.0).unwrap());
    assert_eq!(d.len(), 2);
}

#[test]
fn bad_arguments_are_named() {
    assert_eq!(
        Deduper::new(0.0, 1).unwrap_err().to_string(),
        "ttl: must be a positive, finite number of seconds, got 0"
    );
    assert!(Deduper::new(f64::NAN, 1).is_err());
    assert_eq!(
        Deduper::new(1.0, 0).unwrap_err().to_string(),
        "max_entries: must be at least 1"
    );
    assert_eq!(
        Deduper::new(1.0, Deduper::MAX_ENTRIES_LIMIT + 1)
            .unwrap_err()
            .param(),
        Some("max_entries")
    );
    let d = Deduper::new(1.0, 1).unwrap();
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
fn batch_matches_single_calls_across_chunks() {
    let d = Deduper::new(10.0, 100).unwrap();
    assert!(d.check_and_insert("x", 0.0).unwrap());
    let got = d.check_and_insert_many(&["a", "x", "b", "a"], 1.0).unwrap();
    assert_eq!(got, [true, false, true, false]);
    assert_eq!(d.len(), 3);
    let keys: Vec<String> = (0..BATCH_CHUNK * 2 + 7)
        .map(|i| format!("k{}", i % (BATCH_CHUNK + 3)))
        .collect();
    let want: Vec<bool> = (0..keys.len()).map(|i| i < BATCH_CHUNK + 3).collect();
    assert_eq!(
        Deduper::new(10.0, 1 << 20)
            .unwrap()
            .check_and_insert_many(&keys, 0.0)
            .unwrap(),
        want
    );
}

#[test]
fn memory_per_key_does_not_depend_on_key_length() {
    // The structure's own allocation (ring blocks + index), not RSS (see
    // bench/dedupe_memory.py for that): at most 40 bytes per key at any size.
    for len in [8, 35, 90, 1000] {
        let d = Deduper::new(1e9, 1 << 20).unwrap();
        let n = 300_000;
        let keys: Vec<String> = (0..n).map(|i| format!("{i:0>len$}")).collect();
        assert!(d
            .check_and_insert_many(&keys, 0.0)
            .unwrap()
            .iter()
            .all(|&b| b));
        let inner = d.inner.lock();
        let bytes = inner.set.allocated_bytes();
        assert!(
            bytes as f64 / n as f64 <= 40.0,
            "{len}-byte keys: {bytes} bytes for {n} keys"
        );
    }
}

#[test]
fn mass_expiry_gives_memory_back() {
    let d = Deduper::new(10.0, 1 << 20).unwrap();
    let keys: Vec<String> = (0..200_000).map(|i| format!("evt_{i}")).collect();
    d.check_and_insert_many(&keys, 0.0).unwrap();
    let full = d.inner.lock().set.allocated_bytes();
    assert_eq!(d.purge_expired(10.0).unwrap(), keys.len());
    let empty = d.inner.lock().set.allocated_bytes();
    assert!(empty < 256 * 1024, "{empty} of {full} bytes still held"); // the smallest index
                                                                       // and it still works
    assert!(d.check_and_insert("evt_1", 11.0).unwrap());
}

#[test]
fn stale_entries_after_a_backwards_clock_are_compacted() {
    let d = Deduper::new(10.0, 1000).unwrap();
    assert!(d.check_and_insert("front", 100.0).unwrap()); // live until 110, at the front
    let keys: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
    d.check_and_insert_many(&keys, 0.0).unwrap(); // behind it, expire at 10
                                                  // expired but not purgeable (behind a live front): re-inserting them leaves stale entries
    assert!(d
        .check_and_insert_many(&keys, 50.0)
        .unwrap()
        .iter()
        .all(|&b| b));
    assert_eq!(d.inner.lock().set.ring_len(), 21);
    assert!(d
        .check_and_insert_many(&keys, 70.0)
        .unwrap()
        .iter()
        .all(|&b| b));
    let inner = d.inner.lock();
    // 31 without compaction; it ran when the 16th stale entry appeared (4 more came after)
    assert_eq!((inner.set.len(), inner.set.ring_len()), (11, 15));
    drop(inner);
    for key in &keys {
        assert!(d.contains(key, 75.0).unwrap() && !d.contains(key, 80.0).unwrap());
    }
    assert!(d.contains("front", 75.0).unwrap());
    assert_eq!(d.purge_expired(200.0).unwrap(), 11);
}

#[test]
fn threads_agree_on_exactly_one_first_per_key() {
    const THREADS: usize = 4;
    const KEYS: usize = 5_000;
    let d = Deduper::new(1e9, 1_000_000).unwrap();
    let keys: Vec<String> = (0..KEYS).map(|i| format!("evt_{i}")).collect();
    let firsts: Vec<Vec<usize>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (d, keys) = (&d, &keys);
                scope.spawn(move || {
                    // each thread walks the keys from a different offset, in single calls and batches
                    let order: Vec<usize> =
                        (0..KEYS).map(|i| (i + t * KEYS / THREADS) % KEYS).collect();
                    let mut mine = Vec::new();
                    for chunk in order.chunks(100) {
                        if t % 2 == 0 {
                            mine.extend(
                                chunk
                                    .iter()
                                    .filter(|&&i| d.check_and_insert(&keys[i], 1.0).unwrap()),
                            );
                        } else {
                            let batch: Vec<&str> =
                                chunk.iter().map(|&i| keys[i].as_str()).collect();
                            let got = d.check_and_insert_many(&batch, 1.0).unwrap();
                            mine.extend(
                                chunk
                                    .iter()
                                    .zip(got)
                                    .filter(|(_, first)| *first)
                                    .map(|(i, _)| i),
                            );
                        }
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<usize> = firsts.into_iter().flatten().collect();
    all.sort_unstable();
    assert_eq!(all, (0..KEYS).collect::<Vec<_>>());
    assert_eq!(d.len(), KEYS);
}

#[test]
fn threads_respect_the_bound_and_count_every_eviction() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 3_000;
    const MAX: usize = 1_000;
    let d = Deduper::new(1e9, MAX).unwrap();
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
    assert_eq!(d.evicted(), (THREADS * PER_THREAD - MAX) as u64);
}

/// The reference: a plain map of live keys to (expiry, insertion number) and
/// the insertion order; expired keys are dropped before every answer, the
/// oldest insertions first when over the bound.
struct Model {
    ttl: f64,
    max: usize,
    live: HashMap<String, (f64, u64)>,
    order: VecDeque<(String, u64)>,
    next: u64,
    evicted: u64,
}

impl Model {
    fn new(ttl: f64, max: usize) -> Self {
        Model {
            ttl,
            max,
            live: HashMap::new(),
            order: VecDeque::new(),
            next: 0,
            evicted: 0,
        }
    }

    fn expire(&mut self, now: f64) {
        self.live.retain(|_, (expires, _)| *expires > now);
    }

    fn check_and_insert(&mut self, key: &str, now: f64) -> bool {
        self.expire(now);
        if self.live.contains_key(key) {
            return false;
        }
        self.live
            .insert(key.to_owned(), (now + self.ttl, self.next));
        self.order.push_back((key.to_owned(), self.next));
        self.next += 1;
        while self.live.len() > self.max {
            let Some((oldest, seq)) = self.order.pop_front() else {
                break;
            };
            if self.live.get(&oldest).is_some_and(|&(_, s)| s == seq) {
                self.live.remove(&oldest);
                self.evicted += 1;
            }
        }
        true
    }

    fn contains(&mut self, key: &str, now: f64) -> bool {
        self.live
            .get(key)
            .is_some_and(|&(expires, _)| expires > now)
    }
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u8),
    /// Insert the key inserted `n` operations ago (a duplicate, if still live).
    Repeat(usize),
    Contains(u8),
    Batch(Vec<u8>),
    Purge,
}

fn op() -> impl Strategy<Value = (Op, f64)> {
    let op = prop_oneof![
        5 => (0u8..40).prop_map(Op::Insert),
        2 => (1usize..8).prop_map(Op::Repeat),
        2 => (0u8..40).prop_map(Op::Contains),
        1 => prop::collection::vec(0u8..40, 0..8).prop_map(Op::Batch),
        1 => Just(Op::Purge),
    ];
    // time steps: often none, often whole seconds, sometimes fractions
    let step = prop_oneof![
        3 => Just(0.0),
        3 => (0u8..4).prop_map(f64::from),
        2 => 0.0f64..3.0,
    ];
    (op, step)
}

/// Run `ops` (time steps are never negative) on a deduper and the model.
fn run(
    d: &Deduper,
    model: &mut Model,
    ops: Vec<(Op, f64)>,
    mut now: f64,
) -> Result<(), TestCaseError> {
    let mut inserted: Vec<String> = Vec::new();
    for (op, step) in ops {
        now += step;
        match op {
            Op::Insert(k) => {
                let key = format!("evt_{k}");
                prop_assert_eq!(
                    d.check_and_insert(&key, now).unwrap(),
                    model.check_and_insert(&key, now),
                    "insert {} at {}",
                    key,
                    now
                );
                inserted.push(key);
            }
            Op::Repeat(back) => {
                let Some(key) = inserted
                    .len()
                    .checked_sub(back)
                    .and_then(|i| inserted.get(i))
                    .cloned()
                else {
                    continue;
                };
                prop_assert_eq!(
                    d.check_and_insert(&key, now).unwrap(),
                    model.check_and_insert(&key, now)
                );
            }
            Op::Contains(k) => {
                let key = format!("evt_{k}");
                prop_assert_eq!(d.contains(&key, now).unwrap(), model.contains(&key, now));
            }
            Op::Batch(keys) => {
                let keys: Vec<String> = keys.iter().map(|k| format!("evt_{k}")).collect();
                let want: Vec<bool> = keys
                    .iter()
                    .map(|k| model.check_and_insert(k, now))
                    .collect();
                prop_assert_eq!(d.check_and_insert_many(&keys, now).unwrap(), want);
                inserted.extend(keys);
            }
            Op::Purge => {
                d.purge_expired(now).unwrap();
                model.expire(now);
                prop_assert_eq!(d.len(), model.live.len());
            }
        }
        prop_assert!(d.len() <= model.max);
        prop_assert_eq!(d.evicted(), model.evicted);
        prop_assert_eq!(
            d.inner.lock().set.ring_len(),
            d.len(),
            "no stale entry with a monotonic clock"
        );
    }
    // whatever happened, a purge after every expiry empties it
    d.purge_expired(now + 1e6).unwrap();
    prop_assert_eq!(d.len(), 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn behaves_like_the_model(ops in prop::collection::vec(op(), 1..150), max in 1usize..16) {
        let d = Deduper::new(10.0, max).unwrap();
        let mut model = Model::new(10.0, max);
        run(&d, &mut model, ops, 1000.0)?;
    }

    /// Every lookup walks a chain of entries sharing their index hash and tag:
    /// the full 128 bits decide.
    #[test]
    fn colliding_index_hashes_change_nothing(ops in prop::collection::vec(op(), 1..100), max in 1usize..16) {
        let d = Deduper::with_digester(10.0, max, Digester::weak()).unwrap();
        let mut model = Model::new(10.0, max);
        run(&d, &mut model, ops, 0.0)?;
    }

    /// With a clock that jumps back and forth, which expired entries are still
    /// held depends on where they sit in the FIFO; what holds: a key is only
    /// ever a duplicate while its last first sighting is live, and stale
    /// entries stay bounded.
    #[test]
    fn a_clock_going_backwards_never_blocks_an_expired_key(
        ops in prop::collection::vec((0u8..12, -20.0f64..20.0, any::<bool>()), 1..200),
    ) {
        let d = Deduper::new(10.0, 1000).unwrap();
        // key -> expiry of its last first sighting
        let mut last: HashMap<String, f64> = HashMap::new();
        let mut now = 1000.0;
        for (k, step, purge) in ops {
            now += step;
            let key = format!("evt_{k}");
            let live = last.get(&key).is_some_and(|&e| e > now);
            prop_assert!(!d.contains(&key, now).unwrap() || live);
            let first = d.check_and_insert(&key, now).unwrap();
            prop_assert!(first || live, "{} a duplicate at {} though it expired", key, now);
            if first {
                last.insert(key, now + 10.0);
            }
            if purge {
                d.purge_expired(now).unwrap();
            }
            let inner = d.inner.lock();
            prop_assert!(inner.set.ring_len() <= 2 * inner.set.len() + 5, "stale entries are compacted");
        }
        d.purge_expired(f64::MAX).unwrap();
        prop_assert_eq!(d.len(), 0);
    }
}
