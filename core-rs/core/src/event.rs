//! Verified Stripe event parsing (SPEC 2.1 `parse_stripe_event`): the
//! signature is checked, then the JSON is parsed once, borrowing every string
//! that has no escape from the payload (no copy, no allocation for them).
//!
//! Fields read: `id`, `type`, `created` (required), `livemode` (false when
//! absent) and from `data.object`: `id`, `object`, `amount`,
//! `amount_received`, `currency`, `status`, `metadata` (string to string).
//! A field of the wrong type (an amount that is not an integer, a metadata
//! value that is not a string, ...), a duplicated field or invalid JSON is an
//! `invalid_payload` error; unknown fields are skipped.
use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::signature::{codes, verify_stripe, StripeKey, StripeTimestamp, UnixTime};
use crate::{Error, Result};

/// A string of the event: borrowed from the payload when it had no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<'a>(Cow<'a, str>);

impl<'a> Text<'a> {
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

/// `metadata`: a JSON object of strings, kept in payload order (null is empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata<'a>(pub Vec<(Text<'a>, Text<'a>)>);

impl<'de: 'a, 'a> Deserialize<'de> for Metadata<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MetaVisitor;
        impl<'de> Visitor<'de> for MetaVisitor {
            type Value = Metadata<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Metadata::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(pair) = map.next_entry::<Text<'de>, Text<'de>>()? {
                    pairs.push(pair);
                }
                Ok(Metadata(pairs))
            }
        }
        deserializer.deserialize_any(MetaVisitor)
    }
}

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
}

#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(rename = "type", borrow)]
    event_type: Text<'a>,
    created: i64,
    #[serde(default)]
    livemode: bool,
    #[serde(default, borrow)]
    data: Option<RawData<'a>>,
}

#[derive(Deserialize)]
struct RawData<'a> {
    #[serde(default, borrow)]
    object: Option<RawObject<'a>>,
}

#[derive(Deserialize, Default)]
struct RawObject<'a> {
    #[serde(default, borrow)]
    id: Option<Text<'a>>,
    #[serde(default, borrow)]
    object: Option<Text<'a>>,
    #[serde(default)]
    amount: Option<i64>,
    #[serde(default)]
    amount_received: Option<i64>,
    #[serde(default, borrow)]
    currency: Option<Text<'a>>,
    #[serde(default, borrow)]
    status: Option<Text<'a>>,
    #[serde(default, borrow)]
    metadata: Option<Metadata<'a>>,
}

/// Parse an event from JSON text (already known to be UTF-8).
pub fn parse_event(json: &str) -> Result<StripeEvent<'_>> {
    let raw: RawEvent<'_> = serde_json::from_str(json).map_err(|e| {
        Error::signature(
            codes::INVALID_PAYLOAD,
            format!("the payload is not a Stripe event: {e}"),
        )
        .with_param("payload")
    })?;
    let object = raw.data.and_then(|d| d.object).unwrap_or_default();
    Ok(StripeEvent {
        id: raw.id,
        event_type: raw.event_type,
        created: raw.created,
        livemode: raw.livemode,
        object_id: object.id,
        object_type: object.object,
        amount: object.amount,
        amount_received: object.amount_received,
        currency: object.currency,
        status: object.status,
        metadata: object.metadata.unwrap_or_default(),
    })
}

/// Verify the `Stripe-Signature` header, then parse the event, in one call.
pub fn parse_stripe_event<'a, 'h>(
    payload: &'a [u8],
    header: &'h str,
    keys: &[StripeKey],
    tolerance: Option<u64>,
    now: UnixTime,
) -> Result<(StripeTimestamp<'h>, StripeEvent<'a>)> {
    let ts = verify_stripe(payload, header, keys, tolerance, now)?;
    // verify_stripe checked the payload is UTF-8
    let json = std::str::from_utf8(payload).map_err(|_| {
        Error::signature(codes::INVALID_PAYLOAD, "payload is not valid UTF-8").with_param("payload")
    })?;
    Ok((ts, parse_event(json)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::sign_stripe;
    use proptest::prelude::*;

    const EVENT: &str = r#"{
      "id": "evt_1", "object": "event", "api_version": "2024-06-20", "created": 1700000000,
      "data": {"object": {"id": "pi_1", "object": "payment_intent", "amount": 2000,
        "amount_received": 2000, "currency": "eur", "status": "succeeded",
        "metadata": {"order_id": "A-1", "note": "caf\u00e9"}, "charges": {"data": [1, 2.5, null]}}},
      "livemode": false, "pending_webhooks": 1, "request": {"id": null},
      "type": "payment_intent.succeeded"
    }"#;

    fn key() -> StripeKey {
        StripeKey::new("whsec_x").unwrap()
    }

    #[test]
    fn parses_the_fields_borrowing_unescaped_strings() {
        let ev = parse_event(EVENT).unwrap();
        assert_eq!(ev.id.as_str(), "evt_1");
        assert_eq!(ev.event_type.as_str(), "payment_intent.succeeded");
        assert_eq!((ev.created, ev.livemode), (1_700_000_000, false));
        assert_eq!(ev.object_id.as_ref().map(Text::as_str), Some("pi_1"));
        assert_eq!(
            ev.object_type.as_ref().map(Text::as_str),
            Some("payment_intent")
        );
        assert_eq!((ev.amount, ev.amount_received), (Some(2000), Some(2000)));
        assert_eq!(ev.currency.as_ref().map(Text::as_str), Some("eur"));
        assert_eq!(ev.status.as_ref().map(Text::as_str), Some("succeeded"));
        let meta: Vec<(&str, &str)> = ev
            .metadata
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(meta, [("order_id", "A-1"), ("note", "café")]);
        let (s, e) = ev.id.span_in(EVENT.as_bytes()).unwrap();
        assert_eq!(&EVENT[s..e], "evt_1");
        assert_eq!(ev.metadata.0[1].1.span_in(EVENT.as_bytes()), None); // had an escape
    }

    #[test]
    fn optional_parts_may_be_absent_or_null() {
        let ev = parse_event(r#"{"id":"evt_2","type":"balance.available","created":1,"data":{"object":{"metadata":null,"amount":null}}}"#).unwrap();
        assert_eq!(
            (ev.livemode, ev.amount, ev.object_id.is_none()),
            (false, None, true)
        );
        assert!(ev.metadata.0.is_empty());
        let ev = parse_event(r#"{"id":"evt_3","type":"x","created":1,"data":null}"#).unwrap();
        assert!(ev.object_type.is_none());
    }

    #[test]
    fn rejects_what_is_not_an_event() {
        for bad in [
            "",
            "[]",
            "{",
            r#"{"id":"e","type":"t"}"#,
            r#"{"id":1,"type":"t","created":1}"#,
            r#"{"id":"e","type":"t","created":1.5}"#,
            r#"{"id":"e","type":"t","created":1,"data":{"object":{"amount":20.5}}}"#,
            r#"{"id":"e","type":"t","created":1,"data":{"object":{"metadata":{"k":1}}}}"#,
            r#"{"id":"e","id":"f","type":"t","created":1}"#,
        ] {
            assert_eq!(
                parse_event(bad).unwrap_err().code(),
                "invalid_payload",
                "{bad}"
            );
        }
    }

    #[test]
    fn verifies_before_parsing() {
        let header = sign_stripe(EVENT.as_bytes(), &key(), 1_700_000_000);
        let now = UnixTime::from_secs(1_700_000_100);
        let (ts, ev) =
            parse_stripe_event(EVENT.as_bytes(), &header, &[key()], Some(300), now).unwrap();
        assert_eq!(
            (ts.as_u64(), ev.id.as_str()),
            (Some(1_700_000_000), "evt_1")
        );
        let bad = parse_stripe_event(b"{}", &header, &[key()], Some(300), now).unwrap_err();
        assert_eq!(bad.code(), "signature_mismatch");
        let header = sign_stripe(b"{}", &key(), 1_700_000_000);
        let bad = parse_stripe_event(b"{}", &header, &[key()], Some(300), now).unwrap_err();
        assert_eq!(bad.code(), "invalid_payload");
    }

    proptest! {
        #[test]
        fn strings_round_trip(id in "[ -~é\u{1F600}]{0,40}", amount in any::<i64>()) {
            let json = serde_json::json!({"id": id, "type": "t", "created": 5,
                "data": {"object": {"amount": amount, "metadata": {id.clone(): id.clone()}}}}).to_string();
            let ev = parse_event(&json).unwrap();
            prop_assert_eq!(ev.id.as_str(), id.as_str());
            prop_assert_eq!(ev.amount, Some(amount));
            prop_assert_eq!(ev.metadata.0[0].1.as_str(), id.as_str());
        }

        #[test]
        fn any_text_is_handled_without_panic(text in ".{0,200}") {
            let _ = parse_event(&text);
        }
    }
}
