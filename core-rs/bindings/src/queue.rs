//! Bindings for payedge_core::queue and payedge_core::locks (SPEC 2.4).
//!
//! Mutations try the queue's writer lock with the GIL held (a few hundred
//! nanoseconds of work: releasing the GIL for that would cost more than it
//! saves and convoy Python threads); only when the lock is contended does the
//! caller release the GIL (`py.detach`) while it waits and works, so other
//! Python threads run meanwhile. Reads (`position`, `snapshot`) are lock-free.
use std::sync::Arc;

use payedge_core::locks::LeaseLocks;
use payedge_core::queue::{self, TerminalQueue, Writer};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyFloat, PyList, PyString, PyTuple};

use crate::errors::BindResult;

static MONOTONIC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `now`, or Python's `time.monotonic()` when it is None (the same clock).
fn resolve_now(py: Python<'_>, now: Option<f64>) -> PyResult<f64> {
    match now {
        Some(now) => Ok(now),
        None => MONOTONIC
            .get_or_try_init(py, || {
                py.import("time")?.getattr("monotonic").map(Bound::unbind)
            })?
            .bind(py)
            .call0()?
            .extract(),
    }
}

/// A token as Python gave it: out-of-range values (negative, huge) were never
/// issued, so they map to 0, which is never issued either (stale).
fn token_of(token: i128) -> u64 {
    u64::try_from(token).unwrap_or(0)
}

/// Run `f` with the writer lock: at once if it is free, else with the GIL
/// released while waiting for it.
fn with_writer<R: Send>(
    py: Python<'_>,
    q: &TerminalQueue,
    f: impl FnOnce(&mut Writer<'_>) -> R + Send,
) -> R {
    if let Some(mut writer) = q.try_write() {
        return f(&mut writer);
    }
    py.detach(|| f(&mut q.write()))
}

/// A terminal lease: `complete` or `extend` it with `token` before `expires_at`.
#[pyclass(frozen, name = "Lease", module = "payedge._core")]
pub struct PyLease(queue::Lease);

impl From<queue::Lease> for PyLease {
    fn from(lease: queue::Lease) -> Self {
        PyLease(lease)
    }
}

#[pymethods]
impl PyLease {
    #[new]
    fn new(
        payment_id: &str,
        user_id: &str,
        terminal_id: &str,
        token: u64,
        expires_at: f64,
    ) -> Self {
        PyLease(queue::Lease {
            payment_id: Arc::from(payment_id),
            user_id: Arc::from(user_id),
            terminal_id: Arc::from(terminal_id),
            token,
            expires_at,
        })
    }

    #[classattr]
    fn __match_args__(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
        PyTuple::new(
            py,
            [
                "payment_id",
                "user_id",
                "terminal_id",
                "token",
                "expires_at",
            ],
        )
    }

    #[getter]
    fn payment_id(&self) -> &str {
        &self.0.payment_id
    }

    #[getter]
    fn user_id(&self) -> &str {
        &self.0.user_id
    }

    #[getter]
    fn terminal_id(&self) -> &str {
        &self.0.terminal_id
    }

    #[getter]
    fn token(&self) -> u64 {
        self.0.token
    }

    #[getter]
    fn expires_at(&self) -> f64 {
        self.0.expires_at
    }

    fn __eq__(&self, value: &Bound<'_, PyAny>) -> bool {
        value
            .cast::<PyLease>()
            .is_ok_and(|other| other.get().0 == self.0)
    }

    fn __hash__(&self) -> u64 {
        // Equal leases have equal tokens and expiries.
        self.0
            .token
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add((self.0.expires_at + 0.0).to_bits()) // -0.0 == 0.0
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let s = |v: &str| PyString::new(py, v).repr().map(|r| r.to_string());
        Ok(format!(
            "Lease(payment_id={}, user_id={}, terminal_id={}, token={}, expires_at={})",
            s(&self.0.payment_id)?,
            s(&self.0.user_id)?,
            s(&self.0.terminal_id)?,
            self.0.token,
            PyFloat::new(py, self.0.expires_at).repr()?,
        ))
    }
}

/// Card payments waiting for one of N terminals (SPEC 2.4).
///
/// Boxed: the core type is cache-line aligned (its sequence counter is padded
/// against false sharing) and Python's allocator does not honour that.
#[pyclass(frozen, name = "TerminalQueue", module = "payedge._core")]
pub struct PyTerminalQueue(Box<TerminalQueue>);

#[pymethods]
impl PyTerminalQueue {
    #[new]
    #[pyo3(signature = (terminals, lock_ttl = 180.0))]
    fn new(terminals: Vec<String>, lock_ttl: f64) -> BindResult<Self> {
        Ok(Self(Box::new(TerminalQueue::new(terminals, lock_ttl)?)))
    }

    #[getter]
    fn lock_ttl(&self) -> f64 {
        self.0.lock_ttl()
    }

    #[getter]
    fn terminals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.0.terminals().iter().map(|t| &**t))
    }

    fn __len__(&self) -> usize {
        self.0.len()
    }

    #[pyo3(signature = (payment_id, user_id, now = None))]
    fn enqueue(
        &self,
        py: Python<'_>,
        payment_id: &str,
        user_id: &str,
        now: Option<f64>,
    ) -> BindResult<usize> {
        let now = resolve_now(py, now)?;
        Ok(with_writer(py, &self.0, |w| {
            w.enqueue(payment_id, user_id, now)
        })?)
    }

    fn position(&self, payment_id: &str) -> Option<usize> {
        self.0.position(payment_id)
    }

    #[pyo3(signature = (terminal_id, now = None))]
    fn allocate(
        &self,
        py: Python<'_>,
        terminal_id: &str,
        now: Option<f64>,
    ) -> BindResult<Option<PyLease>> {
        let now = resolve_now(py, now)?;
        let lease = with_writer(py, &self.0, |w| w.allocate(terminal_id, now))?;
        Ok(lease.map(PyLease))
    }

    #[pyo3(signature = (token, now = None))]
    fn complete(&self, py: Python<'_>, token: i128, now: Option<f64>) -> BindResult<()> {
        let (token, now) = (token_of(token), resolve_now(py, now)?);
        Ok(with_writer(py, &self.0, |w| w.complete(token, now))?)
    }

    #[pyo3(signature = (token, now = None))]
    fn extend(&self, py: Python<'_>, token: i128, now: Option<f64>) -> BindResult<f64> {
        let (token, now) = (token_of(token), resolve_now(py, now)?);
        Ok(with_writer(py, &self.0, |w| w.extend(token, now))?)
    }

    fn cancel(&self, py: Python<'_>, payment_id: &str) -> bool {
        with_writer(py, &self.0, |w| w.cancel(payment_id))
    }

    #[pyo3(signature = (now = None))]
    fn expire(&self, py: Python<'_>, now: Option<f64>) -> BindResult<Vec<PyLease>> {
        let now = resolve_now(py, now)?;
        let ended = with_writer(py, &self.0, |w| w.expire(now))?;
        Ok(ended.into_iter().map(PyLease).collect())
    }

    /// `{"queue": [payment ids in order], "terminals": {id: Lease | None}}`.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let snapshot = py.detach(|| self.0.snapshot());
        let terminals = PyDict::new(py);
        for (id, lease) in snapshot.terminals {
            terminals.set_item(&*id, lease.map(PyLease))?;
        }
        let out = PyDict::new(py);
        out.set_item(
            "queue",
            PyList::new(py, snapshot.queue.iter().map(|p| &**p))?,
        )?;
        out.set_item("terminals", terminals)?;
        Ok(out)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "TerminalQueue(terminals={}, lock_ttl={})",
            self.terminals(py)?.repr()?,
            PyFloat::new(py, self.0.lock_ttl()).repr()?
        ))
    }
}

/// Expiring locks on keys with fencing tokens (SPEC 2.4).
#[pyclass(frozen, name = "LeaseLocks", module = "payedge._core")]
pub struct PyLeaseLocks(LeaseLocks);

#[pymethods]
impl PyLeaseLocks {
    #[new]
    #[pyo3(signature = (ttl = 180.0))]
    fn new(ttl: f64) -> BindResult<Self> {
        Ok(Self(LeaseLocks::new(ttl)?))
    }

    #[getter]
    fn ttl(&self) -> f64 {
        self.0.ttl()
    }

    fn __len__(&self) -> usize {
        self.0.len()
    }

    #[pyo3(signature = (key, now = None))]
    fn acquire(&self, py: Python<'_>, key: &str, now: Option<f64>) -> BindResult<Option<u64>> {
        let now = resolve_now(py, now)?;
        Ok(self.0.acquire(key, now)?)
    }

    #[pyo3(signature = (key, token, now = None))]
    fn release(
        &self,
        py: Python<'_>,
        key: &str,
        token: i128,
        now: Option<f64>,
    ) -> BindResult<bool> {
        let (token, now) = (token_of(token), resolve_now(py, now)?);
        Ok(self.0.release(key, token, now)?)
    }

    #[pyo3(signature = (key, token, now = None))]
    fn extend(&self, py: Python<'_>, key: &str, token: i128, now: Option<f64>) -> BindResult<bool> {
        let (token, now) = (token_of(token), resolve_now(py, now)?);
        Ok(self.0.extend(key, token, now)?)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyLease>()?;
    m.add_class::<PyTerminalQueue>()?;
    m.add_class::<PyLeaseLocks>()?;
    Ok(())
}
