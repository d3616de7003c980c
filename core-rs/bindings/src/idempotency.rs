//! Bindings for payedge_core::idempotency and payedge_core::fingerprint.
use payedge_core::fingerprint::fingerprint as core_fingerprint;
use payedge_core::idempotency::{self as core, Begin as CoreBegin, IdempotencyCache as CoreCache};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::dedupe::{bytes_arg, float_arg, int_arg, now_arg, str_arg};
use crate::errors::BindResult;

/// Bodies at least this large are hashed without the GIL.
const DETACH_BODY_BYTES: usize = 64 * 1024;

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
        let ttl = ttl.map_or(Ok(CoreCache::DEFAULT_TTL), |v| float_arg(v, "ttl"))?;
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
        let key = str_arg(key, "key")?;
        let fingerprint = str_arg(fingerprint, "fingerprint")?;
        let now = now_arg(py, now)?;
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
        let key = str_arg(key, "key")?;
        let status = core::check_status(int_arg(status, "status")?)?;
        let body = bytes_arg(body, "body")?;
        Ok(self.inner.complete(key, status, body)?)
    }

    /// Forget the in-flight request so it may be retried; False if `key` is not in flight.
    fn abandon(&self, key: &Bound<'_, PyAny>) -> BindResult<bool> {
        let key = str_arg(key, "key")?;
        Ok(self.inner.abandon(key)?)
    }

    /// Keys held (expired ones not yet purged included).
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Remove every key expired at `now`; returns how many.
    #[pyo3(signature = (now = None))]
    fn purge_expired(&self, py: Python<'_>, now: Option<&Bound<'_, PyAny>>) -> BindResult<usize> {
        let now = now_arg(py, now)?;
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

/// Canonical request hash (sha256 hex) of method, path and body.
#[pyfunction]
fn fingerprint(
    py: Python<'_>,
    method: &Bound<'_, PyAny>,
    path: &Bound<'_, PyAny>,
    body: &Bound<'_, PyAny>,
) -> BindResult<String> {
    let method = str_arg(method, "method")?;
    let path = str_arg(path, "path")?;
    let body = bytes_arg(body, "body")?;
    if body.len() >= DETACH_BODY_BYTES {
        Ok(py.detach(|| core_fingerprint(method, path, body)))
    } else {
        Ok(core_fingerprint(method, path, body))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Begin>()?;
    m.add_class::<IdempotencyCache>()?;
    m.add_function(wrap_pyfunction!(fingerprint, m)?)?;
    Ok(())
}
