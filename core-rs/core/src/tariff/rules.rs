//! Tariff rules v1: strict validation of the JSON document (SPEC 2.3).
//!
//! Every error names the JSON path of the bad field (`$.bands[1].up_to_minute`),
//! unknown and duplicate members included. Validation stops at the first
//! error, in document order for unknown/duplicate members, then field by field.
use std::collections::HashSet;

use jiff::tz::TimeZone;

use super::json::{self, Node, Path};
use crate::error::{Error, Result};
use crate::money::Currency;

/// Minutes in one 24-hour period.
pub const DAY_MINUTES: i64 = 1440;

/// One price band: minutes `[previous up_to_minute, up_to_minute)` of a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Band {
    /// `None` is the last, open-ended band.
    pub up_to_minute: Option<u32>,
    pub unit_price: i64,
}

/// A night window `[start, end)` of local wall-clock time, minutes after midnight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Night {
    pub start: u32,
    pub end: u32,
    pub unit_price: i64,
}

impl Night {
    /// Does local minute-of-day `m` (0..1440) lie in the window (wrapping midnight when end < start)?
    pub fn contains(&self, m: u32) -> bool {
        if self.start < self.end {
            self.start <= m && m < self.end
        } else {
            m >= self.start || m < self.end
        }
    }
}

/// Validated tariff rules, field for field as in the JSON.
#[derive(Debug, Clone)]
pub struct Rules {
    pub currency: Currency,
    /// IANA name, exactly as the time zone database spells it.
    pub timezone: String,
    pub increment_minutes: u32,
    pub grace_minutes: Option<i64>,
    pub bands: Vec<Band>,
    pub night: Option<Night>,
    pub daily_cap: Option<i64>,
    pub lost_ticket_fee: Option<i64>,
    pub max_amount: Option<i64>,
    /// `(name, discount_percent)` in document order; names are unique.
    pub subscriptions: Vec<(String, u8)>,
}

const FIELDS: [&str; 10] = [
    "currency",
    "timezone",
    "increment_minutes",
    "grace_minutes",
    "bands",
    "night",
    "daily_cap",
    "lost_ticket_fee",
    "max_amount",
    "subscriptions",
];
const BAND_FIELDS: [&str; 2] = ["up_to_minute", "unit_price"];
const NIGHT_FIELDS: [&str; 3] = ["start", "end", "unit_price"];
const SUBSCRIPTION_FIELDS: [&str; 1] = ["discount_percent"];

fn err(path: &Path, message: impl Into<String>) -> Error {
    Error::tariff(path.as_str(), message)
}

/// The members of an object, after checking for unknown and duplicate names.
struct Members<'a> {
    path: Path,
    members: &'a [(String, Node)],
}

impl<'a> Members<'a> {
    fn new(node: &'a Node, path: Path, allowed: &[&str]) -> Result<Members<'a>> {
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

    /// The member's value and path; `None` when absent.
    fn get(&self, name: &str) -> (Option<&'a Node>, Path) {
        let value = self.members.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        (value, self.path.key(name))
    }

    fn required(&self, name: &str) -> Result<(&'a Node, Path)> {
        match self.get(name) {
            (Some(v), p) => Ok((v, p)),
            (None, p) => Err(err(&p, "required field is missing")),
        }
    }

    /// Absent and `null` both mean "none".
    fn optional(&self, name: &str) -> (Option<&'a Node>, Path) {
        match self.get(name) {
            (Some(Node::Null), p) | (None, p) => (None, p),
            (Some(v), p) => (Some(v), p),
        }
    }
}

/// An integer in `lo..=hi`.
fn int_in(node: &Node, path: &Path, lo: i64, hi: i64, what: &str) -> Result<i64> {
    let out_of_range = || err(path, format!("must be {what} ({lo}..={hi})"));
    match node {
        Node::Int(v) => i64::try_from(*v)
            .ok()
            .filter(|v| (lo..=hi).contains(v))
            .ok_or_else(out_of_range),
        Node::Float(f) => Err(err(
            path,
            format!(
                "must be {what} ({lo}..={hi}) written as a plain integer, got {}",
                json::float_text(*f)
            ),
        )),
        other => Err(err(
            path,
            format!("must be {what} ({lo}..={hi}), got {}", other.kind()),
        )),
    }
}

fn money(node: &Node, path: &Path) -> Result<i64> {
    int_in(
        node,
        path,
        0,
        i64::MAX,
        "a non-negative integer amount in minor units",
    )
}

fn string<'a>(node: &'a Node, path: &Path) -> Result<&'a str> {
    match node {
        Node::Str(s) => Ok(s),
        other => Err(err(path, format!("must be a string, got {}", other.kind()))),
    }
}

fn clock(node: &Node, path: &Path) -> Result<u32> {
    let s = string(node, path)?;
    let b = s.as_bytes();
    let digit = |i: usize| {
        b.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u32::from(c - b'0'))
    };
    let parsed = match (b.len(), digit(0), digit(1), b.get(2), digit(3), digit(4)) {
        (5, Some(h1), Some(h0), Some(b':'), Some(m1), Some(m0)) => {
            Some((h1 * 10 + h0, m1 * 10 + m0))
        }
        _ => None,
    };
    match parsed {
        Some((h, m)) if h < 24 && m < 60 => Ok(h * 60 + m),
        _ => Err(err(
            path,
            format!("must be a time of day \"HH:MM\" from \"00:00\" to \"23:59\", got {s:?}"),
        )),
    }
}

fn timezone(node: &Node, path: &Path) -> Result<(String, TimeZone)> {
    let name = string(node, path)?;
    let shown: String = name.chars().take(64).collect();
    let well_formed = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('/')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b))
        && name.split('/').all(|part| !part.is_empty());
    if !well_formed {
        return Err(err(
            path,
            format!("must be an IANA time zone name such as \"Europe/Paris\", got {shown:?}"),
        ));
    }
    let tz = TimeZone::get(name).map_err(|e| {
        err(
            path,
            format!("unknown time zone {shown:?} (not in the IANA time zone database: {e})"),
        )
    })?;
    // The database lookup forgives case; the rules must name the zone exactly
    // (Python's zoneinfo does not forgive, and the name is shown on receipts).
    match tz.iana_name() {
        Some(canonical) if canonical == name => Ok((name.to_owned(), tz)),
        Some(canonical) => Err(err(
            path,
            format!("unknown time zone {shown:?}; did you mean {canonical:?}?"),
        )),
        None => Err(err(path, format!("unknown time zone {shown:?}"))),
    }
}

/// Parse and validate tariff rules v1; the time zone comes back loaded.
pub(crate) fn parse(bytes: &[u8]) -> Result<(Rules, TimeZone)> {
    let root = json::parse(bytes).map_err(|e| Error::tariff("$", format!("invalid JSON: {e}")))?;
    let top = Members::new(&root, Path::root(), &FIELDS)?;

    let (node, path) = top.required("currency")?;
    let code = string(node, &path)?;
    let currency = Currency::get(code).map_err(|e| err(&path, e.to_string()))?;

    let (node, path) = top.required("timezone")?;
    let (tz_name, tz) = timezone(node, &path)?;

    let (node, path) = top.required("increment_minutes")?;
    let increment_minutes = int_in(node, &path, 1, DAY_MINUTES, "a whole number of minutes")?;

    let grace_minutes = match top.optional("grace_minutes") {
        (Some(node), path) => Some(int_in(
            node,
            &path,
            0,
            i64::MAX / 60,
            "a non-negative whole number of minutes",
        )?),
        (None, _) => None,
    };

    let (node, path) = top.required("bands")?;
    let bands = bands(node, &path)?;

    let night = match top.optional("night") {
        (Some(node), path) => {
            let m = Members::new(node, path, &NIGHT_FIELDS)?;
            let (node, start_path) = m.required("start")?;
            let start = clock(node, &start_path)?;
            let (node, end_path) = m.required("end")?;
            let end = clock(node, &end_path)?;
            if start == end {
                return Err(err(
                    &end_path,
                    "must differ from start (an empty or all-day night window is ambiguous)",
                ));
            }
            let (node, price_path) = m.required("unit_price")?;
            let unit_price = money(node, &price_path)?;
            Some(Night {
                start,
                end,
                unit_price,
            })
        }
        (None, _) => None,
    };

    let mut amounts = [None; 3];
    for (slot, name) in amounts
        .iter_mut()
        .zip(["daily_cap", "lost_ticket_fee", "max_amount"])
    {
        if let (Some(node), path) = top.optional(name) {
            *slot = Some(money(node, &path)?);
        }
    }
    let [daily_cap, lost_ticket_fee, max_amount] = amounts;

    let mut subscriptions = Vec::new();
    if let (Some(node), path) = top.optional("subscriptions") {
        let Node::Object(members) = node else {
            return Err(err(
                &path,
                format!(
                    "must be an object of subscription names, got {}",
                    node.kind()
                ),
            ));
        };
        let mut seen = HashSet::new();
        for (name, value) in members {
            let sub_path = path.key(name);
            if name.is_empty() {
                return Err(err(&sub_path, "a subscription name must not be empty"));
            }
            if !seen.insert(name.as_str()) {
                return Err(err(&sub_path, "duplicate subscription"));
            }
            let m = Members::new(value, sub_path, &SUBSCRIPTION_FIELDS)?;
            let (node, p) = m.required("discount_percent")?;
            let pct = int_in(node, &p, 0, 100, "a whole percentage")?;
            subscriptions.push((name.clone(), u8::try_from(pct).unwrap_or(100)));
        }
    }

    let rules = Rules {
        currency,
        timezone: tz_name,
        increment_minutes: u32::try_from(increment_minutes).unwrap_or(1),
        grace_minutes,
        bands,
        night,
        daily_cap,
        lost_ticket_fee,
        max_amount,
        subscriptions,
    };
    Ok((rules, tz))
}

fn bands(node: &Node, path: &Path) -> Result<Vec<Band>> {
    let Node::Array(items) = node else {
        return Err(err(
            path,
            format!("must be an array of bands, got {}", node.kind()),
        ));
    };
    if items.is_empty() {
        return Err(err(path, "must contain at least one band"));
    }
    let mut out: Vec<Band> = Vec::with_capacity(items.len());
    let last = items.len() - 1;
    for (i, item) in items.iter().enumerate() {
        let m = Members::new(item, path.index(i), &BAND_FIELDS)?;
        let (node, up_path) = m.required("up_to_minute")?;
        let up_to_minute = match node {
            Node::Null if i == last => None,
            Node::Null => return Err(err(&up_path, "only the last band may be open-ended (null)")),
            _ if i == last => {
                return Err(err(
                    &up_path,
                    "the last band must be open-ended: \"up_to_minute\": null",
                ))
            }
            node => {
                let v = int_in(
                    node,
                    &up_path,
                    1,
                    DAY_MINUTES,
                    "a minute of the 24-hour period",
                )?;
                if let Some(prev) = out.last().and_then(|b| b.up_to_minute) {
                    if v <= i64::from(prev) {
                        return Err(err(
                            &up_path,
                            format!(
                                "bands must be in increasing order: {v} is not greater than the previous band's up_to_minute ({prev})"
                            ),
                        ));
                    }
                }
                Some(u32::try_from(v).unwrap_or(1))
            }
        };
        let (node, price_path) = m.required("unit_price")?;
        let unit_price = money(node, &price_path)?;
        out.push(Band {
            up_to_minute,
            unit_price,
        });
    }
    Ok(out)
}
