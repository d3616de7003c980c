//! payedge._core: thin PyO3 bindings over payedge-core.
//!
//! Each area registers its own functions and classes; this file only wires
//! them together. Conversions live here, logic lives in payedge-core.
use pyo3::prelude::*;

mod dedupe;
mod errors;
mod idempotency;
mod json_numbers;
mod money;
mod queue;
mod routing;
mod signature;
mod tariff;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    signature::register(m)?;
    dedupe::register(m)?;
    idempotency::register(m)?;
    money::register(m)?;
    tariff::register(m)?;
    queue::register(m)?;
    json_numbers::register(m)?;
    routing::register(m)?;
    Ok(())
}
