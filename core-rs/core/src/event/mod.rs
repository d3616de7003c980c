//! Verified Stripe event parsing (SPEC 2.1 `parse_stripe_event`): the
//! signature is checked first, then the fields payedge reads are read,
//! borrowing every string that has no escape from the payload.
//!
//! What the signature proves, payedge acknowledges (issue 16):
//! - a bad signature is an [`Error::Signature`]; after a valid one, never;
//! - a verified payload that cannot be an event at all (not JSON, not an
//!   object, `id` or `type` missing or not strings, `created` missing or not
//!   an integer) is an [`Error::Payload`] whose `param` names the field
//!   (`payload` for the whole document);
//! - otherwise the event is returned. A field payedge reads that holds a value
//!   of another type (an `amount` that is an object, a `status` that is a
//!   list, a metadata value that is a number, ...) is read as absent and its
//!   JSON path is listed in [`StripeEvent::malformed`] (`data.object.amount`,
//!   `data.object.metadata.<key>`), so the caller decides: ignore it for an
//!   event type it does not act on, or record, acknowledge and flag it for one
//!   it does (never apply it half-read).
//!
//! Fields read: `id`, `type`, `created` (required), `livemode` (false when
//! absent) and from `data.object`: `id`, `object`, `amount`,
//! `amount_received`, `currency`, `status`, `metadata` (string to string).
//! `null` is absent. Readings follow Python's `json.loads`, which
//! stripe-python uses (see [`json`] for the rules and payedge's two limits:
//! 64-bit integers, no lone surrogates); unknown fields are skipped unread, at
//! any depth, without recursion.
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::signature::{verify_stripe, StripeKey, StripeTimestamp, UnixTime};
use crate::{Error, Result};

mod json;
mod parts;

use json::Read;
use parts::Parts;

/// A string of the event: borrowed from the payload when it had no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<'a>(Cow<'a, str>);

impl<'a> Text<'a> {
    pub(crate) fn borrowed(s: &'a str) -> Self {
        Text(Cow::Borrowed(s))
    }

    pub(crate) fn owned(s: String) -> Self {
        Text(Cow::Owned(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where this text lies in `base`, when it is borrowed from it.
    pub fn span_in(&self, base: &[u8]) -> Option<(usize, usize)> {
        let Cow::Borrowed(s) = self.0 else {
            return None;
        };
        let start = (s.as_ptr() as usize).checked_sub(base.as_ptr() as usize)?;
        let end = start.checked_add(s.len())?;
        (end <= base.len()).then_some((start, end))
    }

    pub fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// `metadata`: its entries whose value is a string, in payload order (of a
/// key given twice, the last value counts, at the first one's place).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata<'a>(pub Vec<(Text<'a>, Text<'a>)>);

/// The fields of a Stripe event that payedge reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeEvent<'a> {
    pub id: Text<'a>,
    pub event_type: Text<'a>,
    pub created: i64,
    pub livemode: bool,
    pub object_id: Option<Text<'a>>,
    pub object_type: Option<Text<'a>>,
    pub amount: Option<i64>,
    pub amount_received: Option<i64>,
    pub currency: Option<Text<'a>>,
    pub status: Option<Text<'a>>,
    pub metadata: Metadata<'a>,
    /// JSON paths of the fields read as absent because their value had
    /// another type, in reading order: `livemode`, `data`, `data.object`,
    /// `data.object.<field>`, then `data.object.metadata.<key>` in payload order.
    pub malformed: Vec<String>,
}

/// A required field: present and of its type, or a [`Error::Payload`] naming it.
fn required<T>(read: Read<T>, field: &'static str, kind: &str) -> Result<T> {
    match read {
        Read::Value(value) => Ok(value),
        Read::Absent => Err(Error::payload(
            field,
            format!("the event has no `{field}`: it cannot be processed"),
        )),
        Read::Wrong => Err(Error::payload(
            field,
            format!("the event's `{field}` is not {kind}: it cannot be processed"),
        )),
    }
}

/// Optional fields: a wrong type is absent, and listed in `malformed`.
struct Reader {
    malformed: Vec<String>,
}

impl Reader {
    fn optional<T>(&mut self, read: Read<T>, path: &str) -> Option<T> {
        match read {
            Read::Value(value) => Some(value),
            Read::Absent => None,
            Read::Wrong => {
                self.malformed.push(path.to_owned());
                None
            }
        }
    }

    /// `metadata`: string values kept, others dropped and listed.
    fn metadata<'a>(
        &mut self,
        read: Read<Vec<(json::Key<'a>, &'a serde_json::value::RawValue)>>,
    ) -> Metadata<'a> {
        let Some(entries) = self.optional(read, "data.object.metadata") else {
            return Metadata::default();
        };
        // of a repeated key the last value counts, at the first one's place (a Python dict)
        let mut spans: HashMap<&[u8], (usize, usize)> = HashMap::with_capacity(entries.len());
        for (i, (key, _)) in entries.iter().enumerate() {
            spans
                .entry(key.as_bytes())
                .and_modify(|(_, last)| *last = i)
                .or_insert((i, i));
        }
        let mut kept = Vec::with_capacity(spans.len());
        for (i, (key, _)) in entries.iter().enumerate() {
            let Some(&(first, last)) = spans.get(key.as_bytes()) else {
                continue;
            };
            let Some((_, raw)) = entries.get(last).filter(|_| first == i) else {
                continue;
            };
            match (key.clone().into_text(), json::text(Some(raw))) {
                (Some(name), Read::Value(value)) => kept.push((name, value)),
                (name, _) => {
                    let name = name.map_or_else(
                        || String::from_utf8_lossy(key.as_bytes()).into_owned(),
                        |n| n.as_str().to_owned(),
                    );
                    self.malformed.push(format!("data.object.metadata.{name}"));
                }
            }
        }
        Metadata(kept)
    }
}

/// Read an event from JSON text (already known to be UTF-8). Errors are
/// [`Error::Payload`] only: see the module documentation.
pub fn parse_event(json: &str) -> Result<StripeEvent<'_>> {
    let parts = parts::one_pass(json)
        .or_else(|_| parts::robust(json))
        .map_err(|e| Error::payload("payload", format!("the payload is not a JSON object: {e}")))?;
    build(parts)
}

/// The event from its parts: required fields checked, the rest read.
fn build(parts: Parts<'_>) -> Result<StripeEvent<'_>> {
    let id = required(json::text(parts.id), "id", "a string")?;
    let event_type = required(json::text(parts.event_type), "type", "a string")?;
    let created = required(
        json::int(parts.created),
        "created",
        "an integer (UNIX seconds)",
    )?;
    let mut reader = Reader {
        malformed: Vec::new(),
    };
    let livemode = reader
        .optional(json::boolean(parts.livemode), "livemode")
        .unwrap_or(false);
    let object = reader
        .optional(parts.object, "data")
        .unwrap_or(Read::Absent);
    let object = reader.optional(object, "data.object").unwrap_or_default();
    let [object_id, object_type, amount, amount_received, currency, status] = object.fields;
    Ok(StripeEvent {
        id,
        event_type,
        created,
        livemode,
        object_id: reader.optional(json::text(object_id), "data.object.id"),
        object_type: reader.optional(json::text(object_type), "data.object.object"),
        amount: reader.optional(json::int(amount), "data.object.amount"),
        amount_received: reader.optional(json::int(amount_received), "data.object.amount_received"),
        currency: reader.optional(json::text(currency), "data.object.currency"),
        status: reader.optional(json::text(status), "data.object.status"),
        metadata: reader.metadata(object.metadata),
        malformed: reader.malformed,
    })
}

/// Verify the `Stripe-Signature` header, then read the event, in one call.
/// A signature failure is an [`Error::Signature`] (as [`verify_stripe`]);
/// after a valid signature the only error is an [`Error::Payload`].
pub fn parse_stripe_event<'a, 'h>(
    payload: &'a [u8],
    header: &'h str,
    keys: &[StripeKey],
    tolerance: Option<u64>,
    now: UnixTime,
) -> Result<(StripeTimestamp<'h>, StripeEvent<'a>)> {
    let ts = verify_stripe(payload, header, keys, tolerance, now)?;
    // verify_stripe checked the payload is UTF-8
    let json = std::str::from_utf8(payload)
        .map_err(|_| Error::payload("payload", "the payload is not valid UTF-8"))?;
    Ok((ts, parse_event(json)?))
}

#[cfg(test)]
mod tests;
