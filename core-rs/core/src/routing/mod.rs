//! Payment routing (SPEC 5, Hyperswitch's model): which gateways to try, in
//! which order, for one payment.
//!
//! [`Router::from_json`] / [`Router::from_value`] validate and compile the rules
//! document ([`rules`], docs/routing.md); [`Router::decide`] picks the first rule
//! whose conditions all hold ([`condition`]) or the default, orders its gateways
//! (priority list, volume split, or best success rate first) and leaves out the
//! gateways whose circuit is open ([`health`]); [`Router::record`] feeds outcomes back.
//!
//! # Determinism
//!
//! Splits and hedging depend only on the payment id and the rules, never on a
//! process-local seed, so every instance decides alike: the payment id's
//! SHA-256 ([`payment_hash`]) is read as four big-endian `u64` words `h[0..4]`.
//! A split picks the member whose cumulative weight range (document order)
//! holds `h[0] % 100`; a success-rate decision is hedged when
//! `h[1] % 10_000 < hedging basis points`, and then sends the non-best
//! gateway `h[2] % (count - 1)` (in score order) first.
//!
//! # Health across instances (the server's Redis glue)
//!
//! `decide` never leaves the process: it reads this router's memory only. The
//! glue keeps that memory in step with the other instances, off the hot path:
//!
//! 1. Every second or so, publish [`Router::export_health`] (this instance's own
//!    counts, JSON) under `routing:health:<instance id>` with a TTL of a few
//!    seconds, read the other instances' keys, and [`Router::merge_health`] each
//!    one under its instance id (never your own). A merge replaces that peer's
//!    previous contribution, so repeating one is harmless; contributions leak
//!    like local buckets and are dropped `peer_ttl_seconds` after their import.
//!    Effective bucket levels and success-rate counts are ours plus the peers'.
//! 2. When a [`Decision::probe`] names a gateway, this instance issued the one
//!    half-open probe it allows; claim it across instances with
//!    `SET routing:probe:<gateway> <instance> NX EX <probe_timeout_seconds>`. If
//!    another instance holds the claim, do not try that gateway for this payment
//!    and leave the local probe out: later payments here skip the gateway
//!    (`probe_in_flight`) without asking Redis, until the peer's outcome arrives
//!    through a merge or `probe_timeout_seconds` pass. Once the probe's outcome
//!    is known, `record` it and delete the claim; if the payment ended without
//!    trying the gateway (an earlier one succeeded), call
//!    [`Router::release_probe`] and delete the claim.
//! 3. A probe that succeeds closes the circuit and bumps the bucket's epoch;
//!    peers that merge the export adopt the newer epoch and empty their own
//!    buckets of that class, so a recovery seen by one instance closes the
//!    circuit everywhere. [`Router::reset_health`] (an operator's reset) works
//!    the same way for elimination buckets.
//!
//! With Redis down every instance keeps deciding from its own observations.
mod condition;
mod health;
mod rules;
mod snapshot;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use sha2::{Digest, Sha256};

pub use health::{Circuit, Outcome, MAX_CLASSES, MAX_DIMENSIONS, MAX_PEERS};
pub use rules::MAX_GATEWAYS;
pub use snapshot::{
    BucketView, Export, ExportBucket, ExportGateway, ExportWindow, GatewayView, HealthView,
    LatencyView, RateView,
};

use crate::args::{check_id, check_now};
use crate::error::{Error, Result};
use condition::Fields;
use health::{Cell, DimRef, HealthConfig};
use rules::{Compiled, GatewayId, Then};

/// The payment being routed. Text fields compare exactly (case-sensitively).
#[derive(Debug, Clone, Copy)]
pub struct Payment<'a> {
    pub id: &'a str,
    /// Minor units, non-negative.
    pub amount: i64,
    pub currency: &'a str,
    pub country: Option<&'a str>,
    pub payment_method_type: Option<&'a str>,
    /// The values of [`Router::metadata_keys`], in that order (`None`, or a
    /// shorter slice, for absent keys). Only the keys the rules read matter.
    pub metadata: &'a [Option<&'a str>],
}

/// How a decision ordered its gateways.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approach {
    Priority,
    Split,
    SuccessRate,
    Default,
}

impl Approach {
    pub fn as_str(self) -> &'static str {
        match self {
            Approach::Priority => "priority",
            Approach::Split => "split",
            Approach::SuccessRate => "success_rate",
            Approach::Default => "default",
        }
    }
}

/// Why a gateway of the chosen rule was left out of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A failure class's bucket is full.
    CircuitOpen,
    /// Half-open, and another payment holds its one probe.
    ProbeInFlight,
    /// Half-open, and this decision already carries another gateway's probe.
    HalfOpen,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::CircuitOpen => "circuit_open",
            Skip::ProbeInFlight => "probe_in_flight",
            Skip::HalfOpen => "half_open",
        }
    }
}

/// The outcome of [`Router::decide`].
#[derive(Debug, Clone)]
pub struct Decision {
    compiled: Arc<Compiled>,
    gateways: Vec<GatewayId>,
    /// Index of the matched rule; `None` for the default.
    rule: Option<usize>,
    approach: Approach,
    skipped: Vec<(GatewayId, Skip)>,
    probe: Option<GatewayId>,
    hedged: bool,
}

impl Decision {
    fn name(&self, g: GatewayId) -> &str {
        &self.compiled.gateways[usize::from(g)]
    }

    /// The gateways to try, in order. When every gateway of the rule is skipped
    /// this is the rule's whole list (a payment is never refused only because
    /// every circuit is open); `skipped` still says why each one was.
    pub fn gateways(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.gateways.iter().map(|g| self.name(*g))
    }

    /// The matched rule's name, or `"default"`.
    pub fn rule(&self) -> &str {
        self.rule
            .map_or("default", |i| &self.compiled.rules[i].name)
    }

    pub fn approach(&self) -> Approach {
        self.approach
    }

    /// Gateways of the rule left out of `gateways` (unless all were), in rule order.
    pub fn skipped(&self) -> impl ExactSizeIterator<Item = (&str, Skip)> + '_ {
        self.skipped.iter().map(|(g, why)| (self.name(*g), *why))
    }

    /// The half-open gateway this decision probes, if any (see the module docs).
    pub fn probe(&self) -> Option<&str> {
        self.probe.map(|g| self.name(g))
    }

    /// A success-rate decision that sends a non-best gateway first (hedging).
    pub fn hedged(&self) -> bool {
        self.hedged
    }
}

/// SHA-256 of the payment id as four big-endian words: the only source of
/// "randomness" in routing, identical on every instance and platform.
pub fn payment_hash(payment_id: &str) -> [u64; 4] {
    let digest = Sha256::digest(payment_id.as_bytes());
    let mut words = [0u64; 4];
    for (word, chunk) in words.iter_mut().zip(digest.chunks_exact(8)) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        *word = u64::from_be_bytes(bytes);
    }
    words
}

/// The split member `point` (0..100) falls on: cumulative weights in document order.
fn split_pick(members: &[(GatewayId, u8)], point: u64) -> usize {
    let mut upto = 0u64;
    for (i, (_, w)) in members.iter().enumerate() {
        upto += u64::from(*w);
        if point < upto {
            return i;
        }
    }
    members.len().saturating_sub(1)
}

/// A rule's gateways in try order, before health: a list, or a split's pick
/// followed by the other members in document order.
enum Order<'a> {
    List(&'a [GatewayId]),
    Split(&'a [(GatewayId, u8)], usize),
}

impl Order<'_> {
    fn len(&self) -> usize {
        match self {
            Order::List(list) => list.len(),
            Order::Split(members, _) => members.len(),
        }
    }

    fn for_each(&self, mut f: impl FnMut(GatewayId)) {
        match self {
            Order::List(list) => list.iter().for_each(|g| f(*g)),
            Order::Split(members, pick) => {
                f(members[*pick].0);
                members
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i != pick)
                    .for_each(|(_, (g, _))| f(*g));
            }
        }
    }
}

enum Admission {
    Pass,
    Probe,
    Skip(Skip),
}

/// Compiled rules plus live health. `Send + Sync`: share it between threads.
#[derive(Debug)]
pub struct Router {
    compiled: Arc<Compiled>,
    cells: Box<[Cell]>,
}

impl Router {
    /// Validate and compile a JSON rules document; errors are [`Error::Routing`]
    /// with the JSON path of the bad field.
    pub fn from_json(bytes: &[u8]) -> Result<Router> {
        Ok(Router::new(rules::parse_json(bytes)?))
    }

    /// Same as [`Router::from_json`] for a document already parsed by serde_json
    /// (a TOML table converted to JSON, say).
    pub fn from_value(value: &serde_json::Value) -> Result<Router> {
        Ok(Router::new(rules::compile(&rules::node_from_value(value))?))
    }

    fn new(compiled: Compiled) -> Router {
        let cells = compiled.gateways.iter().map(|_| Cell::new()).collect();
        Router {
            compiled: Arc::new(compiled),
            cells,
        }
    }

    /// Every gateway the rules name, in order of first appearance.
    pub fn gateways(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.compiled.gateways.iter().map(|g| &**g)
    }

    pub fn rule_names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.compiled.rules.iter().map(|r| &*r.name)
    }

    /// The metadata keys the rules read: [`Payment::metadata`] gives their values in this order.
    pub fn metadata_keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.compiled.metadata_keys.iter().map(|k| &**k)
    }

    fn cfg(&self) -> &HealthConfig {
        &self.compiled.health
    }

    fn gateway_id(&self, name: &str) -> Result<GatewayId> {
        self.compiled
            .gateways
            .iter()
            .position(|g| **g == *name)
            .and_then(|i| GatewayId::try_from(i).ok())
            .ok_or_else(|| {
                let known: Vec<&str> = self.gateways().collect();
                Error::invalid(
                    "gateway",
                    format!(
                        "unknown gateway {name:?}: the routing rules name {}",
                        known.join(", ")
                    ),
                )
            })
    }

    fn cell(&self, g: GatewayId) -> &Cell {
        &self.cells[usize::from(g)]
    }

    /// Whether gateway `g` may be tried now; `score`, when asked, gets its
    /// (successes, total) for the dimension.
    ///
    /// `claim`: a probe admitted here is taken (`probe_since` set) so that other
    /// payments skip the gateway until its outcome; false for [`Router::simulate`].
    fn admit(
        &self,
        g: GatewayId,
        now: f64,
        may_probe: bool,
        claim: bool,
        score: Option<(DimRef<'_>, &mut (u32, u32))>,
    ) -> Admission {
        let cell = self.cell(g);
        if !cell.maybe_tripped() && score.is_none() {
            return Admission::Pass;
        }
        let cfg = self.cfg();
        let mut st = cell.state.lock();
        if let Some((dim, out)) = score {
            *out = st.counts(dim, cfg, now);
        }
        if !cell.maybe_tripped() {
            return Admission::Pass;
        }
        let admission = match st.evaluate(cfg, now) {
            Circuit::Closed => Admission::Pass,
            Circuit::Open => Admission::Skip(Skip::CircuitOpen),
            Circuit::HalfOpen if !st.probe_free(cfg, now) => Admission::Skip(Skip::ProbeInFlight),
            Circuit::HalfOpen if may_probe => {
                if claim {
                    st.probe_since = Some(now);
                }
                Admission::Probe
            }
            Circuit::HalfOpen => Admission::Skip(Skip::HalfOpen),
        };
        cell.publish(&st);
        admission
    }

    /// Route one payment at `now` (seconds on a monotonic clock).
    pub fn decide(&self, p: &Payment<'_>, now: f64) -> Result<Decision> {
        self.route(p, now, true)
    }

    /// The decision [`Router::decide`] would make at `now`, with no effect on the
    /// router: a half-open gateway's probe is named in [`Decision::probe`] but not
    /// taken, so the next real decision still carries it (an operator's
    /// "what if", `POST /v1/routing/simulate`; or a provisional choice).
    pub fn simulate(&self, p: &Payment<'_>, now: f64) -> Result<Decision> {
        self.route(p, now, false)
    }

    fn route(&self, p: &Payment<'_>, now: f64, claim: bool) -> Result<Decision> {
        check_now(now)?;
        check_id("payment_id", p.id)?;
        if p.amount < 0 {
            return Err(Error::invalid(
                "amount",
                format!(
                    "must be a non-negative amount in minor units, got {}",
                    p.amount
                ),
            ));
        }
        let c = &*self.compiled;
        let fields = Fields::new(p, &c.symbols);
        let matched = c
            .rules
            .iter()
            .position(|r| r.when.iter().all(|cond| cond.holds(&fields)));
        let mut decision = Decision {
            compiled: Arc::clone(&self.compiled),
            gateways: Vec::new(),
            rule: matched,
            approach: Approach::Default,
            skipped: Vec::new(),
            probe: None,
            hedged: false,
        };
        let order = match matched.map(|i| &c.rules[i].then) {
            None => Order::List(&c.default),
            Some(Then::Priority(list)) => {
                decision.approach = Approach::Priority;
                Order::List(list)
            }
            Some(Then::Split(members)) => {
                decision.approach = Approach::Split;
                Order::Split(members, split_pick(members, payment_hash(p.id)[0] % 100))
            }
            Some(Then::SuccessRate(list)) => {
                decision.approach = Approach::SuccessRate;
                self.by_success_rate(p, list, now, claim, &mut decision);
                return Ok(decision);
            }
        };
        decision.gateways.reserve_exact(order.len());
        order.for_each(
            |g| match self.admit(g, now, decision.probe.is_none(), claim, None) {
                Admission::Pass => decision.gateways.push(g),
                Admission::Probe => {
                    decision.probe = Some(g);
                    decision.gateways.push(g);
                }
                Admission::Skip(why) => decision.skipped.push((g, why)),
            },
        );
        if decision.gateways.is_empty() {
            order.for_each(|g| decision.gateways.push(g));
        }
        Ok(decision)
    }

    fn by_success_rate(
        &self,
        p: &Payment<'_>,
        list: &[GatewayId],
        now: f64,
        claim: bool,
        d: &mut Decision,
    ) {
        let dim = DimRef {
            currency: p.currency,
            method: p.payment_method_type,
        };
        let min = self.cfg().min_samples;
        // (gateway, successes, total); unscored gateways count as perfect, so that
        // a cold start follows the list order and a new gateway gets traffic.
        let mut ranked: Vec<(GatewayId, u64, u64)> = Vec::with_capacity(list.len());
        for &g in list {
            let mut counts = (0, 0);
            match self.admit(g, now, d.probe.is_none(), claim, Some((dim, &mut counts))) {
                Admission::Skip(why) => {
                    d.skipped.push((g, why));
                    continue;
                }
                Admission::Probe => d.probe = Some(g),
                Admission::Pass => {}
            }
            let (s, n) = if counts.1 >= min && counts.1 > 0 {
                (u64::from(counts.0), u64::from(counts.1))
            } else {
                (1, 1)
            };
            ranked.push((g, s, n));
        }
        if ranked.is_empty() {
            d.gateways = list.to_vec();
            return;
        }
        // Higher rate first (exact: cross-multiplied), ties in list order (stable sort).
        ranked.sort_by(|a, b| (b.1 * a.2).cmp(&(a.1 * b.2)));
        d.gateways = ranked.iter().map(|(g, _, _)| *g).collect();
        let bp = u64::from(self.cfg().hedging_bp);
        if bp > 0 && d.gateways.len() >= 2 {
            let h = payment_hash(p.id);
            if h[1] % 10_000 < bp {
                let others = (d.gateways.len() - 1) as u64;
                let j = 1 + (h[2] % others) as usize;
                let hedge = d.gateways.remove(j);
                d.gateways.insert(0, hedge);
                d.hedged = true;
            }
        }
    }

    /// Record the outcome of one attempt on `gateway` (a name from the rules).
    pub fn record(&self, gateway: &str, outcome: &Outcome<'_>, now: f64) -> Result<()> {
        check_now(now)?;
        outcome.check()?;
        let g = self.gateway_id(gateway)?;
        self.cell(g).record(self.cfg(), outcome, now)
    }

    /// The payment that carried `gateway`'s probe finished without trying it:
    /// let the next payment probe. False if no probe was out.
    pub fn release_probe(&self, gateway: &str) -> Result<bool> {
        let g = self.gateway_id(gateway)?;
        let mut st = self.cell(g).state.lock();
        Ok(st.probe_since.take().is_some())
    }

    /// Every gateway's health now: circuit, buckets, success rates, latency.
    pub fn health(&self, now: f64) -> Result<HealthView> {
        check_now(now)?;
        let cfg = self.cfg();
        Ok(HealthView(
            self.compiled
                .gateways
                .iter()
                .zip(self.cells.iter())
                .map(|(name, cell)| (name.to_string(), cell.view(cfg, now)))
                .collect(),
        ))
    }

    /// This instance's own counts, for its peers' [`Router::merge_health`].
    pub fn export_health(&self, now: f64) -> Result<Export> {
        check_now(now)?;
        Ok(Export {
            version: Export::VERSION,
            gateways: self
                .compiled
                .gateways
                .iter()
                .zip(self.cells.iter())
                .filter_map(|(name, cell)| cell.export(now).map(|g| (name.to_string(), g)))
                .collect(),
        })
    }

    /// Take in (or replace) peer instance `peer`'s export. Gateways this router
    /// does not know are ignored (the peer may run other rules during a rollout).
    pub fn merge_health(&self, peer: &str, export: &Export, now: f64) -> Result<()> {
        check_now(now)?;
        check_id("peer", peer)?;
        export.check()?;
        let cfg = self.cfg();
        for (name, cell) in self.compiled.gateways.iter().zip(self.cells.iter()) {
            cell.merge(cfg, peer, export.gateways.get(&**name), now);
        }
        Ok(())
    }

    /// An operator's reset of one gateway's health, or every gateway's.
    pub fn reset_health(&self, gateway: Option<&str>, now: f64) -> Result<()> {
        check_now(now)?;
        match gateway {
            Some(name) => self.cell(self.gateway_id(name)?).reset(now),
            None => self.cells.iter().for_each(|c| c.reset(now)),
        }
        Ok(())
    }
}
