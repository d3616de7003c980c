//! Webhook signatures: Stripe, Standard Webhooks, plain HMAC (SPEC 2.1).
//!
//! Every verifier takes its clock explicitly ([`UnixTime`]) and returns an
//! [`Error::Signature`](crate::Error::Signature) with one of the stable codes in
//! [`codes`]. Comparisons of signatures are constant-time (`subtle`); HMAC key
//! state is precomputed once per secret ([`HmacKey`]) so that a batch, or a
//! caller that keeps its keys, pays the key schedule once.
//!
//! - [`stripe`]: `Stripe-Signature` headers, parsed exactly like stripe-python.
//! - [`standard`]: Standard Webhooks (`webhook-id`, `webhook-timestamp`,
//!   `webhook-signature`), verdicts like the `standardwebhooks` package.
//! - [`plain`]: a bare HMAC-SHA256 of the body, hex or base64.
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{Error, Result};

pub mod plain;
pub mod standard;
pub mod stripe;

pub use plain::{verify_hmac, HmacEncoding};
pub use standard::{
    parse_standard_timestamp, sign_standard, verify_standard, HeaderField, StandardHeaders,
    StandardKey,
};
pub use stripe::{
    parse_stripe_header, sign_stripe, verify_stripe, verify_stripe_many, BatchItem, StripeHeader,
    StripeKey, StripeTimestamp,
};

/// Longest header value (bytes) a verifier looks at; longer ones are rejected
/// with [`codes::HEADER_TOO_LARGE`] before any parsing. Real signature headers
/// are well under 1 KiB; HTTP servers commonly cap a header field near 8 KiB.
pub const MAX_HEADER_LEN: usize = 8 * 1024;

/// The stable error codes of signature errors.
pub mod codes {
    /// The signature header is absent or empty.
    pub const MISSING_HEADER: &str = "missing_header";
    /// The header is longer than [`super::MAX_HEADER_LEN`].
    pub const HEADER_TOO_LARGE: &str = "header_too_large";
    /// The header cannot be parsed (bare `t`/`v1` item, a `t` that is not ASCII
    /// digits, a malformed signature entry, ...).
    pub const MALFORMED_HEADER: &str = "malformed_header";
    /// A Stripe header without any `t=` item.
    pub const NO_TIMESTAMP: &str = "no_timestamp";
    /// A header without any `v1` signature.
    pub const NO_SIGNATURES: &str = "no_signatures";
    /// Well-formed, but no signature matches any secret.
    pub const SIGNATURE_MISMATCH: &str = "signature_mismatch";
    /// The signature matches but the timestamp is too old (or, for Standard Webhooks, too new).
    pub const TIMESTAMP_OUTSIDE_TOLERANCE: &str = "timestamp_outside_tolerance";
    /// A plain-HMAC signature that is not valid hex/base64 of 32 bytes.
    pub const MALFORMED_SIGNATURE: &str = "malformed_signature";
    /// The payload is not UTF-8 (Stripe and Standard Webhooks sign text), or not
    /// the JSON a parser expects.
    pub const INVALID_PAYLOAD: &str = "invalid_payload";
    /// No secret, an empty or blank secret, or a `whsec_` secret that is not base64.
    pub const INVALID_SECRET: &str = "invalid_secret";
    /// An argument of the wrong type (raised by the bindings).
    pub const INVALID_TYPE: &str = "invalid_type";
    /// An argument with a value out of its domain (negative tolerance, bad encoding name).
    pub const INVALID_ARGUMENT: &str = "invalid_argument";
}

/// Which argument a signature error is about, for one verifier, named as in
/// SPEC 2.1 (the Python signatures): the payload, the header(s) or signature,
/// the secret(s) or the encoding. Each public verifier names its errors here,
/// so the bindings never decide a `param`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params {
    /// What carries the signature: `header` (Stripe), `headers` (Standard Webhooks), `signature` (plain HMAC).
    header: &'static str,
    /// `secrets` (verifiers taking one or several), `secret` (plain HMAC).
    secrets: &'static str,
}

pub(crate) const STRIPE_PARAMS: Params = Params {
    header: "header",
    secrets: "secrets",
};
pub(crate) const STANDARD_PARAMS: Params = Params {
    header: "headers",
    secrets: "secrets",
};
pub(crate) const HMAC_PARAMS: Params = Params {
    header: "signature",
    secrets: "secret",
};

impl Params {
    /// `err` with its `param` set from its code, unless it already names one.
    pub(crate) fn name(self, err: Error) -> Error {
        if err.param().is_some() {
            return err;
        }
        let param = match err.code() {
            codes::INVALID_PAYLOAD => "payload",
            codes::INVALID_SECRET => self.secrets,
            // the verifiers' only `invalid_argument` is verify_hmac's encoding name
            codes::INVALID_ARGUMENT => "encoding",
            codes::MALFORMED_SIGNATURE => "signature",
            _ => self.header,
        };
        err.with_param(param)
    }
}

/// A wall-clock UNIX time with sub-second precision, as signatures are dated.
///
/// An explicit integer `now` and the wall clock compare the same way as
/// stripe-python's `timestamp < time.time() - tolerance`: a fractional second
/// counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnixTime {
    secs: i64,
    nanos: u32,
}

impl UnixTime {
    /// A whole number of seconds since the UNIX epoch.
    pub const fn from_secs(secs: i64) -> Self {
        Self { secs, nanos: 0 }
    }

    /// Seconds and nanoseconds (`nanos` is clamped below one second).
    pub const fn new(secs: i64, nanos: u32) -> Self {
        let nanos = if nanos > 999_999_999 {
            999_999_999
        } else {
            nanos
        };
        Self { secs, nanos }
    }

    /// The system's wall clock (a clock before 1970 reads as the epoch).
    pub fn now() -> Self {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => Self::new(
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                d.subsec_nanos(),
            ),
            Err(_) => Self::from_secs(0),
        }
    }

    pub const fn secs(self) -> i64 {
        self.secs
    }

    pub const fn subsec_nanos(self) -> u32 {
        self.nanos
    }

    /// `ts < self - tolerance` (with the fractional second counted).
    pub(crate) fn is_older_than(self, ts: &Timestamp<'_>, tolerance: u64) -> bool {
        let Some(ts) = ts.value else {
            return false; // more digits than u64: far in the future
        };
        let frac = i128::from(self.nanos > 0);
        i128::from(ts) < i128::from(self.secs) - i128::from(tolerance) + frac
    }

    /// `ts > self + tolerance` (a fractional second never makes an integer later).
    pub(crate) fn is_earlier_than(self, ts: &Timestamp<'_>, tolerance: u64) -> bool {
        match ts.value {
            None => true,
            Some(ts) => i128::from(ts) > i128::from(self.secs) + i128::from(tolerance),
        }
    }
}

/// A header timestamp of ASCII digits, kept in canonical decimal form (no
/// leading zeros) because that is what both peers sign (`"%d" % int(t)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp<'h> {
    digits: &'h str,
    value: Option<u64>,
}

impl<'h> Timestamp<'h> {
    /// Parse a run of ASCII digits (1 to `max_digits` of them, leading zeros allowed).
    pub(crate) fn parse_digits(raw: &'h str, max_digits: usize) -> Option<Self> {
        if raw.is_empty() || raw.len() > max_digits || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let trimmed = raw.trim_start_matches('0');
        let digits = if trimmed.is_empty() {
            &raw[raw.len() - 1..]
        } else {
            trimmed
        };
        Some(Self {
            digits,
            value: digits.parse::<u64>().ok(),
        })
    }

    /// The canonical decimal digits (what is signed).
    pub fn digits(&self) -> &'h str {
        self.digits
    }

    /// The value, when it fits in a `u64` (always, for any real timestamp).
    pub fn as_u64(&self) -> Option<u64> {
        self.value
    }
}

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 state with the key schedule already done: cloning it is cheaper
/// than keying a fresh MAC (two SHA-256 blocks saved per message).
#[derive(Clone)]
pub struct HmacKey(HmacSha256);

impl HmacKey {
    pub fn new(key: &[u8]) -> Result<Self> {
        HmacSha256::new_from_slice(key).map(Self).map_err(|_| {
            Error::signature(codes::INVALID_SECRET, "the secret cannot key HMAC-SHA256")
                .with_param("secret")
        })
    }

    /// HMAC-SHA256 over the concatenation of `parts`.
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.0.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacKey(<redacted>)")
    }
}

/// The payload as text: Stripe and Standard Webhooks sign the decoded body,
/// and both peers fail on bytes that are not UTF-8.
pub(crate) fn require_utf8(payload: &[u8]) -> Result<()> {
    match std::str::from_utf8(payload) {
        Ok(_) => Ok(()),
        Err(e) => Err(Error::signature(
            codes::INVALID_PAYLOAD,
            format!(
                "payload is not valid UTF-8 (byte offset {})",
                e.valid_up_to()
            ),
        )),
    }
}

/// The [`codes::TIMESTAMP_OUTSIDE_TOLERANCE`] error: "`what` {ts} is more than
/// {tolerance} s `relation` now ({now})", `relation` being "older than" or "after".
pub(crate) fn outside_tolerance(
    what: &str,
    ts: &Timestamp<'_>,
    tolerance: u64,
    relation: &str,
    now: UnixTime,
) -> Error {
    Error::signature(
        codes::TIMESTAMP_OUTSIDE_TOLERANCE,
        format!(
            "{what} {} is more than {tolerance} s {relation} now ({})",
            ts.digits(),
            now.secs()
        ),
    )
}

pub(crate) fn check_header_len(value: &str, what: &str) -> Result<()> {
    if value.len() > MAX_HEADER_LEN {
        return Err(Error::signature(
            codes::HEADER_TOO_LARGE,
            format!(
                "{what} is {} bytes long; at most {MAX_HEADER_LEN} are accepted",
                value.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_canonical() {
        let t = Timestamp::parse_digits("000123", 4300).unwrap();
        assert_eq!((t.digits(), t.as_u64()), ("123", Some(123)));
        let z = Timestamp::parse_digits("000", 4300).unwrap();
        assert_eq!((z.digits(), z.as_u64()), ("0", Some(0)));
        let big = "9".repeat(30);
        let b = Timestamp::parse_digits(&big, 4300).unwrap();
        assert_eq!((b.digits(), b.as_u64()), (big.as_str(), None));
        for bad in ["", "+1", "-1", " 1", "1 ", "1_0", "١٢", "0x1", "1.0"] {
            assert!(Timestamp::parse_digits(bad, 4300).is_none(), "{bad:?}");
        }
        assert!(Timestamp::parse_digits("12345", 4).is_none());
    }

    #[test]
    fn age_checks_count_the_fraction() {
        let t = Timestamp::parse_digits("1000", 20).unwrap();
        // stripe-python: t < now - tolerance fails
        assert!(!UnixTime::from_secs(1300).is_older_than(&t, 300));
        assert!(UnixTime::from_secs(1301).is_older_than(&t, 300));
        assert!(UnixTime::new(1300, 1).is_older_than(&t, 300));
        assert!(!UnixTime::from_secs(700).is_earlier_than(&t, 300));
        assert!(UnixTime::from_secs(699).is_earlier_than(&t, 300));
        assert!(!UnixTime::new(700, 999_999_999).is_earlier_than(&t, 300));
        let huge = Timestamp::parse_digits("99999999999999999999999", 4300).unwrap();
        assert!(!UnixTime::from_secs(i64::MAX).is_older_than(&huge, 0));
        assert!(UnixTime::from_secs(i64::MAX).is_earlier_than(&huge, u64::MAX));
    }

    #[test]
    fn wall_clock_is_after_2020() {
        assert!(UnixTime::now().secs() > 1_577_836_800);
    }

    #[test]
    fn hmac_key_matches_rfc4231_case_2() {
        let key = HmacKey::new(b"Jefe").unwrap();
        let mac = key.sign(&[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
