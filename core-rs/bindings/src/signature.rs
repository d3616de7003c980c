//! Bindings for payedge_core::signature (SPEC 2.1): sign and verify Stripe,
//! Standard Webhooks and plain HMAC signatures.
//!
//! Arguments go through `args` (a wrong type is a `SignatureError` with
//! `code="invalid_type"` naming the argument), `now` through `clock` (UNIX
//! seconds, the wall clock by default), errors through `errors`. Bytes
//! payloads are borrowed, not copied; large ones (and every batch) are
//! verified with the GIL released.
use std::cell::RefCell;
use std::sync::Arc;

use payedge_core::signature::{
    self, codes, BatchItem, HeaderField, HmacEncoding, StandardHeaders, StandardKey, StripeKey,
    StripeTimestamp, UnixTime,
};
use payedge_core::Error;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyList, PyString, PyTuple};
use pyo3::Borrowed;

use crate::args::{self, Arg, Keys, Payload};
use crate::clock;
use crate::errors::{self, BindError, BindResult};

/// Payloads at least this long are verified with the GIL released.
const DETACH_THRESHOLD: usize = 64 * 1024;

const PAYLOAD: Arg = Arg::signature("payload");
const HEADER: Arg = Arg::signature("header").text_code(codes::MALFORMED_HEADER);
const HEADERS: Arg = Arg::signature("headers").text_code(codes::MALFORMED_HEADER);
const SECRETS: Arg = Arg::signature("secrets").text_code(codes::INVALID_SECRET);
const SECRET: Arg = Arg::signature("secret").text_code(codes::INVALID_SECRET);
const SIGNATURE: Arg = Arg::signature("signature").text_code(codes::MALFORMED_SIGNATURE);
const TIMESTAMP: Arg = Arg::signature("timestamp");
const TOLERANCE: Arg = Arg::signature("tolerance");
const MSG_ID: Arg = Arg::signature("msg_id");
const ENCODING: Arg = Arg::signature("encoding");
const ITEMS: Arg = Arg::signature("items");

/// `tolerance`: seconds, `None` (Stripe only: no age check); the default is 300.
pub(crate) struct Tolerance(Option<u64>);

impl<'a, 'py> FromPyObject<'a, 'py> for Tolerance {
    type Error = BindError;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> BindResult<Self> {
        if obj.is_none() {
            return Ok(Self(None));
        }
        Ok(Self(Some(args::u64(&obj, &TOLERANCE)?)))
    }
}

impl Tolerance {
    /// Whether a Stripe age check will read the clock (`None` and `0` disable it).
    fn ages(&self) -> bool {
        self.0.is_some_and(|t| t > 0)
    }
}

pub(crate) const DEFAULT_TOLERANCE: Tolerance = Tolerance(Some(300));

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
pub(crate) fn maybe_detach<T: Send>(py: Python<'_>, len: usize, f: impl FnOnce() -> T + Send) -> T {
    if len >= DETACH_THRESHOLD {
        py.detach(f)
    } else {
        f()
    }
}

// ---------------------------------------------------------------- Stripe

/// The arguments `verify_stripe` and `parse_stripe_event` share, converted.
pub(crate) struct StripeArgs<'a, 'py> {
    pub payload: Payload<'py>,
    /// `None` (no header) is passed to the core as empty: both are `missing_header`.
    pub header: &'a str,
    pub keys: Keys<StripeKey>,
    pub tolerance: Option<u64>,
    pub now: UnixTime,
}

impl<'a, 'py> StripeArgs<'a, 'py> {
    pub fn extract(
        payload: &Bound<'py, PyAny>,
        header: &'a Bound<'py, PyAny>,
        secrets: &Bound<'py, PyAny>,
        tolerance: &Tolerance,
        now: Option<&Bound<'py, PyAny>>,
    ) -> BindResult<Self> {
        let payload = Payload::extract(payload, &PAYLOAD)?;
        let header = if header.is_none() {
            ""
        } else {
            args::str(header, &HEADER)?
        };
        let keys = Keys::extract(secrets, &SECRETS, stripe_key)?;
        let now = clock::unix_now(now, tolerance.ages())?;
        Ok(Self {
            payload,
            header,
            keys,
            tolerance: tolerance.0,
            now,
        })
    }
}

/// The `Stripe-Signature` header for `payload`:
/// `t=<timestamp>,v1=<hex hmac-sha256(secret, "<timestamp>." + payload)>`.
#[pyfunction]
#[pyo3(signature = (payload, secret, timestamp))]
fn sign_stripe(
    payload: &Bound<'_, PyAny>,
    secret: &Bound<'_, PyAny>,
    timestamp: &Bound<'_, PyAny>,
) -> BindResult<String> {
    let payload = Payload::extract(payload, &PAYLOAD)?;
    let key = stripe_key(args::str(secret, &SECRET)?).map_err(|e| SECRET.owns(e))?;
    let timestamp = args::u64(timestamp, &TIMESTAMP)?;
    Ok(signature::sign_stripe(payload.as_slice(), &key, timestamp))
}

/// Verify a `Stripe-Signature` header; returns its timestamp (see `_core.pyi`).
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
) -> BindResult<Bound<'py, PyAny>> {
    let py = payload.py();
    let args = StripeArgs::extract(payload, header, secrets, &tolerance, now)?;
    let (bytes, header, keys) = (args.payload.as_slice(), args.header, args.keys.as_slice());
    let ts = maybe_detach(py, bytes.len(), || {
        signature::verify_stripe(bytes, header, keys, args.tolerance, args.now)
    })?;
    Ok(timestamp_to_py(py, &ts)?)
}

/// One `(payload, header)` item of a batch, held by strong references so the
/// slices handed to the core stay valid while the GIL is released.
type HeldItem<'py> = (Payload<'py>, Option<Bound<'py, PyString>>);

fn batch_items<'py>(items: &Bound<'py, PyAny>) -> BindResult<Vec<HeldItem<'py>>> {
    let expected = "a sequence of (bytes, str) tuples";
    let iter = args::iter(items, &ITEMS, expected)?;
    let mut held = Vec::with_capacity(items.len().unwrap_or(0));
    for (i, item) in iter.enumerate() {
        let item = item?;
        let arg = ITEMS.element(i);
        let pair = item
            .cast::<PyTuple>()
            .ok()
            .filter(|t| t.len() == 2)
            .ok_or_else(|| arg.wrong_type(&item, "a (bytes, str) tuple"))?;
        let payload = Payload::extract(&pair.get_item(0)?, &arg.element(0))?;
        let header = pair.get_item(1)?;
        let header = if header.is_none() {
            None
        } else {
            let cast = header.cast_into::<PyString>();
            Some(cast.map_err(|e| arg.element(1).wrong_type(e.into_inner().as_any(), "str"))?)
        };
        held.push((payload, header));
    }
    Ok(held)
}

/// Verify many `(payload, header)` pairs with the GIL released (see `_core.pyi`).
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
) -> BindResult<Bound<'py, PyList>> {
    let py = items.py();
    let keys = Keys::extract(secrets, &SECRETS, stripe_key)?;
    let now = clock::unix_now(now, tolerance.ages())?;
    let held = batch_items(items)?;
    // A header with lone surrogates has no UTF-8 form: it goes in as "absent"
    // and its verdict is replaced below.
    let mut unencodable = Vec::new();
    let views: Vec<BatchItem<'_>> = held
        .iter()
        .enumerate()
        .map(|(i, (payload, header))| {
            let header = header.as_ref().and_then(|h| match h.to_str() {
                Ok(s) => Some(s),
                Err(_) => {
                    unencodable.push(i);
                    None
                }
            });
            (payload.as_slice(), header)
        })
        .collect();
    let keys = keys.as_slice();
    let tolerance = tolerance.0;
    let mut verdicts = py.detach(|| signature::verify_stripe_many(&views, keys, tolerance, now));
    for i in unencodable {
        if let Some(verdict) = verdicts.get_mut(i) {
            *verdict = Err(HEADER.bad_text());
        }
    }
    // events of one backlog often share a timestamp: share the int object too
    let mut last: Option<(u64, Bound<'py, PyAny>)> = None;
    let objects = verdicts
        .iter()
        .map(|verdict| match verdict {
            Ok(ts) => match (ts.as_u64(), &last) {
                (Some(v), Some((seen, obj))) if v == *seen => Ok(obj.clone()),
                (value, _) => {
                    let obj = timestamp_to_py(py, ts)?;
                    last = value.map(|v| (v, obj.clone()));
                    Ok(obj)
                }
            },
            Err(e) => errors::instance(py, e),
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyList::new(py, objects)?)
}

// ---------------------------------------------------------------- Standard Webhooks

/// The `webhook-signature` value for a Standard Webhooks message (see `_core.pyi`).
#[pyfunction]
#[pyo3(signature = (msg_id, timestamp, payload, secret))]
fn sign_standard(
    msg_id: &Bound<'_, PyAny>,
    timestamp: &Bound<'_, PyAny>,
    payload: &Bound<'_, PyAny>,
    secret: &Bound<'_, PyAny>,
) -> BindResult<String> {
    let msg_id = args::str(msg_id, &MSG_ID)?;
    let timestamp = args::u64(timestamp, &TIMESTAMP)?;
    let payload = Payload::extract(payload, &PAYLOAD)?;
    let key = standard_key(args::str(secret, &SECRET)?).map_err(|e| SECRET.owns(e))?;
    Ok(signature::sign_standard(
        msg_id,
        timestamp,
        payload.as_slice(),
        &key,
    ))
}

/// The three Standard Webhooks headers picked out of a mapping, last spelling winning.
fn standard_headers<'py>(
    headers: &Bound<'py, PyAny>,
) -> BindResult<[Option<Bound<'py, PyAny>>; 3]> {
    let mut found: [Option<Bound<'py, PyAny>>; 3] = [None, None, None];
    let mut take = |key: &Bound<'py, PyAny>, value: Bound<'py, PyAny>| -> Result<(), Error> {
        let slot = match HeaderField::of(args::str(key, &HEADERS)?) {
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
    let not_mapping = || HEADERS.wrong_type(headers, "a mapping of str to str");
    let items = headers.call_method0("items").map_err(|_| not_mapping())?;
    for pair in items.try_iter().map_err(|_| not_mapping())? {
        let (k, v): (Bound<'py, PyAny>, Bound<'py, PyAny>) =
            pair?.extract().map_err(|_| not_mapping())?;
        take(&k, v)?;
    }
    Ok(found)
}

/// Verify a Standard Webhooks message; returns its `webhook-id` (see `_core.pyi`).
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
) -> BindResult<Bound<'py, PyAny>> {
    let py = payload.py();
    let payload = Payload::extract(payload, &PAYLOAD)?;
    let found = standard_headers(headers)?;
    let keys = Keys::extract(secrets, &SECRETS, standard_key)?;
    let Some(tolerance) = tolerance.0 else {
        return Err(TOLERANCE
            .owns(Error::signature(
                codes::INVALID_TYPE,
                "tolerance must be an int (Standard Webhooks always bound the age)",
            ))
            .into());
    };
    let now = clock::unix_now(now, true)?;
    let names = ["webhook-id", "webhook-timestamp", "webhook-signature"];
    let mut values: [Option<&str>; 3] = [None, None, None];
    for ((value, slot), name) in found.iter().zip(values.iter_mut()).zip(names) {
        if let Some(v) = value {
            *slot = Some(args::str(v, &HEADERS.item(name))?);
        }
    }
    let parsed = StandardHeaders {
        id: values[0],
        timestamp: values[1],
        signature: values[2],
    };
    let bytes = payload.as_slice();
    let keys = keys.as_slice();
    let id = maybe_detach(py, bytes.len(), || {
        signature::verify_standard(bytes, &parsed, keys, tolerance, now)
    })?;
    Ok(match &found[0] {
        // the caller's own str object: no copy
        Some(given) => given.clone(),
        None => PyString::new(py, id).into_any(),
    })
}

// ---------------------------------------------------------------- plain HMAC

/// `encoding`: `"hex"` (the default) or `"base64"`.
struct Encoding(HmacEncoding);

impl<'a, 'py> FromPyObject<'a, 'py> for Encoding {
    type Error = BindError;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> BindResult<Self> {
        let name = args::str(&obj, &ENCODING)?;
        Ok(Self(HmacEncoding::from_name(name)?))
    }
}

/// Check a bare HMAC-SHA256 of the payload, in constant time (see `_core.pyi`).
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
) -> BindResult<()> {
    let py = payload.py();
    let payload = Payload::extract(payload, &PAYLOAD)?;
    let claimed = args::str(signature, &SIGNATURE)?;
    let key = args::secret_bytes(secret, &SECRET)?;
    let encoding = encoding.0;
    let bytes = payload.as_slice();
    Ok(maybe_detach(py, bytes.len(), || {
        signature::verify_hmac(bytes, claimed, &key, encoding)
    })?)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sign_stripe, m)?)?;
    m.add_function(wrap_pyfunction!(verify_stripe, m)?)?;
    m.add_function(wrap_pyfunction!(verify_stripe_many, m)?)?;
    m.add_function(wrap_pyfunction!(sign_standard, m)?)?;
    m.add_function(wrap_pyfunction!(verify_standard, m)?)?;
    m.add_function(wrap_pyfunction!(verify_hmac, m)?)?;
    Ok(())
}
