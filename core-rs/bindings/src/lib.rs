//! payedge._core: thin PyO3 bindings over payedge-core.
//!
//! One binding file per core module (`dedupe.rs` binds `payedge_core::dedupe`,
//! `event.rs` binds `payedge_core::event`, ...), plus three shared layers that
//! every file uses and nothing else duplicates:
//! - `args.rs`: the one argument-conversion layer (a bad Python type raises the
//!   right payedge exception naming the argument);
//! - `errors.rs`: the one error path (every exception is a core `Error` mapped
//!   once: variant -> class, `.code`, `.param`);
//! - `clock.rs`: the one `now` policy (UNIX seconds for signatures and events,
//!   `time.monotonic()` for dedupe, idempotency, queue and locks).
//!
//! Conversions live here, logic lives in payedge-core.
use pyo3::prelude::*;

mod args;
mod clock;
mod errors;

mod dedupe;
mod event;
mod fingerprint;
mod idempotency;
mod json_numbers;
mod locks;
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
    event::register(m)?;
    dedupe::register(m)?;
    idempotency::register(m)?;
    fingerprint::register(m)?;
    money::register(m)?;
    tariff::register(m)?;
    queue::register(m)?;
    locks::register(m)?;
    json_numbers::register(m)?;
    routing::register(m)?;
    Ok(())
}
