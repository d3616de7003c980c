//! One `when` condition, `{field, op, value}`: validated and compiled into a
//! test, and its truth on a payment (SPEC 5, binding rule semantics).
//!
//! - `lt`/`le`/`gt`/`ge`/`between` compare `amount` only (integers, minor units);
//!   `between` is `[lo, hi]`, inclusive at both ends.
//! - `eq`/`ne`/`in`/`not_in` apply to every field; text compares exactly (no case
//!   folding, no trimming); lists are non-empty.
//! - A missing text field (None, or an absent metadata key) makes a condition
//!   false, except `ne` and `not_in`, which are true. `amount` is never missing.
//!
//! Every text value the rules compare with is interned as a [`Sym`] when the rules
//! compile; a decision looks each payment field up once (lazily, on the first
//! condition that reads it) and then compares integers, not strings.
use std::cell::Cell;
use std::collections::HashMap;

use super::rules::{err, Members};
use super::Payment;
use crate::error::Result;
use crate::tariff::json::{float_text, Node, Path};

/// An interned text value of the rules.
pub(crate) type Sym = u32;
/// The payment has no value for the field.
const MISSING: Sym = u32::MAX;
/// The payment's value is none of the rules' values.
const UNKNOWN: Sym = u32::MAX - 1;
/// Not looked up yet (the lazy cache's empty slot).
const UNSET: Sym = u32::MAX - 2;
/// Metadata keys whose looked-up symbol is cached per decision.
const CACHED_KEYS: usize = 8;

/// The text values the rules compare with, each with its symbol.
#[derive(Debug, Clone, Default)]
pub(crate) struct Symbols {
    map: HashMap<Box<str>, Sym, ahash::RandomState>,
}

impl Symbols {
    fn intern(&mut self, text: &str) -> Sym {
        let next = Sym::try_from(self.map.len()).unwrap_or(UNSET - 1);
        *self.map.entry(text.into()).or_insert(next)
    }

    fn get(&self, text: Option<&str>) -> Sym {
        match text {
            None => MISSING,
            Some(t) => self.map.get(t).copied().unwrap_or(UNKNOWN),
        }
    }
}

/// One payment's text fields as symbols, looked up on first use.
pub(crate) struct Fields<'a> {
    p: &'a Payment<'a>,
    symbols: &'a Symbols,
    fixed: [Cell<Sym>; 3],
    metadata: [Cell<Sym>; CACHED_KEYS],
}

impl<'a> Fields<'a> {
    pub(crate) fn new(p: &'a Payment<'a>, symbols: &'a Symbols) -> Fields<'a> {
        Fields {
            p,
            symbols,
            fixed: [const { Cell::new(UNSET) }; 3],
            metadata: [const { Cell::new(UNSET) }; CACHED_KEYS],
        }
    }

    fn cached(&self, slot: Option<&Cell<Sym>>, text: impl FnOnce() -> Option<&'a str>) -> Sym {
        match slot {
            Some(cell) if cell.get() != UNSET => cell.get(),
            Some(cell) => {
                let sym = self.symbols.get(text());
                cell.set(sym);
                sym
            }
            None => self.symbols.get(text()),
        }
    }

    #[inline]
    fn sym(&self, field: TextField) -> Sym {
        let p = self.p;
        match field {
            TextField::Currency => self.cached(Some(&self.fixed[0]), || Some(p.currency)),
            TextField::Country => self.cached(Some(&self.fixed[1]), || p.country),
            TextField::PaymentMethodType => {
                self.cached(Some(&self.fixed[2]), || p.payment_method_type)
            }
            TextField::Metadata(i) => self.cached(self.metadata.get(i), || {
                p.metadata.get(i).copied().flatten()
            }),
        }
    }
}

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
    Eq(Sym),
    Ne(Sym),
    /// Sorted and deduplicated.
    In(Box<[Sym]>),
    NotIn(Box<[Sym]>),
}

/// Whether sorted `set` holds `sym`: a scan for short lists, else a binary search.
#[inline]
fn contains(set: &[Sym], sym: Sym) -> bool {
    if set.len() <= 16 {
        set.contains(&sym)
    } else {
        set.binary_search(&sym).is_ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Condition {
    Amount(AmountTest),
    Text(TextField, TextTest),
}

impl Condition {
    /// Whether the condition holds for the payment behind `f`.
    #[inline]
    pub(crate) fn holds(&self, f: &Fields<'_>) -> bool {
        match self {
            Condition::Amount(test) => {
                let a = f.p.amount;
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
                let x = f.sym(*field);
                if x == MISSING {
                    return matches!(test, TextTest::Ne(_) | TextTest::NotIn(_));
                }
                // UNKNOWN equals no symbol of the rules: `eq`/`in` false, `ne`/`not_in` true.
                match test {
                    TextTest::Eq(v) => x == *v,
                    TextTest::Ne(v) => x != *v,
                    TextTest::In(vs) => contains(vs, x),
                    TextTest::NotIn(vs) => !contains(vs, x),
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

/// Parse `{field, op, value}` at `path`; metadata keys are interned in `metadata_keys`,
/// text values in `symbols`.
pub(crate) fn parse(
    node: &Node,
    path: Path,
    metadata_keys: &mut Vec<Box<str>>,
    symbols: &mut Symbols,
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
                Op::Eq => TextTest::Eq(symbols.intern(text_value(value, &value_path)?)),
                Op::Ne => TextTest::Ne(symbols.intern(text_value(value, &value_path)?)),
                Op::In => TextTest::In(text_list(value, &value_path, symbols)?),
                Op::NotIn => TextTest::NotIn(text_list(value, &value_path, symbols)?),
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
            format!(
                "must be an integer amount in minor units written as a plain integer, got {}",
                float_text(*f)
            ),
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

fn text_list(node: &Node, path: &Path, symbols: &mut Symbols) -> Result<Box<[Sym]>> {
    let items = list(node, path)?;
    let mut out = items
        .iter()
        .enumerate()
        .map(|(i, item)| text_value(item, &path.index(i)).map(|t| symbols.intern(t)))
        .collect::<Result<Vec<Sym>>>()?;
    out.sort_unstable();
    out.dedup();
    Ok(out.into())
}
