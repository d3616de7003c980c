//! The structure of an event down to the fields payedge reads, each still raw:
//! `Parts` (the event) -> `data` -> `data.object` -> `metadata`.
//!
//! Two readers build it and agree wherever both succeed (a property test
//! holds them to it):
//! - [`one_pass`]: one scan of the payload; the objects on the path are parsed
//!   in place. serde_json interprets a value found where an object is
//!   expected, so one pass fails on the few values it cannot interpret there:
//!   a number beyond `f64` (`"data": 1e400`) or a string with an escaped lone
//!   surrogate;
//! - [`robust`]: takes every value on the path as a [`RawValue`] first (never
//!   interpreted) and parses each object on the path from its raw text:
//!   fails only on what is not a JSON object, at the cost of scanning the path
//!   once per level. Used when one pass fails.
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::json::{self, Entries, Key, Read};

/// The event's top-level fields.
#[derive(Debug, Default)]
pub(crate) struct Parts<'a> {
    pub(crate) id: Option<&'a RawValue>,
    pub(crate) event_type: Option<&'a RawValue>,
    pub(crate) created: Option<&'a RawValue>,
    pub(crate) livemode: Option<&'a RawValue>,
    pub(crate) object: Read<Read<ObjectParts<'a>>>,
}

/// `data.object`'s fields: `id`, `object`, `amount`, `amount_received`,
/// `currency`, `status` ([`OBJECT_FIELDS`] order), and `metadata`'s entries.
#[derive(Debug, Default)]
pub(crate) struct ObjectParts<'a> {
    pub(crate) fields: [Option<&'a RawValue>; 6],
    pub(crate) metadata: Read<Vec<(Key<'a>, &'a RawValue)>>,
}

const EVENT_FIELDS: [&str; 5] = ["id", "type", "created", "livemode", "data"];
const DATA_FIELDS: [&str; 1] = ["object"];
pub(crate) const OBJECT_FIELDS: [&str; 6] = [
    "id",
    "object",
    "amount",
    "amount_received",
    "currency",
    "status",
];
const OBJECT_AND_METADATA: [&str; 7] = [
    "id",
    "object",
    "amount",
    "amount_received",
    "currency",
    "status",
    "metadata",
];

/// [`Parts`] in one scan of `json`.
pub(crate) fn one_pass(json: &str) -> serde_json::Result<Parts<'_>> {
    let mut de = serde_json::Deserializer::from_str(json);
    let parts = de.deserialize_map(AsVisitor(EventReader))?;
    de.end()?;
    Ok(parts)
}

/// [`Parts`], each object on the path parsed from its raw text.
pub(crate) fn robust(json: &str) -> serde_json::Result<Parts<'_>> {
    let [id, event_type, created, livemode, data] = json::pick(json, &EVENT_FIELDS)?;
    let object = json::object(data, &DATA_FIELDS).map(|[object]| {
        json::object(object, &OBJECT_AND_METADATA).map(
            |[id, obj, amount, received, currency, status, metadata]| ObjectParts {
                fields: [id, obj, amount, received, currency, status],
                metadata: json::entries(metadata),
            },
        )
    });
    Ok(Parts {
        id,
        event_type,
        created,
        livemode,
        object,
    })
}

/// Reads the entries of one object (the visitor's `visit_map`, reusable).
trait ObjectReader<'de> {
    type Value;
    fn read<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error>;
}

struct EventReader;

impl<'de> ObjectReader<'de> for EventReader {
    type Value = Parts<'de>;

    fn read<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut parts = Parts::default();
        // of a repeated key the last value counts
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_bytes() {
                b"id" => parts.id = Some(map.next_value()?),
                b"type" => parts.event_type = Some(map.next_value()?),
                b"created" => parts.created = Some(map.next_value()?),
                b"livemode" => parts.livemode = Some(map.next_value()?),
                b"data" => parts.object = map.next_value_seed(Probe(DataReader))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(parts)
    }
}

struct DataReader;

impl<'de> ObjectReader<'de> for DataReader {
    type Value = Read<ObjectParts<'de>>;

    fn read<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = Read::Absent;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if key.as_bytes() == b"object" {
                object = map.next_value_seed(Probe(ObjectPartsReader))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(object)
    }
}

struct ObjectPartsReader;

impl<'de> ObjectReader<'de> for ObjectPartsReader {
    type Value = ObjectParts<'de>;

    fn read<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut parts = ObjectParts::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let slot = OBJECT_FIELDS
                .iter()
                .position(|name| key.as_bytes() == name.as_bytes())
                .and_then(|i| parts.fields.get_mut(i));
            if let Some(slot) = slot {
                *slot = Some(map.next_value()?);
            } else if key.as_bytes() == b"metadata" {
                parts.metadata = map.next_value_seed(Probe(EntriesReader))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(parts)
    }
}

struct EntriesReader;

impl<'de> ObjectReader<'de> for EntriesReader {
    type Value = Vec<(Key<'de>, &'de RawValue)>;

    fn read<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Entries.visit_map(map)
    }
}

/// A value where an object is expected: the object read by `R`, absent for
/// `null`, wrong for anything else (skipped unread when it is an array).
struct Probe<R>(R);

impl<'de, R: ObjectReader<'de>> DeserializeSeed<'de> for Probe<R> {
    type Value = Read<R::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(ProbeVisitor(self.0))
    }
}

struct ProbeVisitor<R>(R);

macro_rules! wrong {
    ($($method:ident: $ty:ty),*) => {
        $(fn $method<E: serde::de::Error>(self, _: $ty) -> Result<Self::Value, E> {
            Ok(Read::Wrong)
        })*
    };
}

impl<'de, R: ObjectReader<'de>> Visitor<'de> for ProbeVisitor<R> {
    type Value = Read<R::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.read(map).map(Read::Value)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Read::Absent)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Read::Wrong)
    }

    wrong!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str, visit_bytes: &[u8]);
}

/// Objects parsed as a plain map, for [`AsVisitor`].
struct AsVisitor<R>(R);

impl<'de, R: ObjectReader<'de>> Visitor<'de> for AsVisitor<R> {
    type Value = R::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.read(map)
    }
}
