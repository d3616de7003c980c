//! Lease locks with fencing tokens (SPEC 2.4).
//!
//! A lock on `key` is held until `expires_at = now + ttl`; it has expired once
//! `now >= expires_at`, and an expired lock is free for the next `acquire`.
//! Tokens are strictly increasing across all keys of one `LeaseLocks`, so a
//! resource that remembers the highest token it has seen can refuse a stale
//! holder. No global mutex: each key lives in a shard of a concurrent map and
//! the token counter is one atomic, taken under the key's shard lock (so for a
//! given key, tokens increase in acquisition order).
use std::sync::atomic::{AtomicU64, Ordering};

use ahash::RandomState;
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;

use crate::args::{check_id, check_now, check_ttl};
use crate::error::Result;

/// Acquisitions between two sweeps of expired locks (keeps memory bounded
/// when holders die without releasing).
const SWEEP_EVERY: u64 = 1024;

#[derive(Debug, Clone, Copy)]
struct Held {
    token: u64,
    expires_at: f64,
}

#[derive(Debug)]
pub struct LeaseLocks {
    ttl: f64,
    held: DashMap<Box<str>, Held, RandomState>,
    last_token: AtomicU64,
    acquisitions: AtomicU64,
}

impl LeaseLocks {
    pub fn new(ttl: f64) -> Result<Self> {
        check_ttl("ttl", ttl)?;
        Ok(Self {
            ttl,
            held: DashMap::with_hasher(RandomState::new()),
            last_token: AtomicU64::new(0),
            acquisitions: AtomicU64::new(0),
        })
    }

    pub fn ttl(&self) -> f64 {
        self.ttl
    }

    fn grant(&self, now: f64) -> Held {
        Held {
            token: self.last_token.fetch_add(1, Ordering::Relaxed) + 1,
            expires_at: now + self.ttl,
        }
    }

    /// A fencing token if `key` was free (or its lock expired), else `None`.
    pub fn acquire(&self, key: &str, now: f64) -> Result<Option<u64>> {
        check_now(now)?;
        check_id("key", key)?;
        if self.acquisitions.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.held.retain(|_, held| now < held.expires_at);
        }
        if let Some(mut held) = self.held.get_mut(key) {
            if now < held.expires_at {
                return Ok(None);
            }
            *held = self.grant(now);
            return Ok(Some(held.token));
        }
        match self.held.entry(Box::from(key)) {
            Entry::Occupied(mut entry) => {
                if now < entry.get().expires_at {
                    return Ok(None);
                }
                let held = self.grant(now);
                entry.insert(held);
                Ok(Some(held.token))
            }
            Entry::Vacant(entry) => {
                let held = self.grant(now);
                entry.insert(held);
                Ok(Some(held.token))
            }
        }
    }

    /// Release `key` if `token` still holds it; false if the lock is held by
    /// another token, has expired, or is unknown.
    pub fn release(&self, key: &str, token: u64, now: f64) -> Result<bool> {
        check_now(now)?;
        Ok(self
            .held
            .remove_if(key, |_, held| held.token == token)
            .is_some_and(|(_, held)| now < held.expires_at))
    }

    /// Push the expiry of a live lock held by `token` to `now + ttl` (never
    /// shortening it); false if `token` does not hold a live lock on `key`.
    pub fn extend(&self, key: &str, token: u64, now: f64) -> Result<bool> {
        check_now(now)?;
        Ok(match self.held.get_mut(key) {
            Some(mut held) if held.token == token && now < held.expires_at => {
                held.expires_at = held.expires_at.max(now + self.ttl);
                true
            }
            _ => false,
        })
    }

    /// Number of locks still recorded (live or expired but not yet swept).
    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acquire_release_extend_and_expiry() -> Result<()> {
        let locks = LeaseLocks::new(10.0)?;
        let a = locks.acquire("u1", 0.0)?;
        assert_eq!(a, Some(1));
        assert_eq!(locks.acquire("u1", 9.999)?, None);
        assert!(locks.extend("u1", 1, 5.0)?); // now expires at 15
        assert_eq!(locks.acquire("u1", 14.0)?, None);
        // expired once now >= expires_at: free again, with a higher token
        assert_eq!(locks.acquire("u1", 15.0)?, Some(2));
        assert!(!locks.release("u1", 1, 15.0)?, "stale token refused");
        assert!(!locks.extend("u1", 1, 15.0)?);
        assert!(locks.release("u1", 2, 16.0)?);
        assert!(!locks.release("u1", 2, 16.0)?);
        assert_eq!(locks.acquire("u2", 16.0)?, Some(3));
        assert!(
            !locks.release("u2", 3, 26.0)?,
            "expired lock is not released"
        );
        assert_eq!(locks.acquire("u2", 26.0)?, Some(4));
        Ok(())
    }

    #[test]
    fn bad_input_names_the_field() {
        assert_eq!(
            LeaseLocks::new(0.0).err().map(|e| e.to_string()).as_deref(),
            Some("ttl: must be a positive, finite number of seconds, got 0")
        );
        let Ok(locks) = LeaseLocks::new(1.0) else {
            return;
        };
        assert_eq!(
            locks
                .acquire("", 0.0)
                .err()
                .map(|e| e.code().to_owned())
                .as_deref(),
            Some("invalid_argument")
        );
        assert!(locks.acquire("k", f64::NAN).is_err());
    }

    #[test]
    fn sweeps_expired_locks() -> Result<()> {
        let locks = LeaseLocks::new(1.0)?;
        for i in 0..(2 * SWEEP_EVERY) {
            locks.acquire(&format!("k{i}"), i as f64)?;
        }
        assert!(locks.len() < SWEEP_EVERY as usize + 2, "{}", locks.len());
        Ok(())
    }

    #[test]
    fn concurrent_acquirers_never_share_a_lock() -> Result<()> {
        let locks = LeaseLocks::new(1e9)?;
        let winners: Vec<Vec<(usize, u64)>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (0..2000)
                            .filter_map(|k| match locks.acquire(&format!("k{}", k % 500), 0.0) {
                                Ok(Some(t)) => Some((k % 500, t)),
                                _ => None,
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let mut all: Vec<(usize, u64)> = winners.into_iter().flatten().collect();
        assert_eq!(all.len(), 500, "each key won exactly once");
        all.sort_unstable();
        all.dedup_by_key(|(k, _)| *k);
        assert_eq!(all.len(), 500);
        let mut tokens: Vec<u64> = all.iter().map(|(_, t)| *t).collect();
        tokens.sort_unstable();
        tokens.dedup();
        assert_eq!(tokens.len(), 500, "tokens are unique");
        Ok(())
    }
}
