//! Gateway health: elimination buckets (circuit breakers), success-rate windows,
//! latency samples, and the contributions imported from peer instances.
//!
//! Elimination (Hyperswitch's model): one leaky bucket per (gateway, failure class).
//! Each failure of the class adds one unit (up to `bucket_size`); the bucket leaks
//! one unit every `leak_interval_seconds`. A full bucket trips the circuit open:
//! the gateway is skipped. An open circuit stays open one full leak interval, then
//! half-opens once the bucket has leaked below full: ONE probe may go through.
//! The probe's outcome (any outcome recorded for the gateway) settles it: a
//! failure of the bucket's class refills the bucket (open again); anything else
//! (a success, a decline, a failure of another class) empties it and closes the
//! circuit. A probe whose outcome never comes is given up after
//! `probe_timeout_seconds`, and the next payment probes again.
//!
//! Every gateway's state sits behind its own mutex; a lock-free flag says
//! whether any of its buckets is tripped, so deciding over healthy gateways
//! takes no lock unless the rule reads success rates.
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};

use hashbrown::{Equivalent, HashMap};
use parking_lot::Mutex;

use crate::error::{Error, Result};

/// Failure classes per gateway (each has a bucket); a further class is refused.
pub const MAX_CLASSES: usize = 32;
/// (currency, payment_method_type) pairs with a success-rate window, per gateway.
pub const MAX_DIMENSIONS: usize = 4096;
/// Peer instances whose health one router holds at once.
pub const MAX_PEERS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BucketParams {
    pub size: u32,
    pub leak_interval: f64,
}

/// The `health` section of the rules document, with its defaults.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HealthConfig {
    pub bucket: BucketParams,
    /// Per-class overrides of `bucket`.
    pub classes: Vec<(Box<str>, BucketParams)>,
    pub probe_timeout: f64,
    /// Outcomes kept per (gateway, currency, payment_method_type).
    pub window: u32,
    /// Fewer outcomes than this in the window: the gateway is not scored yet.
    pub min_samples: u32,
    /// Share of success-rate decisions sent to a non-best gateway, in basis points.
    pub hedging_bp: u32,
    pub latency_window: u32,
    pub peer_ttl: f64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            // Hyperswitch's elimination example: bucket_size 5, leak interval 10 s.
            bucket: BucketParams {
                size: 5,
                leak_interval: 10.0,
            },
            classes: Vec::new(),
            probe_timeout: 30.0,
            // Juspay's decision engine: defaultBucketSize 50, defaultHedgingPercent 5.
            window: 50,
            min_samples: 10,
            hedging_bp: 500,
            latency_window: 1000,
            peer_ttl: 30.0,
        }
    }
}

impl HealthConfig {
    pub(crate) fn params(&self, class: &str) -> BucketParams {
        self.classes
            .iter()
            .find(|(name, _)| **name == *class)
            .map_or(self.bucket, |(_, p)| *p)
    }
}

/// A gateway's circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Circuit {
    Closed,
    Open,
    HalfOpen,
}

impl Circuit {
    pub fn as_str(self) -> &'static str {
        match self {
            Circuit::Closed => "closed",
            Circuit::Open => "open",
            Circuit::HalfOpen => "half_open",
        }
    }
}

/// Units leaked from `level` between `since` and `now` at one unit per `interval`.
fn leaked(level: u32, since: f64, now: f64, interval: f64) -> u32 {
    if now <= since || level == 0 {
        return level;
    }
    let units = ((now - since) / interval).floor();
    if units >= f64::from(level) {
        0
    } else {
        level - units as u32
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    pub class: Box<str>,
    pub params: BucketParams,
    /// This instance's own failures still in the bucket (0..=size).
    pub level: u32,
    /// Leaking is counted from here.
    pub leaked_at: f64,
    /// The circuit tripped (the bucket was full) and has not closed since.
    pub tripped: bool,
    /// Bumped each time the circuit closes (or is reset); peers adopt a newer epoch.
    pub epoch: u64,
}

impl Bucket {
    pub(crate) fn new(class: &str, params: BucketParams, now: f64) -> Bucket {
        Bucket {
            class: class.into(),
            params,
            level: 0,
            leaked_at: now,
            tripped: false,
            epoch: 0,
        }
    }

    pub(crate) fn leak(&mut self, now: f64) {
        let interval = self.params.leak_interval;
        if self.level == 0 {
            self.leaked_at = self.leaked_at.max(now);
            return;
        }
        if now <= self.leaked_at {
            return;
        }
        let units = ((now - self.leaked_at) / interval).floor();
        if units >= f64::from(self.level) {
            self.level = 0;
            self.leaked_at = now;
        } else {
            self.level -= units as u32;
            self.leaked_at += units * interval;
        }
    }

    fn close(&mut self, now: f64) {
        self.level = 0;
        self.leaked_at = now;
        self.tripped = false;
        self.epoch += 1;
    }

    /// Full again: open for one more leak interval from `now`.
    fn refill(&mut self, now: f64) {
        self.level = self.params.size;
        self.leaked_at = now;
        self.tripped = true;
    }
}

/// The window key: (currency, payment_method_type). Hashed by hand so that the
/// borrowed form [`DimRef`] hashes the same and can look it up without allocating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dim {
    pub currency: Box<str>,
    pub method: Option<Box<str>>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct DimRef<'a> {
    pub currency: &'a str,
    pub method: Option<&'a str>,
}

fn hash_dim<H: Hasher>(state: &mut H, currency: &str, method: Option<&str>) {
    currency.hash(state);
    match method {
        Some(m) => {
            state.write_u8(1);
            m.hash(state);
        }
        None => state.write_u8(0),
    }
}

impl Hash for Dim {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_dim(state, &self.currency, self.method.as_deref());
    }
}

impl Hash for DimRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_dim(state, self.currency, self.method);
    }
}

impl Equivalent<Dim> for DimRef<'_> {
    fn equivalent(&self, key: &Dim) -> bool {
        *key.currency == *self.currency && key.method.as_deref() == self.method
    }
}

impl DimRef<'_> {
    pub(crate) fn to_owned(self) -> Dim {
        Dim {
            currency: self.currency.into(),
            method: self.method.map(Box::from),
        }
    }
}

type Map<K, V> = HashMap<K, V, ahash::RandomState>;

pub(crate) fn new_map<K, V>() -> Map<K, V> {
    HashMap::with_hasher(ahash::RandomState::new())
}

/// The last `cap` outcomes (a ring of bits) and how many succeeded.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    bits: Box<[u64]>,
    cap: u32,
    len: u32,
    head: u32,
    successes: u32,
}

impl Window {
    fn new(cap: u32) -> Window {
        Window {
            bits: vec![0; cap.div_ceil(64) as usize].into(),
            cap,
            len: 0,
            head: 0,
            successes: 0,
        }
    }

    fn bit(&self, i: u32) -> bool {
        self.bits[(i / 64) as usize] >> (i % 64) & 1 == 1
    }

    fn push(&mut self, ok: bool) {
        let i = self.head;
        if self.len == self.cap {
            if self.bit(i) {
                self.successes -= 1;
            }
        } else {
            self.len += 1;
        }
        let word = &mut self.bits[(i / 64) as usize];
        if ok {
            *word |= 1 << (i % 64);
            self.successes += 1;
        } else {
            *word &= !(1 << (i % 64));
        }
        self.head = (i + 1) % self.cap;
    }

    pub(crate) fn counts(&self) -> (u32, u32) {
        (self.successes, self.len)
    }
}

/// The last `cap` latencies in milliseconds.
#[derive(Debug, Clone, Default)]
pub(crate) struct Latencies {
    samples: Vec<f64>,
    head: usize,
}

impl Latencies {
    fn push(&mut self, cap: usize, ms: f64) {
        if self.samples.len() < cap {
            self.samples.push(ms);
        } else {
            self.samples[self.head] = ms;
            self.head = (self.head + 1) % cap;
        }
    }

    /// (p50, p99, samples), nearest-rank percentiles.
    pub(crate) fn percentiles(&self) -> (Option<f64>, Option<f64>, usize) {
        let n = self.samples.len();
        if n == 0 {
            return (None, None, 0);
        }
        let mut sorted = self.samples.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        let rank = |p: usize| sorted[(n * p).div_ceil(100).clamp(1, n) - 1];
        (Some(rank(50)), Some(rank(99)), n)
    }
}

/// What one peer instance last exported for this gateway.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub name: Box<str>,
    pub imported_at: f64,
    /// (class, level, epoch)
    pub buckets: Vec<(Box<str>, u32, u64)>,
    pub windows: Map<Dim, (u32, u32)>,
}

/// One gateway's health, behind its cell's mutex.
#[derive(Debug)]
pub(crate) struct State {
    pub buckets: Vec<Bucket>,
    pub probe_since: Option<f64>,
    pub windows: Map<Dim, Window>,
    pub latency: Latencies,
    pub peers: Vec<Peer>,
}

impl State {
    fn new() -> State {
        State {
            buckets: Vec::new(),
            probe_since: None,
            windows: new_map(),
            latency: Latencies::default(),
            peers: Vec::new(),
        }
    }

    fn fresh<'a>(&'a self, cfg: &'a HealthConfig, now: f64) -> impl Iterator<Item = &'a Peer> {
        self.peers
            .iter()
            .filter(move |p| now - p.imported_at <= cfg.peer_ttl)
    }

    /// Bucket `i`'s level with the fresh peers' contributions of the same epoch, capped at full.
    /// The local level must have been leaked to `now`.
    pub(crate) fn effective(&self, i: usize, cfg: &HealthConfig, now: f64) -> u32 {
        let b = &self.buckets[i];
        let mut level = b.level;
        for peer in self.fresh(cfg, now) {
            for (class, peer_level, epoch) in &peer.buckets {
                if *class == b.class && *epoch == b.epoch {
                    level = level.saturating_add(leaked(
                        *peer_level,
                        peer.imported_at,
                        now,
                        b.params.leak_interval,
                    ));
                }
            }
        }
        level.min(b.params.size)
    }

    /// Leak every bucket to `now`, trip the full ones, and say where the circuit stands.
    pub(crate) fn evaluate(&mut self, cfg: &HealthConfig, now: f64) -> Circuit {
        let mut circuit = Circuit::Closed;
        for i in 0..self.buckets.len() {
            self.buckets[i].leak(now);
            let full = self.effective(i, cfg, now) >= self.buckets[i].params.size;
            let b = &mut self.buckets[i];
            if full {
                if !b.tripped {
                    // Open for at least one full leak interval from now.
                    b.tripped = true;
                    b.leaked_at = now;
                }
                circuit = Circuit::Open;
            } else if b.tripped && circuit == Circuit::Closed {
                circuit = Circuit::HalfOpen;
            }
        }
        if circuit == Circuit::Closed {
            // Closed by a peer's probe (merged) or a reset: no probe of ours is pending.
            self.probe_since = None;
        }
        circuit
    }

    fn tripped(&self) -> bool {
        self.buckets.iter().any(|b| b.tripped)
    }

    /// Whether a probe may be sent now (none out, or the last one given up).
    pub(crate) fn probe_free(&self, cfg: &HealthConfig, now: f64) -> bool {
        self.probe_since
            .is_none_or(|since| now >= since && now - since >= cfg.probe_timeout)
    }

    /// Effective (successes, total) for one dimension: ours and the fresh peers'.
    pub(crate) fn counts(&self, dim: DimRef<'_>, cfg: &HealthConfig, now: f64) -> (u32, u32) {
        let (mut s, mut n) = self.windows.get(&dim).map_or((0, 0), Window::counts);
        for peer in self.fresh(cfg, now) {
            if let Some((ps, pn)) = peer.windows.get(&dim) {
                s = s.saturating_add(*ps);
                n = n.saturating_add(*pn);
            }
        }
        (s, n)
    }

    /// Every dimension with a window here or at a fresh peer, in a stable order.
    pub(crate) fn dims(&self, cfg: &HealthConfig, now: f64) -> Vec<Dim> {
        let mut dims: Vec<Dim> = self.windows.keys().cloned().collect();
        for peer in self.fresh(cfg, now) {
            dims.extend(peer.windows.keys().cloned());
        }
        dims.sort_by(|a, b| (&a.currency, &a.method).cmp(&(&b.currency, &b.method)));
        dims.dedup();
        dims
    }

    fn bucket_index(&self, class: &str) -> Option<usize> {
        self.buckets.iter().position(|b| *b.class == *class)
    }
}

/// A recorded outcome of one attempt on a gateway.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome<'a> {
    pub ok: bool,
    /// Why the gateway failed (`timeout`, `connection_refused`, `server_error`...): each
    /// class has its own elimination bucket. `None` on a failure (e.g. a customer
    /// decline) lowers the success rate but fills no bucket.
    pub failure_class: Option<&'a str>,
    /// Without a currency the outcome feeds no success-rate window.
    pub currency: Option<&'a str>,
    pub payment_method_type: Option<&'a str>,
    pub latency_ms: Option<f64>,
}

impl Outcome<'_> {
    pub(crate) fn check(&self) -> Result<()> {
        match (self.ok, self.failure_class) {
            (true, Some(_)) => {
                return Err(Error::invalid(
                    "failure_class",
                    "only a failure has a failure class (ok is True)",
                ))
            }
            (false, Some("")) => {
                return Err(Error::invalid(
                    "failure_class",
                    "must be a non-empty string or None",
                ))
            }
            _ => {}
        }
        if let Some(ms) = self.latency_ms {
            if !(ms.is_finite() && ms >= 0.0) {
                return Err(Error::invalid(
                    "latency_ms",
                    format!("must be a finite, non-negative number of milliseconds, got {ms}"),
                ));
            }
        }
        Ok(())
    }
}

/// One gateway: the tripped flag read without locking, and the state.
#[derive(Debug)]
pub(crate) struct Cell {
    tripped: AtomicBool,
    pub state: Mutex<State>,
}

impl Cell {
    pub(crate) fn new() -> Cell {
        Cell {
            tripped: AtomicBool::new(false),
            state: Mutex::new(State::new()),
        }
    }

    /// False when no bucket of this gateway is tripped (the circuit is closed).
    #[inline]
    pub(crate) fn maybe_tripped(&self) -> bool {
        self.tripped.load(Ordering::Acquire)
    }

    /// Publish the tripped flag after a change to `state` (called with the lock held).
    pub(crate) fn publish(&self, state: &State) {
        self.tripped.store(state.tripped(), Ordering::Release);
    }

    pub(crate) fn record(&self, cfg: &HealthConfig, outcome: &Outcome<'_>, now: f64) -> Result<()> {
        let mut st = self.state.lock();
        let class = if outcome.ok {
            None
        } else {
            outcome.failure_class
        };
        let dim = outcome.currency.map(|currency| DimRef {
            currency,
            method: outcome.payment_method_type,
        });
        // Refuse before changing anything.
        if let Some(c) = class {
            if st.bucket_index(c).is_none() && st.buckets.len() >= MAX_CLASSES {
                return Err(Error::invalid(
                    "failure_class",
                    format!("at most {MAX_CLASSES} failure classes per gateway"),
                ));
            }
        }
        if let Some(d) = dim {
            if !st.windows.contains_key(&d) && st.windows.len() >= MAX_DIMENSIONS {
                return Err(Error::invalid(
                    "payment_method_type",
                    format!(
                        "at most {MAX_DIMENSIONS} (currency, payment_method_type) pairs per gateway"
                    ),
                ));
            }
        }

        if let Some(ms) = outcome.latency_ms {
            st.latency.push(cfg.latency_window as usize, ms);
        }
        if let Some(d) = dim {
            match st.windows.get_mut(&d) {
                Some(w) => w.push(outcome.ok),
                None => {
                    let mut w = Window::new(cfg.window);
                    w.push(outcome.ok);
                    st.windows.insert(d.to_owned(), w);
                }
            }
        }

        // This outcome settles every half-open bucket (it is the probe's, or as good).
        let mut refilled = None;
        for i in 0..st.buckets.len() {
            st.buckets[i].leak(now);
            let half_open =
                st.buckets[i].tripped && st.effective(i, cfg, now) < st.buckets[i].params.size;
            if half_open {
                if class == Some(&*st.buckets[i].class) {
                    st.buckets[i].refill(now);
                    refilled = Some(i);
                } else {
                    st.buckets[i].close(now);
                }
            }
        }
        if let Some(c) = class {
            let i = match st.bucket_index(c) {
                Some(i) => i,
                None => {
                    st.buckets.push(Bucket::new(c, cfg.params(c), now));
                    st.buckets.len() - 1
                }
            };
            if refilled != Some(i) {
                let b = &mut st.buckets[i];
                b.level = (b.level + 1).min(b.params.size);
            }
        }
        st.probe_since = None;
        st.evaluate(cfg, now);
        self.publish(&st);
        Ok(())
    }

    /// Forget this instance's view of the gateway. Buckets are emptied under a new
    /// epoch, so peers that merge our export drop their own pre-reset counts too.
    pub(crate) fn reset(&self, now: f64) {
        let mut st = self.state.lock();
        for b in &mut st.buckets {
            b.close(now);
        }
        st.probe_since = None;
        st.windows.clear();
        st.latency = Latencies::default();
        for peer in &mut st.peers {
            peer.windows.clear();
        }
        self.publish(&st);
    }
}
