#![no_main]
//! Standard Webhooks headers: never a panic, and a message signed by payedge
//! verifies under any id/timestamp the fuzzer picks.
use libfuzzer_sys::fuzz_target;
use payedge_core::signature::{
    sign_standard, verify_standard, HeaderField, StandardHeaders, StandardKey, UnixTime,
};

fuzz_target!(|data: &[u8]| {
    // id \n timestamp \n signature \n secret \n payload...
    let mut parts = data.splitn(5, |&b| b == b'\n');
    let mut field = || parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let (Some(id), Some(ts), Some(sig), Some(secret)) = (field(), field(), field(), field()) else {
        return;
    };
    let payload = parts.next().unwrap_or_default();
    let _ = HeaderField::of(id);
    let keys: Vec<StandardKey> = [secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
        .iter()
        .filter_map(|s| StandardKey::new(s).ok())
        .collect();
    let now = UnixTime::from_secs(1_700_000_000);
    let mut headers = StandardHeaders::default();
    headers.insert("Webhook-Id", id);
    headers.insert("WEBHOOK-TIMESTAMP", ts);
    headers.insert("webhook-signature", sig);
    if let Ok(got) = verify_standard(payload, &headers, &keys, 300, now) {
        assert_eq!(got, id);
    }
    // our own signature always verifies, whatever else is in the header
    if keys.is_empty() || std::str::from_utf8(payload).is_err() || id.is_empty() {
        return;
    }
    let signed = sign_standard(id, 1_700_000_000, payload, &keys[0]);
    let both = format!("{signed} {sig}");
    let headers = StandardHeaders {
        id: Some(id),
        timestamp: Some("1700000000"),
        signature: Some(&both),
    };
    if id.len() <= payedge_core::signature::MAX_HEADER_LEN
        && both.len() <= payedge_core::signature::MAX_HEADER_LEN
    {
        assert_eq!(verify_standard(payload, &headers, &keys, 0, now), Ok(id));
    }
});
