//! The one place where payedge-core errors become Python exceptions.
//!
//! The exception classes are plain Python (`payedge._errors`, so they can
//! inherit from both `PayedgeError` and `ValueError`); this module maps each
//! core variant to its class once and re-exports the classes from `_core`.
use payedge_core::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

/// Names of the exception classes in `payedge._errors`, re-exported by `_core`.
const CLASSES: [&str; 9] = [
    "PayedgeError",
    "SignatureError",
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

#[allow(dead_code)] // until every area uses it
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
            BindError::Core(err) => Python::attach(|py| match to_python(py, &err) {
                Ok(mapped) | Err(mapped) => mapped,
            }),
        }
    }
}

/// Convert a core error, mapped once: variant -> class, `code`, and the bad field as `param`.
#[allow(dead_code)] // until every area uses it
pub fn core_error(err: Error) -> PyErr {
    BindError::Core(err).into()
}

fn to_python(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let class = match err {
        Error::Signature { .. } => "SignatureError",
        Error::Money { .. } => "MoneyError",
        Error::Tariff { .. } => "TariffError",
        Error::Routing { .. } => "RoutingError",
        Error::Queue { .. } => "QueueError",
        Error::StaleLease { .. } => "StaleLeaseError",
        Error::Idempotency { .. } => "IdempotencyError",
        Error::Invalid { .. } => "InvalidArgumentError",
    };
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", err.code())?;
    if let Some(param) = err.param() {
        kwargs.set_item("param", param)?;
    }
    if let Error::StaleLease { token, .. } = err {
        kwargs.set_item("token", token)?;
    }
    let instance = errors_module(py)?
        .getattr(class)?
        .call((err.to_string(),), Some(&kwargs))?;
    Ok(PyErr::from_value(instance))
}
