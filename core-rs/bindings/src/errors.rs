//! The one error path: every exception a binding raises is a core
//! [`payedge_core::Error`] mapped here, once.
//!
//! - variant -> class: `Signature` -> `SignatureError`, `Payload` ->
//!   `PayloadError`, `Money` -> `MoneyError`, `Tariff` -> `TariffError`,
//!   `Queue` -> `QueueError`, `StaleLease` -> `StaleLeaseError`,
//!   `Idempotency` -> `IdempotencyError`, `Invalid` -> `InvalidArgumentError`;
//! - `.code` is `Error::code()`, `.param` is `Error::param()` (decided in the
//!   core, or by the argument layer naming the argument it rejected), the
//!   message is the error's `Display`; a stale lease also carries `.token`.
//!
//! The classes are plain Python (`payedge._errors`, so they can inherit from
//! both `PayedgeError` and `ValueError`); `register` re-exports them from `_core`.
//! An exception Python itself raised while a binding called back into it
//! (a failing iterator, a `__float__` that raises) passes through unchanged.
use payedge_core::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

/// Names of the exception classes in `payedge._errors`, re-exported by `_core`.
const CLASSES: [&str; 10] = [
    "PayedgeError",
    "SignatureError",
    "PayloadError",
    "MoneyError",
    "TariffError",
    "RoutingError",
    "QueueError",
    "StaleLeaseError",
    "IdempotencyError",
    "InvalidArgumentError",
];

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    ERRORS_MODULE
        .get_or_try_init(py, || py.import("payedge._errors").map(Bound::unbind))
        .map(|m| m.bind(py))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let errors = errors_module(m.py())?;
    for name in CLASSES {
        m.add(name, errors.getattr(name)?)?;
    }
    Ok(())
}

/// The error type of every binding function: a core error (mapped to its
/// Python class on the way out) or an error Python already raised.
pub enum BindError {
    Core(Error),
    Py(PyErr),
}

pub type BindResult<T> = Result<T, BindError>;

impl From<Error> for BindError {
    fn from(err: Error) -> Self {
        BindError::Core(err)
    }
}

impl From<PyErr> for BindError {
    fn from(err: PyErr) -> Self {
        BindError::Py(err)
    }
}

impl From<BindError> for PyErr {
    fn from(err: BindError) -> Self {
        match err {
            BindError::Py(err) => err,
            BindError::Core(err) => Python::attach(|py| match instance(py, &err) {
                Ok(instance) => PyErr::from_value(instance),
                Err(failed) => failed,
            }),
        }
    }
}

/// The Python class of each core variant.
fn class_of(err: &Error) -> &'static str {
    match err {
        Error::Signature { .. } => "SignatureError",
        Error::Payload { .. } => "PayloadError",
        Error::Money { .. } => "MoneyError",
        Error::Tariff { .. } => "TariffError",
        Error::Routing { .. } => "RoutingError",
        Error::Queue { .. } => "QueueError",
        Error::StaleLease { .. } => "StaleLeaseError",
        Error::Idempotency { .. } => "IdempotencyError",
        Error::Invalid { .. } => "InvalidArgumentError",
    }
}

/// The exception object for `err`, not raised (`verify_stripe_many` returns them).
pub fn instance<'py>(py: Python<'py>, err: &Error) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", err.code())?;
    if let Some(param) = err.param() {
        kwargs.set_item("param", param)?;
    }
    if let Error::StaleLease { token, .. } = err {
        kwargs.set_item("token", token)?;
    }
    errors_module(py)?
        .getattr(class_of(err))?
        .call((err.to_string(),), Some(&kwargs))
}
