//! The routing rules document (SPEC 5): strict validation and compilation.
//!
//! ```json
//! {"rules": [{"name": "eu-cards", "when": [{"field": "currency", "op": "eq", "value": "EUR"}],
//!             "then": {"gateways": ["stripe", "paypal"]}}],
//!  "default": {"gateways": ["stripe"]},
//!  "health": {...}}
//! ```
//!
//! Every error is [`Error::Routing`] naming the 0-based JSON path of the bad
//! field (`$.rules[1].when[0].op`). Unknown and duplicate members are errors,
//! found in document order before the fields are checked one by one.
use std::collections::HashSet;

use super::condition::{self, Condition, Symbols};
use super::health::{BucketParams, HealthConfig};
use crate::error::{Error, Result};
use crate::tariff::json::{self, Node, Path};

/// At most this many distinct gateways in one document (they are indexed by `u16`
/// and each has its own health cell).
pub const MAX_GATEWAYS: usize = 256;

/// A gateway's index in [`Compiled::gateways`].
pub(crate) type GatewayId = u16;

/// How a rule orders its gateways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Then {
    /// `{"gateways": [...]}`: this order.
    Priority(Box<[GatewayId]>),
    /// `{"split": {gw: weight}}`: weights (1..=100) summing to 100, in document order.
    Split(Box<[(GatewayId, u8)]>),
    /// `{"success_rate": [...]}`: best recent success rate first; the list order breaks ties.
    SuccessRate(Box<[GatewayId]>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    pub name: Box<str>,
    pub when: Box<[Condition]>,
    pub then: Then,
}

/// A validated, compiled rules document.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    /// Every gateway the document names, in order of first appearance (rules, then default).
    pub gateways: Vec<Box<str>>,
    pub rules: Vec<Rule>,
    pub default: Box<[GatewayId]>,
    /// The metadata keys the conditions read (`metadata.<key>`), in order of first appearance.
    pub metadata_keys: Vec<Box<str>>,
    /// The text values the conditions compare with.
    pub symbols: Symbols,
    pub health: HealthConfig,
}

pub(crate) fn err(path: &Path, message: impl Into<String>) -> Error {
    Error::routing(path.as_str(), message)
}

/// The members of an object, after checking for unknown and duplicate names.
pub(crate) struct Members<'a> {
    path: Path,
    members: &'a [(String, Node)],
}

impl<'a> Members<'a> {
    pub(crate) fn new(node: &'a Node, path: Path, allowed: &[&str]) -> Result<Members<'a>> {
        let Node::Object(members) = node else {
            return Err(err(
                &path,
                format!("must be an object, got {}", node.kind()),
            ));
        };
        let mut seen = HashSet::new();
        for (name, _) in members {
            if !allowed.contains(&name.as_str()) {
                return Err(err(
                    &path.key(name),
                    format!("unknown field (allowed: {})", allowed.join(", ")),
                ));
            }
            if !seen.insert(name.as_str()) {
                return Err(err(&path.key(name), "duplicate field"));
            }
        }
        Ok(Members { path, members })
    }

    pub(crate) fn get(&self, name: &str) -> (Option<&'a Node>, Path) {
        let value = self.members.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        (value, self.path.key(name))
    }

    pub(crate) fn required(&self, name: &str) -> Result<(&'a Node, Path)> {
        match self.get(name) {
            (Some(v), p) => Ok((v, p)),
            (None, p) => Err(err(&p, "required field is missing")),
        }
    }

    /// Absent and `null` both mean "not given".
    pub(crate) fn optional(&self, name: &str) -> (Option<&'a Node>, Path) {
        match self.get(name) {
            (Some(Node::Null), p) | (None, p) => (None, p),
            (Some(v), p) => (Some(v), p),
        }
    }
}

/// A JSON value already parsed by serde_json, as the order-keeping tree the validator reads.
pub(crate) fn node_from_value(value: &serde_json::Value) -> Node {
    use serde_json::Value;
    match value {
        Value::Null => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Node::Int(i128::from(i)),
            (None, Some(u)) => Node::Int(i128::from(u)),
            _ => Node::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Node::Str(s.clone()),
        Value::Array(items) => Node::Array(items.iter().map(node_from_value).collect()),
        Value::Object(map) => Node::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), node_from_value(v)))
                .collect(),
        ),
    }
}

/// Parse and compile a JSON rules document.
pub(crate) fn parse_json(bytes: &[u8]) -> Result<Compiled> {
    let root = json::parse(bytes).map_err(|e| Error::routing("$", format!("invalid JSON: {e}")))?;
    compile(&root)
}

const TOP_FIELDS: [&str; 3] = ["rules", "default", "health"];
const RULE_FIELDS: [&str; 3] = ["name", "when", "then"];
const THEN_FIELDS: [&str; 3] = ["gateways", "split", "success_rate"];
const DEFAULT_FIELDS: [&str; 1] = ["gateways"];

/// Validate and compile a parsed rules document.
pub(crate) fn compile(root: &Node) -> Result<Compiled> {
    let top = Members::new(root, Path::root(), &TOP_FIELDS)?;
    let mut gateways = Vec::new();
    let mut metadata_keys = Vec::new();
    let mut symbols = Symbols::default();

    let mut rules = Vec::new();
    if let (Some(node), path) = top.optional("rules") {
        let Node::Array(items) = node else {
            return Err(err(
                &path,
                format!("must be an array of rules, got {}", node.kind()),
            ));
        };
        let mut names: Vec<(&str, usize)> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let rule_path = path.index(i);
            let m = Members::new(item, rule_path.clone(), &RULE_FIELDS)?;
            let (node, name_path) = m.required("name")?;
            let name = match node {
                Node::Str(s) if s.is_empty() => {
                    return Err(err(&name_path, "must be a non-empty string"))
                }
                Node::Str(s) if s == "default" => {
                    return Err(err(
                        &name_path,
                        "\"default\" is reserved for the default decision (Decision.rule == \"default\")",
                    ))
                }
                Node::Str(s) => s.as_str(),
                other => {
                    return Err(err(
                        &name_path,
                        format!("must be a string, got {}", other.kind()),
                    ))
                }
            };
            if let Some((_, j)) = names.iter().find(|(n, _)| *n == name) {
                return Err(err(
                    &name_path,
                    format!(
                        "duplicate rule name (already used by {})",
                        path.index(*j).as_str()
                    ),
                ));
            }
            names.push((name, i));

            let (node, when_path) = m.required("when")?;
            let Node::Array(conds) = node else {
                return Err(err(
                    &when_path,
                    format!(
                        "must be an array of conditions ([] matches every payment), got {}",
                        node.kind()
                    ),
                ));
            };
            let when = conds
                .iter()
                .enumerate()
                .map(|(j, c)| {
                    condition::parse(c, when_path.index(j), &mut metadata_keys, &mut symbols)
                })
                .collect::<Result<Vec<_>>>()?;

            let (node, then_path) = m.required("then")?;
            let then = then(node, then_path, &mut gateways)?;
            rules.push(Rule {
                name: name.into(),
                when: when.into(),
                then,
            });
        }
    }

    let (node, path) = top.required("default")?;
    let m = Members::new(node, path, &DEFAULT_FIELDS)?;
    let (node, path) = m.required("gateways")?;
    let default = gateway_list(node, &path, &mut gateways)?;

    let health = match top.optional("health") {
        (Some(node), path) => health(node, path)?,
        (None, _) => HealthConfig::default(),
    };

    Ok(Compiled {
        gateways,
        rules,
        default,
        metadata_keys,
        symbols,
        health,
    })
}

fn then(node: &Node, path: Path, gateways: &mut Vec<Box<str>>) -> Result<Then> {
    let m = Members::new(node, path.clone(), &THEN_FIELDS)?;
    let present: Vec<&str> = THEN_FIELDS
        .into_iter()
        .filter(|name| m.get(name).0.is_some())
        .collect();
    match present.as_slice() {
        ["gateways"] => {
            let (node, p) = m.required("gateways")?;
            Ok(Then::Priority(gateway_list(node, &p, gateways)?))
        }
        ["success_rate"] => {
            let (node, p) = m.required("success_rate")?;
            Ok(Then::SuccessRate(gateway_list(node, &p, gateways)?))
        }
        ["split"] => {
            let (node, p) = m.required("split")?;
            Ok(Then::Split(split(node, &p, gateways)?))
        }
        [] => Err(err(
            &path,
            "must have one of gateways (priority), split (weights) or success_rate",
        )),
        more => Err(err(
            &path,
            format!(
                "has {}: give exactly one of gateways, split or success_rate",
                more.join(" and ")
            ),
        )),
    }
}

fn intern(name: &str, path: &Path, gateways: &mut Vec<Box<str>>) -> Result<GatewayId> {
    if name.is_empty() {
        return Err(err(path, "a gateway name must be a non-empty string"));
    }
    let i = match gateways.iter().position(|g| **g == *name) {
        Some(i) => i,
        None if gateways.len() >= MAX_GATEWAYS => {
            return Err(err(
                path,
                format!("at most {MAX_GATEWAYS} distinct gateways per rules document"),
            ))
        }
        None => {
            gateways.push(name.into());
            gateways.len() - 1
        }
    };
    // MAX_GATEWAYS fits in u16.
    Ok(GatewayId::try_from(i).unwrap_or(GatewayId::MAX))
}

/// A non-empty array of distinct gateway names.
fn gateway_list(
    node: &Node,
    path: &Path,
    gateways: &mut Vec<Box<str>>,
) -> Result<Box<[GatewayId]>> {
    let items = match node {
        Node::Array(items) if !items.is_empty() => items,
        Node::Array(_) => return Err(err(path, "must name at least one gateway")),
        other => {
            return Err(err(
                path,
                format!(
                    "must be a non-empty array of gateway names, got {}",
                    other.kind()
                ),
            ))
        }
    };
    let mut out: Vec<GatewayId> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_path = path.index(i);
        let Node::Str(name) = item else {
            return Err(err(
                &item_path,
                format!("must be a gateway name (a string), got {}", item.kind()),
            ));
        };
        let id = intern(name, &item_path, gateways)?;
        if out.contains(&id) {
            return Err(err(&item_path, "duplicate gateway in this list"));
        }
        out.push(id);
    }
    Ok(out.into())
}

/// `{gateway: weight}`: positive integer weights summing to 100.
fn split(node: &Node, path: &Path, gateways: &mut Vec<Box<str>>) -> Result<Box<[(GatewayId, u8)]>> {
    let members = match node {
        Node::Object(members) if !members.is_empty() => members,
        Node::Object(_) => return Err(err(path, "must name at least one gateway")),
        other => {
            return Err(err(
                path,
                format!(
                    "must be an object of gateway: weight (weights sum to 100), got {}",
                    other.kind()
                ),
            ))
        }
    };
    let mut out: Vec<(GatewayId, u8)> = Vec::with_capacity(members.len());
    let mut sum = 0u32;
    for (name, weight) in members {
        let item_path = path.key(name);
        let id = intern(name, &item_path, gateways)?;
        if out.iter().any(|(g, _)| *g == id) {
            return Err(err(&item_path, "duplicate gateway in this split"));
        }
        let w = match weight {
            Node::Int(w) if (1..=100).contains(w) => u8::try_from(*w).unwrap_or(100),
            Node::Int(w) => {
                return Err(err(
                    &item_path,
                    format!("a weight must be an integer from 1 to 100, got {w}"),
                ))
            }
            other => {
                return Err(err(
                    &item_path,
                    format!(
                        "a weight must be an integer from 1 to 100, got {}",
                        describe_number(other)
                    ),
                ))
            }
        };
        sum += u32::from(w);
        out.push((id, w));
    }
    if sum != 100 {
        return Err(err(
            path,
            format!("weights must sum to 100, they sum to {sum}"),
        ));
    }
    Ok(out.into())
}

fn describe_number(node: &Node) -> String {
    match node {
        Node::Float(f) => json::float_text(*f),
        other => other.kind().to_owned(),
    }
}

const HEALTH_FIELDS: [&str; 4] = [
    "elimination",
    "success_rate",
    "latency_window",
    "peer_ttl_seconds",
];
const ELIMINATION_FIELDS: [&str; 4] = [
    "bucket_size",
    "leak_interval_seconds",
    "probe_timeout_seconds",
    "classes",
];
const CLASS_FIELDS: [&str; 2] = ["bucket_size", "leak_interval_seconds"];
const SUCCESS_RATE_FIELDS: [&str; 3] = ["window", "min_samples", "hedging_percent"];

/// An integer in `lo..=hi`.
fn int_in(node: &Node, path: &Path, lo: u32, hi: u32, what: &str) -> Result<u32> {
    match node {
        Node::Int(v) => u32::try_from(*v)
            .ok()
            .filter(|v| (lo..=hi).contains(v))
            .ok_or_else(|| err(path, format!("must be {what} from {lo} to {hi}, got {v}"))),
        other => Err(err(
            path,
            format!(
                "must be {what} from {lo} to {hi}, got {}",
                describe_number(other)
            ),
        )),
    }
}

/// A number (integer or not) in `(0, hi]` or `[0, hi]`.
fn number_in(node: &Node, path: &Path, zero_ok: bool, hi: f64, what: &str) -> Result<f64> {
    let v = match node {
        Node::Int(v) => *v as f64,
        Node::Float(f) => *f,
        other => return Err(err(path, format!("must be {what}, got {}", other.kind()))),
    };
    let low_ok = if zero_ok { v >= 0.0 } else { v > 0.0 };
    if v.is_finite() && low_ok && v <= hi {
        Ok(v)
    } else {
        let lo = if zero_ok { "from 0" } else { "greater than 0" };
        Err(err(
            path,
            format!("must be {what} {lo} up to {hi}, got {v}"),
        ))
    }
}

const MAX_SECONDS: f64 = 1e9;

fn bucket_params(m: &Members<'_>, base: BucketParams) -> Result<BucketParams> {
    let mut out = base;
    if let (Some(node), path) = m.optional("bucket_size") {
        out.size = int_in(node, &path, 1, 1_000_000, "a number of failures")?;
    }
    if let (Some(node), path) = m.optional("leak_interval_seconds") {
        out.leak_interval = number_in(node, &path, false, MAX_SECONDS, "a number of seconds")?;
    }
    Ok(out)
}

fn health(node: &Node, path: Path) -> Result<HealthConfig> {
    let m = Members::new(node, path, &HEALTH_FIELDS)?;
    let mut cfg = HealthConfig::default();

    if let (Some(node), path) = m.optional("elimination") {
        let e = Members::new(node, path, &ELIMINATION_FIELDS)?;
        cfg.bucket = bucket_params(&e, cfg.bucket)?;
        if let (Some(node), path) = e.optional("probe_timeout_seconds") {
            cfg.probe_timeout = number_in(node, &path, false, MAX_SECONDS, "a number of seconds")?;
        }
        if let (Some(node), path) = e.optional("classes") {
            let Node::Object(members) = node else {
                return Err(err(
                    &path,
                    format!(
                        "must be an object of failure class: {{bucket_size, leak_interval_seconds}}, got {}",
                        node.kind()
                    ),
                ));
            };
            let mut seen = HashSet::new();
            for (name, value) in members {
                let class_path = path.key(name);
                if name.is_empty() {
                    return Err(err(
                        &class_path,
                        "a failure class must be a non-empty string",
                    ));
                }
                if !seen.insert(name.as_str()) {
                    return Err(err(&class_path, "duplicate failure class"));
                }
                let c = Members::new(value, class_path, &CLASS_FIELDS)?;
                let params = bucket_params(&c, cfg.bucket)?;
                cfg.classes.push((name.as_str().into(), params));
            }
        }
    }
    if let (Some(node), path) = m.optional("success_rate") {
        let s = Members::new(node, path, &SUCCESS_RATE_FIELDS)?;
        if let (Some(node), path) = s.optional("window") {
            cfg.window = int_in(node, &path, 1, 10_000, "a number of outcomes")?;
        }
        match s.optional("min_samples") {
            (Some(node), path) => {
                cfg.min_samples = int_in(node, &path, 1, 10_000, "a number of outcomes")?;
            }
            // A small window lowers the default, which would otherwise exceed it.
            (None, _) => cfg.min_samples = cfg.min_samples.min(cfg.window),
        }
        if cfg.min_samples > cfg.window {
            let (_, path) = s.get("min_samples");
            return Err(err(
                &path,
                format!(
                    "min_samples ({}) cannot exceed the window ({}): no gateway would ever be scored",
                    cfg.min_samples, cfg.window
                ),
            ));
        }
        if let (Some(node), path) = s.optional("hedging_percent") {
            let pct = number_in(node, &path, true, 50.0, "a percentage of traffic")?;
            // Basis points: 0.01 % granularity.
            cfg.hedging_bp = (pct * 100.0).round() as u32;
        }
    }
    if let (Some(node), path) = m.optional("latency_window") {
        cfg.latency_window = int_in(node, &path, 1, 100_000, "a number of samples")?;
    }
    if let (Some(node), path) = m.optional("peer_ttl_seconds") {
        cfg.peer_ttl = number_in(node, &path, false, MAX_SECONDS, "a number of seconds")?;
    }
    Ok(cfg)
}
