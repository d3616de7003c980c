//! Parking tariff rules v1: validation and arithmetic quoting (SPEC 2.3).
//!
//! [`Tariff::from_json`] validates and compiles the rules ([`rules`]), then
//! [`Tariff::quote`] / [`Tariff::amount`] / [`Tariff::quote_many`] price stays
//! ([`quote`]) with bands and night windows as intervals ([`night`]), so the
//! cost of a quote does not grow with the number of units.
// Also read by the routing rules parser (crate::routing), which shares its JSON paths.
pub(crate) mod json;
mod night;
mod quote;
mod rules;

use jiff::tz::TimeZone;

pub use quote::{Discount, MaxAmount, PerStay, PeriodLine, PeriodRun, Quote};
pub use rules::{Band, Night, Rules};

use crate::error::Result;
use crate::money::Currency;
use night::{NightWindow, Offsets};
use rules::DAY_MINUTES;

/// Validated, compiled tariff rules. Cheap to share across threads.
#[derive(Debug, Clone)]
pub struct Tariff {
    rules: Rules,
    tz: TimeZone,
    /// Increment in minutes and in seconds.
    inc: i64,
    inc_secs: i64,
    /// The unit grid repeats every `cycle` periods: `inc / gcd(inc, 1440)`.
    cycle: i64,
    /// `D <= grace_seconds` costs nothing.
    grace_seconds: i64,
    /// Bands as `(first minute, end minute, unit price)`, ends clamped to 1440.
    bands: Vec<(i32, i32, i64)>,
    night: Option<NightWindow>,
    /// The zone's offsets, loaded only when a night window needs local time.
    offsets: Option<Offsets>,
    /// When the increment divides 1440 (`cycle == 1`), every full period has
    /// the same units: what they cost at their bands' prices.
    day_bands: Option<i128>,
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Tariff {
    /// Parse, validate and compile tariff rules v1 (a JSON document).
    /// Errors are [`crate::Error::Tariff`] with the JSON path of the bad field.
    pub fn from_json(bytes: &[u8]) -> Result<Tariff> {
        let (rules, tz) = rules::parse(bytes)?;
        Ok(Tariff::compile(rules, tz))
    }

    fn compile(rules: Rules, tz: TimeZone) -> Tariff {
        let inc = i64::from(rules.increment_minutes);
        let mut lo = 0i32;
        let bands = rules
            .bands
            .iter()
            .map(|b| {
                // Validated: 1..=1440.
                let hi = b
                    .up_to_minute
                    .map_or(DAY_MINUTES, i64::from)
                    .min(DAY_MINUTES) as i32;
                let span = (lo, hi, b.unit_price);
                lo = hi;
                span
            })
            .collect();
        let mut tariff = Tariff {
            inc,
            inc_secs: inc * 60,
            cycle: inc / gcd(inc, DAY_MINUTES),
            grace_seconds: rules.grace_minutes.unwrap_or(0) * 60,
            bands,
            night: rules.night.as_ref().map(NightWindow::new),
            offsets: rules.night.as_ref().map(|_| Offsets::new(tz.clone())),
            tz,
            rules,
            day_bands: None,
        };
        if tariff.cycle == 1 {
            tariff.day_bands = Some(tariff.band_price(0, 0, DAY_MINUTES / inc));
        }
        tariff
    }

    /// The validated rules.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    pub fn currency(&self) -> Currency {
        self.rules.currency
    }

    /// The IANA time zone name of the night window.
    pub fn timezone(&self) -> &str {
        &self.rules.timezone
    }

    /// The loaded time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }
}

#[cfg(test)]
mod tests;
