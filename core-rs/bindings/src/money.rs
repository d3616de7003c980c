//! Bindings for payedge_core::money: minor_units, to_minor, format_money (SPEC 2.3).
//!
//! Amounts have money's own rules (a float is refused with a reason, an int
//! that overflows is `overflow`), so they raise `MoneyError` with `param`
//! `amount`; a currency that is not a `str` is an `InvalidArgumentError`
//! naming `currency` (see `args.rs`), an unknown one a `MoneyError`.
use payedge_core::{money, Error};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString, PyType};

use crate::args::{self, Arg};
use crate::errors::BindResult;

const CURRENCY: Arg = Arg::invalid("currency");

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn is_decimal(value: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = value.py();
    let class = DECIMAL.get_or_try_init(py, || {
        py.import("decimal")?
            .getattr("Decimal")?
            .cast_into::<PyType>()
            .map(Bound::unbind)
            .map_err(PyErr::from)
    })?;
    value.is_instance(class.bind(py))
}

/// The ISO 4217 exponent of `currency`: 2 for "EUR", 0 for "JPY", 3 for "KWD".
#[pyfunction]
fn minor_units(currency: &Bound<'_, PyAny>) -> BindResult<u32> {
    Ok(money::minor_units(args::str(currency, &CURRENCY)?)?)
}

/// Exact decimal -> minor units: `to_minor("12.34", "EUR") == 1234`. Accepts a
/// `str` or a `decimal.Decimal` (converted through `str`, so exponents like
/// `1E+2` are fine); a float is refused: it cannot hold most decimal amounts.
#[pyfunction]
fn to_minor(amount: &Bound<'_, PyAny>, currency: &Bound<'_, PyAny>) -> BindResult<i64> {
    let currency = args::str(currency, &CURRENCY)?;
    if amount.is_instance_of::<PyString>() || is_decimal(amount)? {
        let text = amount.str()?; // a str is itself
        let text = text.to_str().map_err(|_| {
            Error::money(
                "invalid_amount",
                "amount is not valid Unicode text (lone surrogate)",
            )
        })?;
        return Ok(money::to_minor(text, currency)?);
    }
    let why = if amount.is_instance_of::<PyFloat>() {
        "amount must be a str or decimal.Decimal, not float: floats cannot hold most \
         decimal amounts exactly; pass \"12.34\" or Decimal(\"12.34\")"
            .to_owned()
    } else if amount.is_instance_of::<PyInt>() {
        "amount must be a str or decimal.Decimal, not int (major or minor units? \
         pass str(amount) for major units)"
            .to_owned()
    } else {
        format!(
            "amount must be a str or decimal.Decimal, not {}",
            args::type_name(amount)
        )
    };
    Err(Error::money("invalid_amount", why).into())
}

/// Minor units as an `i64`, or a MoneyError naming what is wrong.
pub(crate) fn extract_amount(amount: &Bound<'_, PyAny>) -> BindResult<i64> {
    if amount.is_instance_of::<PyBool>() || !amount.is_instance_of::<PyInt>() {
        let kind = args::type_name(amount);
        return Err(Error::money(
            "invalid_amount",
            format!("amount must be an int count of minor units, not {kind}"),
        )
        .into());
    }
    amount.extract::<i64>().map_err(|_| {
        Error::money(
            "overflow",
            "amount does not fit in a signed 64-bit count of minor units",
        )
        .into()
    })
}

/// `format_money(1234, "EUR") == "12.34 EUR"`; negative amounts keep their sign.
#[pyfunction]
fn format_money(amount: &Bound<'_, PyAny>, currency: &Bound<'_, PyAny>) -> BindResult<String> {
    let amount = extract_amount(amount)?;
    let currency = args::str(currency, &CURRENCY)?;
    Ok(money::format_money(amount, currency)?)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(minor_units, m)?)?;
    m.add_function(wrap_pyfunction!(to_minor, m)?)?;
    m.add_function(wrap_pyfunction!(format_money, m)?)?;
    Ok(())
}
