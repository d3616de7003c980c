//! ISO 4217 minor units, exact parsing and formatting (SPEC 2.3).
//!
//! Money is an `i64` count of the currency's minor unit (EUR cents, JPY yen,
//! KWD fils). Nothing here ever goes through a float: decimal strings are
//! parsed digit by digit and scaled by the ISO 4217 exponent exactly.
//!
//! Currency codes are three ASCII letters, matched case-insensitively (Stripe
//! writes `"eur"`) and always reported in upper case.
use crate::error::{Error, Result};

/// ISO 4217 list one (SIX, published 2026-01-01): every active code whose minor
/// unit is defined, with that exponent. Codes whose minor unit is "N.A." (gold,
/// SDR, bond-market units, test and no-currency codes) are not money and are
/// left out. Sorted by code (binary search; a unit test keeps it sorted).
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BOV", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHE", 2),
    ("CHF", 2),
    ("CHW", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("COU", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MXV", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("USN", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UYW", 4),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAD", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XCG", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

/// A known currency: its canonical (upper-case) code and ISO 4217 exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    minor_units: u8,
}

impl Currency {
    /// Look a code up (three ASCII letters, any case).
    pub fn get(code: &str) -> Result<Currency> {
        let bytes = code.as_bytes();
        let unknown = || {
            let shown: String = code.chars().take(16).collect();
            Error::money(
                "unknown_currency",
                format!(
                    "unknown currency {shown:?}: expected an active ISO 4217 code such as \"EUR\""
                ),
            )
        };
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(unknown());
        }
        let upper = [
            bytes[0].to_ascii_uppercase(),
            bytes[1].to_ascii_uppercase(),
            bytes[2].to_ascii_uppercase(),
        ];
        CURRENCIES
            .binary_search_by(|(c, _)| c.as_bytes().cmp(&upper[..]))
            .ok()
            .and_then(|i| CURRENCIES.get(i))
            .map(|&(code, minor_units)| Currency { code, minor_units })
            .ok_or_else(unknown)
    }

    /// The canonical upper-case code, e.g. `"EUR"`.
    pub fn code(self) -> &'static str {
        self.code
    }

    /// The ISO 4217 exponent: 2 for EUR, 0 for JPY, 3 for KWD, 4 for CLF.
    pub fn minor_units(self) -> u32 {
        u32::from(self.minor_units)
    }

    /// Every currency payedge knows, in code order.
    pub fn all() -> impl Iterator<Item = Currency> {
        CURRENCIES
            .iter()
            .map(|&(code, minor_units)| Currency { code, minor_units })
    }
}

/// The ISO 4217 exponent of `currency` (`"EUR"` -> 2, `"JPY"` -> 0, `"KWD"` -> 3).
pub fn minor_units(currency: &str) -> Result<u32> {
    Currency::get(currency).map(Currency::minor_units)
}

fn invalid_amount(amount: &str, why: &str) -> Error {
    let shown: String = amount.chars().take(40).collect();
    Error::money("invalid_amount", format!("invalid amount {shown:?}: {why}"))
}

fn overflow(amount: &str, currency: Currency) -> Error {
    let shown: String = amount.chars().take(40).collect();
    Error::money(
        "overflow",
        format!(
            "amount {shown:?} {} does not fit in a signed 64-bit count of minor units",
            currency.code
        ),
    )
}

/// Exact conversion of a decimal string to minor units: `to_minor("12.34", "EUR") == 1234`.
///
/// Accepted: an optional sign, digits with at most one `.` (at least one digit
/// in all), and an optional exponent (`1.5E+2`, what `str(Decimal)` may print).
/// Trailing zeros beyond the exponent are fine (`"12.340"` EUR is 1234); a
/// non-zero digit below the minor unit is `excess_precision`; no rounding ever.
/// Whitespace, `_`, `,`, `NaN` and `Infinity` are `invalid_amount`.
pub fn to_minor(amount: &str, currency: &str) -> Result<i64> {
    let cur = Currency::get(currency)?;
    let bytes = amount.as_bytes();
    let (negative, rest) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    // Split mantissa and exponent.
    let (mantissa, exponent) = match rest.iter().position(|&b| b == b'e' || b == b'E') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let mut digits: Vec<u8> = Vec::with_capacity(mantissa.len());
    let mut frac_len: i64 = 0;
    let mut seen_point = false;
    for &b in mantissa {
        match b {
            b'0'..=b'9' => {
                digits.push(b - b'0');
                if seen_point {
                    frac_len += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => {
                return Err(invalid_amount(
                    amount,
                    "expected a decimal number such as \"12.34\"",
                ))
            }
        }
    }
    if digits.is_empty() {
        return Err(invalid_amount(
            amount,
            "expected a decimal number such as \"12.34\"",
        ));
    }
    // The exponent, saturated: anything beyond +-10^12 is out of range either way.
    let exp: i64 = match exponent {
        None => 0,
        Some(e) => {
            let (eneg, edigits) = match e.first() {
                Some(b'-') => (true, &e[1..]),
                Some(b'+') => (false, &e[1..]),
                _ => (false, e),
            };
            if edigits.is_empty() || !edigits.iter().all(u8::is_ascii_digit) {
                return Err(invalid_amount(amount, "malformed exponent"));
            }
            let mut v: i64 = 0;
            for &d in edigits {
                v = (v * 10 + i64::from(d - b'0')).min(1_000_000_000_000);
            }
            if eneg {
                -v
            } else {
                v
            }
        }
    };
    // Significant digits: drop leading zeros, move trailing zeros into the scale.
    let first = digits.iter().position(|&d| d != 0);
    let Some(first) = first else {
        return Ok(0);
    };
    let last = digits.iter().rposition(|&d| d != 0).unwrap_or(first);
    let trailing = (digits.len() - 1 - last) as i64;
    let significant = &digits[first..=last];
    // value = significant * 10^(shift - minor_units) ... expressed in minor units:
    let shift = exp - frac_len + trailing + i64::from(cur.minor_units);
    if shift < 0 {
        let shown: String = amount.chars().take(40).collect();
        return Err(Error::money(
            "excess_precision",
            format!(
                "amount {shown:?} has more decimal places than {} allows ({})",
                cur.code, cur.minor_units
            ),
        ));
    }
    // |value| < 2^63 needs at most 19 digits in all.
    if significant.len() as i64 + shift > 19 {
        return Err(overflow(amount, cur));
    }
    let mut value: i128 = 0;
    for &d in significant {
        value = value * 10 + i128::from(d);
    }
    for _ in 0..shift {
        value *= 10;
    }
    if negative {
        value = -value;
    }
    i64::try_from(value).map_err(|_| overflow(amount, cur))
}

/// `format_money(1234, "EUR") == "12.34 EUR"`, `format_money(-5, "EUR") == "-0.05 EUR"`,
/// `format_money(1234, "JPY") == "1234 JPY"`. Plain digits, `.` as the separator,
/// the canonical code after a space: for receipts and logs, not locale display.
pub fn format_money(amount: i64, currency: &str) -> Result<String> {
    let cur = Currency::get(currency)?;
    Ok(format_minor(amount, cur))
}

/// [`format_money`] for an already known currency.
pub fn format_minor(amount: impl Into<i128>, cur: Currency) -> String {
    let amount: i128 = amount.into();
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    let scale = 10u128.pow(cur.minor_units());
    if cur.minor_units == 0 {
        format!("{sign}{abs} {}", cur.code)
    } else {
        format!(
            "{sign}{}.{:0width$} {}",
            abs / scale,
            abs % scale,
            cur.code,
            width = usize::from(cur.minor_units)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(r: Result<i64>) -> String {
        match r {
            Ok(v) => format!("ok {v}"),
            Err(e) => e.code().to_string(),
        }
    }

    #[test]
    fn table_is_sorted_unique_and_upper_case() {
        for pair in CURRENCIES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} >= {}", pair[0].0, pair[1].0);
        }
        for (c, mu) in CURRENCIES {
            assert!(c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()));
            assert!(*mu <= 4);
        }
        assert!(CURRENCIES.len() > 150);
    }

    #[test]
    fn exponents() {
        for (c, e) in [
            ("EUR", 2),
            ("usd", 2),
            ("JPY", 0),
            ("XOF", 0),
            ("XAF", 0),
            ("KWD", 3),
            ("BHD", 3),
            ("TND", 3),
            ("CLF", 4),
            ("UYW", 4),
            ("ISK", 0),
            ("KRW", 0),
            ("MGA", 2),
        ] {
            assert_eq!(minor_units(c).ok(), Some(e), "{c}");
        }
        for bad in ["", "EU", "EURO", "XAU", "XXX", "HRK", "E1R", "ÉUR"] {
            assert_eq!(
                minor_units(bad).map_err(|e| e.code().to_string()),
                Err("unknown_currency".to_string()),
                "{bad}"
            );
        }
        assert_eq!(Currency::get("eur").map(Currency::code).ok(), Some("EUR"));
    }

    #[test]
    fn to_minor_exact() {
        let cases = [
            ("12.34", "EUR", "ok 1234"),
            ("12.3", "EUR", "ok 1230"),
            ("12", "EUR", "ok 1200"),
            ("12.", "EUR", "ok 1200"),
            (".5", "EUR", "ok 50"),
            ("-12.34", "EUR", "ok -1234"),
            ("+0.01", "EUR", "ok 1"),
            ("-0", "EUR", "ok 0"),
            ("0.000", "JPY", "ok 0"),
            ("12.340", "EUR", "ok 1234"),
            ("1234", "JPY", "ok 1234"),
            ("1.5", "JPY", "excess_precision"),
            ("12.345", "EUR", "excess_precision"),
            ("1.234", "KWD", "ok 1234"),
            ("1.2345", "KWD", "excess_precision"),
            ("1.5E+2", "EUR", "ok 15000"),
            ("1E-2", "EUR", "ok 1"),
            ("1E-3", "EUR", "excess_precision"),
            ("0E-1000000", "EUR", "ok 0"),
            ("1E+999999999999999999999", "EUR", "overflow"),
            ("92233720368547758.07", "EUR", "ok 9223372036854775807"),
            ("92233720368547758.08", "EUR", "overflow"),
            ("-92233720368547758.08", "EUR", "ok -9223372036854775808"),
            ("00000000000000000000000000001.00", "EUR", "ok 100"),
            ("", "EUR", "invalid_amount"),
            ("-", "EUR", "invalid_amount"),
            (".", "EUR", "invalid_amount"),
            (" 1", "EUR", "invalid_amount"),
            ("1_000", "EUR", "invalid_amount"),
            ("1,5", "EUR", "invalid_amount"),
            ("1.2.3", "EUR", "invalid_amount"),
            ("NaN", "EUR", "invalid_amount"),
            ("Infinity", "EUR", "invalid_amount"),
            ("1e", "EUR", "invalid_amount"),
            ("1e+", "EUR", "invalid_amount"),
            ("1", "ZZZ", "unknown_currency"),
        ];
        for (amount, cur, want) in cases {
            assert_eq!(code(to_minor(amount, cur)), want, "{amount} {cur}");
        }
    }

    #[test]
    fn formatting() {
        let f = |a, c| format_money(a, c).unwrap_or_default();
        assert_eq!(f(1234, "EUR"), "12.34 EUR");
        assert_eq!(f(-1234, "eur"), "-12.34 EUR");
        assert_eq!(f(5, "EUR"), "0.05 EUR");
        assert_eq!(f(-5, "EUR"), "-0.05 EUR");
        assert_eq!(f(0, "EUR"), "0.00 EUR");
        assert_eq!(f(1234, "JPY"), "1234 JPY");
        assert_eq!(f(-1234, "XOF"), "-1234 XOF");
        assert_eq!(f(1234, "KWD"), "1.234 KWD");
        assert_eq!(f(1, "CLF"), "0.0001 CLF");
        assert_eq!(f(i64::MIN, "EUR"), "-92233720368547758.08 EUR");
        assert!(format_money(1, "ABC").is_err());
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(amount in any::<i64>(), idx in 0..CURRENCIES.len()) {
            let (cur, _) = CURRENCIES[idx];
            let text = format_money(amount, cur).unwrap_or_default();
            let number = text.split(' ').next().unwrap_or_default();
            prop_assert_eq!(to_minor(number, cur).ok(), Some(amount));
        }

        #[test]
        fn parse_never_panics(s in ".{0,40}", idx in 0..CURRENCIES.len()) {
            let _ = to_minor(&s, CURRENCIES[idx].0);
        }

        #[test]
        fn scientific_matches_plain(mant in -1_000_000i64..1_000_000, exp in -6i32..6) {
            // mant * 10^exp written two ways must agree (or both fail alike).
            let sci = format!("{mant}E{exp}");
            let plain = if exp >= 0 {
                format!("{mant}{}", "0".repeat(exp as usize))
            } else {
                let digits = mant.unsigned_abs().to_string();
                let sign = if mant < 0 { "-" } else { "" };
                let places = (-exp) as usize;
                let padded = format!("{digits:0>width$}", width = places + 1);
                let (int, frac) = padded.split_at(padded.len() - places);
                format!("{sign}{int}.{frac}")
            };
            prop_assert_eq!(code(to_minor(&sci, "EUR")), code(to_minor(&plain, "EUR")));
        }
    }
}
