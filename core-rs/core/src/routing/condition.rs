//! One `when` condition, `{field, op, value}`: validated and compiled into a
//! test, and its truth on a payment (SPEC 5, binding rule semantics).
//!
//! - `lt`/`le`/`gt`/`ge`/`between` compare `amount` only (integers, minor units);
//!   `between` is `[lo, hi]`, inclusive at both ends.
//! - `eq`/`ne`/`in`/`not_in` apply to every field; text compares exactly (no case
//!   folding, no trimming); lists are non-empty.
//! - A missing text field (None, or an absent metadata key) makes a condition
//!   false, except `ne` and `not_in`, which are true. `amount` is never missing.
use super::rules::{err, Members};
use super::Payment;
use crate::error::Result;
use crate::tariff::json::{Node, Path};

/// A text field of the payment; metadata keys by their index in the router's key table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextField {
    Currency,
    Country,
    PaymentMethodType,
    Metadata(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AmountTest {
    Eq(i64),
    Ne(i64),
    /// Sorted and deduplicated, for binary search.
    In(Box<[i64]>),
    NotIn(Box<[i64]>),
    Lt(i64),
    Le(i64),
    Gt(i64),
    Ge(i64),
    Between(i64, i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TextTest {
    Eq(Box<str>),
    Ne(Box<str>),
    /// Sorted and deduplicated, for binary search.
    In(Box<[Box<str>]>),
    NotIn(Box<[Box<str>]>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Condition {
    Amount(AmountTest),
    Text(TextField, TextTest),
}

impl Condition {
    /// Whether the condition holds for `p`.
    #[inline]
    pub(crate) fn holds(&self, p: &Payment<'_>) -> bool {
        match self {
            Condition::Amount(test) => {
                let a = p.amount;
                match test {
                    AmountTest::Eq(v) => a == *v,
                    AmountTest::Ne(v) => a != *v,
                    AmountTest::In(vs) => vs.binary_search(&a).is_ok(),
                    AmountTest::NotIn(vs) => vs.binary_search(&a).is_err(),
                    AmountTest::Lt(v) => a < *v,
                    AmountTest::Le(v) => a <= *v,
                    AmountTest::Gt(v) => a > *v,
                    AmountTest::Ge(v) => a >= *v,
                    AmountTest::Between(lo, hi) => *lo <= a && a <= *hi,
                }
            }
            Condition::Text(field, test) => {
                let value = match field {
                    TextField::Currency => Some(p.currency),
                    TextField::Country => p.country,
                    TextField::PaymentMethodType => p.payment_method_type,
                    TextField::Metadata(i) => p.metadata.get(*i).copied().flatten(),
                };
                match (test, value) {
                    (TextTest::Eq(v), Some(x)) => **v == *x,
                    (TextTest::Ne(v), Some(x)) => **v != *x,
                    (TextTest::In(vs), Some(x)) => vs.binary_search_by(|v| (**v).cmp(x)).is_ok(),
                    (TextTest::NotIn(vs), Some(x)) => {
                        vs.binary_search_by(|v| (**v).cmp(x)).is_err()
                    }
                    (TextTest::Eq(_) | TextTest::In(_), None) => false,
                    (TextTest::Ne(_) | TextTest::NotIn(_), None) => true,
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    In,
    NotIn,
    Lt,
    Le,
    Gt,
    Ge,
    Between,
}

const OPS: [(&str, Op); 9] = [
    ("eq", Op::Eq),
    ("ne", Op::Ne),
    ("in", Op::In),
    ("not_in", Op::NotIn),
    ("lt", Op::Lt),
    ("le", Op::Le),
    ("gt", Op::Gt),
    ("ge", Op::Ge),
    ("between", Op::Between),
];

const CONDITION_FIELDS: [&str; 3] = ["field", "op", "value"];
const FIELDS_HINT: &str =
    "amount, currency, country, payment_method_type or metadata.<key> (a non-empty key)";

enum Field {
    Amount,
    Text(TextField),
}

/// Parse `{field, op, value}` at `path`; metadata keys are interned in `metadata_keys`.
pub(crate) fn parse(
    node: &Node,
    path: Path,
    metadata_keys: &mut Vec<Box<str>>,
) -> Result<Condition> {
    let m = Members::new(node, path, &CONDITION_FIELDS)?;
    let (field_node, field_path) = m.required("field")?;
    let (op_node, op_path) = m.required("op")?;
    let (value, value_path) = m.required("value")?;

    let Node::Str(name) = field_node else {
        return Err(err(
            &field_path,
            format!("must be a string: {FIELDS_HINT}; got {}", field_node.kind()),
        ));
    };
    let field = match name.as_str() {
        "amount" => Field::Amount,
        "currency" => Field::Text(TextField::Currency),
        "country" => Field::Text(TextField::Country),
        "payment_method_type" => Field::Text(TextField::PaymentMethodType),
        other => match other.strip_prefix("metadata.") {
            Some(key) if !key.is_empty() => {
                let i = match metadata_keys.iter().position(|k| **k == *key) {
                    Some(i) => i,
                    None => {
                        metadata_keys.push(key.into());
                        metadata_keys.len() - 1
                    }
                };
                Field::Text(TextField::Metadata(i))
            }
            _ => {
                return Err(err(
                    &field_path,
                    format!("unknown field {}: expected {FIELDS_HINT}", shown(other)),
                ))
            }
        },
    };

    let Node::Str(op_name) = op_node else {
        return Err(err(
            &op_path,
            format!("must be a string naming an op, got {}", op_node.kind()),
        ));
    };
    let Some(op) = OPS.iter().find(|(n, _)| n == op_name).map(|(_, op)| *op) else {
        return Err(err(
            &op_path,
            format!(
                "unknown op {}: expected eq, ne, in, not_in, lt, le, gt, ge or between",
                shown(op_name)
            ),
        ));
    };

    match field {
        Field::Amount => Ok(Condition::Amount(amount_test(op, value, &value_path)?)),
        Field::Text(text) => {
            let test = match op {
                Op::Eq => TextTest::Eq(text_value(value, &value_path)?.into()),
                Op::Ne => TextTest::Ne(text_value(value, &value_path)?.into()),
                Op::In => TextTest::In(text_list(value, &value_path)?),
                Op::NotIn => TextTest::NotIn(text_list(value, &value_path)?),
                Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::Between => {
                    return Err(err(
                        &op_path,
                        format!(
                            "{op_name} compares amounts only; {name} takes eq, ne, in or not_in"
                        ),
                    ))
                }
            };
            Ok(Condition::Text(text, test))
        }
    }
}

/// A user-supplied name in a message: JSON-quoted and cut to 64 characters.
fn shown(s: &str) -> String {
    let cut: String = s.chars().take(64).collect();
    serde_json::to_string(&cut).unwrap_or_else(|_| "\"?\"".to_owned())
}

fn amount_test(op: Op, value: &Node, path: &Path) -> Result<AmountTest> {
    Ok(match op {
        Op::Eq => AmountTest::Eq(amount_value(value, path)?),
        Op::Ne => AmountTest::Ne(amount_value(value, path)?),
        Op::In => AmountTest::In(amount_list(value, path)?),
        Op::NotIn => AmountTest::NotIn(amount_list(value, path)?),
        Op::Lt => AmountTest::Lt(amount_value(value, path)?),
        Op::Le => AmountTest::Le(amount_value(value, path)?),
        Op::Gt => AmountTest::Gt(amount_value(value, path)?),
        Op::Ge => AmountTest::Ge(amount_value(value, path)?),
        Op::Between => {
            let items = match value {
                Node::Array(items) if items.len() == 2 => items,
                other => {
                    return Err(err(
                        path,
                        format!(
                            "between takes [lo, hi], two integer amounts; got {}",
                            describe(other)
                        ),
                    ))
                }
            };
            let lo = amount_value(&items[0], &path.index(0))?;
            let hi = amount_value(&items[1], &path.index(1))?;
            if lo > hi {
                return Err(err(
                    path,
                    format!("between [lo, hi] needs lo <= hi, got [{lo}, {hi}] (matches nothing)"),
                ));
            }
            AmountTest::Between(lo, hi)
        }
    })
}

fn describe(node: &Node) -> String {
    match node {
        Node::Array(items) => format!("an array of {} items", items.len()),
        other => other.kind().to_owned(),
    }
}

/// A non-negative integer amount in minor units.
fn amount_value(node: &Node, path: &Path) -> Result<i64> {
    match node {
        Node::Int(v) => i64::try_from(*v).ok().filter(|v| *v >= 0).ok_or_else(|| {
            err(
                path,
                format!(
                    "must be a non-negative integer amount in minor units (0..={}), got {v}",
                    i64::MAX
                ),
            )
        }),
        Node::Float(f) => Err(err(
            path,
            format!("must be an integer amount in minor units written as a plain integer, got {f}"),
        )),
        other => Err(err(
            path,
            format!(
                "must be an integer amount in minor units, got {}",
                other.kind()
            ),
        )),
    }
}

fn text_value<'a>(node: &'a Node, path: &Path) -> Result<&'a str> {
    match node {
        Node::Str(s) => Ok(s),
        other => Err(err(
            path,
            format!("must be a string (compared exactly), got {}", other.kind()),
        )),
    }
}

fn list<'a>(node: &'a Node, path: &Path) -> Result<&'a [Node]> {
    match node {
        Node::Array(items) if !items.is_empty() => Ok(items),
        Node::Array(_) => Err(err(path, "must be a non-empty array")),
        other => Err(err(
            path,
            format!("must be a non-empty array, got {}", other.kind()),
        )),
    }
}

fn amount_list(node: &Node, path: &Path) -> Result<Box<[i64]>> {
    let items = list(node, path)?;
    let mut out = items
        .iter()
        .enumerate()
        .map(|(i, item)| amount_value(item, &path.index(i)))
        .collect::<Result<Vec<_>>>()?;
    out.sort_unstable();
    out.dedup();
    Ok(out.into())
}

fn text_list(node: &Node, path: &Path) -> Result<Box<[Box<str>]>> {
    let items = list(node, path)?;
    let mut out = items
        .iter()
        .enumerate()
        .map(|(i, item)| text_value(item, &path.index(i)).map(Box::from))
        .collect::<Result<Vec<Box<str>>>>()?;
    out.sort_unstable();
    out.dedup();
    Ok(out.into())
}
