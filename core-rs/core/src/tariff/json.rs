//! A JSON tree that keeps every object member in order, duplicates included,
//! so that validation can name the exact JSON path of a duplicate key (serde_json's
//! `Value` silently keeps the last one). Parsing is serde_json's, with its
//! recursion limit: arbitrary input cannot overflow the stack.
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    /// Any integer JSON number serde_json could read exactly.
    Int(i128),
    /// A number with a fraction or exponent, or an integer too large for 64 bits.
    Float(f64),
    Str(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    /// What a human calls this kind of value, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Int(_) => "an integer",
            Node::Float(_) => "a non-integer number",
            Node::Str(_) => "a string",
            Node::Array(_) => "an array",
            Node::Object(_) => "an object",
        }
    }
}

/// A JSON number that is not an integer, shown as the user wrote it in kind: `500000.0`
/// keeps its point (`Display` would print `500000`, which reads as the integer it is not).
pub(crate) fn float_text(f: f64) -> String {
    format!("{f:?}")
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(i128::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(i128::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut members = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Node>()? {
            members.push((key, value));
        }
        Ok(Node::Object(members))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

/// Parse one JSON document (trailing garbage is an error).
pub(crate) fn parse(bytes: &[u8]) -> Result<Node, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// `$.a.b[2]`-style paths; member names that are not plain identifiers are quoted.
#[derive(Debug, Clone)]
pub(crate) struct Path(String);

impl Path {
    pub(crate) fn root() -> Path {
        Path("$".to_owned())
    }

    pub(crate) fn key(&self, name: &str) -> Path {
        let plain = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if plain {
            Path(format!("{}.{name}", self.0))
        } else {
            // JSON string syntax: unambiguous and copy-pasteable.
            let quoted = serde_json::to_string(name).unwrap_or_else(|_| "\"?\"".to_owned());
            Path(format!("{}[{quoted}]", self.0))
        }
    }

    pub(crate) fn index(&self, i: usize) -> Path {
        Path(format!("{}[{i}]", self.0))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_duplicates_and_order() {
        let node = parse(br#"{"b": 1, "a": [true, null, 1.5, "x"], "b": -2}"#).unwrap();
        let Node::Object(members) = node else {
            panic!("not an object")
        };
        let keys: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "b"]);
        assert_eq!(members[2].1, Node::Int(-2));
        assert_eq!(
            members[1].1,
            Node::Array(vec![
                Node::Bool(true),
                Node::Null,
                Node::Float(1.5),
                Node::Str("x".into())
            ])
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn paths() {
        let root = Path::root();
        assert_eq!(
            root.key("bands").index(1).key("up_to_minute").as_str(),
            "$.bands[1].up_to_minute"
        );
        assert_eq!(
            root.key("subscriptions").key("my plan").as_str(),
            "$.subscriptions[\"my plan\"]"
        );
        assert_eq!(root.key("9lives").as_str(), "$[\"9lives\"]");
    }
}
