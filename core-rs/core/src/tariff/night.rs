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

use super::rules::{Night, DAY_MINUTES as DAY};
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

/// `ceil(a / b)` for `b > 0`, in 32 bits: the divisions inside one period
/// (numbers below a few thousand) are the hot path of a quote.
#[inline]
pub(crate) fn ceil_div32(a: i32, b: i32) -> i32 {
    -((-a).div_euclid(b))
}

/// The night window as half-open spans of `[0, 2880)`: the minutes `x` of two
/// consecutive days with `x mod 1440` inside the window.
#[derive(Debug, Clone)]
pub(crate) struct NightWindow {
    spans: [(i32, i32); 3],
    pub(crate) price: i64,
}

impl NightWindow {
    pub(crate) fn new(night: &Night) -> NightWindow {
        // Both are below 1440 (validated).
        let (s, e) = (night.start as i32, night.end as i32);
        let day = DAY as i32;
        let spans = if s < e {
            [(s, e), (s + day, e + day), (0, 0)]
        } else {
            // Wraps midnight: [00:00, end), [start, end + 24:00), [start + 24:00, 48:00).
            [(0, e), (s, e + day), (s + day, 2 * day)]
        };
        NightWindow {
            spans,
            price: night.unit_price,
        }
    }

    /// The night window seen from a period whose minute `m` is local minute
    /// `(m + d) mod 1440` (`d` in `[0, 1440)`): at most three spans of `[0, 1440)`,
    /// possibly empty.
    #[inline]
    pub(crate) fn in_period(&self, d: i32) -> impl Iterator<Item = (i32, i32)> + '_ {
        let day = DAY as i32;
        self.spans
            .iter()
            .map(move |&(a, b)| (a.max(d) - d, b.min(d + day) - d))
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

/// The zone's UTC offsets over 1900-2200 as a sorted table, so that finding the
/// offset of an instant and the next change is one binary search (jiff's own
/// lookups, which also compute future transitions from the POSIX rule, are used
/// outside that range). Changes that keep the offset (abbreviation or DST-flag
/// only) are dropped: they do not move local time.
#[derive(Debug, Clone)]
pub(crate) struct Offsets {
    tz: TimeZone,
    /// `starts[i]` is when `offsets[i]` begins; `starts[0] == TABLE_FROM`.
    starts: Vec<i64>,
    offsets: Vec<i64>,
    /// For each bucket of `2^BUCKET_BITS` seconds from `TABLE_FROM`, the index of
    /// the offset in effect at the bucket's start: a lookup is one index and a
    /// short forward scan instead of a binary search.
    buckets: Vec<u32>,
}

const BUCKET_BITS: u32 = 22; // ~48.5 days: at most a few changes per bucket

/// 1900-01-01T00:00:00Z and 2200-01-01T00:00:00Z.
const TABLE_FROM: i64 = -2_208_988_800;
const TABLE_UNTIL: i64 = 7_258_118_400;

impl Offsets {
    pub(crate) fn new(tz: TimeZone) -> Offsets {
        let mut starts = Vec::new();
        let mut offsets = Vec::new();
        if let Ok(from) = Timestamp::from_second(TABLE_FROM) {
            starts.push(TABLE_FROM);
            offsets.push(i64::from(tz.to_offset(from).seconds()));
            for transition in tz.following(from) {
                let at = transition.timestamp().as_second();
                if at >= TABLE_UNTIL {
                    break;
                }
                let offset = i64::from(transition.offset().seconds());
                if offsets.last() != Some(&offset) && starts.last().is_some_and(|&s| at > s) {
                    starts.push(at);
                    offsets.push(offset);
                }
            }
        }
        let mut buckets = Vec::new();
        if !starts.is_empty() {
            let count = ((TABLE_UNTIL - TABLE_FROM) >> BUCKET_BITS) + 1;
            let mut i = 0usize;
            for b in 0..count {
                let at = TABLE_FROM + (b << BUCKET_BITS);
                while starts.get(i + 1).is_some_and(|&t| t <= at) {
                    i += 1;
                }
                buckets.push(u32::try_from(i).unwrap_or(0));
            }
        }
        Offsets {
            tz,
            starts,
            offsets,
            buckets,
        }
    }

    /// The UTC offset (seconds) at `s` and the next instant where it may change.
    #[inline]
    fn at(&self, s: i64) -> Result<(i64, Option<i64>)> {
        if (TABLE_FROM..TABLE_UNTIL).contains(&s) && !self.starts.is_empty() {
            let bucket = usize::try_from((s - TABLE_FROM) >> BUCKET_BITS).unwrap_or(0);
            let mut i = self.buckets.get(bucket).map_or(0, |&i| i as usize);
            while self.starts.get(i + 1).is_some_and(|&t| t <= s) {
                i += 1;
            }
            let offset = self.offsets.get(i).copied().unwrap_or(0);
            let next = self.starts.get(i + 1).copied().unwrap_or(TABLE_UNTIL);
            return Ok((offset, Some(next)));
        }
        let ts = Timestamp::from_second(s)
            .map_err(|e| Error::tariff("entry", format!("instant {s} out of range: {e}")))?;
        let offset = i64::from(self.tz.to_offset(ts).seconds());
        let next = self
            .tz
            .following(ts)
            .take(4)
            .map(|t| t.timestamp().as_second())
            .find(|&t| t > s);
        // Leaving the pre-table era: continue with the table.
        let next = match next {
            Some(t) if s < TABLE_FROM => Some(t.min(TABLE_FROM)),
            None if s < TABLE_FROM => Some(TABLE_FROM),
            other => other,
        };
        Ok((offset, next))
    }

    /// The regime of unit `k` of a stay starting at `entry` with `n` units of `inc_secs` seconds.
    pub(crate) fn regime(&self, entry: i64, inc_secs: i64, k: i64, n: i64) -> Result<Regime> {
        let (offset, next) = self.at(entry + k * inc_secs)?;
        let last_k = match next {
            // Units starting at or after the change take the new offset.
            Some(t) => (ceil_div(t - entry, inc_secs) - 1).min(n - 1),
            None => n - 1,
        };
        Ok(Regime {
            base: Some(floor_div(entry + offset, 60)),
            last_k,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_period_matches_brute_force() {
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
            for d in (0..1440).step_by(7).chain([1, 419, 420, 1199, 1200, 1439]) {
                let spans: Vec<(i32, i32)> = w.in_period(d).filter(|(a, b)| a < b).collect();
                for m in 0..1440 {
                    let local = u32::try_from((m + d) % 1440).unwrap();
                    assert_eq!(
                        spans.iter().any(|&(a, b)| (a..b).contains(&m)),
                        night.contains(local),
                        "window {start}-{end} d {d} m {m}"
                    );
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
