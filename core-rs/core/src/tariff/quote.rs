//! Quoting a stay exactly per SPEC 2.3, steps 1-8, in time independent of the
//! number of units.
//!
//! Period `p` holds units `k` in `[ceil(p*1440/inc), ceil((p+1)*1440/inc))`
//! (capped at `n`); its first unit sits at minute `phi_p = (-p*1440) mod inc`
//! and the unit grid repeats every `cycle = inc / gcd(inc, 1440)` periods.
//! Within a period, bands are minute intervals, so the units of band `b` are
//! a contiguous range of `k` found by a division; under one UTC offset the
//! night window is also a few spans of period minutes
//! (`NightWindow::in_period`), so its units in each band are a division
//! or two more. Consecutive full periods
//! under one UTC offset (no transition among their units) differ only by
//! `phi_p`, hence repeat with `cycle`: a run of them costs at most `cycle`
//! period computations, and one when the increment divides 1440. Periods
//! containing an offset transition are split at it; the last, partial period
//! is computed alone.
use super::night::{ceil_div, ceil_div32, floor_div, Regime};
use super::rules::DAY_MINUTES;
use super::Tariff;
use crate::error::{Error, Result};
use crate::money::Currency;

/// Consecutive 24-hour periods with the same figures (a receipt shows one line per period).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodRun {
    /// Index of the first period of the run (0 = the 24 hours from entry).
    pub first: i64,
    /// How many consecutive periods share these figures.
    pub count: i64,
    /// Units in each period of the run.
    pub units: i64,
    /// Sum of each period's unit prices.
    pub gross: i128,
    /// `gross`, at most `daily_cap`.
    pub charged: i128,
}

/// One period of a quote (an expanded [`PeriodRun`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodLine {
    pub period: i64,
    pub units: i64,
    pub gross: i128,
    pub charged: i128,
}

/// The subscription discount applied to parking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discount {
    pub subscription: String,
    pub percent: u8,
    /// `floor(parking * percent / 100)`, subtracted from parking.
    pub amount: i128,
}

/// `max_amount` reduced the total by `reduction` down to `max_amount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxAmount {
    pub max_amount: i64,
    pub reduction: i128,
}

/// A priced stay, with everything a receipt needs to say why.
///
/// `amount` is an `i64` (a quote whose amount does not fit is an error); the
/// intermediate figures are `i128` so that a quote never fails on a line whose
/// value is absorbed later by a discount, a cap or `max_amount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub entry: i64,
    pub exit: i64,
    /// What to charge, in minor units.
    pub amount: i64,
    pub currency: Currency,
    /// Billing units (0 within the grace period).
    pub units: i64,
    /// Per-period figures, consecutive identical periods merged.
    pub periods: Vec<PeriodRun>,
    /// Sum of the periods' charges, before any discount.
    pub parking: i128,
    pub discount: Option<Discount>,
    /// Present when `lost_ticket` was asked and the tariff has a fee.
    pub lost_ticket_fee: Option<i64>,
    /// Present when `max_amount` lowered the total.
    pub max_amount: Option<MaxAmount>,
}

impl Quote {
    /// One line per 24-hour period, in order.
    pub fn period_lines(&self) -> impl Iterator<Item = PeriodLine> + '_ {
        self.periods.iter().flat_map(|run| {
            (0..run.count).map(move |i| PeriodLine {
                period: run.first + i,
                units: run.units,
                gross: run.gross,
                charged: run.charged,
            })
        })
    }
}

/// A per-stay argument of [`Tariff::quote_many`]: one value for all stays, or one per stay.
#[derive(Debug, Clone, Copy)]
pub enum PerStay<'a, T> {
    All(T),
    Each(&'a [T]),
}

impl<T: Copy> PerStay<'_, T> {
    fn at(&self, i: usize) -> Option<T> {
        match self {
            PerStay::All(v) => Some(*v),
            PerStay::Each(vs) => vs.get(i).copied(),
        }
    }

    fn check_len(&self, n: usize, name: &str) -> Result<()> {
        match self {
            PerStay::Each(vs) if vs.len() != n => Err(Error::tariff(
                name,
                format!("has {} items but there are {n} entries", vs.len()),
            )),
            _ => Ok(()),
        }
    }
}

/// Why a stay cannot be quoted (named by the caller: `exit` or `exits[3]`).
enum StayError {
    EntryRange(i64),
    ExitRange(i64),
    ExitBeforeEntry { entry: i64, exit: i64 },
}

/// Stays must lie in 0001-01-01T00:00:00Z ..= 9999-12-30T00:00:00Z (what both
/// jiff and Python's datetime can show in any time zone).
pub const MIN_SECOND: i64 = -62_135_596_800;
pub const MAX_SECOND: i64 = 253_402_128_000;

impl StayError {
    fn into_error(self, entry_name: &str, exit_name: &str) -> Error {
        let range = format!(
            "must be UNIX seconds from {MIN_SECOND} to {MAX_SECOND} (0001-01-01 to 9999-12-30 UTC)"
        );
        match self {
            StayError::EntryRange(v) => Error::tariff(entry_name, format!("{range}, got {v}")),
            StayError::ExitRange(v) => Error::tariff(exit_name, format!("{range}, got {v}")),
            StayError::ExitBeforeEntry { entry, exit } => Error::tariff(
                exit_name,
                format!("exit ({exit}) is before entry ({entry})"),
            ),
        }
    }
}

fn overflow() -> Error {
    Error::money(
        "overflow",
        "the quoted amount does not fit in a signed 64-bit count of minor units",
    )
}

fn to_i64(v: i128) -> Result<i64> {
    i64::try_from(v).map_err(|_| overflow())
}

/// Collects period figures when lines are wanted; a no-op otherwise.
trait Sink {
    const LINES: bool;
    fn push(
        &mut self,
        period: i64,
        count: i64,
        units: i64,
        gross: i128,
        charged: i128,
    ) -> Result<()>;
}

struct NoLines;

impl Sink for NoLines {
    const LINES: bool = false;
    #[inline]
    fn push(&mut self, _: i64, _: i64, _: i64, _: i128, _: i128) -> Result<()> {
        Ok(())
    }
}

impl Sink for Vec<PeriodRun> {
    const LINES: bool = true;
    fn push(
        &mut self,
        period: i64,
        count: i64,
        units: i64,
        gross: i128,
        charged: i128,
    ) -> Result<()> {
        if let Some(last) = self.last_mut() {
            if last.first + last.count == period
                && (last.units, last.gross, last.charged) == (units, gross, charged)
            {
                last.count += count;
                return Ok(());
            }
        }
        Vec::push(
            self,
            PeriodRun {
                first: period,
                count,
                units,
                gross,
                charged,
            },
        );
        Ok(())
    }
}

/// Figures of one period: units, gross, charged.
type PeriodFigures = (i64, i128, i128);

impl Tariff {
    /// Steps 1-3: the number of units of a stay (0 within grace).
    fn units_of(&self, entry: i64, exit: i64) -> Result<i64, StayError> {
        if !(MIN_SECOND..=MAX_SECOND).contains(&entry) {
            return Err(StayError::EntryRange(entry));
        }
        if !(MIN_SECOND..=MAX_SECOND).contains(&exit) {
            return Err(StayError::ExitRange(exit));
        }
        if exit < entry {
            return Err(StayError::ExitBeforeEntry { entry, exit });
        }
        let d = exit - entry;
        if d <= self.grace_seconds {
            return Ok(0);
        }
        Ok(ceil_div(d, self.inc_secs))
    }

    fn subscription_percent(
        &self,
        name: Option<&str>,
        param: impl FnOnce() -> String,
    ) -> Result<Option<u8>> {
        let Some(name) = name else { return Ok(None) };
        match self.rules.subscriptions.iter().find(|(n, _)| n == name) {
            Some((_, pct)) => Ok(Some(*pct)),
            None => {
                let known: Vec<&str> = self
                    .rules
                    .subscriptions
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect();
                let shown: String = name.chars().take(64).collect();
                Err(Error::tariff(
                    param(),
                    if known.is_empty() {
                        format!("unknown subscription {shown:?}: this tariff has no subscriptions")
                    } else {
                        format!(
                            "unknown subscription {shown:?} (known: {})",
                            known.join(", ")
                        )
                    },
                ))
            }
        }
    }

    #[inline]
    fn cap(&self, gross: i128) -> i128 {
        match self.rules.daily_cap {
            Some(cap) => gross.min(i128::from(cap)),
            None => gross,
        }
    }

    /// The units `j` in `[j0, j1)` of a stretch of one period (minutes
    /// `[0, 1440)`) whose unit `j` sits at minute `m0 + j*inc`, as a function of
    /// minutes: `below(x) - j0` of them sit before minute `x`.
    #[inline]
    fn below(&self, m0: i64, j0: i64, j1: i64) -> impl Fn(i32) -> i32 {
        // One period at most: m0 < inc <= 1440, 0 <= j0 <= j1 <= 1441, so 32-bit
        // arithmetic is exact here (and its divisions are the hot path).
        let inc = self.inc as i32;
        let (m0, j0, j1) = (m0 as i32, j0 as i32, j1 as i32);
        move |x| ceil_div32(x - m0, inc).clamp(j0, j1)
    }

    /// What units `j` in `[j0, j1)` of a stretch of one period cost at their band's
    /// price, unit `j` sitting at minute `m0 + j*inc` of the period.
    #[inline]
    pub(super) fn band_price(&self, m0: i64, j0: i64, j1: i64) -> i128 {
        let below = self.below(m0, j0, j1);
        let mut total: i128 = 0;
        let mut from = j0 as i32;
        for &(_, hi, price) in &self.bands {
            let to = below(hi);
            total += i128::from(to - from) * i128::from(price);
            from = to;
            if i64::from(to) >= j1 {
                break;
            }
        }
        total
    }

    /// [`Tariff::band_price`] of the first `units` units of a period, its first
    /// unit at minute `phi`; known in advance for a full period when `cycle == 1`.
    #[inline]
    fn period_band_price(&self, phi: i64, units: i64) -> i128 {
        match self.day_bands {
            Some(bands) if units * self.inc == DAY_MINUTES => bands,
            _ => self.band_price(phi, 0, units),
        }
    }

    /// What the night window changes to [`Tariff::band_price`] of the same units,
    /// unit `j` sitting at local minute `v0 + j*inc` (mod 1440). Seen from the
    /// period, the window is at most three spans of minutes, cut by the bands.
    #[inline]
    fn night_extra(&self, m0: i64, j0: i64, j1: i64, v0: i64) -> i128 {
        let Some(w) = &self.night else { return 0 };
        let below = self.below(m0, j0, j1);
        // Minutes of the stretch's units: [first, last].
        let (first, last) = (
            (m0 + j0 * self.inc) as i32,
            (m0 + (j1 - 1) * self.inc) as i32,
        );
        // Unit j's local minute is its period minute plus d (mod 1440).
        let d = (v0 - m0).rem_euclid(DAY_MINUTES) as i32;
        let mut total: i128 = 0;
        for (a, b) in w.in_period(d) {
            let (a, b) = (a.max(first), b.min(last + 1));
            if a >= b {
                continue;
            }
            for &(lo, hi, price) in &self.bands {
                let (a, b) = (a.max(lo), b.min(hi));
                if a < b {
                    let night = below(b) - below(a);
                    // Both prices are non-negative: their difference fits.
                    total += i128::from(night) * i128::from(w.price - price);
                }
            }
        }
        total
    }

    /// A full period `p` whose units all share the regime base `base`.
    fn full_period(&self, p: i64, base: Option<i64>) -> PeriodFigures {
        let inc = self.inc;
        let k_lo = ceil_div(p * DAY_MINUTES, inc);
        let phi = k_lo * inc - p * DAY_MINUTES;
        let units = ceil_div(DAY_MINUTES - phi, inc);
        let mut gross = self.period_band_price(phi, units);
        if let Some(base) = base {
            gross += self.night_extra(phi, 0, units, base + k_lo * inc);
        }
        (units, gross, self.cap(gross))
    }

    fn regime_at(&self, entry: i64, k: i64, n: i64) -> Result<Regime> {
        match &self.offsets {
            Some(offsets) => offsets.regime(entry, self.inc_secs, k, n),
            None => Ok(Regime {
                base: None,
                last_k: n - 1,
            }),
        }
    }

    /// Periods `[pa, pb)`, all full, all under one regime base.
    fn run<S: Sink>(&self, pa: i64, pb: i64, base: Option<i64>, sink: &mut S) -> Result<i128> {
        let len = pb - pa;
        let distinct = len.min(self.cycle);
        if distinct == 1 {
            let (units, gross, charged) = self.full_period(pa, base);
            sink.push(pa, len, units, gross, charged)?;
            return Ok(charged * i128::from(len));
        }
        let figures: Vec<PeriodFigures> = (0..distinct)
            .map(|r| self.full_period(pa + r, base))
            .collect();
        let mut total: i128 = 0;
        if S::LINES {
            for (i, p) in (pa..pb).enumerate() {
                let (units, gross, charged) = figures[i % figures.len()];
                sink.push(p, 1, units, gross, charged)?;
                total += charged;
            }
        } else {
            for (r, &(_, _, charged)) in (0i64..).zip(&figures) {
                let repeats = (len - 1 - r) / distinct + 1;
                total += charged * i128::from(repeats);
            }
        }
        Ok(total)
    }

    /// Steps 3-6: parking for `n` units from `entry`.
    fn parking<S: Sink>(&self, entry: i64, n: i64, sink: &mut S) -> Result<i128> {
        if n <= 0 {
            return Ok(0);
        }
        let inc = self.inc;
        let periods = floor_div((n - 1) * inc, DAY_MINUTES) + 1;
        let full = floor_div(n * inc, DAY_MINUTES);
        let mut total: i128 = 0;
        let mut p = 0;
        // The regime of the latest unit looked up: valid up to its `last_k`.
        let mut current: Option<Regime> = None;
        while p < periods {
            let k_lo = ceil_div(p * DAY_MINUTES, inc);
            let mut reg = match current {
                Some(reg) if k_lo <= reg.last_k => reg,
                _ => self.regime_at(entry, k_lo, n)?,
            };
            let uniform_until = full.min(floor_div((reg.last_k + 1) * inc, DAY_MINUTES));
            if uniform_until > p {
                total += self.run(p, uniform_until, reg.base, sink)?;
                p = uniform_until;
                current = Some(reg);
                continue;
            }
            // One period alone: partial, or split at offset transitions.
            let k_hi = n.min(ceil_div((p + 1) * DAY_MINUTES, inc));
            let phi = k_lo * inc - p * DAY_MINUTES;
            let mut gross = self.period_band_price(phi, k_hi - k_lo);
            let mut k = k_lo;
            loop {
                let k_end = k_hi.min(reg.last_k + 1);
                if let Some(base) = reg.base {
                    gross += self.night_extra(phi, k - k_lo, k_end - k_lo, base + k_lo * inc);
                }
                k = k_end;
                if k >= k_hi {
                    break;
                }
                reg = self.regime_at(entry, k, n)?;
            }
            current = Some(reg);
            let charged = self.cap(gross);
            sink.push(p, 1, k_hi - k_lo, gross, charged)?;
            total += charged;
            p += 1;
        }
        Ok(total)
    }

    /// Steps 7-8 on top of parking: (discount, total before max_amount).
    fn totals(&self, parking: i128, percent: Option<u8>, lost_ticket: bool) -> (i128, i128) {
        let discount = match percent {
            Some(pct) => parking * i128::from(pct) / 100,
            None => 0,
        };
        let fee = match (lost_ticket, self.rules.lost_ticket_fee) {
            (true, Some(fee)) => i128::from(fee),
            _ => 0,
        };
        (discount, parking - discount + fee)
    }

    fn capped(&self, total: i128) -> i128 {
        match self.rules.max_amount {
            Some(max) => total.min(i128::from(max)),
            None => total,
        }
    }

    /// Steps 1-3 and the subscription of one stay: (units, discount percent).
    fn stay(&self, entry: i64, exit: i64, subscription: Option<&str>) -> Result<(i64, Option<u8>)> {
        let n = self
            .units_of(entry, exit)
            .map_err(|e| e.into_error("entry", "exit"))?;
        let sub = self.subscription_percent(subscription, || "subscription".to_owned())?;
        Ok((n, sub))
    }

    /// Quote one stay with its lines. `exit < entry` is a [`Error::Tariff`] naming `exit`;
    /// an unknown subscription one naming `subscription`.
    pub fn quote(
        &self,
        entry: i64,
        exit: i64,
        lost_ticket: bool,
        subscription: Option<&str>,
    ) -> Result<Quote> {
        let (n, sub) = self.stay(entry, exit, subscription)?;
        let mut periods = Vec::new();
        let parking = self.parking(entry, n, &mut periods)?;
        let (discount, total) = self.totals(parking, sub, lost_ticket);
        let amount = self.capped(total);
        let discount = match (sub, subscription) {
            (Some(percent), Some(name)) => Some(Discount {
                subscription: name.to_owned(),
                percent,
                amount: discount,
            }),
            _ => None,
        };
        let lost_ticket_fee = match (lost_ticket, self.rules.lost_ticket_fee) {
            (true, Some(fee)) => Some(fee),
            _ => None,
        };
        let max_amount = match self.rules.max_amount {
            Some(max) if total > amount => Some(MaxAmount {
                max_amount: max,
                reduction: total - amount,
            }),
            _ => None,
        };
        Ok(Quote {
            entry,
            exit,
            amount: to_i64(amount)?,
            currency: self.rules.currency,
            units: n,
            periods,
            parking,
            discount,
            lost_ticket_fee,
            max_amount,
        })
    }

    /// The amount alone (no lines): what [`Tariff::quote`] would say in `.amount`.
    pub fn amount(
        &self,
        entry: i64,
        exit: i64,
        lost_ticket: bool,
        subscription: Option<&str>,
    ) -> Result<i64> {
        let (n, sub) = self.stay(entry, exit, subscription)?;
        let parking = self.parking(entry, n, &mut NoLines)?;
        let (_, total) = self.totals(parking, sub, lost_ticket);
        to_i64(self.capped(total))
    }

    /// Amounts of many stays (`entries[i]`, `exits[i]`); errors name the item,
    /// e.g. `exits[3]` or `subscription[3]`.
    pub fn quote_many(
        &self,
        entries: &[i64],
        exits: &[i64],
        lost_ticket: PerStay<'_, bool>,
        subscription: PerStay<'_, Option<&str>>,
    ) -> Result<Vec<i64>> {
        if exits.len() != entries.len() {
            return Err(Error::tariff(
                "exits",
                format!(
                    "has {} items but there are {} entries",
                    exits.len(),
                    entries.len()
                ),
            ));
        }
        lost_ticket.check_len(entries.len(), "lost_ticket")?;
        subscription.check_len(entries.len(), "subscription")?;
        // A single subscription is resolved once.
        let fixed = match subscription {
            PerStay::All(name) => {
                Some(self.subscription_percent(name, || "subscription".to_owned())?)
            }
            PerStay::Each(_) => None,
        };
        let mut out = Vec::with_capacity(entries.len());
        for (i, (&entry, &exit)) in entries.iter().zip(exits).enumerate() {
            let n = self
                .units_of(entry, exit)
                .map_err(|e| e.into_error(&format!("entries[{i}]"), &format!("exits[{i}]")))?;
            let sub = match fixed {
                Some(sub) => sub,
                None => self.subscription_percent(subscription.at(i).flatten(), || {
                    format!("subscription[{i}]")
                })?,
            };
            let parking = self.parking(entry, n, &mut NoLines)?;
            let lost = lost_ticket.at(i).unwrap_or(false);
            let (_, total) = self.totals(parking, sub, lost);
            out.push(to_i64(self.capped(total))?);
        }
        Ok(out)
    }
}
