//! Reading a few fields out of JSON without trusting their types.
//!
//! Every value payedge looks at is first taken as a borrowed
//! [`RawValue`] (serde_json skips it without interpreting it: no number is
//! converted, so `1e400` or a 40-digit integer cannot fail the document, and
//! nesting is skipped iteratively, so depth cannot overflow the stack), then
//! read as the type payedge expects, or reported as absent (missing or `null`)
//! or [`Read::Wrong`]. Only the few objects on the path to a field
//! (`data`, `data.object`, `metadata`) are parsed as maps, one level each.
//!
//! Readings follow Python's `json.loads` (what stripe-python uses): an
//! integer is a number token without fraction or exponent (`2000`, not
//! `2000.0` or `2e3`), of a key given twice the last value counts. Two limits
//! of payedge's own: integers must fit 64 bits, and a string holding an
//! escaped lone surrogate (`"\ud800"`), which has no UTF-8 form, is unreadable.
use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::Text;

/// A field as read: absent (missing or `null`), a value, or of the wrong type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Read<T> {
    #[default]
    Absent,
    Value(T),
    Wrong,
}

impl<T> Read<T> {
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Read<U> {
        match self {
            Read::Absent => Read::Absent,
            Read::Value(value) => Read::Value(f(value)),
            Read::Wrong => Read::Wrong,
        }
    }
}

/// The JSON type of a raw value, from its first byte (serde_json hands raw
/// values over without surrounding whitespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

fn kind(raw: &RawValue) -> Kind {
    match raw.get().as_bytes().first() {
        Some(b'n') => Kind::Null,
        Some(b't' | b'f') => Kind::Bool,
        Some(b'"') => Kind::String,
        Some(b'[') => Kind::Array,
        Some(b'{') => Kind::Object,
        _ => Kind::Number,
    }
}

/// `raw` read with `read` when it has kind `want`: absent for a missing
/// field or `null`, wrong for any other kind or when `read` fails.
fn read_as<'a, T>(
    raw: Option<&'a RawValue>,
    want: Kind,
    read: impl FnOnce(&'a str) -> Option<T>,
) -> Read<T> {
    match raw {
        None => Read::Absent,
        Some(raw) => match kind(raw) {
            Kind::Null => Read::Absent,
            k if k == want => read(raw.get()).map_or(Read::Wrong, Read::Value),
            _ => Read::Wrong,
        },
    }
}

/// A string (borrowed from the payload when it has no escape).
pub(crate) fn text(raw: Option<&RawValue>) -> Read<Text<'_>> {
    read_as(raw, Kind::String, |s| {
        serde_json::from_str::<Text<'_>>(s).ok()
    })
}

/// An integer token that fits `i64`.
pub(crate) fn int(raw: Option<&RawValue>) -> Read<i64> {
    read_as(raw, Kind::Number, |s| {
        let integer = !s.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'));
        integer.then(|| s.parse::<i64>().ok()).flatten()
    })
}

/// `true` or `false`.
pub(crate) fn boolean(raw: Option<&RawValue>) -> Read<bool> {
    read_as(raw, Kind::Bool, |s| Some(s == "true"))
}

/// The fields `names` of an object (the last of a repeated key), each raw.
pub(crate) fn object<'a, const N: usize>(
    raw: Option<&'a RawValue>,
    names: &'static [&'static str; N],
) -> Read<[Option<&'a RawValue>; N]> {
    read_as(raw, Kind::Object, |s| pick(s, names).ok())
}

/// Every entry of an object, in order (repeated keys included), values raw.
pub(crate) fn entries(raw: Option<&RawValue>) -> Read<Vec<(Key<'_>, &RawValue)>> {
    read_as(raw, Kind::Object, |s| {
        let mut de = serde_json::Deserializer::from_str(s);
        de.deserialize_map(Entries).ok()
    })
}

/// The fields `names` of the JSON object that is the whole of `json`.
pub(crate) fn pick<'a, const N: usize>(
    json: &'a str,
    names: &'static [&'static str; N],
) -> serde_json::Result<[Option<&'a RawValue>; N]> {
    let mut de = serde_json::Deserializer::from_str(json);
    let fields = Pick(names).deserialize(&mut de)?;
    de.end()?;
    Ok(fields)
}

/// An object key, decoded (escapes resolved), borrowed when it had none. Read
/// as bytes so that an unpaired surrogate escape in a key payedge does not
/// read cannot fail the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key<'a>(Cow<'a, [u8]>);

impl<'a> Key<'a> {
    /// The key as text (`None`: it held a lone surrogate).
    pub(crate) fn into_text(self) -> Option<Text<'a>> {
        match self.0 {
            Cow::Borrowed(b) => std::str::from_utf8(b).ok().map(Text::borrowed),
            Cow::Owned(b) => String::from_utf8(b).ok().map(Text::owned),
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn is(&self, name: &str) -> bool {
        *self.0 == *name.as_bytes()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_vec())))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v.as_bytes())))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.as_bytes().to_vec())))
            }
        }
        deserializer.deserialize_bytes(KeyVisitor)
    }
}

/// Picks the fields `names` of an object; any other value is an error.
struct Pick<const N: usize>(&'static [&'static str; N]);

impl<'de, const N: usize> DeserializeSeed<'de> for Pick<N> {
    type Value = [Option<&'de RawValue>; N];

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for Pick<N> {
    type Value = [Option<&'de RawValue>; N];

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = [None; N];
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let slot = self
                .0
                .iter()
                .position(|name| key.is(name))
                .and_then(|i| fields.get_mut(i));
            match slot {
                Some(slot) => *slot = Some(map.next_value::<&'de RawValue>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(fields)
    }
}

/// Every entry of an object.
pub(crate) struct Entries;

impl<'de> Visitor<'de> for Entries {
    type Value = Vec<(Key<'de>, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(entry) = map.next_entry::<Key<'de>, &'de RawValue>()? {
            out.push(entry);
        }
        Ok(out)
    }
}
