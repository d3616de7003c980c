//! The single-threaded heart of [`Deduper`](super::Deduper): digests with an
//! expiry, in insertion order, and an index to find them.
//!
//! - [`Ring`]: every entry `(digest, expires)` in insertion order (24 bytes);
//!   since all entries share one TTL, with a clock that does not go backwards
//!   insertion order *is* expiry order, so expiry and eviction pop the front.
//! - `index`: a `hashbrown::HashTable<u32>` from digest to the entry's
//!   sequence number, stored as its low 32 bits (the ring never holds 2^32
//!   entries, see [`MAX_ENTRIES_LIMIT`]); the bucket is chosen by the digest's
//!   first half, which is already uniformly random. 4 bytes plus hashbrown's
//!   1 control byte per bucket.
//!
//! The index grows by rebuilding it from the ring, read in order, rather than
//! letting hashbrown rehash (which would read the ring at random for every
//! entry). An entry is *current* when the index points at it; one that is
//! not (a key re-inserted after it expired without being purged, which only
//! a clock going backwards allows) is *stale* and is dropped when it reaches
//! the front. Stale entries are compacted away before they outnumber the
//! current ones, so memory stays bounded by the entries held.
use hashbrown::hash_table::Entry as Slot;
use hashbrown::HashTable;

use super::digest::Digest;
use super::ring::{Entry, Ring};

/// The largest `max_entries`: the ring then holds at most
/// `2 * MAX_ENTRIES_LIMIT + COMPACT_SLACK` entries, below 2^32, so 32 bits of
/// a sequence number identify an entry.
pub(crate) const MAX_ENTRIES_LIMIT: usize = 1 << 30;

/// Stale entries tolerated beyond the current ones before compacting (a
/// handful in tests, so that property tests reach the compaction).
const COMPACT_SLACK: usize = if cfg!(test) { 4 } else { 1 << 16 };

/// The smallest index, allocated on the first insert and kept after
/// shrinking: 16 Ki slots (about 90 KB) spare a fresh deduper the rebuilds of
/// its first doublings.
const MIN_INDEX: usize = 1 << 14;

/// What [`DigestSet::pop_front`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Popped {
    Empty,
    /// The front entry was stale: nothing held was removed.
    Stale,
    /// A held entry was removed; `live` tells whether it had not yet expired.
    Removed {
        live: bool,
    },
}

#[derive(Default)]
pub(crate) struct DigestSet {
    ring: Ring,
    index: HashTable<u32>,
    /// The index's capacity when it was last rebuilt: hashbrown's own
    /// `capacity()` also shrinks as erasures leave tombstones.
    nominal: usize,
}

/// The sequence number stored as `short`, given the ring's front `head`.
#[inline]
fn seq_of(head: u64, short: u32) -> u64 {
    head + u64::from(short.wrapping_sub(head as u32))
}

impl DigestSet {
    /// Entries held (current), expired ones not purged yet included.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// The current entry for `digest`, if any.
    #[inline]
    pub(crate) fn get(&self, digest: &Digest) -> Option<&Entry> {
        let ring = &self.ring;
        let head = ring.head();
        let short = self.index.find(digest[0], |&s| {
            ring.get(seq_of(head, s))
                .is_some_and(|e| e.digest == *digest)
        })?;
        ring.get(seq_of(head, *short))
    }

    /// Record `digest` unless a live entry holds it at `now`; returns whether
    /// it was recorded (with expiry `expires`). One index probe either way.
    #[inline]
    pub(crate) fn claim(&mut self, digest: Digest, now: f64, expires: f64) -> bool {
        if self.index.len() >= self.index.capacity() {
            self.grow();
        }
        let Self { ring, index, .. } = self;
        let head = ring.head();
        let found = index.entry(
            digest[0],
            |&s| {
                ring.get(seq_of(head, s))
                    .is_some_and(|e| e.digest == digest)
            },
            |&s| ring.get(seq_of(head, s)).map_or(0, |e| e.digest[0]),
        );
        let entry = Entry { digest, expires };
        match found {
            Slot::Occupied(slot)
                if ring
                    .get(seq_of(head, *slot.get()))
                    .is_some_and(|e| e.expires > now) =>
            {
                false
            }
            Slot::Occupied(mut slot) => {
                // expired but not purged (the clock went backwards earlier): the
                // old entry goes stale, the new one is current
                *slot.get_mut() = ring.push(entry) as u32;
                self.compact_if_stale();
                true
            }
            Slot::Vacant(slot) => {
                slot.insert(ring.push(entry) as u32);
                true
            }
        }
    }

    /// Whether the front entry has expired at `now`.
    pub(crate) fn front_expired(&self, now: f64) -> bool {
        self.ring.front().is_some_and(|e| e.expires <= now)
    }

    /// Remove the front entry (and its index slot if it is current).
    pub(crate) fn pop_front(&mut self, now: f64) -> Popped {
        let Some((seq, entry)) = self.ring.pop_front() else {
            return Popped::Empty;
        };
        match self.index.find_entry(entry.digest[0], |&s| s == seq as u32) {
            Ok(slot) => {
                slot.remove();
                Popped::Removed {
                    live: entry.expires > now,
                }
            }
            Err(_) => Popped::Stale,
        }
    }

    /// Pop every expired entry at the front; returns how many held ones went.
    pub(crate) fn purge_front(&mut self, now: f64) -> usize {
        let mut removed = 0;
        while self.front_expired(now) {
            if let Popped::Removed { .. } = self.pop_front(now) {
                removed += 1;
            }
        }
        removed
    }

    /// Give memory back after a mass expiry (not on the hot path).
    pub(crate) fn shrink(&mut self) {
        let want = (self.index.len() * 2).max(MIN_INDEX);
        if self.index.capacity() > 4 * want {
            self.rebuild(want);
        }
        self.ring.release_if_empty();
    }

    /// The index is out of room: double it, or, if tombstones rather than
    /// entries used the room up, rebuild it at the same size.
    fn grow(&mut self) {
        let len = self.index.len();
        let capacity = if len > self.nominal / 2 {
            (self.nominal * 2).max(MIN_INDEX)
        } else {
            self.nominal.max(MIN_INDEX)
        };
        self.rebuild(capacity);
    }

    fn compact_if_stale(&mut self) {
        let stale = self.ring.len() - self.index.len();
        if stale > self.index.len() + COMPACT_SLACK {
            self.compact();
        }
    }

    /// Drop every stale entry from the ring (renumbering the current ones).
    fn compact(&mut self) {
        let old = std::mem::take(&mut self.ring);
        let head = old.head();
        let index = &self.index;
        for (seq, entry) in old.iter() {
            let current = index
                .find(entry.digest[0], |&s| seq_of(head, s) == seq)
                .is_some();
            if current {
                self.ring.push(*entry);
            }
        }
        self.rebuild(self.nominal);
    }

    /// A fresh index of at least `capacity` slots, from the ring read front
    /// to back (sequential reads, unlike a rehash). When the ring holds as
    /// many entries as the index (no stale ones, and always right after
    /// [`Self::compact`]) every entry is current; otherwise the old index says which.
    fn rebuild(&mut self, capacity: usize) {
        let mut index = HashTable::with_capacity(capacity.max(self.index.len()));
        let ring = &self.ring;
        let head = ring.head();
        let current = |seq: u64, digest: &Digest| -> bool {
            // with no stale entries (the common case) every entry is current
            self.index.len() == ring.len()
                || self
                    .index
                    .find(digest[0], |&s| seq_of(head, s) == seq)
                    .is_some()
        };
        for (seq, entry) in ring.iter() {
            if current(seq, &entry.digest) {
                index.insert_unique(entry.digest[0], seq as u32, |&s| {
                    ring.get(seq_of(head, s)).map_or(0, |e| e.digest[0])
                });
            }
        }
        self.nominal = index.capacity();
        self.index = index;
    }

    /// Entries in the ring, stale ones included (tests).
    #[cfg(test)]
    pub(crate) fn ring_len(&self) -> usize {
        self.ring.len()
    }

    /// Bytes allocated for entries and the index (tests).
    #[cfg(test)]
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.ring.allocated_entries() * std::mem::size_of::<Entry>() + self.index.allocation_size()
    }
}
