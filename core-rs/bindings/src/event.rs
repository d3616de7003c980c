//! Bindings for payedge_core::event: `parse_stripe_event` and the frozen
//! `StripeEvent` it returns (SPEC 2.1).
//!
//! The core parses with the GIL released (for large payloads) and hands back
//! where each string lies in the payload; the strings are made into Python
//! objects only when an attribute is read, from the `bytes` the event keeps.
use payedge_core::event::{self, Text};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::errors::BindResult;
use crate::signature::{maybe_detach, StripeArgs, Tolerance, DEFAULT_TOLERANCE};

/// Where a string of the event lives: a span of `raw`, or a copy (it had escapes).
enum Field {
    Span(usize, usize),
    Owned(Box<str>),
}

impl Field {
    fn new(text: &Text<'_>, base: &[u8]) -> Self {
        match text.span_in(base) {
            Some((start, end)) => Self::Span(start, end),
            None => Self::Owned(text.as_str().into()),
        }
    }
}

/// The fields of an event, as spans of its payload (built with the GIL released).
struct EventFields {
    id: Field,
    event_type: Field,
    created: i64,
    livemode: bool,
    object_id: Option<Field>,
    object_type: Option<Field>,
    amount: Option<i64>,
    amount_received: Option<i64>,
    currency: Option<Field>,
    status: Option<Field>,
    metadata: Vec<(Field, Field)>,
    malformed: Vec<String>,
}

impl EventFields {
    fn new(ev: &event::StripeEvent<'_>, base: &[u8]) -> Self {
        let field = |t: &Text<'_>| Field::new(t, base);
        let opt = |t: &Option<Text<'_>>| t.as_ref().map(field);
        Self {
            id: field(&ev.id),
            event_type: field(&ev.event_type),
            created: ev.created,
            livemode: ev.livemode,
            object_id: opt(&ev.object_id),
            object_type: opt(&ev.object_type),
            amount: ev.amount,
            amount_received: ev.amount_received,
            currency: opt(&ev.currency),
            status: opt(&ev.status),
            metadata: ev
                .metadata
                .0
                .iter()
                .map(|(k, v)| (field(k), field(v)))
                .collect(),
            malformed: ev.malformed.clone(),
        }
    }
}

/// A verified Stripe event (`payedge.parse_stripe_event`).
#[pyclass(frozen, module = "payedge._core", name = "StripeEvent")]
pub struct PyStripeEvent {
    raw: Py<PyBytes>,
    f: EventFields,
}

impl PyStripeEvent {
    fn str<'py>(&self, py: Python<'py>, field: &Field) -> Bound<'py, PyString> {
        match field {
            Field::Owned(s) => PyString::new(py, s),
            Field::Span(start, end) => {
                let raw = self.raw.bind(py).as_bytes();
                let bytes = raw.get(*start..*end).unwrap_or_default();
                PyString::new(py, &String::from_utf8_lossy(bytes))
            }
        }
    }

    fn opt<'py>(&self, py: Python<'py>, field: &Option<Field>) -> Option<Bound<'py, PyString>> {
        field.as_ref().map(|f| self.str(py, f))
    }
}

#[pymethods]
impl PyStripeEvent {
    #[getter]
    fn id<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        self.str(py, &self.f.id)
    }

    #[getter(r#type)]
    fn event_type<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        self.str(py, &self.f.event_type)
    }

    #[getter]
    fn created(&self) -> i64 {
        self.f.created
    }

    #[getter]
    fn livemode(&self) -> bool {
        self.f.livemode
    }

    #[getter]
    fn object_id<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        self.opt(py, &self.f.object_id)
    }

    #[getter]
    fn object_type<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        self.opt(py, &self.f.object_type)
    }

    #[getter]
    fn amount(&self) -> Option<i64> {
        self.f.amount
    }

    #[getter]
    fn amount_received(&self) -> Option<i64> {
        self.f.amount_received
    }

    #[getter]
    fn currency<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        self.opt(py, &self.f.currency)
    }

    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        self.opt(py, &self.f.status)
    }

    /// A new dict on each access (the event itself is immutable).
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (k, v) in &self.f.metadata {
            dict.set_item(self.str(py, k), self.str(py, v))?;
        }
        Ok(dict)
    }

    /// JSON paths of the fields read as absent because their value had another type.
    #[getter]
    fn malformed(&self) -> Vec<String> {
        self.f.malformed.clone()
    }

    /// The verified payload, as received.
    #[getter]
    fn raw<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.raw.bind(py).clone()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let repr = |o: Option<Bound<'_, PyString>>| -> PyResult<String> {
            match o {
                Some(s) => Ok(s.repr()?.to_cow()?.into_owned()),
                None => Ok("None".to_owned()),
            }
        };
        let malformed = if self.f.malformed.is_empty() {
            String::new()
        } else {
            format!(", malformed={:?}", self.f.malformed)
        };
        Ok(format!(
            "StripeEvent(id={}, type={}, created={}, object_id={}, amount={}, currency={}, status={}{malformed})",
            repr(Some(self.id(py)))?,
            repr(Some(self.event_type(py)))?,
            self.f.created,
            repr(self.object_id(py))?,
            self.f.amount.map_or_else(|| "None".to_owned(), |a| a.to_string()),
            repr(self.currency(py))?,
            repr(self.status(py))?,
        ))
    }
}

/// Verify the `Stripe-Signature` header (as `verify_stripe`), then parse the
/// event, in one native call (see `_core.pyi`).
#[pyfunction]
#[pyo3(
    signature = (payload, header, secrets, *, tolerance = DEFAULT_TOLERANCE, now = None),
    text_signature = "(payload, header, secrets, *, tolerance=300, now=None)"
)]
fn parse_stripe_event<'py>(
    payload: &Bound<'py, PyAny>,
    header: &Bound<'py, PyAny>,
    secrets: &Bound<'py, PyAny>,
    tolerance: Tolerance,
    now: Option<&Bound<'py, PyAny>>,
) -> BindResult<PyStripeEvent> {
    let py = payload.py();
    let args = StripeArgs::extract(payload, header, secrets, &tolerance, now)?;
    let (bytes, header, keys) = (args.payload.as_slice(), args.header, args.keys.as_slice());
    let fields = maybe_detach(py, bytes.len(), || {
        event::parse_stripe_event(bytes, header, keys, args.tolerance, args.now)
            .map(|(_, ev)| EventFields::new(&ev, bytes))
    })?;
    Ok(PyStripeEvent {
        raw: args.payload.into_bytes(py).unbind(),
        f: fields,
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse_stripe_event, m)?)?;
    m.add_class::<PyStripeEvent>()?;
    Ok(())
}
