//! Terminal queue: FIFO allocation of card terminals with leases (SPEC 2.4).
//!
//! Card payments wait for one of N terminals, first come first served; one
//! user never has two payments in progress; a stuck lease frees its terminal
//! and its user once `now >= expires_at`.
//!
//! # Design
//! * Mutations are serialised by one writer mutex (the queue's state changes
//!   are multi-part: queue order, user locks, terminals, tokens; one
//!   serialisation point is what makes them linearizable). A writer holds it
//!   for a few hundred nanoseconds and never calls out.
//! * Reads (`position`, `snapshot`) never take that mutex in the common case:
//!   they read a sharded concurrent map (dashmap), atomics and per-terminal
//!   read locks, and validate their view against a sequence counter
//!   (module `seqlock`), retrying if a writer raced them; after a few failed
//!   attempts they fall back to the mutex, so they always finish. A read is
//!   linearized at its validated start: it saw exactly one published state.
//! * Positions are O(1): each queued payment holds a ticket whose `ord` is kept
//!   contiguous (`position = ord - base`). Removing the head bumps `base`;
//!   removing from the middle re-numbers the shorter side (as `VecDeque`
//!   shifts it anyway); expired payments are put back at the front with
//!   `base -= k`.
//! * Allocation is O(log n): `eligible` maps, for every user without a live
//!   lease, their oldest queued payment; its first entry is the answer.
//!   Ordering keys are stable: new payments get increasing positive keys,
//!   payments put back at the front get decreasing keys below every key
//!   handed out so far, in their original enqueue order.
mod seqlock;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use ahash::RandomState;
use crossbeam::utils::Backoff;
use dashmap::DashMap;
use parking_lot::{Mutex, MutexGuard, RwLock};

use crate::args::{check_id, check_now, check_ttl};
use crate::error::{Error, Result};
use seqlock::SeqLock;

/// Default lock TTL (seconds): three minutes.
pub const DEFAULT_LOCK_TTL: f64 = 180.0;

/// Optimistic read attempts before a reader falls back to the writer mutex.
const READ_ATTEMPTS: usize = 32;

/// A terminal lease on one payment: the holder must `complete` (or `extend`)
/// with `token` before `expires_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    pub payment_id: Arc<str>,
    pub user_id: Arc<str>,
    pub terminal_id: Arc<str>,
    /// Fencing token: strictly increasing across the queue's leases.
    pub token: u64,
    pub expires_at: f64,
}

/// A consistent view of the queue for dashboards.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Queued payment ids, first in line first.
    pub queue: Vec<Arc<str>>,
    /// Every terminal in construction order, with its live lease if busy.
    pub terminals: Vec<(Arc<str>, Option<Lease>)>,
}

/// A queued payment. Only `ord` changes while it is queued.
#[derive(Debug)]
struct Ticket {
    payment_id: Arc<str>,
    user_id: Arc<str>,
    /// Stable queue-order key (see the module doc).
    key: i64,
    /// Original enqueue order: the key it got when it was first enqueued.
    seq: i64,
    /// `position = ord - base`; kept contiguous over the queue.
    ord: AtomicI64,
}

#[derive(Debug, Clone)]
enum Slot {
    Queued(Arc<Ticket>),
    Leased(u64),
}

#[derive(Debug)]
struct LeaseRec {
    lease: Lease,
    terminal: usize,
    seq: i64,
}

#[derive(Debug, Default)]
struct UserState {
    /// This user's queued payments by key.
    queued: BTreeMap<i64, Arc<Ticket>>,
    leased: bool,
}

/// The state only the writer touches (behind the mutex).
#[derive(Debug)]
struct Inner {
    queue: VecDeque<Arc<Ticket>>,
    users: HashMap<Arc<str>, UserState, RandomState>,
    /// For each user without a live lease: their oldest queued payment.
    eligible: BTreeMap<i64, Arc<Ticket>>,
    leases: HashMap<u64, LeaseRec, RandomState>,
    terminal_tokens: Vec<Option<u64>>,
    /// The earliest `expires_at` among live leases (infinity if none).
    next_expiry: f64,
    /// Last key handed out at the back (keys start at 1).
    back: i64,
    /// Lowest key handed out at the front (starts at 0: none yet).
    front: i64,
    last_token: u64,
}

/// What readers see without the mutex, validated by `seq`.
#[derive(Debug)]
struct Shared {
    seq: SeqLock,
    base: AtomicI64,
    payments: DashMap<Arc<str>, Slot, RandomState>,
    /// Per-terminal view of its lease (a tiny per-terminal lock: cheaper to
    /// publish than an atomically swapped `Arc`, and readers validate anyway).
    terminal_views: Vec<RwLock<Option<Lease>>>,
}

/// FIFO queue of card payments over a fixed set of terminals (SPEC 2.4).
#[derive(Debug)]
pub struct TerminalQueue {
    lock_ttl: f64,
    terminal_ids: Vec<Arc<str>>,
    terminal_index: HashMap<Arc<str>, usize, RandomState>,
    shared: Shared,
    inner: Mutex<Inner>,
}

fn stale(token: u64) -> Error {
    Error::StaleLease {
        token,
        message: format!("lease token {token} is stale (expired, completed, canceled or unknown)"),
    }
}

fn to_position(rank: i64) -> Option<usize> {
    usize::try_from(rank).ok().filter(|p| *p > 0)
}

impl TerminalQueue {
    /// A queue over `terminals` (non-empty, distinct, non-empty ids) whose
    /// leases last `lock_ttl` seconds.
    pub fn new<I, S>(terminals: I, lock_ttl: f64) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        check_ttl("lock_ttl", lock_ttl)?;
        let mut terminal_ids: Vec<Arc<str>> = Vec::new();
        let mut terminal_index = HashMap::with_hasher(RandomState::new());
        for id in terminals {
            let id = id.as_ref();
            check_id("terminals", id)?;
            let id: Arc<str> = Arc::from(id);
            if terminal_index
                .insert(id.clone(), terminal_ids.len())
                .is_some()
            {
                return Err(Error::invalid(
                    "terminals",
                    format!("terminal {id:?} is listed twice"),
                ));
            }
            terminal_ids.push(id);
        }
        if terminal_ids.is_empty() {
            return Err(Error::invalid(
                "terminals",
                "at least one terminal is needed",
            ));
        }
        let n = terminal_ids.len();
        Ok(Self {
            lock_ttl,
            shared: Shared {
                seq: SeqLock::default(),
                base: AtomicI64::new(0),
                payments: DashMap::with_hasher(RandomState::new()),
                terminal_views: (0..n).map(|_| RwLock::new(None)).collect(),
            },
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                users: HashMap::with_hasher(RandomState::new()),
                eligible: BTreeMap::new(),
                leases: HashMap::with_hasher(RandomState::new()),
                terminal_tokens: vec![None; n],
                next_expiry: f64::INFINITY,
                back: 0,
                front: 0,
                last_token: 0,
            }),
            terminal_ids,
            terminal_index,
        })
    }

    pub fn lock_ttl(&self) -> f64 {
        self.lock_ttl
    }

    pub fn terminals(&self) -> &[Arc<str>] {
        &self.terminal_ids
    }

    /// Take the writer lock (blocking).
    pub fn write(&self) -> Writer<'_> {
        Writer::new(self, self.inner.lock())
    }

    /// Take the writer lock if it is free right now.
    pub fn try_write(&self) -> Option<Writer<'_>> {
        self.inner.try_lock().map(|guard| Writer::new(self, guard))
    }

    /// Enqueue `payment_id` for `user_id`; see [`Writer::enqueue`].
    pub fn enqueue(&self, payment_id: &str, user_id: &str, now: f64) -> Result<usize> {
        self.write().enqueue(payment_id, user_id, now)
    }

    /// See [`Writer::allocate`].
    pub fn allocate(&self, terminal_id: &str, now: f64) -> Result<Option<Lease>> {
        self.write().allocate(terminal_id, now)
    }

    /// See [`Writer::complete`].
    pub fn complete(&self, token: u64, now: f64) -> Result<()> {
        self.write().complete(token, now)
    }

    /// See [`Writer::extend`].
    pub fn extend(&self, token: u64, now: f64) -> Result<f64> {
        self.write().extend(token, now)
    }

    /// See [`Writer::cancel`].
    pub fn cancel(&self, payment_id: &str) -> bool {
        self.write().cancel(payment_id)
    }

    /// See [`Writer::expire`].
    pub fn expire(&self, now: f64) -> Result<Vec<Lease>> {
        self.write().expire(now)
    }

    /// Optimistic read of `f` over the shared view, validated against the
    /// writer's sequence; falls back to the writer mutex when raced too often.
    fn read<R>(&self, f: impl Fn(&Shared) -> R) -> R {
        let backoff = Backoff::new();
        for _ in 0..READ_ATTEMPTS {
            if let Some(seq) = self.shared.seq.read_begin() {
                let value = f(&self.shared);
                if self.shared.seq.read_validate(seq) {
                    return value;
                }
            }
            backoff.snooze();
        }
        let _writers_excluded = self.inner.lock();
        f(&self.shared)
    }

    /// 1-based position of a queued payment; `None` once allocated,
    /// completed, canceled, or when unknown. O(1), no mutex.
    pub fn position(&self, payment_id: &str) -> Option<usize> {
        self.read(|shared| {
            let ticket = match shared.payments.get(payment_id)?.value() {
                Slot::Queued(ticket) => ticket.clone(),
                Slot::Leased(_) => return None,
            };
            Some(ticket.ord.load(Ordering::Relaxed) - shared.base.load(Ordering::Relaxed))
        })
        .and_then(to_position)
    }

    /// Number of queued payments.
    pub fn len(&self) -> usize {
        self.read(|shared| {
            shared
                .payments
                .iter()
                .filter(|e| matches!(e.value(), Slot::Queued(_)))
                .count()
        })
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A consistent view: queued payment ids in order and every terminal's lease.
    pub fn snapshot(&self) -> Snapshot {
        self.read(|shared| {
            let mut queued: Vec<(i64, Arc<str>)> = shared
                .payments
                .iter()
                .filter_map(|e| match e.value() {
                    Slot::Queued(t) => Some((t.ord.load(Ordering::Relaxed), e.key().clone())),
                    Slot::Leased(_) => None,
                })
                .collect();
            queued.sort_unstable_by_key(|(ord, _)| *ord);
            let terminals = self
                .terminal_ids
                .iter()
                .zip(&shared.terminal_views)
                .map(|(id, view)| (id.clone(), view.read().clone()))
                .collect();
            Snapshot {
                queue: queued.into_iter().map(|(_, id)| id).collect(),
                terminals,
            }
        })
    }
}

/// Exclusive access for mutations; readers see its changes atomically when
/// it is dropped.
pub struct Writer<'a> {
    q: &'a TerminalQueue,
    inner: MutexGuard<'a, Inner>,
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        self.q.shared.seq.write_end();
    }
}

impl<'a> Writer<'a> {
    fn new(q: &'a TerminalQueue, inner: MutexGuard<'a, Inner>) -> Self {
        q.shared.seq.write_begin();
        Self { q, inner }
    }

    fn shared(&self) -> &'a Shared {
        &self.q.shared
    }

    fn slot(&self, payment_id: &str) -> Option<Slot> {
        self.shared()
            .payments
            .get(payment_id)
            .map(|r| r.value().clone())
    }

    fn rank(&self, ticket: &Ticket) -> usize {
        let rank = ticket.ord.load(Ordering::Relaxed) - self.shared().base.load(Ordering::Relaxed);
        to_position(rank).unwrap_or(0)
    }

    /// Enqueue a payment; returns its 1-based position. Enqueueing a payment
    /// that is already queued (for the same user) returns its current
    /// position. Errors: `invalid_argument` (`user_id`) if it is queued for
    /// another user; `already_allocated` if it holds a live lease.
    pub fn enqueue(&mut self, payment_id: &str, user_id: &str, now: f64) -> Result<usize> {
        check_now(now)?;
        self.expire_due(now);
        check_id("payment_id", payment_id)?;
        check_id("user_id", user_id)?;
        match self.slot(payment_id) {
            Some(Slot::Queued(ticket)) if &*ticket.user_id == user_id => Ok(self.rank(&ticket)),
            Some(Slot::Queued(ticket)) => Err(Error::invalid(
                "user_id",
                format!(
                    "payment {payment_id:?} is already queued for user {:?}",
                    ticket.user_id
                ),
            )),
            Some(Slot::Leased(token)) => Err(Error::queue(
                "already_allocated",
                format!("payment {payment_id:?} holds terminal lease {token}"),
            )),
            None => {
                let inner = &mut *self.inner;
                inner.back += 1;
                let key = inner.back;
                let len = i64::try_from(inner.queue.len()).unwrap_or(i64::MAX);
                let ord = self.q.shared.base.load(Ordering::Relaxed) + len + 1;
                let user_id = inner
                    .users
                    .get_key_value(user_id)
                    .map_or_else(|| Arc::from(user_id), |(k, _)| k.clone());
                let ticket = Arc::new(Ticket {
                    payment_id: Arc::from(payment_id),
                    user_id,
                    key,
                    seq: key,
                    ord: AtomicI64::new(ord),
                });
                inner.queue.push_back(ticket.clone());
                let position = inner.queue.len();
                self.queued(ticket);
                Ok(position)
            }
        }
    }

    /// Record a ticket already placed in `queue` in the indexes.
    fn queued(&mut self, ticket: Arc<Ticket>) {
        self.shared()
            .payments
            .insert(ticket.payment_id.clone(), Slot::Queued(ticket.clone()));
        let inner = &mut *self.inner;
        let user = inner.users.entry(ticket.user_id.clone()).or_default();
        let old_min = user.queued.first_key_value().map(|(k, _)| *k);
        user.queued.insert(ticket.key, ticket.clone());
        if !user.leased {
            match old_min {
                None => {
                    inner.eligible.insert(ticket.key, ticket);
                }
                Some(min) if ticket.key < min => {
                    inner.eligible.remove(&min);
                    inner.eligible.insert(ticket.key, ticket);
                }
                Some(_) => {}
            }
        }
    }

    /// Take a queued ticket out of the queue and the indexes (not `payments`).
    fn unqueue(&mut self, ticket: &Arc<Ticket>) {
        let base = &self.q.shared.base;
        let inner = &mut *self.inner;
        let b = base.load(Ordering::Relaxed);
        let guess = usize::try_from(ticket.ord.load(Ordering::Relaxed) - b - 1).ok();
        let index = guess
            .filter(|&i| inner.queue.get(i).is_some_and(|t| Arc::ptr_eq(t, ticket)))
            .or_else(|| inner.queue.iter().position(|t| Arc::ptr_eq(t, ticket)));
        if let Some(index) = index {
            let after = inner.queue.len() - index - 1;
            if index <= after {
                // Fewer ahead: they move back one slot, the base follows.
                for t in inner.queue.range(..index) {
                    t.ord.fetch_add(1, Ordering::Relaxed);
                }
                base.store(b + 1, Ordering::Relaxed);
            } else {
                for t in inner.queue.range(index + 1..) {
                    t.ord.fetch_sub(1, Ordering::Relaxed);
                }
            }
            inner.queue.remove(index);
        }
        if let Some(user) = inner.users.get_mut(&ticket.user_id) {
            user.queued.remove(&ticket.key);
            if !user.leased && inner.eligible.remove(&ticket.key).is_some() {
                if let Some((k, t)) = user.queued.first_key_value() {
                    inner.eligible.insert(*k, t.clone());
                }
            }
            if user.queued.is_empty() && !user.leased {
                inner.users.remove(&ticket.user_id);
            }
        }
    }

    fn lock_user(&mut self, user_id: &Arc<str>) {
        let inner = &mut *self.inner;
        let user = inner.users.entry(user_id.clone()).or_default();
        user.leased = true;
        if let Some(min) = user.queued.first_key_value().map(|(k, _)| *k) {
            inner.eligible.remove(&min);
        }
    }

    fn unlock_user(&mut self, user_id: &Arc<str>) {
        let inner = &mut *self.inner;
        if let Some(user) = inner.users.get_mut(user_id) {
            user.leased = false;
            match user.queued.first_key_value() {
                Some((k, t)) => {
                    inner.eligible.insert(*k, t.clone());
                }
                None => {
                    inner.users.remove(user_id);
                }
            }
        }
    }

    /// Allocate `terminal_id` to the oldest queued payment whose user holds
    /// no live lease. `Ok(None)` when nobody is eligible. Errors:
    /// `unknown_terminal`, `terminal_busy` (after expiring due leases).
    pub fn allocate(&mut self, terminal_id: &str, now: f64) -> Result<Option<Lease>> {
        check_now(now)?;
        self.expire_due(now);
        let Some(&terminal) = self.q.terminal_index.get(terminal_id) else {
            return Err(Error::queue(
                "unknown_terminal",
                format!("terminal {terminal_id:?} is not one of this queue's terminals"),
            ));
        };
        if let Some(token) = self.inner.terminal_tokens[terminal] {
            return Err(Error::queue(
                "terminal_busy",
                format!("terminal {terminal_id:?} is busy with lease {token}"),
            ));
        }
        let Some(ticket) = self
            .inner
            .eligible
            .first_key_value()
            .map(|(_, t)| t.clone())
        else {
            return Ok(None);
        };
        // Lock first: the user entry stays (no remove + re-insert) and
        // `eligible` loses the ticket there.
        self.lock_user(&ticket.user_id);
        self.unqueue(&ticket);
        let inner = &mut *self.inner;
        inner.last_token += 1;
        let token = inner.last_token;
        let lease = Lease {
            payment_id: ticket.payment_id.clone(),
            user_id: ticket.user_id.clone(),
            terminal_id: self.q.terminal_ids[terminal].clone(),
            token,
            expires_at: now + self.q.lock_ttl,
        };
        inner.terminal_tokens[terminal] = Some(token);
        inner.next_expiry = inner.next_expiry.min(lease.expires_at);
        inner.leases.insert(
            token,
            LeaseRec {
                lease: lease.clone(),
                terminal,
                seq: ticket.seq,
            },
        );
        let shared = self.shared();
        shared
            .payments
            .insert(ticket.payment_id.clone(), Slot::Leased(token));
        *shared.terminal_views[terminal].write() = Some(lease.clone());
        Ok(Some(lease))
    }

    /// End a lease: free its terminal and its user (not `payments`).
    fn end_lease(&mut self, token: u64) -> Option<LeaseRec> {
        let rec = self.inner.leases.remove(&token)?;
        self.inner.terminal_tokens[rec.terminal] = None;
        *self.shared().terminal_views[rec.terminal].write() = None;
        self.unlock_user(&rec.lease.user_id);
        if rec.lease.expires_at <= self.inner.next_expiry {
            self.recompute_next_expiry();
        }
        Some(rec)
    }

    fn recompute_next_expiry(&mut self) {
        let inner = &mut *self.inner;
        inner.next_expiry = inner
            .leases
            .values()
            .map(|r| r.lease.expires_at)
            .fold(f64::INFINITY, f64::min);
    }

    /// Finish the lease `token`: frees its terminal and user; the payment is
    /// done. A stale token (expired, completed, canceled, unknown) is refused.
    pub fn complete(&mut self, token: u64, now: f64) -> Result<()> {
        check_now(now)?;
        self.expire_due(now);
        let rec = self.end_lease(token).ok_or_else(|| stale(token))?;
        self.shared().payments.remove(&rec.lease.payment_id);
        Ok(())
    }

    /// Extend a live lease to `now + lock_ttl` (never shortening it); returns
    /// the new expiry.
    pub fn extend(&mut self, token: u64, now: f64) -> Result<f64> {
        check_now(now)?;
        self.expire_due(now);
        let ttl = self.q.lock_ttl;
        let rec = self
            .inner
            .leases
            .get_mut(&token)
            .ok_or_else(|| stale(token))?;
        rec.lease.expires_at = rec.lease.expires_at.max(now + ttl);
        let (expires_at, terminal, view) = (rec.lease.expires_at, rec.terminal, rec.lease.clone());
        *self.shared().terminal_views[terminal].write() = Some(view);
        self.recompute_next_expiry();
        Ok(expires_at)
    }

    /// Remove a queued payment, or end the lease of an allocated one
    /// (freeing its terminal and user). False when unknown.
    pub fn cancel(&mut self, payment_id: &str) -> bool {
        match self.slot(payment_id) {
            None => false,
            Some(Slot::Queued(ticket)) => {
                self.unqueue(&ticket);
                self.shared().payments.remove(payment_id);
                true
            }
            Some(Slot::Leased(token)) => {
                self.end_lease(token);
                self.shared().payments.remove(payment_id);
                true
            }
        }
    }

    /// End every lease with `now >= expires_at`; their payments go back to
    /// the front of the queue in original enqueue order. Returns the leases
    /// this call ended, in that order.
    pub fn expire(&mut self, now: f64) -> Result<Vec<Lease>> {
        check_now(now)?;
        Ok(self.expire_due(now))
    }

    fn expire_due(&mut self, now: f64) -> Vec<Lease> {
        if now < self.inner.next_expiry {
            return Vec::new();
        }
        let mut due: Vec<(i64, u64)> = self
            .inner
            .leases
            .iter()
            .filter(|(_, r)| now >= r.lease.expires_at)
            .map(|(token, r)| (r.seq, *token))
            .collect();
        due.sort_unstable();
        let ended: Vec<LeaseRec> = due
            .into_iter()
            .filter_map(|(_, token)| self.end_lease(token))
            .collect();
        let k = i64::try_from(ended.len()).unwrap_or(i64::MAX);
        let inner = &mut *self.inner;
        inner.front -= k;
        let first_key = inner.front;
        let base = self.q.shared.base.load(Ordering::Relaxed) - k;
        self.q.shared.base.store(base, Ordering::Relaxed);
        let tickets: Vec<Arc<Ticket>> = ended
            .iter()
            .zip(0..)
            .map(|(rec, i)| {
                Arc::new(Ticket {
                    payment_id: rec.lease.payment_id.clone(),
                    user_id: rec.lease.user_id.clone(),
                    key: first_key + i,
                    seq: rec.seq,
                    ord: AtomicI64::new(base + 1 + i),
                })
            })
            .collect();
        for ticket in tickets.iter().rev() {
            self.inner.queue.push_front(ticket.clone());
        }
        for ticket in tickets {
            self.queued(ticket);
        }
        ended.into_iter().map(|rec| rec.lease).collect()
    }
}

#[cfg(test)]
mod tests;
