//! Bindings for payedge_core::dedupe: `Deduper` (SPEC 2.2).
//!
//! `now` is seconds on `time.monotonic()`'s clock (see `clock.rs`); bad
//! arguments are `InvalidArgumentError` naming them (see `args.rs`).
use payedge_core::dedupe::legacy::LegacyDeduper as CoreLegacyDeduper;
use payedge_core::dedupe::Deduper as CoreDeduper;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::args::{self, Arg};
use crate::clock::monotonic_now;
use crate::errors::BindResult;

const KEY: Arg = Arg::invalid("key");
const KEYS: Arg = Arg::invalid("keys");
const TTL: Arg = Arg::invalid("ttl");
const MAX_ENTRIES: Arg = Arg::invalid("max_entries");

/// `ttl` (seconds) and `max_entries`, with the SPEC defaults.
fn new_args(
    ttl: Option<&Bound<'_, PyAny>>,
    max_entries: Option<&Bound<'_, PyAny>>,
) -> BindResult<(f64, usize)> {
    let ttl = ttl.map_or(Ok(CoreDeduper::DEFAULT_TTL), |v| args::seconds(v, &TTL))?;
    let max_entries = match max_entries {
        None => CoreDeduper::DEFAULT_MAX_ENTRIES,
        Some(v) => {
            let wide = args::int(v, &MAX_ENTRIES)?;
            usize::try_from(wide).map_err(|_| match wide {
                ..1 => MAX_ENTRIES.out_of_range("must be at least 1"),
                _ => MAX_ENTRIES.out_of_range(format!("{wide} is out of range")),
            })?
        }
    };
    Ok((ttl, max_entries))
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
        let (ttl, max_entries) = new_args(ttl, max_entries)?;
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
        let key = args::str(key, &KEY)?;
        let now = monotonic_now(py, now)?;
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
        let now = monotonic_now(py, now)?;
        // Strong references to every str: their UTF-8 stays valid without the GIL.
        let owned = args::str_seq(keys, &KEYS)?;
        let borrowed = args::utf8_all(&owned, &KEYS)?;
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
        let key = args::str(key, &KEY)?;
        let now = monotonic_now(py, now)?;
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
        let now = monotonic_now(py, None)?;
        Ok(self.inner.contains(key, now)?)
    }

    /// Entries held (expired ones not yet purged included).
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Remove every entry expired at `now`; returns how many.
    #[pyo3(signature = (now = None))]
    fn purge_expired(&self, py: Python<'_>, now: Option<&Bound<'_, PyAny>>) -> BindResult<usize> {
        let now = monotonic_now(py, now)?;
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

/// The deduper before issue 16 (whole keys stored), for the benchmarks'
/// baseline only (`bench/dedupe_memory.py`); not part of the API.
#[pyclass(frozen, module = "payedge._core", name = "_LegacyDeduper")]
pub struct LegacyDeduper {
    inner: CoreLegacyDeduper,
}

#[pymethods]
impl LegacyDeduper {
    #[new]
    #[pyo3(signature = (ttl = None, max_entries = None), text_signature = "(ttl=259200.0, max_entries=10000000)")]
    fn new(
        ttl: Option<&Bound<'_, PyAny>>,
        max_entries: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<Self> {
        let (ttl, max_entries) = new_args(ttl, max_entries)?;
        Ok(LegacyDeduper {
            inner: CoreLegacyDeduper::new(ttl, max_entries)?,
        })
    }

    #[pyo3(signature = (key, now = None))]
    fn check_and_insert(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<bool> {
        let key = args::str(key, &KEY)?;
        let now = monotonic_now(py, now)?;
        Ok(self.inner.check_and_insert(key, now)?)
    }

    #[pyo3(signature = (keys, now = None))]
    fn check_and_insert_many(
        &self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<Vec<bool>> {
        let now = monotonic_now(py, now)?;
        let owned = args::str_seq(keys, &KEYS)?;
        let borrowed = args::utf8_all(&owned, &KEYS)?;
        let inner = &self.inner;
        Ok(py.detach(|| inner.check_and_insert_many(&borrowed, now))?)
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Deduper>()?;
    m.add_class::<LegacyDeduper>()?;
    Ok(())
}
