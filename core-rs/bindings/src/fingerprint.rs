//! Bindings for payedge_core::fingerprint: the canonical request hash that
//! idempotency keys are checked against (SPEC 2.2).
use payedge_core::fingerprint::fingerprint as core_fingerprint;
use pyo3::prelude::*;

use crate::args::{self, Arg};
use crate::errors::BindResult;

/// Bodies at least this large are hashed without the GIL.
const DETACH_BODY_BYTES: usize = 64 * 1024;

const METHOD: Arg = Arg::invalid("method");
const PATH: Arg = Arg::invalid("path");
const BODY: Arg = Arg::invalid("body");

/// Canonical request hash (sha256 hex) of method, path and body.
#[pyfunction]
fn fingerprint(
    py: Python<'_>,
    method: &Bound<'_, PyAny>,
    path: &Bound<'_, PyAny>,
    body: &Bound<'_, PyAny>,
) -> BindResult<String> {
    let method = args::str(method, &METHOD)?;
    let path = args::str(path, &PATH)?;
    let body = args::bytes(body, &BODY)?;
    if body.len() >= DETACH_BODY_BYTES {
        Ok(py.detach(|| core_fingerprint(method, path, body)))
    } else {
        Ok(core_fingerprint(method, path, body))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fingerprint, m)?)?;
    Ok(())
}
