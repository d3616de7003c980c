#![no_main]
//! Stripe-Signature headers (and the event JSON behind them): never a panic,
//! and what verifies is consistent with what parses and what is signed.
use libfuzzer_sys::fuzz_target;
use payedge_core::event::parse_event;
use payedge_core::signature::{
    parse_stripe_header, sign_stripe, verify_stripe, StripeKey, UnixTime,
};

const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

fuzz_target!(|data: &[u8]| {
    // header, then the payload after the first NUL (headers never hold one)
    let (head, payload) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(key) = StripeKey::new("whsec_fuzz") else {
        return;
    };
    let keys = [key];
    if let Ok(header) = std::str::from_utf8(head) {
        let parsed = parse_stripe_header(header);
        for tolerance in [None, Some(0), Some(300)] {
            if let Ok(ts) = verify_stripe(payload, header, &keys, tolerance, NOW) {
                let p = parsed.as_ref().expect("a verified header parses");
                assert_eq!(p.timestamp(), ts);
                assert!(!ts.digits().starts_with('0') || ts.digits() == "0");
            }
        }
        // signing at the header's timestamp always verifies (payload text only)
        if let (Ok(p), Ok(_)) = (&parsed, std::str::from_utf8(payload)) {
            if let Some(t) = p.timestamp().as_u64() {
                let signed = sign_stripe(payload, &keys[0], t);
                let ts = verify_stripe(payload, &signed, &keys, None, NOW).expect("own signature");
                assert_eq!(ts.as_u64(), Some(t));
            }
        }
    }
    if let Ok(json) = std::str::from_utf8(payload) {
        let _ = parse_event(json);
    }
});
