//! Bindings for payedge_core::locks: `LeaseLocks` (SPEC 2.4). `now` is
//! seconds on `time.monotonic()`'s clock (`clock.rs`); bad arguments are
//! `InvalidArgumentError` naming them (`args.rs`).
use payedge_core::locks::LeaseLocks;
use pyo3::prelude::*;

use crate::args::{self, Arg};
use crate::clock::monotonic_now;
use crate::errors::BindResult;
use crate::queue::token_arg;

const KEY: Arg = Arg::invalid("key");
const TTL: Arg = Arg::invalid("ttl");

/// Expiring locks on keys with fencing tokens (SPEC 2.4).
#[pyclass(frozen, name = "LeaseLocks", module = "payedge._core")]
pub struct PyLeaseLocks(LeaseLocks);

#[pymethods]
impl PyLeaseLocks {
    #[new]
    #[pyo3(signature = (ttl = None), text_signature = "(ttl=180.0)")]
    fn new(ttl: Option<&Bound<'_, PyAny>>) -> BindResult<Self> {
        let ttl = args::given(ttl).map_or(Ok(180.0), |v| args::seconds(v, &TTL))?;
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
    fn acquire(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<Option<u64>> {
        let key = args::str(key, &KEY)?;
        let now = monotonic_now(py, now)?;
        Ok(self.0.acquire(key, now)?)
    }

    #[pyo3(signature = (key, token, now = None))]
    fn release(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        token: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<bool> {
        let key = args::str(key, &KEY)?;
        let (token, now) = (token_arg(token)?, monotonic_now(py, now)?);
        Ok(self.0.release(key, token, now)?)
    }

    #[pyo3(signature = (key, token, now = None))]
    fn extend(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        token: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<bool> {
        let key = args::str(key, &KEY)?;
        let (token, now) = (token_arg(token)?, monotonic_now(py, now)?);
        Ok(self.0.extend(key, token, now)?)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyLeaseLocks>()?;
    Ok(())
}
