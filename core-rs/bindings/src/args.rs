//! The one argument layer: every binding converts its Python arguments here.
//!
//! Arguments are taken as `&Bound<PyAny>` rather than through PyO3's own
//! extraction, so that a wrong type is a payedge exception naming the
//! argument, never a bare `TypeError`. A rejection is always a core
//! [`Error`] (mapped to its Python class once, in `errors.rs`); which one
//! depends on the family the argument belongs to ([`Family`]), so each area
//! keeps the exception class its users already catch:
//!
//! | family | raised as | wrong type | out of range | lone surrogate |
//! |---|---|---|---|---|
//! | signatures (SPEC 2.1) | `SignatureError` | `invalid_type` | `invalid_argument` | the argument's own code |
//! | dedupe, idempotency, queue, locks, money, routing | `InvalidArgumentError` | `invalid_argument` | `invalid_argument` | `invalid_argument` |
//! | tariffs (SPEC 2.3) | `TariffError` | `invalid_tariff` | `invalid_tariff` | `invalid_tariff` |
//!
//! Rules shared by every family: `bool` is never an int, `str`/`bytes` are
//! never a number or a sequence of strings, strings must be valid Unicode
//! (no lone surrogates), and an element of a sequence is named by its index.
use std::borrow::Cow;
use std::sync::Arc;

use payedge_core::error::Param;
use payedge_core::signature::codes;
use payedge_core::Error;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyFloat, PyInt, PyString};

use crate::errors::BindResult;

/// Which exception a rejected argument raises (see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Signature,
    Invalid,
    Tariff,
}

/// A Python argument: its name as in the Python signature and its family.
#[derive(Debug, Clone)]
pub struct Arg {
    name: Param,
    family: Family,
    /// Signature family: the code of a `str` holding lone surrogates.
    text_code: &'static str,
}

impl Arg {
    /// An argument of a signature function (SPEC 2.1).
    pub const fn signature(name: &'static str) -> Self {
        Arg {
            name: Cow::Borrowed(name),
            family: Family::Signature,
            text_code: codes::INVALID_ARGUMENT,
        }
    }

    /// An argument of a dedupe, idempotency, queue, lock or money function.
    pub const fn invalid(name: &'static str) -> Self {
        Arg {
            name: Cow::Borrowed(name),
            family: Family::Invalid,
            text_code: codes::INVALID_ARGUMENT,
        }
    }

    /// An argument of a tariff method.
    pub const fn tariff(name: &'static str) -> Self {
        Arg {
            name: Cow::Borrowed(name),
            family: Family::Tariff,
            text_code: codes::INVALID_ARGUMENT,
        }
    }

    /// Signature family: the code raised when the `str` holds lone surrogates
    /// (`malformed_header` for a header, `invalid_secret` for a secret, ...).
    pub const fn text_code(mut self, code: &'static str) -> Self {
        self.text_code = code;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Element `index` of this (sequence) argument: `secrets[1]`.
    pub fn element(&self, index: usize) -> Arg {
        self.renamed(format!("{}[{index}]", self.name))
    }

    /// Item `key` of this (mapping) argument: `headers['webhook-id']`.
    pub fn item(&self, key: &str) -> Arg {
        self.renamed(format!("{}['{key}']", self.name))
    }

    fn renamed(&self, name: String) -> Arg {
        Arg {
            name: Cow::Owned(name),
            family: self.family,
            text_code: self.text_code,
        }
    }

    /// `err`, about this argument.
    pub fn owns(&self, err: Error) -> Error {
        err.with_param(self.name.clone())
    }

    /// The value has the wrong type; `expected` reads "bytes", "an int", ...
    pub fn wrong_type(&self, value: &Bound<'_, PyAny>, expected: &str) -> Error {
        let got = type_name(value);
        let hint = if value.is_instance_of::<PyFloat>() && expected.starts_with("an int") {
            " (round it: int(x))"
        } else {
            ""
        };
        let name = &self.name;
        match self.family {
            Family::Signature => Error::signature(
                codes::INVALID_TYPE,
                format!("{name} must be {expected}, not {got}{hint}"),
            )
            .with_param(name.clone()),
            Family::Invalid => Error::invalid(
                name.clone(),
                format!("expected {expected}, got {got}{hint}"),
            ),
            Family::Tariff => Error::tariff(
                name.as_ref(),
                format!("must be {expected}, not {got}{hint}"),
            ),
        }
    }

    /// The value has the right type but is outside what the argument takes.
    pub fn out_of_range(&self, why: impl std::fmt::Display) -> Error {
        let name = &self.name;
        match self.family {
            Family::Signature => Error::signature(codes::INVALID_ARGUMENT, format!("{name} {why}"))
                .with_param(name.clone()),
            Family::Invalid => Error::invalid(name.clone(), why.to_string()),
            Family::Tariff => Error::tariff(name.as_ref(), why.to_string()),
        }
    }

    /// An int too large (or small) for the argument.
    fn int_out_of_range(&self, value: &Bound<'_, PyAny>) -> Error {
        match self.family {
            Family::Signature => self.out_of_range("is out of range"),
            _ => self.out_of_range(format!("{value} is out of range")),
        }
    }

    /// A `str` holding lone surrogates: it has no UTF-8 form.
    pub fn bad_text(&self) -> Error {
        let name = &self.name;
        match self.family {
            Family::Signature => Error::signature(
                self.text_code,
                format!("{name} is not valid Unicode text (lone surrogate)"),
            )
            .with_param(name.clone()),
            Family::Invalid => Error::invalid(name.clone(), "not valid Unicode (lone surrogate)"),
            Family::Tariff => Error::tariff(name.as_ref(), "is not valid Unicode (lone surrogate)"),
        }
    }
}

/// The Python type name of `value`, for messages.
pub fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |name| name.to_string())
}

/// `None` when the argument is absent or Python `None`.
pub fn given<'a, 'py>(value: Option<&'a Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
    value.filter(|v| !v.is_none())
}

/// A `str`, borrowed as UTF-8 (no copy).
pub fn str<'a>(value: &'a Bound<'_, PyAny>, arg: &Arg) -> Result<&'a str, Error> {
    let text = value
        .cast::<PyString>()
        .map_err(|_| arg.wrong_type(value, "str"))?;
    text.to_str().map_err(|_| arg.bad_text())
}

/// A `bytes` object, borrowed (no copy).
pub fn bytes<'a>(value: &'a Bound<'_, PyAny>, arg: &Arg) -> Result<&'a [u8], Error> {
    Ok(value
        .cast::<PyBytes>()
        .map_err(|_| arg.wrong_type(value, "bytes"))?
        .as_bytes())
}

/// A payload: a `bytes` object borrowed as is, or a copy of a `bytearray`
/// (whose buffer another thread could resize while the GIL is released).
pub enum Payload<'py> {
    Bytes(Bound<'py, PyBytes>),
    Copied(Vec<u8>),
}

impl<'py> Payload<'py> {
    /// `bytes` (borrowed) or `bytearray` (copied).
    pub fn extract(value: &Bound<'py, PyAny>, arg: &Arg) -> Result<Self, Error> {
        if let Ok(bytes) = value.cast::<PyBytes>() {
            Ok(Self::Bytes(bytes.clone()))
        } else if let Ok(array) = value.cast::<PyByteArray>() {
            Ok(Self::Copied(array.to_vec()))
        } else {
            Err(arg.wrong_type(value, "bytes"))
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        match self {
            Self::Bytes(b) => b.as_bytes(),
            Self::Copied(v) => v,
        }
    }

    /// The payload as a `bytes` object (the caller's own when it gave one).
    pub fn into_bytes(self, py: Python<'py>) -> Bound<'py, PyBytes> {
        match self {
            Self::Bytes(b) => b,
            Self::Copied(v) => PyBytes::new(py, &v),
        }
    }
}

/// A secret used as key material: `str` (its UTF-8), `bytes` or `bytearray`.
pub fn secret_bytes<'a>(value: &'a Bound<'_, PyAny>, arg: &Arg) -> Result<Cow<'a, [u8]>, Error> {
    if let Ok(text) = value.cast::<PyString>() {
        return text
            .to_str()
            .map(|s| Cow::Borrowed(s.as_bytes()))
            .map_err(|_| arg.bad_text());
    }
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(bytes.as_bytes()));
    }
    if let Ok(array) = value.cast::<PyByteArray>() {
        return Ok(Cow::Owned(array.to_vec()));
    }
    Err(arg.wrong_type(value, "str or bytes"))
}

/// An `int` (never a `bool` or a float), as `i128` (ample for every argument).
pub fn int(value: &Bound<'_, PyAny>, arg: &Arg) -> Result<i128, Error> {
    if !value.is_instance_of::<PyInt>() || value.is_instance_of::<PyBool>() {
        return Err(arg.wrong_type(value, "an int"));
    }
    if let Ok(small) = value.extract::<i64>() {
        return Ok(i128::from(small));
    }
    value
        .extract::<i128>()
        .map_err(|_| arg.int_out_of_range(value))
}

/// An `int` that fits `i64`.
pub fn i64(value: &Bound<'_, PyAny>, arg: &Arg) -> Result<i64, Error> {
    let wide = int(value, arg)?;
    i64::try_from(wide).map_err(|_| arg.int_out_of_range(value))
}

/// A non-negative `int` of at most 64 bits.
pub fn u64(value: &Bound<'_, PyAny>, arg: &Arg) -> Result<u64, Error> {
    let wide = int(value, arg)?;
    u64::try_from(wide).map_err(|_| {
        arg.out_of_range(format!(
            "must be a non-negative int of at most 64 bits, not {wide}"
        ))
    })
}

/// A `bool` (only `True` or `False`).
pub fn bool(value: &Bound<'_, PyAny>, arg: &Arg) -> Result<bool, Error> {
    value
        .cast::<PyBool>()
        .map(|b| b.is_true())
        .map_err(|_| arg.wrong_type(value, "a bool"))
}

/// A number of seconds: an `int` or a `float` (or anything with `__float__`,
/// such as a NumPy float), never a `str`, `bytes` or `bool`.
pub fn seconds(value: &Bound<'_, PyAny>, arg: &Arg) -> Result<f64, Error> {
    if value.is_instance_of::<PyString>()
        || value.is_instance_of::<PyBytes>()
        || value.is_instance_of::<PyBool>()
    {
        // float("1.5") would succeed; a string is still the wrong type here.
        return Err(arg.wrong_type(value, "a number"));
    }
    value
        .extract::<f64>()
        .map_err(|_| arg.wrong_type(value, "a number"))
}

/// Iterate a sequence argument (never a `str`, `bytes` or `bytearray`, which
/// would iterate characters or ints).
pub fn iter<'py>(
    value: &Bound<'py, PyAny>,
    arg: &Arg,
    expected: &str,
) -> Result<Bound<'py, pyo3::types::PyIterator>, Error> {
    if value.is_instance_of::<PyString>()
        || value.is_instance_of::<PyBytes>()
        || value.is_instance_of::<PyByteArray>()
    {
        return Err(arg.wrong_type(value, expected));
    }
    value
        .try_iter()
        .map_err(|_| arg.wrong_type(value, expected))
}

/// A sequence of `str`: strong references to every element, so their UTF-8
/// can be borrowed with the GIL released ([`utf8_all`]).
pub fn str_seq<'py>(value: &Bound<'py, PyAny>, arg: &Arg) -> BindResult<Vec<Bound<'py, PyString>>> {
    let items = iter(value, arg, "a sequence of str")?;
    let mut out = Vec::with_capacity(value.len().unwrap_or(0));
    for (index, item) in items.enumerate() {
        match item?.cast_into::<PyString>() {
            Ok(text) => out.push(text),
            Err(err) => {
                return Err(element_wrong_type(arg, index, err.into_inner().as_any(), "str").into())
            }
        }
    }
    Ok(out)
}

/// Element `index` of `arg` has the wrong type. Signature and tariff arguments
/// name the element (`secrets[1]`); the others keep the argument's name and
/// say which element (`keys: element 1 is int, expected str`).
pub fn element_wrong_type(
    arg: &Arg,
    index: usize,
    value: &Bound<'_, PyAny>,
    expected: &str,
) -> Error {
    match arg.family {
        Family::Invalid => arg.out_of_range(format!(
            "element {index} is {}, expected {expected}",
            type_name(value)
        )),
        _ => arg.element(index).wrong_type(value, expected),
    }
}

/// The UTF-8 of each element of a [`str_seq`], in order (borrowed: usable
/// with the GIL released while `texts` is alive).
pub fn utf8_all<'a>(texts: &'a [Bound<'_, PyString>], arg: &Arg) -> Result<Vec<&'a str>, Error> {
    texts
        .iter()
        .enumerate()
        .map(|(index, text)| {
            text.to_str().map_err(|_| match arg.family {
                Family::Invalid => arg.out_of_range(format!(
                    "element {index} is not valid Unicode (lone surrogate)"
                )),
                _ => arg.element(index).bad_text(),
            })
        })
        .collect()
}

/// One key, or several for rotation: no allocation for the common single secret.
pub enum Keys<K> {
    One(Arc<K>),
    Many(Vec<K>),
}

impl<K: Clone> Keys<K> {
    pub fn as_slice(&self) -> &[K] {
        match self {
            Self::One(k) => std::slice::from_ref(&**k),
            Self::Many(v) => v,
        }
    }

    /// `secrets`: a `str` or a non-empty sequence of `str`, each made into a
    /// key by `make` (whose errors are renamed to the secret at fault:
    /// `secrets` or `secrets[i]`).
    pub fn extract(
        value: &Bound<'_, PyAny>,
        arg: &Arg,
        make: impl Fn(&str) -> Result<Arc<K>, Error>,
    ) -> BindResult<Self> {
        let arg = arg.clone().text_code(codes::INVALID_SECRET);
        let key = |secret: &Bound<'_, PyAny>, arg: &Arg| -> Result<Arc<K>, Error> {
            make(str(secret, arg)?).map_err(|e| arg.owns(e))
        };
        if value.is_instance_of::<PyString>() {
            return Ok(Self::One(key(value, &arg)?));
        }
        let expected = "a str or a sequence of str";
        let items = iter(value, &arg, expected)?;
        let mut keys = Vec::new();
        for (index, item) in items.enumerate() {
            let shared = key(&item?, &arg.element(index))?;
            keys.push(K::clone(&shared));
        }
        if keys.is_empty() {
            return Err(arg
                .owns(Error::signature(
                    codes::INVALID_SECRET,
                    format!("{} is empty: give at least one secret", arg.name()),
                ))
                .into());
        }
        Ok(Self::Many(keys))
    }
}
