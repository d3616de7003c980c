//! Bindings for payedge_core::tariff: Tariff (quote, quote_many) and the
//! frozen Quote (SPEC 2.3). Bad arguments are `TariffError` whose `param`
//! names them (`entry`, `exits[3]`, `$` for the rules), see `args.rs`.
use payedge_core::money::format_minor;
use payedge_core::tariff::{PerStay, Quote, Tariff};
use payedge_core::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyList, PyString};

use crate::args::{self, Arg};
use crate::errors::BindResult;

const RULES: Arg = Arg::tariff("$");
const ENTRY: Arg = Arg::tariff("entry");
const EXIT: Arg = Arg::tariff("exit");
const ENTRIES: Arg = Arg::tariff("entries");
const EXITS: Arg = Arg::tariff("exits");
const LOST_TICKET: Arg = Arg::tariff("lost_ticket");
const SUBSCRIPTION: Arg = Arg::tariff("subscription");

static JSON_DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Rules as JSON bytes: a `str` / `bytes` document, or a dict serialised with `json.dumps`.
fn rules_bytes(rules: &Bound<'_, PyAny>) -> BindResult<Vec<u8>> {
    if let Ok(text) = rules.cast::<PyString>() {
        return Ok(args::str(text.as_any(), &RULES)?.as_bytes().to_vec());
    }
    if let Ok(bytes) = rules.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    if rules.cast::<PyDict>().is_ok() {
        let py = rules.py();
        let dumps = JSON_DUMPS.get_or_try_init(py, || {
            py.import("json")?.getattr("dumps").map(Bound::unbind)
        })?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("allow_nan", false)?;
        return match dumps.bind(py).call((rules,), Some(&kwargs)) {
            Ok(text) => Ok(args::str(&text, &RULES)?.as_bytes().to_vec()),
            Err(err) => Err(Error::tariff(
                "$",
                format!("the rules dict is not JSON-serialisable: {}", err.value(py)),
            )
            .into()),
        };
    }
    Err(RULES
        .out_of_range(format!(
            "rules must be a JSON str or a dict, not {}",
            args::type_name(rules)
        ))
        .into())
}

/// A UNIX-seconds argument (an `int`), or a TariffError naming it.
fn seconds(value: &Bound<'_, PyAny>, arg: &Arg) -> BindResult<i64> {
    if !value.is_instance_of::<pyo3::types::PyInt>() || value.is_instance_of::<PyBool>() {
        return Err(arg.wrong_type(value, "an int (UNIX seconds)").into());
    }
    value
        .extract::<i64>()
        .map_err(|_| arg.out_of_range("is out of range for UNIX seconds").into())
}

/// A sequence of UNIX seconds: fast path for a list of ints, item-by-item to name a bad one.
fn seconds_vec(values: &Bound<'_, PyAny>, arg: &Arg) -> BindResult<Vec<i64>> {
    let expected = "a sequence of ints (UNIX seconds)";
    if values.is_instance_of::<PyString>() || values.is_instance_of::<PyBytes>() {
        return Err(arg.wrong_type(values, expected).into());
    }
    // Fast path for the common case, a list of ints.
    if let Ok(list) = values.cast::<PyList>() {
        let mut out = Vec::with_capacity(list.len());
        let mut ok = true;
        for item in list.iter() {
            match item.extract::<i64>() {
                Ok(v) if !item.is_instance_of::<PyBool>() => out.push(v),
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            return Ok(out);
        }
    } else if let Ok(v) = values.extract::<Vec<i64>>() {
        return Ok(v);
    }
    let iter = args::iter(values, arg, expected)?;
    let mut out = Vec::new();
    for (i, item) in iter.enumerate() {
        out.push(seconds(&item?, &arg.element(i))?);
    }
    Ok(out)
}

enum Many<T> {
    All(T),
    Each(Vec<T>),
}

fn lost_ticket_arg(value: Option<&Bound<'_, PyAny>>) -> BindResult<Many<bool>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(Many::All(false));
    };
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Many::All(b.is_true()));
    }
    let expected = "None, a bool, or a sequence of bools (one per stay)";
    let mut each = Vec::new();
    for (i, item) in args::iter(value, &LOST_TICKET, expected)?.enumerate() {
        each.push(args::bool(&item?, &LOST_TICKET.element(i))?);
    }
    Ok(Many::Each(each))
}

fn subscription_arg(value: Option<&Bound<'_, PyAny>>) -> BindResult<Many<Option<String>>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(Many::All(None));
    };
    if value.is_instance_of::<PyString>() {
        return Ok(Many::All(Some(args::str(value, &SUBSCRIPTION)?.to_owned())));
    }
    let expected = "None, a str, or a sequence of str | None (one per stay)";
    let mut each = Vec::new();
    for (i, item) in args::iter(value, &SUBSCRIPTION, expected)?.enumerate() {
        let item = item?;
        each.push(match args::given(Some(&item)) {
            None => None,
            Some(name) => Some(args::str(name, &SUBSCRIPTION.element(i))?.to_owned()),
        });
    }
    Ok(Many::Each(each))
}

/// Compiled tariff rules v1 (SPEC 2.3).
#[pyclass(frozen, module = "payedge._core", name = "Tariff")]
struct PyTariff {
    inner: Tariff,
}

#[pymethods]
impl PyTariff {
    #[new]
    fn new(py: Python<'_>, rules: &Bound<'_, PyAny>) -> BindResult<Self> {
        let bytes = rules_bytes(rules)?;
        // Loading the time zone reads the system database: no need to hold the GIL.
        let inner = py.detach(|| Tariff::from_json(&bytes))?;
        Ok(PyTariff { inner })
    }

    /// The tariff's currency (ISO 4217 code, upper case).
    #[getter]
    fn currency(&self) -> &'static str {
        self.inner.currency().code()
    }

    /// The IANA time zone of the night window.
    #[getter]
    fn timezone(&self) -> &str {
        self.inner.timezone()
    }

    /// Billing increment in minutes.
    #[getter]
    fn increment_minutes(&self) -> u32 {
        self.inner.rules().increment_minutes
    }

    /// Subscription names this tariff knows.
    #[getter]
    fn subscriptions(&self) -> Vec<String> {
        self.inner
            .rules()
            .subscriptions
            .iter()
            .map(|(name, _)| name.clone())
            .collect()
    }

    #[pyo3(
        signature = (entry, exit, *, lost_ticket = None, subscription = None),
        text_signature = "(self, entry, exit, *, lost_ticket=False, subscription=None)"
    )]
    fn quote(
        &self,
        entry: &Bound<'_, PyAny>,
        exit: &Bound<'_, PyAny>,
        lost_ticket: Option<&Bound<'_, PyAny>>,
        subscription: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<PyQuote> {
        let entry = seconds(entry, &ENTRY)?;
        let exit = seconds(exit, &EXIT)?;
        let lost_ticket = match lost_ticket {
            Some(value) => args::bool(value, &LOST_TICKET)?,
            None => false,
        };
        let subscription = match args::given(subscription) {
            Some(name) => Some(args::str(name, &SUBSCRIPTION)?),
            None => None,
        };
        let inner = self.inner.quote(entry, exit, lost_ticket, subscription)?;
        Ok(PyQuote { inner })
    }

    #[pyo3(signature = (entries, exits, *, lost_ticket = None, subscription = None))]
    fn quote_many(
        &self,
        py: Python<'_>,
        entries: &Bound<'_, PyAny>,
        exits: &Bound<'_, PyAny>,
        lost_ticket: Option<&Bound<'_, PyAny>>,
        subscription: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<Vec<i64>> {
        let entries = seconds_vec(entries, &ENTRIES)?;
        let exits = seconds_vec(exits, &EXITS)?;
        let lost = lost_ticket_arg(lost_ticket)?;
        let subs = subscription_arg(subscription)?;
        let tariff = &self.inner;
        let amounts = py.detach(|| {
            let lost = match &lost {
                Many::All(b) => PerStay::All(*b),
                Many::Each(v) => PerStay::Each(v.as_slice()),
            };
            let names: Vec<Option<&str>>;
            let subs = match &subs {
                Many::All(s) => PerStay::All(s.as_deref()),
                Many::Each(v) => {
                    names = v.iter().map(Option::as_deref).collect();
                    PerStay::Each(names.as_slice())
                }
            };
            tariff.quote_many(&entries, &exits, lost, subs)
        })?;
        Ok(amounts)
    }

    fn __repr__(&self) -> String {
        format!(
            "Tariff(currency='{}', timezone='{}', increment_minutes={})",
            self.inner.currency().code(),
            self.inner.timezone(),
            self.inner.rules().increment_minutes
        )
    }
}

/// A priced stay: `amount`, `currency`, `units` and the `lines` that explain it.
#[pyclass(frozen, module = "payedge._core", name = "Quote")]
struct PyQuote {
    inner: Quote,
}

#[pymethods]
impl PyQuote {
    /// Total to charge, in minor units.
    #[getter]
    fn amount(&self) -> i64 {
        self.inner.amount
    }

    #[getter]
    fn currency(&self) -> &'static str {
        self.inner.currency.code()
    }

    /// Billing units (0 within the grace period).
    #[getter]
    fn units(&self) -> i64 {
        self.inner.units
    }

    #[getter]
    fn entry(&self) -> i64 {
        self.inner.entry
    }

    #[getter]
    fn exit(&self) -> i64 {
        self.inner.exit
    }

    /// One dict per 24-hour period (`kind="period"`), then `discount`,
    /// `lost_ticket_fee` and `max_amount` lines where they apply (see docs/tariffs.md).
    #[getter]
    fn lines<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let q = &self.inner;
        let lines = PyList::empty(py);
        for line in q.period_lines() {
            let d = PyDict::new(py);
            d.set_item("kind", "period")?;
            d.set_item("period", line.period)?;
            d.set_item("start", q.entry + line.period * 86_400)?;
            d.set_item("units", line.units)?;
            d.set_item("gross", line.gross)?;
            d.set_item("charged", line.charged)?;
            lines.append(d)?;
        }
        if let Some(discount) = &q.discount {
            let d = PyDict::new(py);
            d.set_item("kind", "discount")?;
            d.set_item("discount", discount.amount)?;
            d.set_item("subscription", &discount.subscription)?;
            d.set_item("discount_percent", discount.percent)?;
            lines.append(d)?;
        }
        if let Some(fee) = q.lost_ticket_fee {
            let d = PyDict::new(py);
            d.set_item("kind", "lost_ticket_fee")?;
            d.set_item("lost_ticket_fee", fee)?;
            lines.append(d)?;
        }
        if let Some(max) = q.max_amount {
            let d = PyDict::new(py);
            d.set_item("kind", "max_amount")?;
            d.set_item("max_amount", max.max_amount)?;
            d.set_item("reduction", max.reduction)?;
            lines.append(d)?;
        }
        Ok(lines)
    }

    fn __repr__(&self) -> String {
        format!(
            "Quote(amount={}, currency='{}', units={}, formatted='{}')",
            self.inner.amount,
            self.inner.currency.code(),
            self.inner.units,
            format_minor(self.inner.amount, self.inner.currency)
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTariff>()?;
    m.add_class::<PyQuote>()?;
    Ok(())
}
