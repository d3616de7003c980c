//! Bindings for payedge_core::money: minor_units, to_minor, format_money.
use payedge_core::{money, Error};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString, PyType};

use crate::errors::BindResult;

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
fn minor_units(currency: &str) -> BindResult<u32> {
    Ok(money::minor_units(currency)?)
}

/// Exact decimal -> minor units: `to_minor("12.34", "EUR") == 1234`. Accepts a
/// `str` or a `decimal.Decimal` (converted through `str`, so exponents like
/// `1E+2` are fine); a float is refused: it cannot hold most decimal amounts.
#[pyfunction]
fn to_minor(amount: &Bound<'_, PyAny>, currency: &str) -> BindResult<i64> {
    if let Ok(text) = amount.cast::<PyString>() {
        return Ok(money::to_minor(text.to_str()?, currency)?);
    }
    if is_decimal(amount)? {
        let text = amount.str()?;
        return Ok(money::to_minor(text.to_str()?, currency)?);
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
            amount.get_type().name()?
        )
    };
    Err(Error::money("invalid_amount", why).into())
}

/// Minor units as an `i64`, or a MoneyError naming what is wrong.
pub(crate) fn extract_amount(amount: &Bound<'_, PyAny>) -> BindResult<i64> {
    if amount.is_instance_of::<PyBool>() || !amount.is_instance_of::<PyInt>() {
        let kind = amount.get_type().name()?;
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
fn format_money(amount: &Bound<'_, PyAny>, currency: &str) -> BindResult<String> {
    let amount = extract_amount(amount)?;
    Ok(money::format_money(amount, currency)?)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(minor_units, m)?)?;
    m.add_function(wrap_pyfunction!(to_minor, m)?)?;
    m.add_function(wrap_pyfunction!(format_money, m)?)?;
    Ok(())
}
