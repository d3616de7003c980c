//! In-memory event dedupe with TTL and bounded memory (SPEC 2.2), in a number
//! of bytes per key that does not depend on the key's length.
//!
//! [`Deduper::check_and_insert`] answers "is this the first time I see this
//! key (within its TTL)?" atomically, from any number of threads. The TTL runs
//! from the first sighting: a duplicate does not extend it.
//!
//! Memory is bounded by `max_entries`. When an insert goes over the bound the
//! oldest entries are removed first: expired ones silently (they were dead
//! anyway), then live ones, each counted in [`Deduper::evicted`]. A live key
//! is never dropped before its TTL for any other reason.
//!
//! Time is an explicit `now` in seconds on any clock that does not go
//! backwards (Python's `time.monotonic()` in the bindings). If it does go
//! backwards, answers stay exact (each entry carries its own expiry) but
//! entries inserted "out of order" are purged only once those in front of
//! them expire.
//!
//! # What is stored: a 128-bit keyed digest per key
//!
//! A key is never stored: the deduper keeps the 128-bit SipHash-1-3 of its
//! bytes under a random 128-bit key drawn from the OS for each deduper
//! ([`digest`]), with its expiry: a 24-byte entry in a FIFO of fixed blocks
//! ([`ring`]) plus a 4-byte slot and hashbrown's control byte in the index
//! ([`set`]). Measured as process RSS growth (`bench/dedupe_memory.py`,
//! docs/dedupe.md): 32.9 bytes per key at 10 M keys (39.2 at 1 M), whatever
//! the key's length, against 136 (35-byte keys) and 236 (90-byte keys) for the
//! [`legacy`] deduper that stored keys. At 1,000 events/s, the 260 M keys of a
//! 3-day TTL take about 8.6 GB instead of 35 to 61 GB.
//!
//! # False duplicates
//!
//! Two different keys with the same digest make the second one a (false)
//! duplicate. SipHash is a pseudorandom function and its key is secret and
//! per instance, so ids cannot be crafted to collide; the chance is that of
//! random 128-bit values colliding:
//!
//! - a new key falsely matches one of `n` live keys with probability at most
//!   `n / 2^128`: 2.9e-32 at n = 10 M, 7.6e-31 at n = 260 M;
//! - any two of `n` live keys collide with probability at most
//!   `n (n - 1) / 2^129`: 1.5e-25 at n = 10 M, 9.9e-23 at n = 260 M;
//! - over a lifetime of `N` inserts: at most `N n / 2^128`. 1,000 events/s for
//!   100 years (N = 3.2e12) against 260 M live keys: 2.4e-18.
//!
//! For comparison, an undetected error in a 64-bit ECC memory word or a
//! payment processor's own id collision are many orders of magnitude likelier.
use parking_lot::Mutex;

use crate::args::{check_now, check_ttl};
use crate::{Error, Result};

pub(crate) mod digest;
pub mod legacy;
mod ring;
mod set;
pub(crate) mod table;

use digest::{Digest, Digester};
use set::{DigestSet, Popped, MAX_ENTRIES_LIMIT};

/// Keys a batch inserts per hold of the lock (other threads get a turn in between).
const BATCH_CHUNK: usize = 2048;

/// A thread-safe "seen before?" set with a TTL and a size bound.
pub struct Deduper {
    ttl: f64,
    max_entries: usize,
    digester: Digester,
    inner: Mutex<Inner>,
}

struct Inner {
    set: DigestSet,
    evicted: u64,
}

impl std::fmt::Debug for Deduper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deduper")
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

impl Deduper {
    /// The SPEC default TTL: 72 hours (Stripe retries deliveries for up to 3 days).
    pub const DEFAULT_TTL: f64 = 259_200.0;
    /// The SPEC default bound.
    pub const DEFAULT_MAX_ENTRIES: usize = 10_000_000;
    /// The largest bound accepted (2^30, about 1.07 billion keys, 35 GB).
    pub const MAX_ENTRIES_LIMIT: usize = MAX_ENTRIES_LIMIT;

    /// A deduper whose keys live `ttl` seconds, holding at most `max_entries`.
    pub fn new(ttl: f64, max_entries: usize) -> Result<Self> {
        Self::with_digester(ttl, max_entries, Digester::random())
    }

    fn with_digester(ttl: f64, max_entries: usize, digester: Digester) -> Result<Self> {
        check_ttl("ttl", ttl)?;
        if max_entries == 0 {
            return Err(Error::invalid("max_entries", "must be at least 1"));
        }
        if max_entries > MAX_ENTRIES_LIMIT {
            return Err(Error::invalid(
                "max_entries",
                format!("must be at most {MAX_ENTRIES_LIMIT}"),
            ));
        }
        Ok(Deduper {
            ttl,
            max_entries,
            digester,
            inner: Mutex::new(Inner {
                set: DigestSet::default(),
                evicted: 0,
            }),
        })
    }

    pub fn ttl(&self) -> f64 {
        self.ttl
    }

    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    /// `true` the first time a live `key` is seen at `now`, `false` for a
    /// duplicate. Errors only for an empty key or a non-finite `now`.
    pub fn check_and_insert(&self, key: &str, now: f64) -> Result<bool> {
        check_key(key)?;
        check_now(now)?;
        let digest = self.digester.digest(key.as_bytes());
        let mut inner = self.inner.lock();
        inner.set.purge_front(now);
        Ok(self.insert(&mut inner, digest, now))
    }

    /// [`Deduper::check_and_insert`] for each key in order, all at `now`
    /// (a key repeated in the batch is a duplicate after its first place).
    /// Every key is validated before any is inserted. Keys are hashed
    /// [`BATCH_CHUNK`] at a time without the lock, then inserted under it.
    pub fn check_and_insert_many<K: AsRef<str>>(&self, keys: &[K], now: f64) -> Result<Vec<bool>> {
        check_now(now)?;
        if let Some(index) = keys.iter().position(|k| k.as_ref().is_empty()) {
            return Err(Error::invalid(
                "keys",
                format!("element {index} must not be empty"),
            ));
        }
        let mut firsts = Vec::with_capacity(keys.len());
        let mut digests: Vec<Digest> = Vec::with_capacity(keys.len().min(BATCH_CHUNK));
        for chunk in keys.chunks(BATCH_CHUNK) {
            // hashed before the lock is taken
            digests.clear();
            digests.extend(
                chunk
                    .iter()
                    .map(|k| self.digester.digest(k.as_ref().as_bytes())),
            );
            let mut inner = self.inner.lock();
            inner.set.purge_front(now);
            firsts.extend(digests.iter().map(|&d| self.insert(&mut inner, d, now)));
        }
        Ok(firsts)
    }

    fn insert(&self, inner: &mut Inner, digest: Digest, now: f64) -> bool {
        let inserted = inner.set.claim(digest, now, now + self.ttl);
        while inner.set.len() > self.max_entries {
            match inner.set.pop_front(now) {
                Popped::Removed { live: true } => inner.evicted += 1,
                Popped::Removed { live: false } | Popped::Stale => {}
                Popped::Empty => break,
            }
        }
        inserted
    }

    /// Whether `key` is held and live at `now` (does not insert).
    pub fn contains(&self, key: &str, now: f64) -> Result<bool> {
        check_now(now)?;
        let digest = self.digester.digest(key.as_bytes());
        let inner = self.inner.lock();
        Ok(inner.set.get(&digest).is_some_and(|e| e.expires > now))
    }

    /// Entries held. Expired entries are removed lazily, so this may count
    /// some that expired but were not purged yet; after
    /// [`Deduper::purge_expired`] it is the exact live count.
    pub fn len(&self) -> usize {
        self.inner.lock().set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live entries removed early because of `max_entries`.
    pub fn evicted(&self) -> u64 {
        self.inner.lock().evicted
    }

    /// Remove every entry expired at `now` (front to back, see the module
    /// notes on clocks); returns how many were removed. O(removed).
    pub fn purge_expired(&self, now: f64) -> Result<usize> {
        check_now(now)?;
        let mut inner = self.inner.lock();
        let removed = inner.set.purge_front(now);
        inner.set.shrink();
        Ok(removed)
    }
}

#[cfg(test)]
mod tests;
