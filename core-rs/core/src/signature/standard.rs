//! Standard Webhooks: `webhook-id`, `webhook-timestamp` and
//! `webhook-signature: v1,<base64> v1,<base64>`, signed as
//! `hmac-sha256(base64decode(secret without "whsec_"), "<id>.<timestamp>.<payload>")`.
//!
//! Verdicts follow the `standardwebhooks` package (1.1), including where it is
//! lenient, and an [`Error`] wherever it would crash:
//! - header names are case-insensitive (Python's `str.lower()`); the last of
//!   several spellings of one name wins; an empty value counts as missing;
//! - the timestamp must be within `tolerance` seconds of now, in both
//!   directions; it is signed in canonical form (leading zeros dropped).
//!   payedge takes only ASCII digits (the package's `float()` also takes a sign,
//!   spaces, `_`, exponents and fractions);
//! - signature entries are split on single spaces and each must hold exactly one
//!   comma (else the package crashes: a malformed header here), unless an
//!   earlier entry already matched; entries whose version is not `v1` are
//!   skipped; the base64 is decoded like Python's `base64.b64decode` (characters
//!   outside the alphabet are skipped, padding ends the data, bad padding or
//!   non-ASCII text is an error) and compared in constant time.
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use subtle::ConstantTimeEq;

use super::{
    check_header_len, codes, outside_tolerance, require_utf8, HmacKey, Timestamp, UnixTime,
    STANDARD_PARAMS,
};
use crate::{Error, Result};

const SECRET_PREFIX: &str = "whsec_";

/// Digits a timestamp may have (u64 has 20; leading zeros may pad it up to the header cap).
const MAX_TS_DIGITS: usize = super::MAX_HEADER_LEN;

/// Secrets: standard alphabet, padding optional, non-zero trailing bits allowed
/// (as Python's `b64decode(secret + "==")`), nothing outside the alphabet.
const SECRET_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A Standard Webhooks secret (`whsec_<base64>`, or the bare base64), keyed once.
#[derive(Clone, Debug)]
pub struct StandardKey(HmacKey);

impl StandardKey {
    /// The error's `param` is `secret`.
    pub fn new(secret: &str) -> Result<Self> {
        Self::decode(secret).map_err(|e| e.with_param("secret"))
    }

    fn decode(secret: &str) -> Result<Self> {
        let b64 = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
        let key = SECRET_ENGINE.decode(b64).map_err(|e| {
            Error::signature(
                codes::INVALID_SECRET,
                format!("the secret is not `whsec_` followed by standard base64 ({e})"),
            )
        })?;
        if key.is_empty() {
            return Err(Error::signature(
                codes::INVALID_SECRET,
                "the webhook secret is empty",
            ));
        }
        HmacKey::new(&key).map(Self)
    }

    fn signature(&self, msg_id: &str, digits: &str, payload: &[u8]) -> [u8; 32] {
        self.0
            .sign(&[msg_id.as_bytes(), b".", digits.as_bytes(), b".", payload])
    }
}

/// The three headers a verifier reads (already picked out case-insensitively).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StandardHeaders<'h> {
    pub id: Option<&'h str>,
    pub timestamp: Option<&'h str>,
    pub signature: Option<&'h str>,
}

/// Which of the three headers a name designates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderField {
    Id,
    Timestamp,
    Signature,
}

impl HeaderField {
    /// Match a header name as the package does: `name.lower() == "webhook-id"`, ...
    pub fn of(name: &str) -> Option<Self> {
        // Quick reject on length: every name whose lowercase is one of ours has
        // 10 to 17 ASCII bytes, or a few more if it has non-ASCII letters (U+212A KELVIN SIGN).
        if name.len() < 10 || name.len() > 19 {
            return None;
        }
        let pick = |lower: &str| match lower {
            "webhook-id" => Some(Self::Id),
            "webhook-timestamp" => Some(Self::Timestamp),
            "webhook-signature" => Some(Self::Signature),
            _ => None,
        };
        if name.is_ascii() {
            let mut buf = [0u8; 19];
            let buf = &mut buf[..name.len()];
            buf.copy_from_slice(name.as_bytes());
            buf.make_ascii_lowercase();
            std::str::from_utf8(buf).ok().and_then(pick)
        } else {
            pick(&name.to_lowercase())
        }
    }
}

impl<'h> StandardHeaders<'h> {
    /// Record one header; a later spelling of the same name replaces an earlier one.
    pub fn insert(&mut self, name: &str, value: &'h str) {
        match HeaderField::of(name) {
            Some(HeaderField::Id) => self.id = Some(value),
            Some(HeaderField::Timestamp) => self.timestamp = Some(value),
            Some(HeaderField::Signature) => self.signature = Some(value),
            None => {}
        }
    }
}

/// `v1,<base64 signature>` for `webhook-signature`.
pub fn sign_standard(msg_id: &str, timestamp: u64, payload: &[u8], key: &StandardKey) -> String {
    let mac = key.signature(msg_id, &timestamp.to_string(), payload);
    let mut out = String::with_capacity(48);
    out.push_str("v1,");
    STANDARD.encode_string(mac, &mut out);
    out
}

/// Parse a `webhook-timestamp` value (ASCII digits only).
pub fn parse_standard_timestamp(value: &str) -> Result<Timestamp<'_>> {
    Timestamp::parse_digits(value, MAX_TS_DIGITS).ok_or_else(|| {
        Error::signature(
            codes::MALFORMED_HEADER,
            "webhook-timestamp is not a run of ASCII digits",
        )
    })
}

/// Outcome of decoding one base64 signature the way `base64.b64decode` does.
enum Decoded {
    /// Decoded; whether it equals the expected MAC.
    Compared(bool),
    /// `b64decode` would raise (non-ASCII text, incorrect padding).
    Error,
}

/// `hmac.compare_digest(expected, base64.b64decode(sig))`, without allocating:
/// the non-strict decoder of CPython's `binascii.a2b_base64`.
fn b64decode_equals(sig: &str, expected: &[u8; 32]) -> Decoded {
    if !sig.is_ascii() {
        return Decoded::Error;
    }
    let mut quad_pos = 0u8;
    let mut left = 0u8;
    let mut pads = 0u8;
    let mut out = Compare {
        expected,
        len: 0,
        diff: 0,
    };
    for &c in sig.as_bytes() {
        if c == b'=' {
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    // a complete pad sequence ends the data
                    return Decoded::Compared(out.equal());
                }
            }
            continue;
        }
        let Some(v) = b64_value(c) else {
            continue; // outside the alphabet: skipped
        };
        pads = 0;
        match quad_pos {
            0 => {
                quad_pos = 1;
                left = v;
            }
            1 => {
                quad_pos = 2;
                out.push((left << 2) | (v >> 4));
                left = v & 0x0f;
            }
            2 => {
                quad_pos = 3;
                out.push((left << 4) | (v >> 2));
                left = v & 0x03;
            }
            _ => {
                quad_pos = 0;
                out.push((left << 6) | v);
                left = 0;
            }
        }
    }
    if quad_pos != 0 {
        return Decoded::Error;
    }
    Decoded::Compared(out.equal())
}

/// Compares decoded bytes with the expected MAC as they come (no buffer).
struct Compare<'a> {
    expected: &'a [u8; 32],
    len: usize,
    diff: u8,
}

impl Compare<'_> {
    #[inline]
    fn push(&mut self, byte: u8) {
        // past the end, any byte is a difference (the lengths differ anyway)
        let want = self.expected.get(self.len).copied().unwrap_or(!byte);
        self.diff |= want ^ byte;
        self.len += 1;
    }

    fn equal(&self) -> bool {
        self.len == self.expected.len() && bool::from(self.diff.ct_eq(&0))
    }
}

#[inline]
fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Verify a Standard Webhooks message against one or more keys; returns
/// `webhook-id`. Errors name their argument (`payload`, `headers`, `secrets`).
pub fn verify_standard<'h>(
    payload: &[u8],
    headers: &StandardHeaders<'h>,
    keys: &[StandardKey],
    tolerance: u64,
    now: UnixTime,
) -> Result<&'h str> {
    verify(payload, headers, keys, tolerance, now).map_err(|e| STANDARD_PARAMS.name(e))
}

fn verify<'h>(
    payload: &[u8],
    headers: &StandardHeaders<'h>,
    keys: &[StandardKey],
    tolerance: u64,
    now: UnixTime,
) -> Result<&'h str> {
    if keys.is_empty() {
        return Err(Error::signature(
            codes::INVALID_SECRET,
            "no webhook secret was given",
        ));
    }
    require_utf8(payload)?;
    let non_empty = |v: Option<&'h str>| v.filter(|v| !v.is_empty());
    let (Some(msg_id), Some(raw_ts), Some(signatures)) = (
        non_empty(headers.id),
        non_empty(headers.timestamp),
        non_empty(headers.signature),
    ) else {
        let missing: Vec<&str> = [
            ("webhook-id", headers.id),
            ("webhook-timestamp", headers.timestamp),
            ("webhook-signature", headers.signature),
        ]
        .iter()
        .filter(|(_, v)| non_empty(*v).is_none())
        .map(|(n, _)| *n)
        .collect();
        return Err(Error::signature(
            codes::MISSING_HEADER,
            format!("missing or empty header(s): {}", missing.join(", ")),
        ));
    };
    check_header_len(msg_id, "webhook-id")?;
    check_header_len(raw_ts, "webhook-timestamp")?;
    check_header_len(signatures, "webhook-signature")?;
    let ts = parse_standard_timestamp(raw_ts)?;
    if now.is_older_than(&ts, tolerance) {
        return Err(outside_tolerance(
            "webhook-timestamp",
            &ts,
            tolerance,
            "older than",
            now,
        ));
    }
    if now.is_earlier_than(&ts, tolerance) {
        return Err(outside_tolerance(
            "webhook-timestamp",
            &ts,
            tolerance,
            "after",
            now,
        ));
    }
    let mut malformed = false;
    let mut any_v1 = false;
    let matched = keys.iter().any(|key| {
        let expected = key.signature(msg_id, ts.digits(), payload);
        for entry in signatures.split(' ') {
            let Some((version, sig)) = entry.split_once(',') else {
                malformed = true; // `(version, signature) = entry.split(",")` raises
                return false;
            };
            if sig.contains(',') {
                malformed = true;
                return false;
            }
            if version != "v1" {
                continue;
            }
            any_v1 = true;
            match b64decode_equals(sig, &expected) {
                Decoded::Compared(true) => return true,
                Decoded::Compared(false) => {}
                Decoded::Error => {
                    malformed = true;
                    return false;
                }
            }
        }
        false
    });
    if matched {
        return Ok(msg_id);
    }
    Err(if malformed {
        Error::signature(
            codes::MALFORMED_HEADER,
            "webhook-signature has an entry that is not `<version>,<base64>`",
        )
    } else if !any_v1 {
        Error::signature(
            codes::NO_SIGNATURES,
            "webhook-signature has no `v1` signature",
        )
    } else {
        Error::signature(
            codes::SIGNATURE_MISMATCH,
            "no `v1` signature matches the expected signature for the payload",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // The example of the Standard Webhooks specification.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: u64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const NOW: UnixTime = UnixTime::from_secs(TS as i64);

    fn key() -> StandardKey {
        StandardKey::new(SECRET).unwrap()
    }

    fn headers<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> StandardHeaders<'a> {
        StandardHeaders {
            id: Some(id),
            timestamp: Some(ts),
            signature: Some(sig),
        }
    }

    fn check(sig: &str) -> Result<&str> {
        let h = headers(MSG_ID, "1614265330", sig);
        verify_standard(BODY, &h, &[key()], 300, NOW).map(|_| "ok")
    }

    fn code(r: Result<&str>) -> String {
        r.unwrap_err().code().to_string()
    }

    #[test]
    fn specification_example() {
        assert_eq!(sign_standard(MSG_ID, TS, BODY, &key()), SIG);
        assert_eq!(check(SIG), Ok("ok"));
        let bare = StandardKey::new("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(sign_standard(MSG_ID, TS, BODY, &bare), SIG);
    }

    #[test]
    fn signature_list_semantics() {
        let good = &SIG[3..];
        assert!(check(&format!("v2,abc v1,{good}")).is_ok());
        assert!(check(&format!("v1,{good} garbage")).is_ok());
        assert!(check(&format!("v1,{good} v1,x,y")).is_ok());
        assert_eq!(
            code(check(&format!("garbage v1,{good}"))),
            "malformed_header"
        );
        assert_eq!(
            code(check(&format!("v1,a,b v1,{good}"))),
            "malformed_header"
        );
        assert_eq!(
            code(check(&format!("v1,AAAAA v1,{good}"))),
            "malformed_header"
        );
        assert!(check(&format!("v1,{good}  v1,x")).is_ok());
        assert_eq!(code(check(&format!("v1,x  v1,{good}"))), "malformed_header");
        assert_eq!(code(check("v2,abc")), "no_signatures");
        assert_eq!(code(check("v1,AAAA")), "signature_mismatch");
        // b64decode skips characters outside the alphabet and stops at padding
        let mut noisy = String::from("v1,");
        for (i, c) in good.chars().enumerate() {
            noisy.push(c);
            if i % 7 == 3 {
                noisy.push('!');
            }
        }
        assert!(check(&noisy).is_ok());
        assert!(check(&format!("v1,{good}QUJD")).is_ok()); // after the padding: ignored
        assert_eq!(code(check(&format!("v1,é{good}"))), "malformed_header");
    }

    #[test]
    fn timestamps() {
        let sig = sign_standard(MSG_ID, TS, BODY, &key());
        let at = |ts: &str, now: i64| {
            let h = headers(MSG_ID, ts, &sig);
            verify_standard(BODY, &h, &[key()], 300, UnixTime::from_secs(now)).map(|_| ())
        };
        assert!(at("1614265330", TS as i64 + 300).is_ok());
        assert!(at("1614265330", TS as i64 - 300).is_ok());
        assert!(at("001614265330", TS as i64).is_ok());
        for now in [TS as i64 + 301, TS as i64 - 301] {
            assert_eq!(
                at("1614265330", now).unwrap_err().code(),
                "timestamp_outside_tolerance"
            );
        }
        assert_eq!(
            at(&"9".repeat(40), TS as i64).unwrap_err().code(),
            "timestamp_outside_tolerance"
        );
        for bad in ["1614265330.0", " 1614265330", "+1614265330", "1e9", "١"] {
            assert_eq!(at(bad, TS as i64).unwrap_err().code(), "malformed_header");
        }
    }

    #[test]
    fn header_names_and_missing_values() {
        let mut h = StandardHeaders::default();
        h.insert("Webhook-Id", "a");
        h.insert("WEBHOOK-TIMESTAMP", "1");
        h.insert("webhoo\u{212a}-signature", "s"); // KELVIN SIGN lowers to `k`
        h.insert("webhook-id", MSG_ID);
        h.insert("x-webhook-id", "nope");
        assert_eq!(h, headers(MSG_ID, "1", "s"));
        let empty = headers(MSG_ID, "", SIG);
        assert_eq!(
            verify_standard(BODY, &empty, &[key()], 300, NOW)
                .unwrap_err()
                .code(),
            "missing_header"
        );
    }

    #[test]
    fn secrets() {
        for bad in ["", "whsec_", "whsec_!!!!", "whsec_a", "whsec_QUJD-_"] {
            assert_eq!(
                StandardKey::new(bad).unwrap_err().code(),
                "invalid_secret",
                "{bad:?}"
            );
        }
        assert!(StandardKey::new("whsec_QQ").is_ok());
        assert!(StandardKey::new("whsec_QR==").is_ok());
    }

    proptest! {
        #[test]
        fn signed_messages_verify(id in "[a-z0-9_]{1,30}", body in ".{0,100}", ts in 0u64..4_000_000_000) {
            let sig = sign_standard(&id, ts, body.as_bytes(), &key());
            let ts_s = ts.to_string();
            let h = headers(&id, &ts_s, &sig);
            let now = UnixTime::from_secs(ts as i64);
            prop_assert_eq!(verify_standard(body.as_bytes(), &h, &[key()], 0, now), Ok(id.as_str()));
        }

        #[test]
        fn decoder_agrees_with_the_strict_one_on_canonical_base64(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let text = STANDARD.encode(&bytes);
            let mut expected = [0u8; 32];
            let n = bytes.len().min(32);
            expected[..n].copy_from_slice(&bytes[..n]);
            let same = bytes.len() == 32;
            prop_assert!(matches!(b64decode_equals(&text, &expected), Decoded::Compared(x) if x == same));
        }

        #[test]
        fn any_signature_header_is_handled_without_panic(sig in "[v1, A-Za-z0-9+/=!é]{0,120}") {
            let _ = check(&sig);
        }
    }
}
