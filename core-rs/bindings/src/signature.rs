//! Bindings for payedge_core::signature and payedge_core::event (SPEC 2.1).
//!
//! Every argument is taken as a Python object and converted here, so that a
//! wrong type is a `SignatureError(code="invalid_type", param=...)` naming the
//! parameter rather than a bare `TypeError`. Bytes payloads are borrowed, not
//! copied; large ones (and every batch) are verified with the GIL released.
use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;

use payedge_core::event::{self, Text};
use payedge_core::signature::{
    self, codes, HeaderField, HmacEncoding, StandardHeaders, StandardKey, StripeKey,
    StripeTimestamp, UnixTime,
};
use payedge_core::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};
use pyo3::Borrowed;

/// Payloads at least this long are verified with the GIL released.
const DETACH_THRESHOLD: usize = 64 * 1024;

static SIGNATURE_ERROR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn signature_error_class(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    SIGNATURE_ERROR
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(
                py.import("payedge._errors")?
                    .getattr("SignatureError")?
                    .unbind(),
            )
        })
        .map(|c| c.bind(py))
}

/// A `SignatureError` instance (not raised) with its code and parameter.
fn error_instance<'py>(
    py: Python<'py>,
    code: &str,
    param: &str,
    message: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", code)?;
    kwargs.set_item("param", param)?;
    signature_error_class(py)?.call((message,), Some(&kwargs))
}

/// A `SignatureError` to raise.
fn error(py: Python<'_>, code: &str, param: &str, message: &str) -> PyErr {
    match error_instance(py, code, param, message) {
        Ok(instance) => PyErr::from_value(instance),
        Err(err) => err,
    }
}

fn type_error(obj: &Bound<'_, PyAny>, param: &str, expected: &str) -> PyErr {
    let got = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned());
    error(
        obj.py(),
        codes::INVALID_TYPE,
        param,
        &format!("{param} must be {expected}, not {got}"),
    )
}

/// Which Python parameter a core error code is about, per function.
#[derive(Clone, Copy)]
struct Params {
    header: &'static str,
    secrets: &'static str,
}

const STRIPE: Params = Params {
    header: "header",
    secrets: "secrets",
};
const STANDARD: Params = Params {
    header: "headers",
    secrets: "secrets",
};

impl Params {
    fn of(self, code: &str) -> &'static str {
        match code {
            codes::INVALID_PAYLOAD => "payload",
            codes::INVALID_SECRET => self.secrets,
            codes::INVALID_ARGUMENT => "encoding",
            codes::MALFORMED_SIGNATURE => "signature",
            _ => self.header,
        }
    }

    fn raise(self, py: Python<'_>, err: &Error) -> PyErr {
        error(py, err.code(), self.of(err.code()), &err.to_string())
    }

    fn instance<'py>(self, py: Python<'py>, err: &Error) -> PyResult<Bound<'py, PyAny>> {
        error_instance(py, err.code(), self.of(err.code()), &err.to_string())
    }
}

// ---------------------------------------------------------------- arguments

/// A payload: a `bytes` object borrowed as is, or a copy of a `bytearray`.
enum Payload<'py> {
    Bytes(Bound<'py, PyBytes>),
    Copied(Vec<u8>),
}

impl<'py> Payload<'py> {
    fn extract(obj: &Bound<'py, PyAny>, param: &str) -> PyResult<Self> {
        if let Ok(bytes) = obj.cast::<PyBytes>() {
            Ok(Self::Bytes(bytes.clone()))
        } else if let Ok(array) = obj.cast::<PyByteArray>() {
            Ok(Self::Copied(array.to_vec()))
        } else {
            Err(type_error(obj, param, "bytes"))
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Bytes(b) => b.as_bytes(),
            Self::Copied(v) => v,
        }
    }

    /// The payload as a `bytes` object (the caller's own when it gave one).
    fn into_bytes(self, py: Python<'py>) -> Bound<'py, PyBytes> {
        match self {
            Self::Bytes(b) => b,
            Self::Copied(v) => PyBytes::new(py, &v),
        }
    }
}

/// A `str` argument as UTF-8 (`bad_text_code` when it holds lone surrogates).
fn text<'a>(obj: &'a Bound<'_, PyAny>, param: &str, bad_text_code: &str) -> PyResult<&'a str> {
    let s = obj
        .cast::<PyString>()
        .map_err(|_| type_error(obj, param, "str"))?;
    s.to_str().map_err(|_| {
        error(
            obj.py(),
            bad_text_code,
            param,
            &format!("{param} is not valid Unicode text (lone surrogate)"),
        )
    })
}

/// An `int` argument, without bools or floats.
fn int_arg(obj: &Bound<'_, PyAny>, param: &str) -> PyResult<i128> {
    if !obj.is_instance_of::<PyInt>() || obj.is_instance_of::<pyo3::types::PyBool>() {
        return Err(type_error(obj, param, "an int"));
    }
    if let Ok(small) = obj.extract::<i64>() {
        return Ok(i128::from(small));
    }
    obj.extract::<i128>().map_err(|_| {
        error(
            obj.py(),
            codes::INVALID_ARGUMENT,
            param,
            &format!("{param} is out of range"),
        )
    })
}

fn non_negative(obj: &Bound<'_, PyAny>, param: &str) -> PyResult<u64> {
    let value = int_arg(obj, param)?;
    u64::try_from(value).map_err(|_| {
        error(
            obj.py(),
            codes::INVALID_ARGUMENT,
            param,
            &format!("{param} must be a non-negative int of at most 64 bits, not {value}"),
        )
    })
}

/// `tolerance`: seconds, `None` (Stripe only: no age check); the default is 300.
struct Tolerance(Option<u64>);

impl<'a, 'py> FromPyObject<'a, 'py> for Tolerance {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_none() {
            return Ok(Self(None));
        }
        non_negative(&obj, "tolerance").map(|t| Self(Some(t)))
    }
}

impl Tolerance {
    /// Whether a Stripe age check will read the clock (`None` and `0` disable it).
    fn ages(&self) -> bool {
        self.0.is_some_and(|t| t > 0)
    }
}

const DEFAULT_TOLERANCE: Tolerance = Tolerance(Some(300));

/// `now`: UNIX seconds, or the wall clock when `None` (signatures are dated by it).
/// The clock is not read when no age check will use it.
fn now_arg(now: Option<&Bound<'_, PyAny>>, clock_needed: bool) -> PyResult<UnixTime> {
    match now {
        Some(obj) if !obj.is_none() => {
            let secs = int_arg(obj, "now")?;
            i64::try_from(secs).map(UnixTime::from_secs).map_err(|_| {
                error(
                    obj.py(),
                    codes::INVALID_ARGUMENT,
                    "now",
                    "now is out of range",
                )
            })
        }
        _ if clock_needed => Ok(UnixTime::now()),
        _ => Ok(UnixTime::from_secs(0)),
    }
}

/// One key, or several for rotation; no allocation for the common single secret.
enum Keys<K> {
    One(Arc<K>),
    Many(Vec<K>),
}

impl<K: Clone> Keys<K> {
    fn as_slice(&self) -> &[K] {
        match self {
            Self::One(k) => std::slice::from_ref(&**k),
            Self::Many(v) => v,
        }
    }

    /// `secrets`: a `str` or a non-empty sequence of `str`.
    fn extract(
        obj: &Bound<'_, PyAny>,
        params: Params,
        make: impl Fn(&str) -> Result<Arc<K>, Error>,
    ) -> PyResult<Self> {
        let py = obj.py();
        let param = params.secrets;
        let key = |s: &Bound<'_, PyAny>, name: &str| -> PyResult<Arc<K>> {
            let secret = text(s, name, codes::INVALID_SECRET)?;
            make(secret).map_err(|e| error(py, e.code(), name, &e.to_string()))
        };
        if obj.is_instance_of::<PyString>() {
            return key(obj, param).map(Self::One);
        }
        if obj.is_instance_of::<PyBytes>() || obj.is_instance_of::<PyByteArray>() {
            return Err(type_error(obj, param, "a str or a sequence of str"));
        }
        let iter = obj
            .try_iter()
            .map_err(|_| type_error(obj, param, "a str or a sequence of str"))?;
        let mut keys = Vec::new();
        for (i, item) in iter.enumerate() {
            let shared = key(&item?, &format!("{param}[{i}]"))?;
            keys.push(K::clone(&shared));
        }
        if keys.is_empty() {
            return Err(error(
                py,
                codes::INVALID_SECRET,
                param,
                &format!("{param} is empty: give at least one secret"),
            ));
        }
        Ok(Self::Many(keys))
    }
}

/// Keys recently built on this thread, by secret: callers pass the same few
/// secrets on every request, so the HMAC key schedule (and, for Standard
/// Webhooks, the base64 decoding) is done once, not per call. Bounded; the
/// oldest entry is replaced first.
struct KeyCache<K> {
    entries: Vec<(Box<str>, Arc<K>)>,
    next: usize,
}

const KEY_CACHE_SIZE: usize = 8;

impl<K> KeyCache<K> {
    const fn new() -> Self {
        Self {
            entries: Vec::new(),
            next: 0,
        }
    }

    fn get(
        &mut self,
        secret: &str,
        make: impl FnOnce(&str) -> Result<K, Error>,
    ) -> Result<Arc<K>, Error> {
        if let Some((_, key)) = self.entries.iter().find(|(s, _)| **s == *secret) {
            return Ok(Arc::clone(key));
        }
        let key = Arc::new(make(secret)?);
        let entry = (Box::from(secret), Arc::clone(&key));
        if self.entries.len() < KEY_CACHE_SIZE {
            self.entries.push(entry);
        } else {
            self.entries[self.next % KEY_CACHE_SIZE] = entry;
            self.next = (self.next + 1) % KEY_CACHE_SIZE;
        }
        Ok(key)
    }
}

thread_local! {
    static STRIPE_KEYS: RefCell<KeyCache<StripeKey>> = const { RefCell::new(KeyCache::new()) };
    static STANDARD_KEYS: RefCell<KeyCache<StandardKey>> = const { RefCell::new(KeyCache::new()) };
}

fn stripe_key(secret: &str) -> Result<Arc<StripeKey>, Error> {
    STRIPE_KEYS.with(|cache| match cache.try_borrow_mut() {
        Ok(mut cache) => cache.get(secret, StripeKey::new),
        Err(_) => StripeKey::new(secret).map(Arc::new),
    })
}

fn standard_key(secret: &str) -> Result<Arc<StandardKey>, Error> {
    STANDARD_KEYS.with(|cache| match cache.try_borrow_mut() {
        Ok(mut cache) => cache.get(secret, StandardKey::new),
        Err(_) => StandardKey::new(secret).map(Arc::new),
    })
}

/// A timestamp as a Python int (digits beyond u64 stay exact).
fn timestamp_to_py<'py>(py: Python<'py>, ts: &StripeTimestamp<'_>) -> PyResult<Bound<'py, PyAny>> {
    match ts.as_u64() {
        Some(v) => Ok(v.into_pyobject(py)?.into_any()),
        None => py.get_type::<PyInt>().call1((ts.digits(),)),
    }
}

/// Run `f` with the GIL released when the payload is large enough to be worth it.
fn maybe_detach<T: Send>(py: Python<'_>, len: usize, f: impl FnOnce() -> T + Send) -> T {
    if len >= DETACH_THRESHOLD {
        py.detach(f)
    } else {
        f()
    }
}

/// The Stripe header: a `str`, or `None` (missing, as stripe-python treats it).
fn stripe_header<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<Option<&'a str>> {
    if obj.is_none() {
        return Ok(None);
    }
    text(obj, "header", codes::MALFORMED_HEADER).map(Some)
}

fn missing_stripe_header() -> Error {
    Error::signature(
        codes::MISSING_HEADER,
        "no Stripe-Signature header value was provided",
    )
}

// ---------------------------------------------------------------- Stripe

/// `t=<timestamp>,v1=<hex hmac-sha256(secret, "<timestamp>." + payload)>`.
#[pyfunction]
#[pyo3(signature = (payload, secret, timestamp))]
fn sign_stripe(
    payload: &Bound<'_, PyAny>,
    secret: &Bound<'_, PyAny>,
    timestamp: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let py = payload.py();
    let payload = Payload::extract(payload, "payload")?;
    let secret = text(secret, "secret", codes::INVALID_SECRET)?;
    let key = stripe_key(secret).map_err(|e| error(py, e.code(), "secret", &e.to_string()))?;
    let timestamp = non_negative(timestamp, "timestamp")?;
    Ok(signature::sign_stripe(payload.as_slice(), &key, timestamp))
}

/// Verify a `Stripe-Signature` header; returns its timestamp.
#[pyfunction]
#[pyo3(
    signature = (payload, header, secrets, *, tolerance = DEFAULT_TOLERANCE, now = None),
    text_signature = "(payload, header, secrets, *, tolerance=300, now=None)"
)]
fn verify_stripe<'py>(
    payload: &Bound<'py, PyAny>,
    header: &Bound<'py, PyAny>,
    secrets: &Bound<'py, PyAny>,
    tolerance: Tolerance,
    now: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = payload.py();
    let payload = Payload::extract(payload, "payload")?;
    let header = stripe_header(header)?;
    let keys = Keys::extract(secrets, STRIPE, stripe_key)?;
    let now = now_arg(now, tolerance.ages())?;
    let Some(header) = header else {
        return Err(STRIPE.raise(py, &missing_stripe_header()));
    };
    let bytes = payload.as_slice();
    let keys = keys.as_slice();
    let verdict = maybe_detach(py, bytes.len(), || {
        signature::verify_stripe(bytes, header, keys, tolerance.0, now)
    });
    match verdict {
        Ok(ts) => timestamp_to_py(py, &ts),
        Err(e) => Err(STRIPE.raise(py, &e)),
    }
}

/// Verify many `(payload, header)` pairs with the GIL released.
#[pyfunction]
#[pyo3(
    signature = (items, secrets, *, tolerance = DEFAULT_TOLERANCE, now = None),
    text_signature = "(items, secrets, *, tolerance=300, now=None)"
)]
fn verify_stripe_many<'py>(
    items: &Bound<'py, PyAny>,
    secrets: &Bound<'py, PyAny>,
    tolerance: Tolerance,
    now: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let py = items.py();
    let keys = Keys::extract(secrets, STRIPE, stripe_key)?;
    let now = now_arg(now, tolerance.ages())?;
    if items.is_instance_of::<PyString>() || items.is_instance_of::<PyBytes>() {
        return Err(type_error(
            items,
            "items",
            "a sequence of (bytes, str) tuples",
        ));
    }
    let iter = items
        .try_iter()
        .map_err(|_| type_error(items, "items", "a sequence of (bytes, str) tuples"))?;
    // Strong references to every payload and header: the slices below borrow them
    // while the GIL is released, whatever another thread does to `items`.
    let mut held: Vec<(Payload<'py>, Option<Bound<'py, PyString>>)> =
        Vec::with_capacity(items.len().unwrap_or(0));
    for (i, item) in iter.enumerate() {
        let item = item?;
        let pair = item
            .cast::<PyTuple>()
            .ok()
            .filter(|t| t.len() == 2)
            .ok_or_else(|| type_error(&item, &format!("items[{i}]"), "a (bytes, str) tuple"))?;
        let payload = Payload::extract(&pair.get_item(0)?, &format!("items[{i}][0]"))?;
        let header = pair.get_item(1)?;
        let header = if header.is_none() {
            None
        } else {
            Some(header.cast_into::<PyString>().map_err(|e| {
                type_error(e.into_inner().as_any(), &format!("items[{i}][1]"), "str")
            })?)
        };
        held.push((payload, header));
    }
    let views: Vec<(&[u8], Result<&str, Error>)> = held
        .iter()
        .map(|(payload, header)| {
            let header = match header {
                None => Err(missing_stripe_header()),
                Some(h) => h.to_str().map_err(|_| {
                    Error::signature(
                        codes::MALFORMED_HEADER,
                        "header is not valid Unicode text (lone surrogate)",
                    )
                }),
            };
            (payload.as_slice(), header)
        })
        .collect();
    let keys = keys.as_slice();
    let tolerance = tolerance.0;
    let verdicts: Vec<Result<StripeTimestamp<'_>, Error>> = py.detach(|| {
        views
            .iter()
            .map(|(payload, header)| match header {
                Ok(h) => signature::verify_stripe(payload, h, keys, tolerance, now),
                Err(e) => Err(e.clone()),
            })
            .collect()
    });
    let out = PyList::empty(py);
    for verdict in &verdicts {
        match verdict {
            Ok(ts) => out.append(timestamp_to_py(py, ts)?)?,
            Err(e) => out.append(STRIPE.instance(py, e)?)?,
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- events

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
        Ok(format!(
            "StripeEvent(id={}, type={}, created={}, object_id={}, amount={}, currency={}, status={})",
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

/// Verify the `Stripe-Signature` header and parse the event in one native call.
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
) -> PyResult<PyStripeEvent> {
    let py = payload.py();
    let payload = Payload::extract(payload, "payload")?;
    let header = stripe_header(header)?;
    let keys = Keys::extract(secrets, STRIPE, stripe_key)?;
    let now = now_arg(now, tolerance.ages())?;
    let Some(header) = header else {
        return Err(STRIPE.raise(py, &missing_stripe_header()));
    };
    let bytes = payload.as_slice();
    let keys = keys.as_slice();
    let fields = maybe_detach(py, bytes.len(), || {
        event::parse_stripe_event(bytes, header, keys, tolerance.0, now)
            .map(|(_, ev)| EventFields::new(&ev, bytes))
    })
    .map_err(|e| STRIPE.raise(py, &e))?;
    Ok(PyStripeEvent {
        raw: payload.into_bytes(py).unbind(),
        f: fields,
    })
}

// ---------------------------------------------------------------- Standard Webhooks

/// `v1,<base64 hmac-sha256(key, "<msg_id>.<timestamp>." + payload)>` for `webhook-signature`.
#[pyfunction]
#[pyo3(signature = (msg_id, timestamp, payload, secret))]
fn sign_standard(
    msg_id: &Bound<'_, PyAny>,
    timestamp: &Bound<'_, PyAny>,
    payload: &Bound<'_, PyAny>,
    secret: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let py = msg_id.py();
    let msg_id = text(msg_id, "msg_id", codes::INVALID_ARGUMENT)?;
    let timestamp = non_negative(timestamp, "timestamp")?;
    let payload = Payload::extract(payload, "payload")?;
    let secret = text(secret, "secret", codes::INVALID_SECRET)?;
    let key = standard_key(secret).map_err(|e| error(py, e.code(), "secret", &e.to_string()))?;
    Ok(signature::sign_standard(
        msg_id,
        timestamp,
        payload.as_slice(),
        &key,
    ))
}

/// The three Standard Webhooks headers picked out of a mapping, last spelling winning.
fn standard_headers<'py>(headers: &Bound<'py, PyAny>) -> PyResult<[Option<Bound<'py, PyAny>>; 3]> {
    let mut found: [Option<Bound<'py, PyAny>>; 3] = [None, None, None];
    let mut take = |key: &Bound<'py, PyAny>, value: Bound<'py, PyAny>| -> PyResult<()> {
        let name = text(key, "headers", codes::MALFORMED_HEADER)?;
        let slot = match HeaderField::of(name) {
            Some(HeaderField::Id) => 0,
            Some(HeaderField::Timestamp) => 1,
            Some(HeaderField::Signature) => 2,
            None => return Ok(()),
        };
        found[slot] = Some(value);
        Ok(())
    };
    if let Ok(dict) = headers.cast_exact::<PyDict>() {
        for (k, v) in dict.iter() {
            take(&k, v)?;
        }
        return Ok(found);
    }
    let not_mapping = || type_error(headers, "headers", "a mapping of str to str");
    let items = headers.call_method0("items").map_err(|_| not_mapping())?;
    for pair in items.try_iter().map_err(|_| not_mapping())? {
        let pair = pair?;
        let (k, v): (Bound<'py, PyAny>, Bound<'py, PyAny>) =
            pair.extract().map_err(|_| not_mapping())?;
        take(&k, v)?;
    }
    Ok(found)
}

/// Verify a Standard Webhooks message; returns its `webhook-id`.
#[pyfunction]
#[pyo3(
    signature = (payload, headers, secrets, *, tolerance = DEFAULT_TOLERANCE, now = None),
    text_signature = "(payload, headers, secrets, *, tolerance=300, now=None)"
)]
fn verify_standard<'py>(
    payload: &Bound<'py, PyAny>,
    headers: &Bound<'py, PyAny>,
    secrets: &Bound<'py, PyAny>,
    tolerance: Tolerance,
    now: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = payload.py();
    let payload = Payload::extract(payload, "payload")?;
    let found = standard_headers(headers)?;
    let keys = Keys::extract(secrets, STANDARD, standard_key)?;
    let Some(tolerance) = tolerance.0 else {
        return Err(error(
            py,
            codes::INVALID_TYPE,
            "tolerance",
            "tolerance must be an int (Standard Webhooks always bound the age)",
        ));
    };
    let now = now_arg(now, true)?;
    let names = ["webhook-id", "webhook-timestamp", "webhook-signature"];
    let mut values: [Option<&str>; 3] = [None, None, None];
    for ((value, slot), name) in found.iter().zip(values.iter_mut()).zip(names) {
        if let Some(v) = value {
            *slot = Some(text(
                v,
                &format!("headers['{name}']"),
                codes::MALFORMED_HEADER,
            )?);
        }
    }
    let parsed = StandardHeaders {
        id: values[0],
        timestamp: values[1],
        signature: values[2],
    };
    let bytes = payload.as_slice();
    let keys = keys.as_slice();
    let verdict = maybe_detach(py, bytes.len(), || {
        signature::verify_standard(bytes, &parsed, keys, tolerance, now)
    });
    match (verdict, &found[0]) {
        // the caller's own str object: no copy
        (Ok(_), Some(id)) => Ok(id.clone()),
        (Ok(id), None) => Ok(PyString::new(py, id).into_any()),
        (Err(e), _) => Err(STANDARD.raise(py, &e)),
    }
}

// ---------------------------------------------------------------- plain HMAC

/// `encoding`: `"hex"` (the default) or `"base64"`.
struct Encoding(HmacEncoding);

impl<'a, 'py> FromPyObject<'a, 'py> for Encoding {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let name = text(&obj, "encoding", codes::INVALID_ARGUMENT)?;
        HmacEncoding::from_name(name)
            .map(Self)
            .map_err(|e| error(obj.py(), e.code(), "encoding", &e.to_string()))
    }
}

/// Check a bare HMAC-SHA256 of the payload (hex or base64); returns None or raises.
#[pyfunction]
#[pyo3(
    signature = (payload, signature, secret, *, encoding = Encoding(HmacEncoding::Hex)),
    text_signature = "(payload, signature, secret, *, encoding='hex')"
)]
fn verify_hmac(
    payload: &Bound<'_, PyAny>,
    signature: &Bound<'_, PyAny>,
    secret: &Bound<'_, PyAny>,
    encoding: Encoding,
) -> PyResult<()> {
    const PARAMS: Params = Params {
        header: "signature",
        secrets: "secret",
    };
    let py = payload.py();
    let payload = Payload::extract(payload, "payload")?;
    let claimed = text(signature, "signature", codes::MALFORMED_SIGNATURE)?;
    let key: Cow<'_, [u8]> = if let Ok(s) = secret.cast::<PyString>() {
        Cow::Borrowed(
            s.to_str()
                .map_err(|_| {
                    error(
                        py,
                        codes::INVALID_SECRET,
                        "secret",
                        "secret is not valid Unicode text",
                    )
                })?
                .as_bytes(),
        )
    } else if let Ok(b) = secret.cast::<PyBytes>() {
        Cow::Borrowed(b.as_bytes())
    } else if let Ok(b) = secret.cast::<PyByteArray>() {
        Cow::Owned(b.to_vec())
    } else {
        return Err(type_error(secret, "secret", "str or bytes"));
    };
    let encoding = encoding.0;
    let bytes = payload.as_slice();
    maybe_detach(py, bytes.len(), || {
        signature::verify_hmac(bytes, claimed, &key, encoding)
    })
    .map_err(|e| PARAMS.raise(py, &e))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sign_stripe, m)?)?;
    m.add_function(wrap_pyfunction!(verify_stripe, m)?)?;
    m.add_function(wrap_pyfunction!(verify_stripe_many, m)?)?;
    m.add_function(wrap_pyfunction!(parse_stripe_event, m)?)?;
    m.add_function(wrap_pyfunction!(sign_standard, m)?)?;
    m.add_function(wrap_pyfunction!(verify_standard, m)?)?;
    m.add_function(wrap_pyfunction!(verify_hmac, m)?)?;
    m.add_class::<PyStripeEvent>()?;
    Ok(())
}
