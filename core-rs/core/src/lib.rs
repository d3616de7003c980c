//! payedge-core: the pure-Rust heart of payedge.
//!
//! No PyO3 here: everything is usable and tested from plain `cargo test`.
//! Each module has one job; all fallible operations return [`Error`].
#![forbid(unsafe_code)]

mod args;
pub mod error;

pub mod dedupe;
pub mod event;
pub mod fingerprint;
pub mod idempotency;
pub mod json_numbers;
pub mod locks;
pub mod money;
pub mod queue;
pub mod routing;
pub mod signature;
pub mod tariff;

pub use error::{Error, Result};
