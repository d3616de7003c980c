//! Bindings for payedge_core::queue: `TerminalQueue` and its frozen `Lease`
//! (SPEC 2.4). `now` is seconds on `time.monotonic()`'s clock (`clock.rs`);
//! bad arguments are `InvalidArgumentError` naming them (`args.rs`).
//!
//! Mutations try the queue's writer lock with the GIL held (a few hundred
//! nanoseconds of work: releasing the GIL for that would cost more than it
//! saves and convoy Python threads); only when the lock is contended does the
//! caller release the GIL (`py.detach`) while it waits and works, so other
//! Python threads run meanwhile. Reads (`position`, `snapshot`) are lock-free.
use std::sync::Arc;

use payedge_core::queue::{self, TerminalQueue, Writer};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyList, PyString, PyTuple};

use crate::args::{self, Arg};
use crate::clock::monotonic_now;
use crate::errors::BindResult;

const PAYMENT_ID: Arg = Arg::invalid("payment_id");
const USER_ID: Arg = Arg::invalid("user_id");
const TERMINAL_ID: Arg = Arg::invalid("terminal_id");
const TERMINALS: Arg = Arg::invalid("terminals");
const TOKEN: Arg = Arg::invalid("token");
const LOCK_TTL: Arg = Arg::invalid("lock_ttl");
const EXPIRES_AT: Arg = Arg::invalid("expires_at");

/// A fencing token as Python gave it: out-of-range values (negative, huge)
/// were never issued, so they map to 0, which is never issued either (stale).
pub(crate) fn token_arg(token: &Bound<'_, PyAny>) -> BindResult<u64> {
    Ok(u64::try_from(args::int(token, &TOKEN)?).unwrap_or(0))
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
        payment_id: &Bound<'_, PyAny>,
        user_id: &Bound<'_, PyAny>,
        terminal_id: &Bound<'_, PyAny>,
        token: &Bound<'_, PyAny>,
        expires_at: &Bound<'_, PyAny>,
    ) -> BindResult<Self> {
        Ok(PyLease(queue::Lease {
            payment_id: Arc::from(args::str(payment_id, &PAYMENT_ID)?),
            user_id: Arc::from(args::str(user_id, &USER_ID)?),
            terminal_id: Arc::from(args::str(terminal_id, &TERMINAL_ID)?),
            token: args::u64(token, &TOKEN)?,
            expires_at: args::seconds(expires_at, &EXPIRES_AT)?,
        }))
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
    #[pyo3(signature = (terminals, lock_ttl = None), text_signature = "(terminals, lock_ttl=180.0)")]
    fn new(terminals: &Bound<'_, PyAny>, lock_ttl: Option<&Bound<'_, PyAny>>) -> BindResult<Self> {
        let lock_ttl = args::given(lock_ttl).map_or(Ok(180.0), |v| args::seconds(v, &LOCK_TTL))?;
        let terminals = args::str_seq(terminals, &TERMINALS)?;
        let terminals = args::utf8_all(&terminals, &TERMINALS)?;
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
        payment_id: &Bound<'_, PyAny>,
        user_id: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<usize> {
        let payment_id = args::str(payment_id, &PAYMENT_ID)?;
        let user_id = args::str(user_id, &USER_ID)?;
        let now = monotonic_now(py, now)?;
        Ok(with_writer(py, &self.0, |w| {
            w.enqueue(payment_id, user_id, now)
        })?)
    }

    fn position(&self, payment_id: &Bound<'_, PyAny>) -> BindResult<Option<usize>> {
        Ok(self.0.position(args::str(payment_id, &PAYMENT_ID)?))
    }

    #[pyo3(signature = (terminal_id, now = None))]
    fn allocate(
        &self,
        py: Python<'_>,
        terminal_id: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<Option<PyLease>> {
        let terminal_id = args::str(terminal_id, &TERMINAL_ID)?;
        let now = monotonic_now(py, now)?;
        let lease = with_writer(py, &self.0, |w| w.allocate(terminal_id, now))?;
        Ok(lease.map(PyLease))
    }

    #[pyo3(signature = (token, now = None))]
    fn complete(
        &self,
        py: Python<'_>,
        token: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<()> {
        let (token, now) = (token_arg(token)?, monotonic_now(py, now)?);
        Ok(with_writer(py, &self.0, |w| w.complete(token, now))?)
    }

    #[pyo3(signature = (token, now = None))]
    fn extend(
        &self,
        py: Python<'_>,
        token: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<f64> {
        let (token, now) = (token_arg(token)?, monotonic_now(py, now)?);
        Ok(with_writer(py, &self.0, |w| w.extend(token, now))?)
    }

    fn cancel(&self, py: Python<'_>, payment_id: &Bound<'_, PyAny>) -> BindResult<bool> {
        let payment_id = args::str(payment_id, &PAYMENT_ID)?;
        Ok(with_writer(py, &self.0, |w| w.cancel(payment_id)))
    }

    #[pyo3(signature = (now = None))]
    fn expire(&self, py: Python<'_>, now: Option<&Bound<'_, PyAny>>) -> BindResult<Vec<PyLease>> {
        let now = monotonic_now(py, now)?;
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

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyLease>()?;
    m.add_class::<PyTerminalQueue>()?;
    Ok(())
}
