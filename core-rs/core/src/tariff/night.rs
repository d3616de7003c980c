//! Night windows as arithmetic on local minutes, and UTC-offset regimes.
//!
//! Unit `k` starts at `s_k = entry + k * I` (`I` = increment in seconds, a
//! multiple of 60). While the zone's UTC offset `off` stays constant, its local
//! wall-clock minute is `floor((s_k + off) / 60) = floor((entry + off) / 60) + k * inc`:
//! an arithmetic progression, so "how many units of this stretch fall in the
//! night window" is a handful of divisions, whatever the number of units.
//! A [`Regime`] is one such stretch: the base minute and the last unit before
//! the next offset transition (DST change or any other change of offset).
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::rules::{Night, DAY_MINUTES};
use crate::error::{Error, Result};

/// `floor(a / b)` for `b > 0`.
#[inline]
pub(crate) fn floor_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

/// `ceil(a / b)` for `b > 0`.
#[inline]
pub(crate) fn ceil_div(a: i64, b: i64) -> i64 {
    -((-a).div_euclid(b))
}

/// The night window as one or two half-open spans of minutes in `[0, 1440)`.
#[derive(Debug, Clone)]
pub(crate) struct NightWindow {
    spans: [(i64, i64); 2],
    len: usize,
    pub(crate) price: i64,
}

impl NightWindow {
    pub(crate) fn new(night: &Night) -> NightWindow {
        let (s, e) = (i64::from(night.start), i64::from(night.end));
        if s < e {
            NightWindow {
                spans: [(s, e), (0, 0)],
                len: 1,
                price: night.unit_price,
            }
        } else {
            // Wraps midnight: [start, 24:00) and [00:00, end).
            let len = if e == 0 { 1 } else { 2 };
            NightWindow {
                spans: [(s, DAY_MINUTES), (0, e)],
                len,
                price: night.unit_price,
            }
        }
    }

    /// How many `j` in `[0, count)` have `(v + j * inc) mod 1440` inside the window.
    /// Callers pass stretches of less than one period (at most two laps of the clock).
    #[inline]
    pub(crate) fn count(&self, v: i64, count: i64, inc: i64) -> i64 {
        if count <= 0 {
            return 0;
        }
        let v = v.rem_euclid(DAY_MINUTES);
        let last = v + (count - 1) * inc;
        let mut hits = 0;
        let mut lap = 0;
        while lap <= last {
            for &(a, b) in &self.spans[..self.len] {
                // j * inc in [lap + a - v, lap + b - v)
                let j0 = ceil_div(lap + a - v, inc).max(0);
                let j1 = ceil_div(lap + b - v, inc).min(count);
                if j1 > j0 {
                    hits += j1 - j0;
                }
            }
            lap += DAY_MINUTES;
        }
        hits
    }
}

/// A stretch of units under one UTC offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Regime {
    /// `floor((entry + offset) / 60)`: unit `k`'s local minute is `base + k * inc`.
    /// `None` when the tariff has no night window (local time never matters).
    pub(crate) base: Option<i64>,
    /// The last unit (index) that starts before the next offset transition, at most `n - 1`.
    pub(crate) last_k: i64,
}

/// The regime of unit `k` of a stay starting at `entry` with `n` units of `inc_secs` seconds.
pub(crate) fn regime(tz: &TimeZone, entry: i64, inc_secs: i64, k: i64, n: i64) -> Result<Regime> {
    let s = entry + k * inc_secs;
    let ts = Timestamp::from_second(s)
        .map_err(|e| Error::tariff("entry", format!("instant {s} out of range: {e}")))?;
    let offset = i64::from(tz.to_offset(ts).seconds());
    let next = tz
        .following(ts)
        .take(4)
        .map(|t| t.timestamp().as_second())
        .find(|&t| t > s);
    let last_k = match next {
        // Units starting at or after the transition take the new offset.
        Some(t) => (ceil_div(t - entry, inc_secs) - 1).min(n - 1),
        None => n - 1,
    };
    Ok(Regime {
        base: Some(floor_div(entry + offset, 60)),
        last_k,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(w: &NightWindow, night: &Night, v: i64, count: i64, inc: i64) -> i64 {
        let _ = w;
        (0..count)
            .filter(|j| night.contains(u32::try_from((v + j * inc).rem_euclid(1440)).unwrap()))
            .count() as i64
    }

    #[test]
    fn count_matches_brute_force() {
        let windows = [
            (1200, 420),
            (60, 120),
            (0, 1),
            (1439, 0),
            (0, 1439),
            (720, 0),
            (1, 0),
        ];
        for (start, end) in windows {
            let night = Night {
                start,
                end,
                unit_price: 1,
            };
            let w = NightWindow::new(&night);
            for inc in [1, 7, 15, 45, 59, 60, 61, 700, 1439, 1440] {
                for v in [-1441, -7, 0, 1, 419, 420, 1199, 1200, 1439, 3000] {
                    let max = ceil_div(1440, inc) + 1;
                    for count in 0..=max {
                        assert_eq!(
                            w.count(v, count, inc),
                            brute(&w, &night, v, count, inc),
                            "window {start}-{end} inc {inc} v {v} count {count}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn divisions() {
        assert_eq!(floor_div(-1, 60), -1);
        assert_eq!(ceil_div(-1, 60), 0);
        assert_eq!(ceil_div(61, 60), 2);
        assert_eq!(ceil_div(60, 60), 1);
        assert_eq!(ceil_div(-61, 60), -1);
    }
}
