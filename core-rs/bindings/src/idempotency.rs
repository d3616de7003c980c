//! Bindings for payedge_core::idempotency: `IdempotencyCache` and its
//! frozen `Begin` outcome (SPEC 2.2).
//!
//! `now` is seconds on `time.monotonic()`'s clock (see `clock.rs`); bad
//! arguments are `InvalidArgumentError` naming them (see `args.rs`).
use payedge_core::idempotency::{self as core, Begin as CoreBegin, IdempotencyCache as CoreCache};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::args::{self, Arg};
use crate::clock::monotonic_now;
use crate::errors::BindResult;

const KEY: Arg = Arg::invalid("key");
const FINGERPRINT: Arg = Arg::invalid("fingerprint");
const STATUS: Arg = Arg::invalid("status");
const BODY: Arg = Arg::invalid("body");
const TTL: Arg = Arg::invalid("ttl");

/// The outcome of `IdempotencyCache.begin`.
#[pyclass(frozen, module = "payedge._core", name = "Begin")]
pub struct Begin {
    kind: &'static str,
    status: Option<u16>,
    body: Option<Py<PyBytes>>,
}

#[pymethods]
impl Begin {
    /// "new", "in_flight", "replay" or "mismatch".
    #[getter]
    fn kind(&self) -> &'static str {
        self.kind
    }

    /// The saved status code, for "replay" only.
    #[getter]
    fn status(&self) -> Option<u16> {
        self.status
    }

    /// The saved response body, for "replay" only.
    #[getter]
    fn body(&self, py: Python<'_>) -> Option<Py<PyBytes>> {
        self.body.as_ref().map(|body| body.clone_ref(py))
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        match (&self.status, &self.body) {
            (Some(status), Some(body)) => format!(
                "Begin(kind='{}', status={status}, body=<{} bytes>)",
                self.kind,
                body.bind(py).as_bytes().len()
            ),
            _ => format!("Begin(kind='{}')", self.kind),
        }
    }
}

impl Begin {
    fn from_core(py: Python<'_>, begin: CoreBegin) -> Self {
        let kind = begin.kind();
        match begin {
            CoreBegin::Replay { status, body } => Begin {
                kind,
                status: Some(status),
                body: Some(PyBytes::new(py, &body).unbind()),
            },
            CoreBegin::New | CoreBegin::InFlight | CoreBegin::Mismatch => Begin {
                kind,
                status: None,
                body: None,
            },
        }
    }
}

/// Idempotency keys: begin / complete / abandon, keys live `ttl` seconds.
#[pyclass(frozen, module = "payedge._core", name = "IdempotencyCache")]
pub struct IdempotencyCache {
    inner: CoreCache,
}

#[pymethods]
impl IdempotencyCache {
    #[new]
    #[pyo3(signature = (ttl = None), text_signature = "(ttl=86400.0)")]
    fn new(ttl: Option<&Bound<'_, PyAny>>) -> BindResult<Self> {
        let ttl = ttl.map_or(Ok(CoreCache::DEFAULT_TTL), |v| args::seconds(v, &TTL))?;
        Ok(IdempotencyCache {
            inner: CoreCache::new(ttl)?,
        })
    }

    /// Start the request `fingerprint` under `key`, or say what is already there.
    #[pyo3(signature = (key, fingerprint, now = None))]
    fn begin(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        fingerprint: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<Begin> {
        let key = args::str(key, &KEY)?;
        let fingerprint = args::str(fingerprint, &FINGERPRINT)?;
        let now = monotonic_now(py, now)?;
        let begin = self.inner.begin(key, fingerprint, now)?;
        Ok(Begin::from_core(py, begin))
    }

    /// Save the response of the in-flight request; False if `key` is not in flight.
    fn complete(
        &self,
        key: &Bound<'_, PyAny>,
        status: &Bound<'_, PyAny>,
        body: &Bound<'_, PyAny>,
    ) -> BindResult<bool> {
        let key = args::str(key, &KEY)?;
        let status = core::check_status(args::i64(status, &STATUS)?)?;
        let body = args::bytes(body, &BODY)?;
        Ok(self.inner.complete(key, status, body)?)
    }

    /// Forget the in-flight request so it may be retried; False if `key` is not in flight.
    fn abandon(&self, key: &Bound<'_, PyAny>) -> BindResult<bool> {
        let key = args::str(key, &KEY)?;
        Ok(self.inner.abandon(key)?)
    }

    /// Keys held (expired ones not yet purged included).
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Remove every key expired at `now`; returns how many.
    #[pyo3(signature = (now = None))]
    fn purge_expired(&self, py: Python<'_>, now: Option<&Bound<'_, PyAny>>) -> BindResult<usize> {
        let now = monotonic_now(py, now)?;
        let inner = &self.inner;
        Ok(py.detach(|| inner.purge_expired(now))?)
    }

    #[getter]
    fn ttl(&self) -> f64 {
        self.inner.ttl()
    }

    fn __repr__(&self) -> String {
        format!(
            "IdempotencyCache(ttl={:?}, len={})",
            self.inner.ttl(),
            self.inner.len()
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Begin>()?;
    m.add_class::<IdempotencyCache>()?;
    Ok(())
}
