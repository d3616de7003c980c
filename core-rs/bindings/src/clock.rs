//! The one `now` policy of payedge's Python API.
//!
//! Every clocked call takes an optional `now`; when it is omitted (or `None`)
//! the binding reads the clock below. Which clock depends on what the time is
//! compared with:
//!
//! | API | `now` is | default | why |
//! |---|---|---|---|
//! | `verify_stripe`, `verify_stripe_many`, `parse_stripe_event`, `verify_standard` | UNIX seconds, `int` | the wall clock, as `time.time()` | a signature's timestamp is UNIX time set by the sender's clock (Stripe, Standard Webhooks); so is an event's `created` |
//! | `Deduper`, `IdempotencyCache`, `TerminalQueue`, `LeaseLocks` | seconds, `int` or `float`, on `time.monotonic()`'s clock | `time.monotonic()` | TTLs and leases measure elapsed time: a wall clock stepped by NTP or by hand would expire entries early or keep them forever |
//!
//! The two never mix: a deduper fed UNIX times works (any clock that does not
//! go backwards does) but then every call must pass `now`. Expiry times handed
//! back (`Lease.expires_at`, the return of `TerminalQueue.extend`) are on the
//! clock of the `now` that produced them.
//!
//! Signature `now` is an `int`: stripe-python and `standardwebhooks` compare
//! whole seconds; the wall clock's fractional second is still counted by the
//! core exactly as `timestamp < time.time() - tolerance` counts it.
use payedge_core::signature::UnixTime;
use payedge_core::Error;
use pyo3::prelude::*;
#[cfg(not(target_os = "linux"))]
use pyo3::sync::PyOnceLock;

use crate::args::{self, Arg};
use crate::errors::BindResult;

/// The `now` argument of every signature function.
const UNIX_NOW: Arg = Arg::signature("now");
/// The `now` argument of every monotonic-clock structure.
const MONOTONIC_NOW: Arg = Arg::invalid("now");

/// Signature functions: `now` in UNIX seconds (`int`), or the wall clock
/// (the same reading as `time.time()`: both are the system's real-time clock)
/// when it is omitted. The clock is not read when `needed` is false (no age
/// check will use it: Stripe's `tolerance=None` or `0`).
pub fn unix_now(now: Option<&Bound<'_, PyAny>>, needed: bool) -> Result<UnixTime, Error> {
    match args::given(now) {
        Some(value) => args::i64(value, &UNIX_NOW).map(UnixTime::from_secs),
        None if needed => Ok(UnixTime::now()),
        None => Ok(UnixTime::from_secs(0)),
    }
}

/// Dedupe, idempotency, terminal queue and locks: `now` in seconds on
/// `time.monotonic()`'s clock (`int` or `float`), or `time.monotonic()`.
pub fn monotonic_now(py: Python<'_>, now: Option<&Bound<'_, PyAny>>) -> BindResult<f64> {
    match args::given(now) {
        Some(value) => Ok(args::seconds(value, &MONOTONIC_NOW)?),
        None => Ok(monotonic(py)?),
    }
}

/// `time.monotonic()`, read natively (saves a Python call, about 50 ns, on
/// every default-`now` operation).
///
/// Linux: `clock_gettime(CLOCK_MONOTONIC)` converted to seconds exactly as
/// CPython does it (`_PyTime_AsSecondsDouble`: nanoseconds as a double divided
/// by 1e9, whole seconds converted directly), so a reading here equals a
/// `time.monotonic()` taken at the same instant, bit for bit, and readings
/// taken in order never go backwards across the two.
#[cfg(target_os = "linux")]
fn monotonic(_py: Python<'_>) -> PyResult<f64> {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let ns = i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec);
    #[allow(clippy::cast_precision_loss)] // CPython rounds the same way
    let secs = if ns % 1_000_000_000 == 0 {
        (ns / 1_000_000_000) as f64
    } else {
        ns as f64 / 1e9
    };
    Ok(secs)
}

/// Elsewhere (macOS: CPython reads mach_absolute_time, which `Instant` also
/// reads): one Python call at first use pins the offset between the two, and
/// `Instant` measures from there. The `Instant` is taken after Python's
/// reading, so the native value is never ahead of `time.monotonic()` (and
/// behind by well under a microsecond).
#[cfg(not(target_os = "linux"))]
struct Monotonic {
    base: std::time::Instant,
    base_secs: f64,
}

#[cfg(not(target_os = "linux"))]
static MONOTONIC: PyOnceLock<Monotonic> = PyOnceLock::new();

#[cfg(not(target_os = "linux"))]
fn monotonic(py: Python<'_>) -> PyResult<f64> {
    let clock = MONOTONIC.get_or_try_init(py, || -> PyResult<Monotonic> {
        let base_secs = py
            .import("time")?
            .getattr("monotonic")?
            .call0()?
            .extract::<f64>()?;
        Ok(Monotonic {
            base: std::time::Instant::now(),
            base_secs,
        })
    })?;
    Ok(clock.base_secs + clock.base.elapsed().as_secs_f64())
}
