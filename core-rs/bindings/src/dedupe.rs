//! Bindings for payedge_core::dedupe, and the argument helpers shared with
//! the idempotency bindings (bad types become `InvalidArgumentError` naming
//! the argument; `now=None` is Python's `time.monotonic()`).
use std::time::Instant;

use payedge_core::dedupe::Deduper as CoreDeduper;
use payedge_core::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyInt, PyString};

use crate::errors::BindResult;

/// `time.monotonic()`, read natively: CPython's `time.monotonic()` and Rust's
/// `Instant` read the same OS clock (CLOCK_MONOTONIC on Linux,
/// mach_absolute_time on macOS), so one Python call at first use pins the
/// offset. The `Instant` is taken after Python's reading, so the native value
/// is never ahead of `time.monotonic()` (and behind by well under a microsecond).
/// Saves a Python call (about 50 ns) on every default-`now` operation.
struct Clock {
    base: Instant,
    base_secs: f64,
}

static CLOCK: PyOnceLock<Clock> = PyOnceLock::new();

fn monotonic(py: Python<'_>) -> PyResult<f64> {
    let clock = CLOCK.get_or_try_init(py, || -> PyResult<Clock> {
        let base_secs = py
            .import("time")?
            .getattr("monotonic")?
            .call0()?
            .extract::<f64>()?;
        Ok(Clock {
            base: Instant::now(),
            base_secs,
        })
    })?;
    Ok(clock.base_secs + clock.base.elapsed().as_secs_f64())
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |name| name.to_string())
}

/// `now` as seconds, or `time.monotonic()` when it is `None`.
pub(crate) fn now_arg(py: Python<'_>, now: Option<&Bound<'_, PyAny>>) -> BindResult<f64> {
    match now {
        Some(value) => float_arg(value, "now"),
        None => Ok(monotonic(py)?),
    }
}

/// A number of seconds (int or float).
pub(crate) fn float_arg(value: &Bound<'_, PyAny>, field: &'static str) -> BindResult<f64> {
    if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
        // float("1.5") would succeed; a string is still the wrong type here.
        return Err(Error::invalid(
            field,
            format!("expected a number, got {}", type_name(value)),
        )
        .into());
    }
    value.extract::<f64>().map_err(|_| {
        Error::invalid(
            field,
            format!("expected a number, got {}", type_name(value)),
        )
        .into()
    })
}

/// An integer argument.
pub(crate) fn int_arg(value: &Bound<'_, PyAny>, field: &'static str) -> BindResult<i64> {
    value.extract::<i64>().map_err(|_| {
        let message = if value.is_instance_of::<PyInt>() {
            format!("{value} is out of range")
        } else {
            format!("expected an int, got {}", type_name(value))
        };
        Error::invalid(field, message).into()
    })
}

/// A `str` argument, borrowed (no copy).
pub(crate) fn str_arg<'a>(value: &'a Bound<'_, PyAny>, field: &'static str) -> BindResult<&'a str> {
    let text = value
        .cast::<PyString>()
        .map_err(|_| Error::invalid(field, format!("expected str, got {}", type_name(value))))?;
    text.to_str()
        .map_err(|_| Error::invalid(field, "not valid Unicode (lone surrogate)").into())
}

/// A `bytes` argument, borrowed (no copy).
pub(crate) fn bytes_arg<'a>(
    value: &'a Bound<'_, PyAny>,
    field: &'static str,
) -> BindResult<&'a [u8]> {
    Ok(value
        .cast::<PyBytes>()
        .map_err(|_| Error::invalid(field, format!("expected bytes, got {}", type_name(value))))?
        .as_bytes())
}

/// Event dedupe: `True` the first time a live key is seen.
#[pyclass(frozen, module = "payedge._core", name = "Deduper")]
pub struct Deduper {
    inner: CoreDeduper,
}

#[pymethods]
impl Deduper {
    #[new]
    #[pyo3(signature = (ttl = None, max_entries = None), text_signature = "(ttl=259200.0, max_entries=10000000)")]
    fn new(
        ttl: Option<&Bound<'_, PyAny>>,
        max_entries: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<Self> {
        let ttl = ttl.map_or(Ok(CoreDeduper::DEFAULT_TTL), |v| float_arg(v, "ttl"))?;
        let max_entries = match max_entries {
            None => CoreDeduper::DEFAULT_MAX_ENTRIES,
            Some(v) => usize::try_from(int_arg(v, "max_entries")?)
                .map_err(|_| Error::invalid("max_entries", "must be at least 1"))?,
        };
        Ok(Deduper {
            inner: CoreDeduper::new(ttl, max_entries)?,
        })
    }

    /// True the first time a live key is seen, False for a duplicate.
    #[pyo3(signature = (key, now = None))]
    fn check_and_insert(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<bool> {
        let key = str_arg(key, "key")?;
        let now = now_arg(py, now)?;
        Ok(self.inner.check_and_insert(key, now)?)
    }

    /// check_and_insert for each key, in order, at one `now`, without the GIL.
    #[pyo3(signature = (keys, now = None))]
    fn check_and_insert_many(
        &self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<Vec<bool>> {
        let not_a_sequence = || {
            Error::invalid(
                "keys",
                format!("expected a sequence of str, got {}", type_name(keys)),
            )
        };
        if keys.is_instance_of::<PyString>() || keys.is_instance_of::<PyBytes>() {
            return Err(not_a_sequence().into());
        }
        let now = now_arg(py, now)?;
        let iter = keys.try_iter().map_err(|_| not_a_sequence())?;
        // Hold a reference to every str so the borrowed UTF-8 stays valid without the GIL.
        let mut owned = Vec::with_capacity(keys.len().unwrap_or(0));
        for (index, item) in iter.enumerate() {
            let item = item?;
            match item.cast_into::<PyString>() {
                Ok(text) => owned.push(text),
                Err(err) => {
                    let got = type_name(err.into_inner().as_any());
                    return Err(Error::invalid(
                        "keys",
                        format!("element {index} is {got}, expected str"),
                    )
                    .into());
                }
            }
        }
        let mut borrowed = Vec::with_capacity(owned.len());
        for (index, text) in owned.iter().enumerate() {
            borrowed.push(text.to_str().map_err(|_| {
                Error::invalid(
                    "keys",
                    format!("element {index} is not valid Unicode (lone surrogate)"),
                )
            })?);
        }
        let inner = &self.inner;
        Ok(py.detach(|| inner.check_and_insert_many(&borrowed, now))?)
    }

    /// Whether `key` is held and live at `now` (default: time.monotonic()).
    #[pyo3(signature = (key, now = None))]
    fn contains(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<bool> {
        let key = str_arg(key, "key")?;
        let now = now_arg(py, now)?;
        Ok(self.inner.contains(key, now)?)
    }

    /// `key in d`: live at time.monotonic(); a non-str is never in.
    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> BindResult<bool> {
        let Ok(key) = key.cast::<PyString>() else {
            return Ok(false);
        };
        let Ok(key) = key.to_str() else {
            return Ok(false);
        };
        let now = now_arg(py, None)?;
        Ok(self.inner.contains(key, now)?)
    }

    /// Entries held (expired ones not yet purged included).
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Remove every entry expired at `now`; returns how many.
    #[pyo3(signature = (now = None))]
    fn purge_expired(&self, py: Python<'_>, now: Option<&Bound<'_, PyAny>>) -> BindResult<usize> {
        let now = now_arg(py, now)?;
        let inner = &self.inner;
        Ok(py.detach(|| inner.purge_expired(now))?)
    }

    /// Live entries dropped early because of max_entries.
    #[getter]
    fn evicted(&self) -> u64 {
        self.inner.evicted()
    }

    #[getter]
    fn ttl(&self) -> f64 {
        self.inner.ttl()
    }

    #[getter]
    fn max_entries(&self) -> usize {
        self.inner.max_entries()
    }

    fn __repr__(&self) -> String {
        format!(
            "Deduper(ttl={:?}, max_entries={}, len={}, evicted={})",
            self.inner.ttl(),
            self.inner.max_entries(),
            self.inner.len(),
            self.inner.evicted()
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Deduper>()?;
    Ok(())
}
