//! Bindings for payedge_core::json_numbers: the check `payedge.stripe_compat`
//! runs before trusting orjson with a verified event (SPEC 10).
use payedge_core::json_numbers;
use pyo3::prelude::*;

/// Documents at least this long are scanned with the GIL released.
const DETACH_THRESHOLD: usize = 64 * 1024;

/// Whether `payload` (JSON bytes) holds an integer literal outside
/// `[-2**63, 2**64 - 1]`, which orjson would turn into a float. Private:
/// `payedge.stripe_compat` then parses the document with `json` instead.
#[pyfunction]
#[pyo3(name = "_json_has_wide_integer")]
fn json_has_wide_integer(py: Python<'_>, payload: &[u8]) -> bool {
    if payload.len() >= DETACH_THRESHOLD {
        py.detach(|| json_numbers::has_wide_integer(payload))
    } else {
        json_numbers::has_wide_integer(payload)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(json_has_wide_integer, m)?)?;
    Ok(())
}
