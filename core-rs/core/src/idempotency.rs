//! Idempotency-key cache: begin / complete / abandon (SPEC 2.2).
//!
//! The server calls [`IdempotencyCache::begin`] with the request's key and
//! [`fingerprint`](crate::fingerprint::fingerprint) before doing any work:
//!
//! | stored for the key (live)         | same fingerprint | other fingerprint |
//! |-----------------------------------|------------------|-------------------|
//! | nothing (or expired)              | `New` (now in flight) | `New`        |
//! | in flight                         | `InFlight` (409) | `Mismatch` (422)  |
//! | completed                         | `Replay` (saved status + body) | `Mismatch` (422) |
//!
//! A different request under a key is the client's error whatever the timing,
//! so `Mismatch` wins over `InFlight`. After `New` the caller must end the
//! attempt with [`complete`](IdempotencyCache::complete) (the response is saved
//! and replayed until the key expires) or [`abandon`](IdempotencyCache::abandon)
//! (nothing was done; the key may be retried).
//!
//! `complete` and `abandon` on a key that is not in flight (unknown, expired
//! and purged, abandoned, or already completed) change nothing and return
//! `false`: the caller has a response in hand and must still send it, so this
//! is something to log, not an error to raise. A completed response is never
//! overwritten.
//!
//! A key lives `ttl` seconds from the `begin` that created it (completing does
//! not extend it); an expired key behaves as new. Keys are 1 to 255 characters.
use std::sync::Arc;

use crate::args::{check_now, check_ttl};
use crate::dedupe::table::{default_shards, Claim, Sharded};
use crate::{Error, Result};

/// Longest accepted key, in characters (Unicode scalar values, as Python's `len`).
pub const MAX_KEY_CHARS: usize = 255;

/// The outcome of [`IdempotencyCache::begin`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// First use of the key (or it had expired): go ahead, then complete or abandon.
    New,
    /// The same request is still running.
    InFlight,
    /// The same request already completed: send this response again.
    Replay { status: u16, body: Arc<[u8]> },
    /// The key was used for a different request.
    Mismatch,
}

impl Begin {
    /// `"new"`, `"in_flight"`, `"replay"` or `"mismatch"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Begin::New => "new",
            Begin::InFlight => "in_flight",
            Begin::Replay { .. } => "replay",
            Begin::Mismatch => "mismatch",
        }
    }
}

struct Record {
    fingerprint: Box<str>,
    response: Option<(u16, Arc<[u8]>)>,
}

/// Thread-safe, sharded store of idempotency keys with a TTL.
pub struct IdempotencyCache {
    ttl: f64,
    table: Sharded<Record>,
}

impl std::fmt::Debug for IdempotencyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdempotencyCache")
            .field("ttl", &self.ttl)
            .field("len", &self.len())
            .finish()
    }
}

/// Keys must be 1 to [`MAX_KEY_CHARS`] characters.
pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::idempotency(
            "key_empty",
            "idempotency key must not be empty",
        ));
    }
    // Byte length bounds the character count from above: count only when it might matter.
    if key.len() > MAX_KEY_CHARS {
        let chars = key.chars().count();
        if chars > MAX_KEY_CHARS {
            return Err(Error::idempotency(
                "key_too_long",
                format!("idempotency key is {chars} characters long; at most {MAX_KEY_CHARS} are allowed"),
            ));
        }
    }
    Ok(())
}

/// An HTTP status code to save: 100..=599.
pub fn check_status(status: i64) -> Result<u16> {
    match u16::try_from(status) {
        Ok(code @ 100..=599) => Ok(code),
        _ => Err(Error::invalid(
            "status",
            format!("must be an HTTP status code (100-599), got {status}"),
        )),
    }
}

impl IdempotencyCache {
    /// The SPEC default TTL: 24 hours.
    pub const DEFAULT_TTL: f64 = 86_400.0;

    pub fn new(ttl: f64) -> Result<Self> {
        check_ttl("ttl", ttl)?;
        Ok(IdempotencyCache {
            ttl,
            table: Sharded::new(default_shards()),
        })
    }

    pub fn ttl(&self) -> f64 {
        self.ttl
    }

    /// Start (or look up) the request `fingerprint` under `key` at `now`.
    pub fn begin(&self, key: &str, fingerprint: &str, now: f64) -> Result<Begin> {
        check_key(key)?;
        check_now(now)?;
        let hash = self.table.hash(key);
        let expires = now + self.ttl;
        Ok(self.table.with_shard(hash, Some(now), |shard| {
            let make = || Record {
                fingerprint: fingerprint.into(),
                response: None,
            };
            match shard.claim(hash, key, now, expires, make) {
                Claim::Inserted => Begin::New,
                Claim::Live(slot) if &*slot.value.fingerprint != fingerprint => Begin::Mismatch,
                Claim::Live(slot) => match &slot.value.response {
                    None => Begin::InFlight,
                    Some((status, body)) => Begin::Replay {
                        status: *status,
                        body: Arc::clone(body),
                    },
                },
            }
        }))
    }

    /// Save the response of the in-flight request under `key`; `false` (and
    /// nothing changed) if `key` is not in flight. `status` must be an HTTP
    /// status (100..=599).
    pub fn complete(&self, key: &str, status: u16, body: impl Into<Arc<[u8]>>) -> Result<bool> {
        check_key(key)?;
        check_status(status.into())?;
        let hash = self.table.hash(key);
        Ok(self
            .table
            .with_shard(hash, None, |shard| match shard.get_any(hash, key) {
                Some(slot) if slot.value.response.is_none() => {
                    slot.value.response = Some((status, body.into()));
                    true
                }
                _ => false,
            }))
    }

    /// Forget the in-flight request under `key` so that it may be retried;
    /// `false` (and nothing changed) if `key` is not in flight. A completed
    /// response is kept.
    pub fn abandon(&self, key: &str) -> Result<bool> {
        check_key(key)?;
        let hash = self.table.hash(key);
        Ok(self.table.with_shard(hash, None, |shard| {
            shard.remove_if(hash, key, |slot| slot.value.response.is_none())
        }))
    }

    /// Keys held, including expired ones not purged yet.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Remove every key expired at `now`; returns how many were removed.
    pub fn purge_expired(&self, now: f64) -> Result<usize> {
        check_now(now)?;
        Ok(self.table.purge_all(now))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    fn body(s: &str) -> Arc<[u8]> {
        Arc::from(s.as_bytes())
    }

    #[test]
    fn the_four_outcomes() {
        let c = IdempotencyCache::new(100.0).unwrap();
        assert_eq!(c.begin("k", "fp1", 0.0).unwrap(), Begin::New);
        assert_eq!(c.begin("k", "fp1", 1.0).unwrap(), Begin::InFlight);
        assert_eq!(c.begin("k", "fp2", 1.0).unwrap(), Begin::Mismatch);
        assert!(c.complete("k", 201, body("{\"id\":1}")).unwrap());
        assert_eq!(
            c.begin("k", "fp1", 2.0).unwrap(),
            Begin::Replay {
                status: 201,
                body: body("{\"id\":1}")
            }
        );
        assert_eq!(c.begin("k", "fp2", 2.0).unwrap(), Begin::Mismatch);
        assert_eq!(Begin::New.kind(), "new");
        assert_eq!(Begin::InFlight.kind(), "in_flight");
        assert_eq!(Begin::Mismatch.kind(), "mismatch");
        assert_eq!(
            Begin::Replay {
                status: 200,
                body: body("")
            }
            .kind(),
            "replay"
        );
    }

    #[test]
    fn expired_keys_behave_as_new() {
        let c = IdempotencyCache::new(10.0).unwrap();
        assert_eq!(c.begin("k", "a", 0.0).unwrap(), Begin::New);
        assert!(c.complete("k", 200, body("x")).unwrap());
        // completing does not extend the key's life
        assert!(matches!(
            c.begin("k", "a", 9.9).unwrap(),
            Begin::Replay { .. }
        ));
        assert_eq!(c.begin("k", "b", 10.0).unwrap(), Begin::New);
        // an in-flight attempt also expires
        assert_eq!(c.begin("k", "b", 20.0).unwrap(), Begin::New);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn abandon_allows_a_retry_and_keeps_completed_responses() {
        let c = IdempotencyCache::new(10.0).unwrap();
        assert_eq!(c.begin("k", "a", 0.0).unwrap(), Begin::New);
        assert!(c.abandon("k").unwrap());
        assert!(!c.abandon("k").unwrap());
        assert!(c.is_empty());
        // the retry may even be a different request
        assert_eq!(c.begin("k", "b", 1.0).unwrap(), Begin::New);
        assert!(c.complete("k", 500, body("boom")).unwrap());
        assert!(!c.abandon("k").unwrap());
        assert!(
            !c.complete("k", 200, body("other")).unwrap(),
            "never overwritten"
        );
        assert_eq!(
            c.begin("k", "b", 2.0).unwrap(),
            Begin::Replay {
                status: 500,
                body: body("boom")
            }
        );
    }

    #[test]
    fn unknown_keys_are_a_no_op() {
        let c = IdempotencyCache::new(10.0).unwrap();
        assert!(!c.complete("nope", 200, body("")).unwrap());
        assert!(!c.abandon("nope").unwrap());
        assert!(c.is_empty());
    }

    #[test]
    fn key_length_is_counted_in_characters() {
        let c = IdempotencyCache::new(10.0).unwrap();
        let ok = "é".repeat(255); // 510 bytes
        assert_eq!(c.begin(&ok, "f", 0.0).unwrap(), Begin::New);
        let long = "é".repeat(256);
        let err = c.begin(&long, "f", 0.0).unwrap_err();
        assert_eq!(err.code(), "key_too_long");
        assert_eq!(
            err.to_string(),
            "idempotency key is 256 characters long; at most 255 are allowed"
        );
        assert_eq!(
            c.complete(&long, 200, body("")).unwrap_err().code(),
            "key_too_long"
        );
        assert_eq!(c.abandon(&long).unwrap_err().code(), "key_too_long");
        assert_eq!(c.begin("", "f", 0.0).unwrap_err().code(), "key_empty");
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn bad_arguments_are_named() {
        assert!(IdempotencyCache::new(-1.0)
            .unwrap_err()
            .to_string()
            .starts_with("ttl: "));
        let c = IdempotencyCache::new(10.0).unwrap();
        assert!(c
            .begin("k", "f", f64::NAN)
            .unwrap_err()
            .to_string()
            .starts_with("now: "));
        assert_eq!(c.begin("k", "f", 0.0).unwrap(), Begin::New);
        let err = c.complete("k", 99, body("")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "status: must be an HTTP status code (100-599), got 99"
        );
        assert!(c.complete("k", 600, body("")).is_err());
        assert_eq!(
            c.begin("k", "f", 1.0).unwrap(),
            Begin::InFlight,
            "a rejected complete changes nothing"
        );
        assert!(c.purge_expired(f64::NAN).is_err());
    }

    #[test]
    fn threads_get_exactly_one_new_per_key() {
        const THREADS: usize = 4;
        const KEYS: usize = 2_000;
        let c = IdempotencyCache::new(1e9).unwrap();
        let keys: Vec<String> = (0..KEYS).map(|i| format!("idem_{i}")).collect();
        let outcomes: Vec<Vec<(usize, Begin)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (c, keys) = (&c, &keys);
                    scope.spawn(move || {
                        (0..KEYS)
                            .map(|i| (i + t * KEYS / THREADS) % KEYS)
                            .map(|i| {
                                let got = c.begin(&keys[i], "fp", 1.0).unwrap();
                                if got == Begin::New && i % 2 == 0 {
                                    assert!(c.complete(&keys[i], 200, body("ok")).unwrap());
                                }
                                (i, got)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut news = vec![0usize; KEYS];
        for (i, got) in outcomes.into_iter().flatten() {
            match got {
                Begin::New => news[i] += 1,
                Begin::InFlight => {}
                Begin::Replay { status, .. } => {
                    assert_eq!(status, 200);
                    assert_eq!(i % 2, 0, "only completed keys replay");
                }
                Begin::Mismatch => panic!("same fingerprint never mismatches"),
            }
        }
        assert!(news.iter().all(|&n| n == 1));
        assert_eq!(c.len(), KEYS);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Begin(u8, u8),
        Complete(u8, u16),
        Abandon(u8),
        Purge,
    }

    fn op() -> impl Strategy<Value = (Op, u8)> {
        let op = prop_oneof![
            4 => (0u8..8, 0u8..3).prop_map(|(k, f)| Op::Begin(k, f)),
            2 => (0u8..8, 200u16..203).prop_map(|(k, s)| Op::Complete(k, s)),
            1 => (0u8..8).prop_map(Op::Abandon),
            1 => Just(Op::Purge),
        ];
        (op, 0u8..4)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn behaves_like_a_dict(ops in prop::collection::vec(op(), 1..100)) {
            let ttl = 10.0;
            let c = IdempotencyCache::new(ttl).unwrap();
            // key -> (fingerprint, expiry, response)
            let mut model: HashMap<String, (String, f64, Option<u16>)> = HashMap::new();
            let mut now = 0.0;
            for (op, dt) in ops {
                now += f64::from(dt);
                match op {
                    Op::Begin(k, f) => {
                        let (key, fp) = (format!("k{k}"), format!("f{f}"));
                        let want = match model.get(&key) {
                            Some((mfp, exp, _)) if *exp > now && *mfp != fp => Begin::Mismatch,
                            Some((_, exp, None)) if *exp > now => Begin::InFlight,
                            Some((_, exp, Some(s))) if *exp > now => Begin::Replay { status: *s, body: body(&s.to_string()) },
                            _ => {
                                model.insert(key.clone(), (fp.clone(), now + ttl, None));
                                Begin::New
                            }
                        };
                        prop_assert_eq!(c.begin(&key, &fp, now).unwrap(), want);
                    }
                    // `complete` and `abandon` take no `now`: on an expired record (which the cache
                    // may or may not have purged yet) their result is unobservable by `begin`, so the
                    // model only forgets it; a later call sees it gone or settled in both.
                    Op::Complete(k, s) => {
                        let key = format!("k{k}");
                        let got = c.complete(&key, s, body(&s.to_string())).unwrap();
                        match model.get_mut(&key) {
                            Some((_, exp, _)) if *exp <= now => { model.remove(&key); }
                            Some((_, _, resp @ None)) => { prop_assert!(got); *resp = Some(s); }
                            _ => prop_assert!(!got),
                        }
                    }
                    Op::Abandon(k) => {
                        let key = format!("k{k}");
                        let got = c.abandon(&key).unwrap();
                        match model.get(&key) {
                            Some((_, exp, _)) if *exp <= now => { model.remove(&key); }
                            Some((_, _, None)) => { prop_assert!(got); model.remove(&key); }
                            _ => prop_assert!(!got),
                        }
                    }
                    Op::Purge => {
                        c.purge_expired(now).unwrap();
                        model.retain(|_, (_, exp, _)| *exp > now);
                        prop_assert_eq!(c.len(), model.len());
                    }
                }
            }
        }
    }
}
