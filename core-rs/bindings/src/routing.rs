//! Bindings for payedge_core::routing: Router and Decision (SPEC 5).
//!
//! `decide` runs with the GIL held: it takes well under a microsecond, less
//! than releasing and re-taking the GIL would. Metadata is read only for the
//! keys the rules name (interned once), never converted whole. Arguments are
//! converted by `args.rs` (`InvalidArgumentError` naming the argument), `now`
//! by `clock.rs` (seconds on `time.monotonic()`'s clock).
use payedge_core::routing::{Decision, Export, Outcome, Payment, Router};
use payedge_core::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyMapping, PyString, PyTuple};

use crate::args::{self, type_name, Arg};
use crate::clock::monotonic_now;
use crate::errors::BindResult;

const PAYMENT_ID: Arg = Arg::invalid("payment_id");
const AMOUNT: Arg = Arg::invalid("amount");
const CURRENCY: Arg = Arg::invalid("currency");
const COUNTRY: Arg = Arg::invalid("country");
const PAYMENT_METHOD_TYPE: Arg = Arg::invalid("payment_method_type");
const GATEWAY: Arg = Arg::invalid("gateway");
const OK: Arg = Arg::invalid("ok");
const FAILURE_CLASS: Arg = Arg::invalid("failure_class");
const LATENCY_MS: Arg = Arg::invalid("latency_ms");
const PEER: Arg = Arg::invalid("peer");

static JSON: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();

/// `(json.dumps, json.loads)`.
fn json_fns(py: Python<'_>) -> PyResult<&(Py<PyAny>, Py<PyAny>)> {
    JSON.get_or_try_init(py, || {
        let json = py.import("json")?;
        Ok((
            json.getattr("dumps")?.unbind(),
            json.getattr("loads")?.unbind(),
        ))
    })
}

/// A `str`/`bytes` JSON document as bytes, or a mapping serialised with `json.dumps`;
/// `bad` builds the error for anything else.
fn json_bytes(value: &Bound<'_, PyAny>, bad: impl Fn(String) -> Error) -> BindResult<Vec<u8>> {
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(text
            .to_str()
            .map_err(|_| bad("not valid Unicode (lone surrogate)".to_owned()))?
            .as_bytes()
            .to_vec());
    }
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    if value.cast::<PyDict>().is_ok() || value.cast::<PyMapping>().is_ok() {
        let py = value.py();
        let kwargs = PyDict::new(py);
        kwargs.set_item("allow_nan", false)?;
        // A Mapping that is not a dict: json.dumps wants a dict.
        let as_dict;
        let value = if value.cast::<PyDict>().is_ok() {
            value
        } else {
            as_dict = PyDict::new(py);
            as_dict.update(value.cast::<PyMapping>().map_err(PyErr::from)?)?;
            as_dict.as_any()
        };
        return match json_fns(py)?.0.bind(py).call((value,), Some(&kwargs)) {
            Ok(text) => Ok(text
                .cast::<PyString>()
                .map_err(PyErr::from)?
                .to_str()?
                .as_bytes()
                .to_vec()),
            Err(err) => Err(bad(format!("not JSON-serialisable: {}", err.value(py))).into()),
        };
    }
    let kind = value.get_type().name()?;
    Err(bad(format!("expected a JSON str, bytes or a dict, not {kind}")).into())
}

/// `None` or a `str`.
fn opt_str<'a>(value: &'a Option<Bound<'_, PyAny>>, arg: &Arg) -> BindResult<Option<&'a str>> {
    match args::given(value.as_ref()) {
        Some(v) => Ok(Some(args::str(v, arg)?)),
        None => Ok(None),
    }
}

/// Compiled routing rules plus live gateway health (SPEC 5).
#[pyclass(frozen, module = "payedge._core", name = "Router")]
struct PyRouter {
    inner: Router,
    /// The metadata keys the rules read, as interned Python strings.
    metadata_keys: Vec<Py<PyString>>,
}

#[pymethods]
impl PyRouter {
    #[new]
    fn new(py: Python<'_>, rules: &Bound<'_, PyAny>) -> BindResult<Self> {
        let bytes = json_bytes(rules, |why| {
            Error::routing("$", format!("the rules are {why}"))
        })?;
        let inner = Router::from_json(&bytes)?;
        let metadata_keys = inner
            .metadata_keys()
            .map(|k| PyString::intern(py, k).unbind())
            .collect();
        Ok(PyRouter {
            inner,
            metadata_keys,
        })
    }

    /// Every gateway the rules name, in order of first appearance.
    #[getter]
    fn gateways<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.gateways())
    }

    #[getter]
    fn rule_names<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.rule_names())
    }

    #[getter]
    fn metadata_keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.metadata_keys())
    }

    #[pyo3(signature = (payment_id, amount, currency, *, country = None, payment_method_type = None, metadata = None, now = None))]
    #[allow(clippy::too_many_arguments)]
    fn decide(
        &self,
        py: Python<'_>,
        payment_id: &Bound<'_, PyAny>,
        amount: &Bound<'_, PyAny>,
        currency: &Bound<'_, PyAny>,
        country: Option<Bound<'_, PyAny>>,
        payment_method_type: Option<Bound<'_, PyAny>>,
        metadata: Option<Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<PyDecision> {
        let fields = (
            payment_id,
            amount,
            currency,
            country,
            payment_method_type,
            metadata,
        );
        self.route(py, fields, now, true)
    }

    /// `decide` without taking a half-open circuit's probe: no effect on the router.
    #[pyo3(signature = (payment_id, amount, currency, *, country = None, payment_method_type = None, metadata = None, now = None))]
    #[allow(clippy::too_many_arguments)]
    fn simulate(
        &self,
        py: Python<'_>,
        payment_id: &Bound<'_, PyAny>,
        amount: &Bound<'_, PyAny>,
        currency: &Bound<'_, PyAny>,
        country: Option<Bound<'_, PyAny>>,
        payment_method_type: Option<Bound<'_, PyAny>>,
        metadata: Option<Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<PyDecision> {
        let fields = (
            payment_id,
            amount,
            currency,
            country,
            payment_method_type,
            metadata,
        );
        self.route(py, fields, now, false)
    }

    #[pyo3(signature = (gateway, ok, *, failure_class = None, currency = None, payment_method_type = None, latency_ms = None, now = None))]
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        py: Python<'_>,
        gateway: &Bound<'_, PyAny>,
        ok: &Bound<'_, PyAny>,
        failure_class: Option<Bound<'_, PyAny>>,
        currency: Option<Bound<'_, PyAny>>,
        payment_method_type: Option<Bound<'_, PyAny>>,
        latency_ms: Option<Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<()> {
        let gateway = args::str(gateway, &GATEWAY)?;
        let ok = args::bool(ok, &OK)?;
        let latency_ms = match args::given(latency_ms.as_ref()) {
            Some(v) => Some(args::seconds(v, &LATENCY_MS)?),
            None => None,
        };
        let outcome = Outcome {
            ok,
            failure_class: opt_str(&failure_class, &FAILURE_CLASS)?,
            currency: opt_str(&currency, &CURRENCY)?,
            payment_method_type: opt_str(&payment_method_type, &PAYMENT_METHOD_TYPE)?,
            latency_ms,
        };
        let now = monotonic_now(py, now)?;
        Ok(self.inner.record(gateway, &outcome, now)?)
    }

    /// Forget `gateway`'s probe: its payment ended without trying it. False if none was out.
    fn release_probe(&self, gateway: &Bound<'_, PyAny>) -> BindResult<bool> {
        Ok(self.inner.release_probe(args::str(gateway, &GATEWAY)?)?)
    }

    #[pyo3(signature = (now = None))]
    fn health<'py>(
        &self,
        py: Python<'py>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<Bound<'py, PyAny>> {
        let now = monotonic_now(py, now)?;
        let text = self.inner.health(now)?.to_json();
        Ok(json_fns(py)?.1.bind(py).call1((text,))?)
    }

    #[pyo3(signature = (now = None))]
    fn export_health<'py>(
        &self,
        py: Python<'py>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<Bound<'py, PyAny>> {
        let now = monotonic_now(py, now)?;
        let text = self.inner.export_health(now)?.to_json();
        Ok(json_fns(py)?.1.bind(py).call1((text,))?)
    }

    #[pyo3(signature = (peer, snapshot, *, now = None))]
    fn merge_health(
        &self,
        py: Python<'_>,
        peer: &Bound<'_, PyAny>,
        snapshot: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<()> {
        let peer = args::str(peer, &PEER)?;
        let bytes = json_bytes(snapshot, |why| {
            Error::invalid("snapshot", format!("the health export is {why}"))
        })?;
        let export = Export::from_json(&bytes)?;
        let now = monotonic_now(py, now)?;
        Ok(self.inner.merge_health(peer, &export, now)?)
    }

    #[pyo3(signature = (gateway = None, *, now = None))]
    fn reset_health(
        &self,
        py: Python<'_>,
        gateway: Option<Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<()> {
        let gateway = opt_str(&gateway, &GATEWAY)?;
        let now = monotonic_now(py, now)?;
        Ok(self.inner.reset_health(gateway, now)?)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Router(rules={}, gateways={})",
            self.inner.rule_names().len(),
            self.gateways(py)?.as_any().repr()?
        ))
    }
}

/// Metadata keys read into stack arrays by `decide` (more spill to the heap).
const INLINE_KEYS: usize = 8;

/// The arguments of `decide` / `simulate` that describe the payment.
type RouteArgs<'a, 'py> = (
    &'a Bound<'py, PyAny>,
    &'a Bound<'py, PyAny>,
    &'a Bound<'py, PyAny>,
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, PyAny>>,
);

impl PyRouter {
    /// `decide` (`claim`: take a half-open probe) or `simulate` (leave it).
    fn route(
        &self,
        py: Python<'_>,
        (payment_id, amount, currency, country, payment_method_type, metadata): RouteArgs<'_, '_>,
        now: Option<&Bound<'_, PyAny>>,
        claim: bool,
    ) -> BindResult<PyDecision> {
        let id = args::str(payment_id, &PAYMENT_ID)?;
        let amount = args::i64(amount, &AMOUNT)?;
        let currency = args::str(currency, &CURRENCY)?;
        let country = opt_str(&country, &COUNTRY)?;
        let method = opt_str(&payment_method_type, &PAYMENT_METHOD_TYPE)?;
        let now = monotonic_now(py, now)?;
        let payment = Payment {
            id,
            amount,
            currency,
            country,
            payment_method_type: method,
            metadata: &[],
        };
        // Metadata values on the stack for the usual handful of keys.
        let n = self.metadata_keys.len();
        let decision = if n <= INLINE_KEYS {
            let mut objects: [Option<Bound<'_, PyString>>; INLINE_KEYS] = Default::default();
            let mut values: [Option<&str>; INLINE_KEYS] = [None; INLINE_KEYS];
            self.metadata_values(metadata.as_ref(), &mut objects[..n])?;
            self.metadata_strs(py, &objects[..n], &mut values[..n])?;
            self.core_route(
                &Payment {
                    metadata: &values[..n],
                    ..payment
                },
                now,
                claim,
            )?
        } else {
            let mut objects = vec![None; n];
            let mut values = vec![None; n];
            self.metadata_values(metadata.as_ref(), &mut objects)?;
            self.metadata_strs(py, &objects, &mut values)?;
            self.core_route(
                &Payment {
                    metadata: &values,
                    ..payment
                },
                now,
                claim,
            )?
        };
        Ok(PyDecision { inner: decision })
    }

    fn core_route(&self, p: &Payment<'_>, now: f64, claim: bool) -> payedge_core::Result<Decision> {
        if claim {
            self.inner.decide(p, now)
        } else {
            self.inner.simulate(p, now)
        }
    }
}

impl PyRouter {
    /// The value of each metadata key the rules read into `out` (`None` when absent
    /// or None). A value that is not a `str` is an error naming `metadata.<key>`.
    fn metadata_values<'py>(
        &self,
        metadata: Option<&Bound<'py, PyAny>>,
        out: &mut [Option<Bound<'py, PyString>>],
    ) -> BindResult<()> {
        let Some(metadata) = metadata.filter(|m| !m.is_none()) else {
            return Ok(());
        };
        let dict = metadata.cast::<PyDict>().ok();
        if dict.is_none() && metadata.cast::<PyMapping>().is_err() {
            return Err(Error::invalid(
                "metadata",
                format!(
                    "expected a mapping of str to str, got {}",
                    type_name(metadata)
                ),
            )
            .into());
        }
        let py = metadata.py();
        for (slot, key) in out.iter_mut().zip(&self.metadata_keys) {
            let key = key.bind(py);
            let value = match dict {
                Some(d) => d.get_item(key)?,
                None => match metadata.get_item(key) {
                    Ok(v) => Some(v),
                    Err(e) if e.is_instance_of::<pyo3::exceptions::PyKeyError>(py) => None,
                    Err(e) => return Err(e.into()),
                },
            };
            *slot = match value {
                None => None,
                Some(v) if v.is_none() => None,
                Some(v) => Some(v.cast_into::<PyString>().map_err(|e| {
                    let got = type_name(e.into_inner().as_any());
                    Error::Invalid {
                        field: format!("metadata.{key}").into(),
                        message: format!("expected a str, got {got}"),
                    }
                })?),
            };
        }
        Ok(())
    }

    /// The UTF-8 of each value (borrowed from the Python strings in `objects`).
    fn metadata_strs<'a>(
        &self,
        py: Python<'_>,
        objects: &'a [Option<Bound<'_, PyString>>],
        out: &mut [Option<&'a str>],
    ) -> BindResult<()> {
        for ((slot, text), key) in out.iter_mut().zip(objects).zip(&self.metadata_keys) {
            if let Some(t) = text {
                *slot = Some(t.to_str().map_err(|_| Error::Invalid {
                    field: format!("metadata.{}", key.bind(py)).into(),
                    message: "not valid Unicode (lone surrogate)".to_owned(),
                })?);
            }
        }
        Ok(())
    }
}

/// The outcome of `Router.decide`.
#[pyclass(frozen, module = "payedge._core", name = "Decision")]
struct PyDecision {
    inner: Decision,
}

#[pymethods]
impl PyDecision {
    /// Gateways to try, in order.
    #[getter]
    fn gateways(&self) -> Vec<&str> {
        self.inner.gateways().collect()
    }

    /// The matched rule's name, or "default".
    #[getter]
    fn rule(&self) -> &str {
        self.inner.rule()
    }

    #[getter]
    fn approach(&self) -> &'static str {
        self.inner.approach().as_str()
    }

    /// Gateway -> why it was left out.
    #[getter]
    fn skipped<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (gateway, why) in self.inner.skipped() {
            out.set_item(gateway, why.as_str())?;
        }
        Ok(out)
    }

    #[getter]
    fn probe(&self) -> Option<&str> {
        self.inner.probe()
    }

    #[getter]
    fn hedged(&self) -> bool {
        self.inner.hedged()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let repr = |value: Bound<'_, PyAny>| -> PyResult<String> { Ok(value.repr()?.to_string()) };
        Ok(format!(
            "Decision(gateways={}, rule={}, approach={}, skipped={}, probe={}, hedged={})",
            repr(self.gateways().into_pyobject(py)?.into_any())?,
            repr(self.rule().into_pyobject(py)?.into_any())?,
            repr(self.approach().into_pyobject(py)?.into_any())?,
            repr(self.skipped(py)?.into_any())?,
            repr(self.probe().into_pyobject(py)?.into_any())?,
            if self.inner.hedged() { "True" } else { "False" }
        ))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRouter>()?;
    m.add_class::<PyDecision>()?;
    Ok(())
}
