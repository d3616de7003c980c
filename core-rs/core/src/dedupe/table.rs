//! The sharded TTL table under [`Deduper`](super::Deduper) and
//! [`IdempotencyCache`](crate::idempotency::IdempotencyCache).
//!
//! Keys are spread over `N` shards (a power of two) by hash; each shard is a
//! `parking_lot::Mutex` around
//! - a `hashbrown::HashTable` of slots (key, expiry, sequence number, value);
//!   keys up to 38 bytes (event ids, UUIDs) are stored inline in the slot, so
//!   a lookup touches no other memory and an insert allocates nothing, and
//! - a FIFO queue of `(hash, seq, expiry)` nodes in insertion order.
//!
//! All entries of one table share the same TTL, so with a non-decreasing clock
//! insertion order *is* expiry order: purging pops expired nodes off the front
//! of the queue (amortised O(1) per insert, never a scan). A node refers to its
//! slot by hash and sequence number, so the key is stored once. A node whose
//! slot was removed or re-inserted since (its `seq` no longer matches) is stale
//! and is dropped when it reaches the front.
//!
//! Sequence numbers come from one table-wide counter, so they order entries by
//! insertion across shards (ties in `now` included); the same counter minus a
//! removal counter is the table's length. Each shard publishes the sequence
//! number of its queue front in an atomic, so the globally oldest entry
//! (needed to evict under a size bound) is found by reading `N` atomics and
//! locking one shard: no lock is ever held while another is taken, so there
//! is no lock-ordering hazard.
//!
//! If the clock goes backwards, lookups stay exact (each slot carries its own
//! expiry) but purging entries inserted "out of order" waits until the nodes in
//! front of them expire.
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam::utils::CachePadded;
use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use parking_lot::Mutex;

/// Default shard count: a few shards per core, a power of two in `8..=64`.
pub(crate) fn default_shards() -> usize {
    let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
    (cores * 4).next_power_of_two().clamp(8, 64)
}

/// Keys up to this many bytes live inline in their slot.
const INLINE_KEY: usize = 38;

/// A key's bytes: inline when short, else on the heap.
enum KeyBuf {
    Inline { len: u8, bytes: [u8; INLINE_KEY] },
    Heap(Box<[u8]>),
}

impl KeyBuf {
    fn new(key: &[u8]) -> Self {
        let mut bytes = [0u8; INLINE_KEY];
        match (bytes.get_mut(..key.len()), u8::try_from(key.len())) {
            (Some(prefix), Ok(len)) => {
                prefix.copy_from_slice(key);
                KeyBuf::Inline { len, bytes }
            }
            _ => KeyBuf::Heap(key.into()),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            KeyBuf::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            KeyBuf::Heap(bytes) => bytes,
        }
    }
}

/// One stored entry.
pub(crate) struct Slot<V> {
    key: KeyBuf,
    pub(crate) expires: f64,
    seq: u64,
    pub(crate) value: V,
}

fn same_key<V>(key: &[u8]) -> impl Fn(&Slot<V>) -> bool + '_ {
    move |slot| slot.key.as_bytes() == key
}

/// One entry of the expiry queue; refers to its slot by `(hash, seq)`.
struct Node {
    hash: u64,
    seq: u64,
    expires: f64,
}

/// What [`Shard::claim`] found.
pub(crate) enum Claim<'a, V> {
    /// The key is present and live at `now`.
    Live(&'a mut Slot<V>),
    /// The key was absent (or expired) and is now stored with the new value.
    Inserted,
}

/// What popping the front of a shard's queue did.
pub(crate) enum Popped {
    /// The queue was empty.
    Empty,
    /// The front node no longer referred to a slot; nothing was removed.
    Stale,
    /// A slot was removed; `live` tells whether it had not yet expired.
    Removed { live: bool },
}

/// Table-wide counters, shared by the shards: entries held is
/// `inserted - removed`, so an insert is one atomic add, which also hands out
/// its sequence number.
struct Counters {
    /// Entries ever inserted; the next one's sequence number.
    inserted: AtomicU64,
    /// Entries ever removed (expired, evicted, abandoned or replaced).
    removed: AtomicU64,
}

impl Counters {
    fn len(&self) -> usize {
        let removed = self.removed.load(Ordering::Acquire);
        let inserted = self.inserted.load(Ordering::Acquire);
        usize::try_from(inserted.saturating_sub(removed)).unwrap_or(usize::MAX)
    }

    fn next_seq(&self) -> u64 {
        self.inserted.fetch_add(1, Ordering::AcqRel)
    }

    fn removed(&self, n: usize) {
        if n > 0 {
            self.removed.fetch_add(n as u64, Ordering::AcqRel);
        }
    }
}

/// The data of one shard; only reachable through its lock.
pub(crate) struct Shard<V> {
    table: HashTable<Slot<V>>,
    queue: VecDeque<Node>,
    hasher: ahash::RandomState,
    counters: Arc<CachePadded<Counters>>,
}

impl<V> Shard<V> {
    fn new(hasher: ahash::RandomState, counters: Arc<CachePadded<Counters>>) -> Self {
        Shard {
            table: HashTable::new(),
            queue: VecDeque::new(),
            hasher,
            counters,
        }
    }

    /// Remove every entry at the front of the queue that has expired at `now`.
    fn purge(&mut self, now: f64) -> usize {
        let mut removed = 0;
        while self.queue.front().is_some_and(|node| node.expires <= now) {
            if let Popped::Removed { .. } = self.pop_front(now) {
                removed += 1;
            }
        }
        removed
    }

    /// Pop the front node and remove its slot if the node is still current.
    fn pop_front(&mut self, now: f64) -> Popped {
        let Some(node) = self.queue.pop_front() else {
            return Popped::Empty;
        };
        match self
            .table
            .find_entry(node.hash, |slot| slot.seq == node.seq)
        {
            Ok(entry) => {
                let (slot, _) = entry.remove();
                self.counters.removed(1);
                Popped::Removed {
                    live: slot.expires > now,
                }
            }
            Err(_) => Popped::Stale,
        }
    }

    /// Sequence number of the queue front (the oldest entry of this shard), `u64::MAX` if empty.
    fn oldest(&self) -> u64 {
        self.queue.front().map_or(u64::MAX, |node| node.seq)
    }

    /// The live slot for `key`, if any.
    pub(crate) fn get_live(&mut self, hash: u64, key: &str, now: f64) -> Option<&mut Slot<V>> {
        self.table
            .find_mut(hash, same_key(key.as_bytes()))
            .filter(|slot| slot.expires > now)
    }

    /// The slot for `key`, live or not (for operations that take no `now`).
    pub(crate) fn get_any(&mut self, hash: u64, key: &str) -> Option<&mut Slot<V>> {
        self.table.find_mut(hash, same_key(key.as_bytes()))
    }

    /// Remove `key` if `remove` says so; returns whether it was removed. Its
    /// queue node becomes stale and is dropped when it reaches the front.
    pub(crate) fn remove_if(
        &mut self,
        hash: u64,
        key: &str,
        remove: impl FnOnce(&Slot<V>) -> bool,
    ) -> bool {
        match self.table.find_entry(hash, same_key(key.as_bytes())) {
            Ok(entry) if remove(entry.get()) => {
                entry.remove();
                self.counters.removed(1);
                true
            }
            _ => false,
        }
    }

    /// Look `key` up at `now`; if absent or expired, store `make()` with expiry
    /// `expires` (one hash probe either way).
    pub(crate) fn claim(
        &mut self,
        hash: u64,
        key: &str,
        now: f64,
        expires: f64,
        make: impl FnOnce() -> V,
    ) -> Claim<'_, V> {
        let hasher = &self.hasher;
        let entry = self.table.entry(hash, same_key(key.as_bytes()), |slot| {
            hasher.hash_one(slot.key.as_bytes())
        });
        match entry {
            Entry::Occupied(occupied) if occupied.get().expires > now => {
                Claim::Live(occupied.into_mut())
            }
            Entry::Occupied(mut occupied) => {
                // Expired but not purged yet (the clock went backwards earlier):
                // reuse the slot under a new sequence number; its old node goes stale.
                let seq = self.counters.next_seq();
                self.counters.removed(1); // the expired entry it replaces
                let slot = occupied.get_mut();
                slot.expires = expires;
                slot.seq = seq;
                slot.value = make();
                self.queue.push_back(Node { hash, seq, expires });
                Claim::Inserted
            }
            Entry::Vacant(vacant) => {
                let seq = self.counters.next_seq();
                vacant.insert(Slot {
                    key: KeyBuf::new(key.as_bytes()),
                    expires,
                    seq,
                    value: make(),
                });
                self.queue.push_back(Node { hash, seq, expires });
                Claim::Inserted
            }
        }
    }

    /// Give memory back after a mass expiry (not on the hot path).
    fn shrink(&mut self) {
        if self.table.capacity() > 64 && self.table.capacity() / 4 > self.table.len() {
            let hasher = &self.hasher;
            self.table
                .shrink_to_fit(|slot| hasher.hash_one(slot.key.as_bytes()));
        }
        if self.queue.capacity() > 64 && self.queue.capacity() / 4 > self.queue.len() {
            self.queue.shrink_to_fit();
        }
    }
}

struct ShardCell<V> {
    lock: Mutex<Shard<V>>,
    /// Sequence number of the shard's oldest entry (`u64::MAX` when empty), readable without the lock.
    oldest: AtomicU64,
}

impl<V> ShardCell<V> {
    fn publish_oldest(&self, shard: &Shard<V>) {
        let oldest = shard.oldest();
        // Skip the store when nothing changed (most lookups): no needless cache-line write.
        if self.oldest.load(Ordering::Relaxed) != oldest {
            self.oldest.store(oldest, Ordering::Relaxed);
        }
    }
}

/// A sharded TTL table; the owner decides the TTL and what a value is.
pub(crate) struct Sharded<V> {
    hasher: ahash::RandomState,
    shards: Box<[CachePadded<ShardCell<V>>]>,
    mask: usize,
    /// Behind a pointer: an over-aligned field would make the owner
    /// over-aligned, which a Python object (16-byte aligned) cannot hold.
    counters: Arc<CachePadded<Counters>>,
}

impl<V> Sharded<V> {
    /// `shards` is rounded up to a power of two (at least 1).
    pub(crate) fn new(shards: usize) -> Self {
        let count = shards.max(1).next_power_of_two();
        let hasher = ahash::RandomState::new();
        let counters = Arc::new(CachePadded::new(Counters {
            inserted: AtomicU64::new(0),
            removed: AtomicU64::new(0),
        }));
        let shards = (0..count)
            .map(|_| {
                CachePadded::new(ShardCell {
                    lock: Mutex::new(Shard::new(hasher.clone(), Arc::clone(&counters))),
                    oldest: AtomicU64::new(u64::MAX),
                })
            })
            .collect();
        Sharded {
            hasher,
            shards,
            mask: count - 1,
            counters,
        }
    }

    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    pub(crate) fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key.as_bytes())
    }

    /// Entries held, including expired ones not purged yet.
    pub(crate) fn len(&self) -> usize {
        self.counters.len()
    }

    fn cell(&self, hash: u64) -> &ShardCell<V> {
        // hashbrown indexes buckets with the low bits and tags with the top 7:
        // take the shard from bits in between so neither loses entropy.
        // `index <= mask == len - 1`: always in bounds.
        &self.shards[(hash >> 32) as usize & self.mask]
    }

    /// Run `f` on `key`'s shard under its lock, after purging that shard's
    /// expired front at `now` (when given); keeps the shard's published
    /// oldest entry up to date.
    pub(crate) fn with_shard<R>(
        &self,
        hash: u64,
        now: Option<f64>,
        f: impl FnOnce(&mut Shard<V>) -> R,
    ) -> R {
        let cell = self.cell(hash);
        let mut shard = cell.lock.lock();
        if let Some(now) = now {
            shard.purge(now);
        }
        let result = f(&mut shard);
        cell.publish_oldest(&shard);
        result
    }

    /// Purge every shard at `now`; returns how many entries were removed.
    pub(crate) fn purge_all(&self, now: f64) -> usize {
        let mut removed = 0;
        for cell in self.shards.iter() {
            let mut shard = cell.lock.lock();
            removed += shard.purge(now);
            shard.shrink();
            cell.publish_oldest(&shard);
        }
        removed
    }

    /// Pop the globally oldest queue node (the shard whose front was
    /// inserted first) and remove its entry. [`Popped::Empty`] only when every queue is empty.
    pub(crate) fn pop_oldest(&self, now: f64) -> Popped {
        let mut best: Option<(&ShardCell<V>, u64)> = None;
        for cell in self.shards.iter() {
            let oldest = cell.oldest.load(Ordering::Relaxed);
            if oldest < u64::MAX && best.is_none_or(|(_, b)| oldest < b) {
                best = Some((cell, oldest));
            }
        }
        let Some((cell, _)) = best else {
            return Popped::Empty;
        };
        let mut shard = cell.lock.lock();
        let popped = shard.pop_front(now);
        cell.publish_oldest(&shard);
        popped
    }

    /// Exact count of entries held, by locking each shard (tests and diagnostics).
    #[cfg(test)]
    pub(crate) fn count_slots(&self) -> usize {
        self.shards
            .iter()
            .map(|cell| cell.lock.lock().table.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_purge_and_stale_nodes() {
        let table: Sharded<u32> = Sharded::new(1);
        let h = table.hash("a");
        let inserted = table.with_shard(h, Some(0.0), |s| {
            matches!(s.claim(h, "a", 0.0, 10.0, || 1), Claim::Inserted)
        });
        assert!(inserted);
        // live at 5: claim sees the existing value
        let seen = table.with_shard(h, Some(5.0), |s| match s.claim(h, "a", 5.0, 15.0, || 2) {
            Claim::Live(slot) => Some(slot.value),
            Claim::Inserted => None,
        });
        assert_eq!(seen, Some(1));
        // removing leaves a stale node that pop_oldest reports as such
        assert!(table.with_shard(h, None, |s| s.remove_if(h, "a", |_| true)));
        assert_eq!(table.len(), 0);
        assert!(matches!(table.pop_oldest(0.0), Popped::Stale));
        assert!(matches!(table.pop_oldest(0.0), Popped::Empty));
    }

    #[test]
    fn backwards_clock_reuses_expired_slot() {
        let table: Sharded<()> = Sharded::new(1);
        let (ha, hb) = (table.hash("a"), table.hash("b"));
        table.with_shard(hb, Some(100.0), |s| {
            s.claim(hb, "b", 100.0, 110.0, || ());
        });
        table.with_shard(ha, Some(0.0), |s| {
            s.claim(ha, "a", 0.0, 10.0, || ());
        });
        // At 20, "a" has expired but sits behind "b" in the queue: not purged,
        // yet not live either, and claiming it again reuses its slot.
        let claimed = table.with_shard(ha, Some(20.0), |s| {
            matches!(s.claim(ha, "a", 20.0, 30.0, || ()), Claim::Inserted)
        });
        assert!(claimed);
        assert_eq!(table.len(), 2);
        assert_eq!(table.count_slots(), 2);
        // At 200 everything goes, the stale node included.
        assert_eq!(table.purge_all(200.0), 2);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn short_and_long_keys() {
        let table: Sharded<()> = Sharded::new(2);
        let keys: Vec<String> = [0, 1, 37, 38, 39, 300]
            .iter()
            .map(|&n| "k".repeat(n))
            .chain(["é".repeat(19), "é".repeat(20)]) // 38 and 40 bytes
            .collect();
        for key in &keys {
            let h = table.hash(key);
            let inserted = table.with_shard(h, Some(0.0), |s| {
                matches!(s.claim(h, key, 0.0, 10.0, || ()), Claim::Inserted)
            });
            assert!(inserted, "{key}");
        }
        for key in &keys {
            let h = table.hash(key);
            assert!(table.with_shard(h, None, |s| s.get_live(h, key, 1.0).is_some()));
            // a prefix or an extension of a key is another key
            let longer = format!("{key}#");
            let hl = table.hash(&longer);
            assert!(table.with_shard(hl, None, |s| s.get_live(hl, &longer, 1.0).is_none()));
        }
        assert_eq!(table.len(), keys.len());
        assert_eq!(KeyBuf::new(b"abc").as_bytes(), b"abc");
        assert!(matches!(
            KeyBuf::new(&[b'x'; 38]),
            KeyBuf::Inline { len: 38, .. }
        ));
        assert!(matches!(KeyBuf::new(&[b'x'; 39]), KeyBuf::Heap(_)));
        assert!(std::mem::size_of::<Slot<()>>() <= 56);
    }

    #[test]
    fn default_shard_count() {
        let shards = default_shards();
        assert!(shards.is_power_of_two() && (8..=64).contains(&shards));
    }
}
