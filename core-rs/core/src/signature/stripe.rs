//! `Stripe-Signature` headers: `t=<unix>,v1=<hex hmac-sha256(secret, "<t>.<payload>")>`.
//!
//! Parsing follows stripe-python's `WebhookSignature.verify_header` exactly
//! (`header.split(",")`, then `item.split("=", 2)`):
//! - the key is what precedes the first `=`, the value what lies between the
//!   first and a second `=`; an item named `t` or `v1` without any `=` makes the
//!   whole header invalid, wherever it stands;
//! - the first `t` item wins and must be 1 to 4300 ASCII digits (Python's `int()`
//!   limit); it is signed in canonical form (`"%d"`: leading zeros dropped).
//!   Where `int()` would also take a sign, `_`, whitespace or non-ASCII digits,
//!   payedge rejects;
//! - every `v1` item is a candidate, compared as text with the lowercase hex
//!   digest (so upper-case hex does not match); `v0` and unknown items are
//!   ignored. Like `hmac.compare_digest`, a candidate that is not ASCII fails the
//!   header unless an earlier candidate already matched;
//! - the signature is checked before the age; a tolerance of `None` or `0`
//!   disables the age check, which only rejects the past (`t < now - tolerance`).
use subtle::ConstantTimeEq;

use super::{
    check_header_len, codes, outside_tolerance, require_utf8, HmacKey, Timestamp, UnixTime,
    MAX_HEADER_LEN, STRIPE_PARAMS,
};
use crate::{Error, Result};

/// Python's default `sys.get_int_max_str_digits()`: `int()` refuses longer strings.
const MAX_T_DIGITS: usize = 4300;

/// The characters stripe-python strips before calling a secret empty.
const BLANK: [char; 6] = [' ', '\t', '\r', '\n', '\x0c', '\x0b'];

/// A Stripe endpoint secret (`whsec_...`), keyed once. The secret is used as
/// text, exactly as Stripe does: the `whsec_` prefix is part of the key.
#[derive(Clone, Debug)]
pub struct StripeKey(HmacKey);

impl StripeKey {
    /// Rejects an empty or blank secret (as stripe-python does); the error's
    /// `param` is `secret`.
    pub fn new(secret: &str) -> Result<Self> {
        if secret.trim_matches(BLANK).is_empty() {
            return Err(Error::signature(
                codes::INVALID_SECRET,
                "the webhook secret is empty; it should start with `whsec_`",
            )
            .with_param("secret"));
        }
        HmacKey::new(secret.as_bytes()).map(Self)
    }

    /// The lowercase hex signature of `payload` at `timestamp` (canonical digits).
    fn hex_signature(&self, digits: &str, payload: &[u8]) -> [u8; 64] {
        let mac = self.0.sign(&[digits.as_bytes(), b".", payload]);
        let mut out = [0u8; 64];
        // 32 bytes always fit 64 hex digits
        if hex::encode_to_slice(mac, &mut out).is_err() {
            out = [0u8; 64];
        }
        out
    }
}

/// The timestamp of a verified Stripe header.
pub type StripeTimestamp<'h> = Timestamp<'h>;

/// A syntactically valid `Stripe-Signature` header.
#[derive(Debug, Clone, Copy)]
pub struct StripeHeader<'h> {
    header: &'h str,
    timestamp: Timestamp<'h>,
}

/// `header.split(",")` with each item split as Python's `item.split("=", 2)`:
/// `(key, None)` for an item without `=`, else `(key, Some(value))` where the
/// value stops at a second `=`. One SIMD scan for both delimiters.
struct Items<'h> {
    header: &'h str,
    delims: memchr::Memchr2<'h>,
    start: usize,
    done: bool,
}

fn items(header: &str) -> Items<'_> {
    Items {
        header,
        delims: memchr::memchr2_iter(b',', b'=', header.as_bytes()),
        start: 0,
        done: false,
    }
}

impl<'h> Iterator for Items<'h> {
    type Item = (&'h str, Option<&'h str>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let bytes = self.header.as_bytes();
        let start = self.start;
        // positions of the first and second `=` of this item, then its end
        let mut eq1 = None;
        let mut eq2 = None;
        let end = loop {
            match self.delims.next() {
                None => {
                    self.done = true;
                    break self.header.len();
                }
                Some(i) if bytes.get(i) == Some(&b',') => break i,
                Some(i) if eq1.is_none() => eq1 = Some(i),
                Some(i) if eq2.is_none() => eq2 = Some(i),
                Some(_) => {}
            }
        };
        self.start = end + 1;
        // every index is at an ASCII delimiter or the end: a char boundary
        let item = self.header.get(start..end).unwrap_or_default();
        Some(match eq1 {
            None => (item, None),
            Some(e1) => (
                self.header.get(start..e1).unwrap_or_default(),
                self.header.get(e1 + 1..eq2.unwrap_or(end)),
            ),
        })
    }
}

/// Constant-time equality of a candidate with the expected hex digest.
#[inline]
fn hex_eq(candidate: &[u8], expected: &[u8; 64]) -> bool {
    if candidate.len() != expected.len() {
        return false;
    }
    let mut diff = 0u64;
    for (a, b) in candidate.chunks_exact(8).zip(expected.chunks_exact(8)) {
        let mut wa = [0u8; 8];
        let mut wb = [0u8; 8];
        wa.copy_from_slice(a);
        wb.copy_from_slice(b);
        diff |= u64::from_ne_bytes(wa) ^ u64::from_ne_bytes(wb);
    }
    bool::from(diff.ct_eq(&0))
}

/// Parse a header the way stripe-python does (see the module docs).
pub fn parse_stripe_header(header: &str) -> Result<StripeHeader<'_>> {
    if header.is_empty() {
        return Err(Error::signature(
            codes::MISSING_HEADER,
            "no Stripe-Signature header value was provided",
        ));
    }
    check_header_len(header, "the Stripe-Signature header")?;
    let mut first_t = None;
    let mut v1_count = 0usize;
    for (key, value) in items(header) {
        match (key, value) {
            ("t", None) | ("v1", None) => {
                return Err(Error::signature(
                    codes::MALFORMED_HEADER,
                    format!("header item `{key}` has no `=` and no value"),
                ))
            }
            ("t", Some(v)) if first_t.is_none() => first_t = Some(v),
            ("v1", Some(_)) => v1_count += 1,
            _ => {}
        }
    }
    let Some(raw_t) = first_t else {
        return Err(Error::signature(
            codes::NO_TIMESTAMP,
            "the header has no `t=` timestamp item",
        ));
    };
    let Some(timestamp) = Timestamp::parse_digits(raw_t, MAX_T_DIGITS) else {
        return Err(Error::signature(
            codes::MALFORMED_HEADER,
            "the header's `t` is not a run of 1 to 4300 ASCII digits",
        ));
    };
    if v1_count == 0 {
        return Err(Error::signature(
            codes::NO_SIGNATURES,
            "the header has no `v1=` signature",
        ));
    }
    Ok(StripeHeader { header, timestamp })
}

impl<'h> StripeHeader<'h> {
    pub fn timestamp(&self) -> Timestamp<'h> {
        self.timestamp
    }

    /// Every `v1` value, in header order.
    pub fn signatures(&self) -> impl Iterator<Item = &'h str> + 'h {
        items(self.header).filter_map(|item| match item {
            ("v1", Some(v)) => Some(v),
            _ => None,
        })
    }
}

/// `t=<timestamp>,v1=<hex>`.
pub fn sign_stripe(payload: &[u8], key: &StripeKey, timestamp: u64) -> String {
    let digits = timestamp.to_string();
    let hex = key.hex_signature(&digits, payload);
    let mut out = String::with_capacity(digits.len() + 70);
    out.push_str("t=");
    out.push_str(&digits);
    out.push_str(",v1=");
    out.extend(hex.iter().map(|&b| char::from(b)));
    out
}

/// Verify a Stripe webhook against one or more keys (rotation: any may match).
/// Returns the header's timestamp. Errors name their argument (`payload`,
/// `header`, `secrets`) in `param`.
pub fn verify_stripe<'h>(
    payload: &[u8],
    header: &'h str,
    keys: &[StripeKey],
    tolerance: Option<u64>,
    now: UnixTime,
) -> Result<StripeTimestamp<'h>> {
    verify(payload, header, keys, tolerance, now).map_err(|e| STRIPE_PARAMS.name(e))
}

fn verify<'h>(
    payload: &[u8],
    header: &'h str,
    keys: &[StripeKey],
    tolerance: Option<u64>,
    now: UnixTime,
) -> Result<StripeTimestamp<'h>> {
    if keys.is_empty() {
        return Err(Error::signature(
            codes::INVALID_SECRET,
            "no webhook secret was given",
        ));
    }
    require_utf8(payload)?;
    let parsed = parse_stripe_header(header)?;
    let ts = parsed.timestamp;
    let mut non_ascii = false;
    let matched = keys.iter().any(|key| {
        let expected = key.hex_signature(ts.digits(), payload);
        for candidate in parsed.signatures() {
            if !candidate.is_ascii() {
                // hmac.compare_digest raises on non-ASCII text: nothing after counts
                non_ascii = true;
                return false;
            }
            if hex_eq(candidate.as_bytes(), &expected) {
                return true;
            }
        }
        false
    });
    if !matched {
        return Err(if non_ascii {
            Error::signature(codes::MALFORMED_HEADER, "a `v1` signature is not ASCII")
        } else {
            Error::signature(
                codes::SIGNATURE_MISMATCH,
                "no `v1` signature matches the expected signature for the payload",
            )
        });
    }
    if let Some(tolerance) = tolerance.filter(|&t| t > 0) {
        if now.is_older_than(&ts, tolerance) {
            return Err(outside_tolerance(
                "timestamp",
                &ts,
                tolerance,
                "older than",
                now,
            ));
        }
    }
    Ok(ts)
}

/// One item of a batch: the payload and its header (`None`: no header was sent).
pub type BatchItem<'a> = (&'a [u8], Option<&'a str>);

/// Items per thread below which a batch is not worth splitting.
const MIN_ITEMS_PER_THREAD: usize = 2048;
const MAX_BATCH_THREADS: usize = 8;

/// Verify many webhooks, in order, one verdict per item. Large batches are
/// split across the machine's cores (scoped threads, at least
/// 2048 items each); a chunk whose thread cannot be started runs on the caller's.
pub fn verify_stripe_many<'a>(
    items: &[BatchItem<'a>],
    keys: &[StripeKey],
    tolerance: Option<u64>,
    now: UnixTime,
) -> Vec<Result<StripeTimestamp<'a>>> {
    let verify_chunk = |chunk: &[BatchItem<'a>]| -> Vec<Result<StripeTimestamp<'a>>> {
        chunk
            .iter()
            .map(|&(payload, header)| match header {
                Some(header) => verify_stripe(payload, header, keys, tolerance, now),
                None => Err(STRIPE_PARAMS.name(Error::signature(
                    codes::MISSING_HEADER,
                    "no Stripe-Signature header value was provided",
                ))),
            })
            .collect()
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = cores
        .min(MAX_BATCH_THREADS)
        .min(items.len() / MIN_ITEMS_PER_THREAD)
        .max(1);
    if threads == 1 {
        return verify_chunk(items);
    }
    let chunk_len = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut chunks = items.chunks(chunk_len);
        // the caller's thread takes the first chunk itself
        let first = chunks.next().unwrap_or_default();
        let spawned: Vec<_> = chunks
            .map(|chunk| {
                let handle = std::thread::Builder::new()
                    .name("payedge-verify".into())
                    .spawn_scoped(scope, move || verify_chunk(chunk));
                (chunk, handle)
            })
            .collect();
        let mut out = verify_chunk(first);
        out.reserve(items.len() - out.len());
        for (chunk, handle) in spawned {
            match handle.map(|h| h.join()) {
                Ok(Ok(verdicts)) => out.extend(verdicts),
                _ => out.extend(verify_chunk(chunk)),
            }
        }
        out
    })
}

// Keep the header cap visible where the parser is documented.
const _: () = assert!(MAX_HEADER_LEN >= MAX_T_DIGITS + 100);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET: &str = "whsec_test_secret";
    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn key() -> StripeKey {
        StripeKey::new(SECRET).unwrap()
    }

    fn hex_sig(ts: &str, payload: &[u8]) -> String {
        String::from_utf8(key().hex_signature(ts, payload).to_vec()).unwrap()
    }

    fn verify(payload: &[u8], header: &str, tol: Option<u64>) -> Result<u64> {
        verify_stripe(payload, header, &[key()], tol, NOW).map(|t| t.as_u64().unwrap())
    }

    fn code(r: Result<u64>) -> String {
        r.unwrap_err().code().to_string()
    }

    #[test]
    fn sign_then_verify() {
        let header = sign_stripe(b"{}", &key(), 1_700_000_000);
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(verify(b"{}", &header, Some(300)), Ok(1_700_000_000));
    }

    #[test]
    fn matches_a_known_vector() {
        // hmac.new(b"whsec_test_secret", b"1700000000.{}", sha256).hexdigest() in Python
        let header = sign_stripe(b"{}", &key(), 1_700_000_000);
        assert_eq!(
            header,
            "t=1700000000,v1=ceb8863f7208fa249a6cd8f951e993c7563412aca65866f6272283debe143ab3"
        );
    }

    #[test]
    fn rotation_any_key_matches() {
        let old = StripeKey::new("whsec_old").unwrap();
        let header = sign_stripe(b"x", &old, 1_700_000_000);
        let keys = [key(), old];
        assert!(verify_stripe(b"x", &header, &keys, None, NOW).is_ok());
        assert_eq!(
            verify_stripe(b"x", &header, &keys[..1], None, NOW)
                .unwrap_err()
                .code(),
            codes::SIGNATURE_MISMATCH
        );
        assert_eq!(
            verify_stripe(b"x", &header, &[], None, NOW)
                .unwrap_err()
                .code(),
            codes::INVALID_SECRET
        );
    }

    #[test]
    fn parsing_follows_stripe_python() {
        let s = hex_sig("1700000000", b"p");
        let ok = |h: &str| verify(b"p", h, None).is_ok();
        assert!(ok(&format!("t=1700000000,v1={s}")));
        assert!(ok(&format!("v1={s},t=1700000000")));
        assert!(ok(&format!("t=1700000000,v1=bad,v1={s}")));
        assert!(ok(&format!("t=1700000000,v0=zz,v1={s},x")));
        assert!(ok(&format!("t=1700000000=9,v1={s}=tail=more")));
        assert!(ok(&format!("t=01700000000,v1={s}")));
        assert!(ok(&format!("t=1700000000,t=5,v1={s}")));
        assert!(ok(&format!("t=1700000000,T,V1,v1={s}")));
        assert!(!ok(&format!("t=5,t=1700000000,v1={s}")));
        assert!(!ok(&format!("t=1700000000, v1={s}")));
        assert!(!ok(&format!("t=1700000000,v1={}", s.to_uppercase())));
        assert_eq!(
            code(verify(b"p", &format!("t=1700000000,v1={s},t"), None)),
            "malformed_header"
        );
        assert_eq!(
            code(verify(b"p", &format!("t=1700000000,v1={s},v1"), None)),
            "malformed_header"
        );
        assert_eq!(
            code(verify(b"p", &format!("t= 1700000000,v1={s}"), None)),
            "malformed_header"
        );
        assert_eq!(code(verify(b"p", &format!("v1={s}"), None)), "no_timestamp");
        assert_eq!(
            code(verify(b"p", "t=1700000000,v0=ab", None)),
            "no_signatures"
        );
        assert_eq!(code(verify(b"p", "", None)), "missing_header");
        assert_eq!(
            code(verify(b"p", &"x".repeat(MAX_HEADER_LEN + 1), None)),
            "header_too_large"
        );
        assert_eq!(
            code(verify(b"\xff", &format!("t=1700000000,v1={s}"), None)),
            "invalid_payload"
        );
    }

    #[test]
    fn non_ascii_candidate_fails_unless_a_match_came_first() {
        let s = hex_sig("1700000000", b"p");
        assert!(verify(b"p", &format!("t=1700000000,v1={s},v1=é"), None).is_ok());
        assert_eq!(
            code(verify(b"p", &format!("t=1700000000,v1=é,v1={s}"), None)),
            "malformed_header"
        );
    }

    #[test]
    fn tolerance_only_rejects_the_past() {
        let at = |t: u64| sign_stripe(b"p", &key(), t);
        assert!(verify(b"p", &at(1_699_999_700), Some(300)).is_ok());
        assert_eq!(
            code(verify(b"p", &at(1_699_999_699), Some(300))),
            "timestamp_outside_tolerance"
        );
        assert!(verify(b"p", &at(1_699_999_699), Some(0)).is_ok());
        assert!(verify(b"p", &at(1_699_999_699), None).is_ok());
        assert!(verify(b"p", &at(1_800_000_000), Some(300)).is_ok());
    }

    #[test]
    fn huge_and_zero_timestamps_are_signed_canonically() {
        let big = "123456789012345678901234567890";
        let header = format!("t=000{big},v1={}", hex_sig(big, b"p"));
        let ts = verify_stripe(b"p", &header, &[key()], Some(300), NOW).unwrap();
        assert_eq!((ts.digits(), ts.as_u64()), (big, None));
        let zero = format!("t=0000,v1={}", hex_sig("0", b"p"));
        assert_eq!(verify(b"p", &zero, None), Ok(0));
        let too_long = format!("t={},v1=00", "1".repeat(MAX_T_DIGITS + 1));
        assert_eq!(code(verify(b"p", &too_long, None)), "malformed_header");
    }

    #[test]
    fn blank_secrets_are_refused() {
        for s in ["", " ", "\t\r\n\x0b\x0c "] {
            assert_eq!(StripeKey::new(s).unwrap_err().code(), codes::INVALID_SECRET);
        }
        assert!(StripeKey::new("\u{a0}").is_ok());
    }

    /// Python's `[i.split("=", 2) for i in header.split(",")]`, reduced to (key, value).
    fn reference_items(header: &str) -> Vec<(&str, Option<&str>)> {
        header
            .split(',')
            .map(|item| {
                let mut parts = item.splitn(3, '=');
                let key = parts.next().unwrap();
                (key, parts.next())
            })
            .collect()
    }

    #[test]
    fn batches_keep_order_across_threads() {
        let n = 3 * MIN_ITEMS_PER_THREAD + 17;
        let payloads: Vec<String> = (0..n).map(|i| format!("{{\"n\":{i}}}")).collect();
        let headers: Vec<String> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| sign_stripe(p.as_bytes(), &key(), 1_699_000_000 + i as u64))
            .collect();
        let items: Vec<BatchItem<'_>> = payloads
            .iter()
            .zip(&headers)
            .enumerate()
            .map(|(i, (p, h))| match i % 5 {
                3 => (b"tampered".as_slice(), Some(h.as_str())),
                4 => (p.as_bytes(), None),
                _ => (p.as_bytes(), Some(h.as_str())),
            })
            .collect();
        let out = verify_stripe_many(&items, &[key()], None, NOW);
        assert_eq!(out.len(), n);
        for (i, verdict) in out.iter().enumerate() {
            match i % 5 {
                3 => assert_eq!(verdict.as_ref().unwrap_err().code(), "signature_mismatch"),
                4 => assert_eq!(verdict.as_ref().unwrap_err().code(), "missing_header"),
                _ => assert_eq!(
                    verdict.as_ref().unwrap().as_u64(),
                    Some(1_699_000_000 + i as u64)
                ),
            }
        }
        assert!(verify_stripe_many(&[], &[key()], None, NOW).is_empty());
    }

    proptest! {
        #[test]
        fn items_split_like_python(header in "[t v1=,é]{0,40}") {
            prop_assert_eq!(items(&header).collect::<Vec<_>>(), reference_items(&header));
        }

        #[test]
        fn signed_headers_verify(payload in ".{0,200}", ts in 0u64..4_000_000_000) {
            let header = sign_stripe(payload.as_bytes(), &key(), ts);
            let got = verify_stripe(payload.as_bytes(), &header, &[key()], None, NOW);
            prop_assert_eq!(got.map(|t| t.as_u64()), Ok(Some(ts)));
        }

        #[test]
        fn any_header_is_handled_without_panic(header in "[tv01=,a-f0-9 é]{0,80}") {
            let _ = verify_stripe(b"p", &header, &[key()], Some(300), NOW);
        }

        #[test]
        fn flipping_a_byte_of_the_payload_fails(payload in "[a-z]{1,64}", idx in 0usize..64) {
            let header = sign_stripe(payload.as_bytes(), &key(), 1_700_000_000);
            let mut other = payload.into_bytes();
            let i = idx % other.len();
            other[i] = if other[i] == b'a' { b'b' } else { b'a' };
            prop_assert!(verify_stripe(&other, &header, &[key()], None, NOW).is_err());
        }
    }
}
