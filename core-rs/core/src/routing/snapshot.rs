//! Health as plain data: the view behind `GET /v1/gateways` ([`HealthView`]),
//! and the export/merge pair through which instances share health ([`Export`]).
//!
//! An export holds only what THIS instance observed (its own bucket levels and
//! outcome windows); a merge stores it as that peer's contribution, replacing the
//! peer's previous one, so merging the same export twice counts nothing twice.
//! Contributions leak like local buckets and are dropped `peer_ttl_seconds` after
//! their import. Latencies stay local (percentiles do not add up).
use std::collections::BTreeMap;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::health::{
    Bucket, Cell, Circuit, DimRef, HealthConfig, Peer, MAX_CLASSES, MAX_DIMENSIONS, MAX_PEERS,
};
use crate::error::{Error, Result};

/// One elimination bucket as seen now (ours plus the fresh peers').
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketView {
    pub level: u32,
    pub size: u32,
    /// `closed`, `open` or `half_open`.
    pub state: &'static str,
    pub leak_interval_seconds: f64,
}

/// The success rate over the window of one (currency, payment_method_type).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateView {
    pub currency: String,
    pub payment_method_type: Option<String>,
    pub successes: u32,
    pub total: u32,
    /// `successes / total`; `None` below `min_samples` (not scored yet).
    pub score: Option<f64>,
}

/// This instance's latency percentiles (nearest rank) over the last `latency_window` samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyView {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub samples: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GatewayView {
    /// `closed`, `open` or `half_open`.
    pub circuit: &'static str,
    pub probe_in_flight: bool,
    pub buckets: BTreeMap<String, BucketView>,
    pub success_rate: Vec<RateView>,
    pub latency_ms: LatencyView,
}

/// Every gateway of the rules, in the router's order; serialises as a JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthView(pub Vec<(String, GatewayView)>);

impl Serialize for HealthView {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, view) in &self.0 {
            map.serialize_entry(name, view)?;
        }
        map.end()
    }
}

impl HealthView {
    /// The view as a JSON object keyed by gateway, in the router's order.
    pub fn to_json(&self) -> String {
        // Strings, integers and finite floats only: serialisation cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What one instance shares with its peers (format `version` 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    pub version: u32,
    pub gateways: BTreeMap<String, ExportGateway>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportGateway {
    #[serde(default)]
    pub buckets: BTreeMap<String, ExportBucket>,
    #[serde(default)]
    pub success_rate: Vec<ExportWindow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportBucket {
    /// The exporter's own failures still in the bucket.
    pub level: u32,
    /// The bucket's close count: a peer with a newer epoch closed the circuit since.
    pub epoch: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportWindow {
    pub currency: String,
    #[serde(default)]
    pub payment_method_type: Option<String>,
    pub successes: u32,
    pub total: u32,
}

impl Export {
    pub const VERSION: u32 = 1;

    pub fn from_json(bytes: &[u8]) -> Result<Export> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::invalid("snapshot", format!("not a health export: {e}")))
    }

    pub fn to_json(&self) -> String {
        // Plain strings and numbers only: serialisation cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub(crate) fn check(&self) -> Result<()> {
        if self.version != Export::VERSION {
            return Err(Error::invalid(
                "snapshot",
                format!(
                    "health export version {} is not supported (expected {})",
                    self.version,
                    Export::VERSION
                ),
            ));
        }
        for (gateway, g) in &self.gateways {
            for w in &g.success_rate {
                if w.successes > w.total {
                    return Err(Error::invalid(
                        "snapshot",
                        format!(
                            "gateways.{gateway}.success_rate: successes ({}) exceed total ({})",
                            w.successes, w.total
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn bucket_state(b: &Bucket, effective: u32) -> &'static str {
    if effective >= b.params.size {
        "open"
    } else if b.tripped {
        "half_open"
    } else {
        "closed"
    }
}

impl Cell {
    pub(crate) fn view(&self, cfg: &HealthConfig, now: f64) -> GatewayView {
        let mut st = self.state.lock();
        let circuit = st.evaluate(cfg, now);
        self.publish(&st);
        let buckets = (0..st.buckets.len())
            .map(|i| {
                let b = &st.buckets[i];
                let level = st.effective(i, cfg, now);
                let view = BucketView {
                    level,
                    size: b.params.size,
                    state: bucket_state(b, level),
                    leak_interval_seconds: b.params.leak_interval,
                };
                (b.class.to_string(), view)
            })
            .collect();
        let success_rate = st
            .dims(cfg, now)
            .into_iter()
            .map(|d| {
                let dim = DimRef {
                    currency: &d.currency,
                    method: d.method.as_deref(),
                };
                let (successes, total) = st.counts(dim, cfg, now);
                RateView {
                    currency: d.currency.to_string(),
                    payment_method_type: d.method.as_deref().map(str::to_owned),
                    successes,
                    total,
                    score: (total >= cfg.min_samples && total > 0)
                        .then(|| f64::from(successes) / f64::from(total)),
                }
            })
            .collect();
        let (p50, p99, samples) = st.latency.percentiles();
        GatewayView {
            circuit: circuit.as_str(),
            probe_in_flight: circuit == Circuit::HalfOpen && !st.probe_free(cfg, now),
            buckets,
            success_rate,
            latency_ms: LatencyView { p50, p99, samples },
        }
    }

    /// This instance's own counts; `None` when it has observed nothing.
    pub(crate) fn export(&self, now: f64) -> Option<ExportGateway> {
        let mut st = self.state.lock();
        let mut out = ExportGateway::default();
        for b in &mut st.buckets {
            b.leak(now);
            out.buckets.insert(
                b.class.to_string(),
                ExportBucket {
                    level: b.level,
                    epoch: b.epoch,
                },
            );
        }
        let mut windows: Vec<ExportWindow> = st
            .windows
            .iter()
            .map(|(d, w)| {
                let (successes, total) = w.counts();
                ExportWindow {
                    currency: d.currency.to_string(),
                    payment_method_type: d.method.as_deref().map(str::to_owned),
                    successes,
                    total,
                }
            })
            .collect();
        windows.sort_by(|a, b| {
            (&a.currency, &a.payment_method_type).cmp(&(&b.currency, &b.payment_method_type))
        });
        out.success_rate = windows;
        (!out.buckets.is_empty() || !out.success_rate.is_empty()).then_some(out)
    }

    /// Store `peer`'s contribution (replacing its previous one); `None` removes it.
    pub(crate) fn merge(
        &self,
        cfg: &HealthConfig,
        peer: &str,
        exported: Option<&ExportGateway>,
        now: f64,
    ) {
        let mut st = self.state.lock();
        st.peers
            .retain(|p| *p.name != *peer && now - p.imported_at <= cfg.peer_ttl);
        if let Some(g) = exported {
            let mut contribution = Peer {
                name: peer.into(),
                imported_at: now,
                buckets: Vec::with_capacity(g.buckets.len()),
                windows: super::health::new_map(),
            };
            for (class, eb) in &g.buckets {
                let i = match st.buckets.iter().position(|b| *b.class == **class) {
                    Some(i) => i,
                    None if st.buckets.len() < MAX_CLASSES && !class.is_empty() => {
                        st.buckets.push(Bucket::new(class, cfg.params(class), now));
                        st.buckets.len() - 1
                    }
                    None => continue,
                };
                let b = &mut st.buckets[i];
                if eb.epoch > b.epoch {
                    // The peer closed this circuit (or was reset) since our counts began.
                    b.level = 0;
                    b.leaked_at = now;
                    b.tripped = false;
                    b.epoch = eb.epoch;
                }
                contribution.buckets.push((
                    class.as_str().into(),
                    eb.level.min(b.params.size),
                    eb.epoch,
                ));
            }
            for w in g.success_rate.iter().take(MAX_DIMENSIONS) {
                let dim = DimRef {
                    currency: &w.currency,
                    method: w.payment_method_type.as_deref(),
                };
                contribution
                    .windows
                    .insert(dim.to_owned(), (w.successes, w.total));
            }
            if st.peers.len() >= MAX_PEERS {
                // Bounded memory: the peer heard from longest ago makes room.
                if let Some(oldest) = st
                    .peers
                    .iter()
                    .enumerate()
                    .min_by(|a, b| a.1.imported_at.total_cmp(&b.1.imported_at))
                    .map(|(i, _)| i)
                {
                    st.peers.swap_remove(oldest);
                }
            }
            st.peers.push(contribution);
        }
        st.evaluate(cfg, now);
        self.publish(&st);
    }
}
