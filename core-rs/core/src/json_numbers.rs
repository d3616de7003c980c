//! Integer literals that a 64-bit JSON parser cannot keep exact (SPEC 10).
//!
//! `payedge.stripe_compat` parses a verified Stripe event with orjson, which
//! keeps an integer literal as a Python `int` only inside `[-2^63, 2^64 - 1]`
//! and silently turns a wider one into a `float`; Python's `json` module, which
//! stripe-python uses, keeps every digit. [`has_wide_integer`] finds the
//! documents where the two would disagree, so that those (rare) ones are
//! parsed by `json` instead and the content stays the same as stripe-python's.
//!
//! A wide literal has at least 19 digits, so a first pass looks for such a run
//! of digits by sampling every 19th byte (a run that long covers one sample):
//! about 55 byte reads for a 1 KB event, and most events stop there. Only when
//! one exists does the lexical pass run: strings are skipped with `memchr`
//! (their digits are text, not numbers), and a number token counts as an
//! integer when no fraction or exponent follows its digits. It never reports
//! `false` for a document orjson would widen; on text that is not JSON its
//! answer is only a hint (such text fails both parsers anyway).

/// The largest magnitude of a negative integer kept exact: 2^63.
const NEGATIVE_LIMIT: &[u8] = b"9223372036854775808";
/// The largest non-negative integer kept exact: 2^64 - 1.
const POSITIVE_LIMIT: &[u8] = b"18446744073709551615";

/// The fewest digits of a wide literal (`-9223372036854775809`).
const MIN_WIDE_DIGITS: usize = 19;

/// Whether `json` holds an integer literal outside `[-2^63, 2^64 - 1]`
/// outside its strings (a literal with leading zeros counts by its length).
pub fn has_wide_integer(json: &[u8]) -> bool {
    has_long_digit_run(json) && has_wide_literal(json)
}

/// Whether `bytes` holds `MIN_WIDE_DIGITS` ASCII digits in a row, anywhere.
///
/// Samples one byte in `MIN_WIDE_DIGITS`: a non-digit at `i` rules out every
/// long run starting in the window before it; at a digit, the run around it is
/// measured and the next window starts after that run.
fn has_long_digit_run(bytes: &[u8]) -> bool {
    let digit = |b: &&u8| b.is_ascii_digit();
    let mut i = MIN_WIDE_DIGITS - 1;
    while let Some(byte) = bytes.get(i) {
        if !byte.is_ascii_digit() {
            i += MIN_WIDE_DIGITS;
            continue;
        }
        let before = bytes.get(..i).unwrap_or_default();
        let after = bytes.get(i + 1..).unwrap_or_default();
        let back = before
            .iter()
            .rev()
            .take(MIN_WIDE_DIGITS)
            .take_while(digit)
            .count();
        let ahead = after.iter().take_while(digit).count();
        if back + 1 + ahead >= MIN_WIDE_DIGITS {
            return true;
        }
        i += ahead + 1 + MIN_WIDE_DIGITS;
    }
    false
}

/// The lexical pass: an integer token outside the exact range, outside strings.
fn has_wide_literal(json: &[u8]) -> bool {
    let mut rest = json;
    while let Some((&byte, tail)) = rest.split_first() {
        rest = match byte {
            b'"' => after_string(tail),
            b'-' | b'0'..=b'9' => match integer_token(rest) {
                (true, _) => return true,
                (false, after) => after,
            },
            _ => tail,
        };
    }
    false
}

/// The text after a string whose opening quote is already consumed.
fn after_string(mut text: &[u8]) -> &[u8] {
    while let Some(i) = memchr::memchr2(b'"', b'\\', text) {
        match text.get(i) {
            Some(b'"') => return text.get(i + 1..).unwrap_or_default(),
            // a backslash escapes the byte after it (`\"` does not end the string)
            _ => text = text.get(i + 2..).unwrap_or_default(),
        }
    }
    &[]
}

/// A number token at the start of `text`: whether it is an integer outside
/// the exact range, and the text after it.
fn integer_token(text: &[u8]) -> (bool, &[u8]) {
    let negative = text.first() == Some(&b'-');
    let unsigned = text.get(usize::from(negative)..).unwrap_or_default();
    let count = unsigned.iter().take_while(|b| b.is_ascii_digit()).count();
    let (digits, after) = unsigned.split_at(count);
    // a fraction or an exponent makes it a float literal, a float for both parsers
    let float_tail = after
        .iter()
        .take_while(|b| matches!(b, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
        .count();
    if float_tail > 0 {
        return (false, after.get(float_tail..).unwrap_or_default());
    }
    let limit = if negative {
        NEGATIVE_LIMIT
    } else {
        POSITIVE_LIMIT
    };
    // equal lengths compare as numbers when compared byte by byte
    let wide = digits.len() > limit.len() || (digits.len() == limit.len() && digits > limit);
    (wide, after)
}

#[cfg(test)]
mod tests {
    use super::has_wide_integer;
    use proptest::prelude::*;

    #[test]
    fn integers_at_the_edges_of_the_exact_range() {
        for (text, wide) in [
            ("18446744073709551615", false),
            ("18446744073709551616", true),
            ("99999999999999999999", true),
            ("-9223372036854775808", false),
            ("-9223372036854775809", true),
            ("-18446744073709551615", true),
            ("0", false),
            ("-0", false),
            ("123456789012345678901234567890", true),
        ] {
            assert_eq!(has_wide_integer(text.as_bytes()), wide, "{text}");
            let doc = format!("{{\"a\": [1, {text}, 2]}}");
            assert_eq!(has_wide_integer(doc.as_bytes()), wide, "{doc}");
        }
    }

    #[test]
    fn floats_and_strings_are_not_integers() {
        for text in [
            r#"{"a": 123456789012345678901234567890.5}"#,
            r#"{"a": 123456789012345678901234567890e3}"#,
            r#"{"a": -123456789012345678901234567890E-3}"#,
            r#"{"id": "123456789012345678901234567890"}"#,
            r#"{"id": "say \"123456789012345678901234567890\""}"#,
            r#"{"k\\": "v", "n": 1}"#,
            r#"{"n": -}"#,
            "",
            "\"unterminated 123456789012345678901234567890",
        ] {
            assert!(!has_wide_integer(text.as_bytes()), "{text}");
        }
        // the string ends at the unescaped quote; the number after it counts
        assert!(has_wide_integer(
            br#"{"k\\": 123456789012345678901234567890}"#
        ));
    }

    proptest! {
        #[test]
        fn agrees_with_the_value_range(n in any::<i128>(), pad in 0usize..3) {
            let exact = i128::from(i64::MIN) <= n && n <= i128::from(u64::MAX);
            let doc = format!("{{\"s\": \"{n}\",{}\"n\": {n}}}", " ".repeat(pad));
            prop_assert_eq!(has_wide_integer(doc.as_bytes()), !exact);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = has_wide_integer(&bytes);
        }

        #[test]
        fn digit_runs_found_wherever_they_are(
            text in "[a-z0-9 ]{0,80}",
            run in 1usize..40,
            at in 0usize..80,
        ) {
            let mut bytes = text.into_bytes();
            let at = at.min(bytes.len());
            bytes.splice(at..at, std::iter::repeat_n(b'7', run));
            let longest = bytes
                .split(|b| !b.is_ascii_digit())
                .map(<[u8]>::len)
                .max()
                .unwrap_or(0);
            prop_assert_eq!(super::has_long_digit_run(&bytes), longest >= super::MIN_WIDE_DIGITS);
        }
    }
}
