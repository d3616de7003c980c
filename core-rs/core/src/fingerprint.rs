//! Canonical request fingerprints for idempotency keys (SPEC 2.2).
//!
//! `fingerprint(method, path, body)` is the lower-case hex SHA-256 of
//! - a version tag,
//! - the method, ASCII upper-cased, and the path as given (each length-prefixed,
//!   so no choice of bytes can shift one field into the next),
//! - the body: when it is a JSON document (as `serde_json` accepts it), its
//!   canonical form; otherwise the raw bytes (a tag tells the two apart).
//!
//! Canonical JSON: no whitespace, object keys sorted recursively by code point
//! (stable, so duplicate keys keep their order), strings re-escaped the one
//! way `serde_json` writes them (`"\u0061"` and `"a"` are the same string), and
//! numbers kept exactly as written: `1`, `1.0` and `1e0` differ, and integers
//! too large for any machine type keep every digit (no two amounts collide).
//! A body `serde_json` rejects (invalid UTF-8, nesting deeper than 128, a
//! number overflowing `f64` such as `1e400`, trailing data) is hashed raw.
use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use sha2::{Digest, Sha256};

const VERSION: &[u8] = b"payedge-fingerprint-v1\n";

/// The canonical hash of a request: 64 lower-case hex digits.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(VERSION);
    framed(&mut hasher, method.to_ascii_uppercase().as_bytes());
    framed(&mut hasher, path.as_bytes());
    match canonical_json(body) {
        Some(canonical) => {
            hasher.update(b"J");
            hasher.update(&canonical);
        }
        None => {
            hasher.update(b"R");
            hasher.update(body);
        }
    }
    hex::encode(hasher.finalize())
}

fn framed(hasher: &mut Sha256, field: &[u8]) {
    hasher.update((field.len() as u64).to_be_bytes());
    hasher.update(field);
}

/// The canonical form of `body` if it is one JSON document, else `None`.
pub fn canonical_json(body: &[u8]) -> Option<Vec<u8>> {
    let mut tree: Canon<'_> = serde_json::from_slice(body).ok()?;
    // serde only hands us numbers as values: take their text from the body,
    // where they appear in the same (document) order as in the tree.
    let mut numbers = number_texts(body);
    tree.fill_numbers(&mut numbers)?;
    if numbers.next().is_some() {
        return None;
    }
    let mut out = Vec::with_capacity(body.len());
    tree.write(&mut out)?;
    Some(out)
}

/// A parsed JSON value, objects in document order until written.
enum Canon<'a> {
    Null,
    Bool(bool),
    /// The number's text; empty until [`Canon::fill_numbers`].
    Num(&'a str),
    Str(Cow<'a, str>),
    Arr(Vec<Canon<'a>>),
    Obj(Vec<(Cow<'a, str>, Canon<'a>)>),
}

impl<'a> Canon<'a> {
    fn fill_numbers(&mut self, texts: &mut impl Iterator<Item = &'a str>) -> Option<()> {
        match self {
            Canon::Num(text) => *text = texts.next()?,
            Canon::Arr(items) => {
                for item in items {
                    item.fill_numbers(texts)?;
                }
            }
            Canon::Obj(entries) => {
                for (_, value) in entries {
                    value.fill_numbers(texts)?;
                }
            }
            Canon::Null | Canon::Bool(_) | Canon::Str(_) => {}
        }
        Some(())
    }

    fn write(&mut self, out: &mut Vec<u8>) -> Option<()> {
        match self {
            Canon::Null => out.extend_from_slice(b"null"),
            Canon::Bool(true) => out.extend_from_slice(b"true"),
            Canon::Bool(false) => out.extend_from_slice(b"false"),
            Canon::Num(text) => out.extend_from_slice(text.as_bytes()),
            Canon::Str(text) => serde_json::to_writer(&mut *out, text.as_ref()).ok()?,
            Canon::Arr(items) => {
                out.push(b'[');
                for (i, item) in items.iter_mut().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write(out)?;
                }
                out.push(b']');
            }
            Canon::Obj(entries) => {
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                out.push(b'{');
                for (i, (key, value)) in entries.iter_mut().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    serde_json::to_writer(&mut *out, key.as_ref()).ok()?;
                    out.push(b':');
                    value.write(out)?;
                }
                out.push(b'}');
            }
        }
        Some(())
    }
}

/// The text of every number token of a valid JSON document, in order.
fn number_texts(body: &[u8]) -> impl Iterator<Item = &str> {
    let mut in_string = false;
    let mut escaped = false;
    let mut start: Option<usize> = None;
    let mut spans = Vec::new();
    for (i, &byte) in body.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        if let Some(s) = start {
            if matches!(byte, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                continue;
            }
            spans.push((s, i));
            start = None;
        }
        match byte {
            b'"' => in_string = true,
            b'-' | b'0'..=b'9' => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, body.len()));
    }
    spans
        .into_iter()
        .filter_map(move |(s, e)| body.get(s..e).and_then(|t| std::str::from_utf8(t).ok()))
}

struct CanonVisitor;

impl<'de> Visitor<'de> for CanonVisitor {
    type Value = Canon<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Canon::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Canon::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Canon::Num(""))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Canon::Num(""))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Canon::Num(""))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Canon::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Canon::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Canon::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Canon::Arr(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        while let Some((Key(key), value)) = map.next_entry()? {
            entries.push((key, value));
        }
        Ok(Canon::Obj(entries))
    }
}

impl<'de> Deserialize<'de> for Canon<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CanonVisitor)
    }
}

/// An object key, borrowed from the body when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn canon(s: &str) -> Option<String> {
        canonical_json(s.as_bytes()).map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn canonical_form() {
        assert_eq!(
            canon(
                " { \"b\" : [1, 2.50, -0, 1E3, {\"z\":null,\"a\":true}], \"a\": \"x\\u0041\\n\" } "
            )
            .unwrap(),
            r#"{"a":"xA\n","b":[1,2.50,-0,1E3,{"a":true,"z":null}]}"#
        );
        assert_eq!(canon("5").unwrap(), "5");
        assert_eq!(canon("\"\\u00e9\"").unwrap(), "\"é\"");
        assert_eq!(canon("[]").unwrap(), "[]");
        assert_eq!(canon("{}").unwrap(), "{}");
        // duplicate keys are kept, in their order
        assert_eq!(
            canon(r#"{"a":2,"b":0,"a":1}"#).unwrap(),
            r#"{"a":2,"a":1,"b":0}"#
        );
        // numbers keep every digit
        assert_eq!(
            canon("[123456789012345678901234567890, 0.1000000000000000000001]").unwrap(),
            "[123456789012345678901234567890,0.1000000000000000000001]"
        );
        // strings that look like numbers, and numbers next to strings
        assert_eq!(
            canon(r#"{"k-1":"-1.5e3","n":-1.5e3,"s":"\"7\\"}"#).unwrap(),
            r#"{"k-1":"-1.5e3","n":-1.5e3,"s":"\"7\\"}"#
        );
    }

    #[test]
    fn not_json_is_none() {
        for body in [
            "",
            "{",
            "{\"a\":1} x",
            "nul",
            "01",
            "[1,]",
            "1e400",
            "\u{feff}{}",
        ] {
            assert!(canon(body).is_none(), "{body:?}");
        }
        assert!(canonical_json(b"\"\xff\"").is_none());
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(canon(&deep).is_none());
    }

    #[test]
    fn fingerprint_rules() {
        let a = fingerprint(
            "post",
            "/v1/payments",
            br#"{"amount": 100, "currency": "eur"}"#,
        );
        let b = fingerprint(
            "POST",
            "/v1/payments",
            b"{\n  \"currency\":\"eur\",\n  \"amount\":100\n}",
        );
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(
            a,
            fingerprint(
                "POST",
                "/v1/payments",
                br#"{"amount": 101, "currency": "eur"}"#
            )
        );
        assert_ne!(
            a,
            fingerprint(
                "POST",
                "/v1/payments",
                br#"{"amount": 100.0, "currency": "eur"}"#
            )
        );
        assert_ne!(
            a,
            fingerprint(
                "PUT",
                "/v1/payments",
                br#"{"amount": 100, "currency": "eur"}"#
            )
        );
        assert_ne!(
            a,
            fingerprint(
                "POST",
                "/v1/payments/",
                br#"{"amount": 100, "currency": "eur"}"#
            )
        );
        // raw bodies are hashed as they are; bytes cannot move between fields
        type Request<'a> = (&'a str, &'a str, &'a [u8]);
        let differ: [(Request, Request); 4] = [
            (("POST", "/x", b"a=1&b=2"), ("POST", "/x", b"b=2&a=1")),
            (("POST", "/x", b" {"), ("POST", "/x", b"{")),
            (("POST", "/ab", b""), ("POST/", "ab", b"")),
            (("POST", "/x", b""), ("POST", "/x", b"\"\"")),
        ];
        for ((m1, p1, b1), (m2, p2, b2)) in differ {
            assert_ne!(fingerprint(m1, p1, b1), fingerprint(m2, p2, b2));
        }
        assert_eq!(
            fingerprint("POST", "/x", b"a=1&b=2"),
            fingerprint("POST", "/x", b"a=1&b=2")
        );
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            (-1e6f64..1e6).prop_map(serde_json::Value::from),
            "[a-z\"\\\\é\u{1F600}\n ]{0,6}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::btree_map("[a-e\"]{0,3}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Re-serialise with keys in a shuffled order and arbitrary whitespace.
    fn scramble(value: &serde_json::Value, seed: &mut u64, out: &mut String) {
        let ws = |out: &mut String, seed: &mut u64| {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            out.push_str([" ", "", "\n\t", "  ", ""][(*seed >> 60) as usize % 5]);
        };
        match value {
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    ws(out, seed);
                    scramble(item, seed, out);
                    ws(out, seed);
                }
                out.push(']');
            }
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                let n = entries.len();
                if n > 1 {
                    entries.rotate_left((*seed as usize) % n);
                    entries.reverse();
                }
                out.push('{');
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    ws(out, seed);
                    out.push_str(&serde_json::to_string(k).unwrap());
                    ws(out, seed);
                    out.push(':');
                    scramble(v, seed, out);
                }
                ws(out, seed);
                out.push('}');
            }
            other => out.push_str(&serde_json::to_string(other).unwrap()),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn key_order_and_whitespace_do_not_matter(value in json_value(), seed in any::<u64>()) {
            let compact = serde_json::to_string(&value).unwrap();
            let mut scrambled = String::new();
            let mut s = seed;
            scramble(&value, &mut s, &mut scrambled);
            let c1 = canon(&compact).unwrap();
            prop_assert_eq!(&c1, &canon(&scrambled).unwrap());
            // canonical output is the same JSON value, and canonicalising is idempotent
            // (compared through serde_json's own parse: its float parsing is not bit-exact)
            prop_assert_eq!(
                serde_json::from_str::<serde_json::Value>(&c1).unwrap(),
                serde_json::from_str::<serde_json::Value>(&compact).unwrap()
            );
            prop_assert_eq!(canon(&c1).unwrap(), c1.clone());
            prop_assert_eq!(
                fingerprint("post", "/p", compact.as_bytes()),
                fingerprint("POST", "/p", scrambled.as_bytes())
            );
        }

        #[test]
        fn different_values_differ(a in json_value(), b in json_value()) {
            prop_assume!(a != b);
            let (ja, jb) = (serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
            prop_assert_ne!(fingerprint("POST", "/p", ja.as_bytes()), fingerprint("POST", "/p", jb.as_bytes()));
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..64)) {
            let fp = fingerprint("POST", "/p", &body);
            prop_assert_eq!(fp.len(), 64);
        }
    }
}
