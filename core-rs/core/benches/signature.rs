//! Criterion benches of the signature hot path on a realistic 1 KB Stripe event.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use payedge_core::event::parse_stripe_event;
use payedge_core::signature::{
    sign_standard, sign_stripe, verify_hmac, verify_standard, verify_stripe, HmacEncoding, HmacKey,
    StandardHeaders, StandardKey, StripeKey, UnixTime,
};

const NOW: u64 = 1_763_700_000;

/// A `payment_intent.succeeded` event as Stripe pretty-prints it (~1 KB).
fn event() -> Vec<u8> {
    let body = serde_json::json!({
        "id": "evt_3PqRsTuVwXyZ0123abcdEFGH", "object": "event", "api_version": "2024-06-20",
        "created": NOW,
        "data": {"object": {
            "id": "pi_3PqRsTuVwXyZ0123abcd4567", "object": "payment_intent", "amount": 2000,
            "amount_capturable": 0, "amount_received": 2000,
            "client_secret": "pi_3PqRsTuVwXyZ0123abcd4567_secret_Zq9wXy8vUt7sRq6pOn5m",
            "created": NOW - 3, "currency": "eur", "customer": "cus_QwErTyUiOp1234",
            "description": "Parking session P-0042, Lot B",
            "latest_charge": "ch_3PqRsTuVwXyZ0123abcd8901", "livemode": false,
            "metadata": {"order_id": "ord_8812", "site": "lot-b"},
            "payment_method": "pm_1PqRsTuVwXyZ0123abcdPM00", "payment_method_types": ["card"],
            "status": "succeeded"}},
        "livemode": false, "pending_webhooks": 1,
        "request": {"id": "req_Ab12Cd34Ef56Gh", "idempotency_key": "b7c1e0a4-5f2d-4c3b-9a8e-1d2c3b4a5f6e"},
        "type": "payment_intent.succeeded"
    });
    serde_json::to_vec_pretty(&body).unwrap()
}

fn benches(c: &mut Criterion) {
    let payload = event();
    let key = StripeKey::new("whsec_5f3c1e0b9a8d7c6b5a4f3e2d1c0b9a8d").unwrap();
    let header = sign_stripe(&payload, &key, NOW);
    let now = UnixTime::from_secs(NOW as i64 + 10);
    let keys = [key.clone()];

    let mut g = c.benchmark_group("signature_1kb");
    g.throughput(Throughput::Bytes(payload.len() as u64));
    g.bench_function("hmac_sha256_only", |b| {
        let k = HmacKey::new(b"whsec_5f3c1e0b9a8d7c6b5a4f3e2d1c0b9a8d").unwrap();
        b.iter(|| k.sign(&[b"1763700000.", black_box(&payload)]))
    });
    g.bench_function("stripe_key_setup", |b| {
        b.iter(|| StripeKey::new(black_box("whsec_5f3c1e0b9a8d7c6b5a4f3e2d1c0b9a8d")).unwrap())
    });
    g.bench_function("verify_stripe", |b| {
        b.iter(|| {
            verify_stripe(
                black_box(&payload),
                black_box(&header),
                &keys,
                Some(300),
                now,
            )
            .unwrap()
        })
    });
    g.bench_function("verify_stripe_with_key_setup", |b| {
        b.iter(|| {
            let key = StripeKey::new(black_box("whsec_5f3c1e0b9a8d7c6b5a4f3e2d1c0b9a8d")).unwrap();
            verify_stripe(
                black_box(&payload),
                black_box(&header),
                &[key],
                Some(300),
                now,
            )
            .unwrap()
        })
    });
    g.bench_function("verify_stripe_rotation_3_keys_last_matches", |b| {
        let three = [
            StripeKey::new("whsec_a").unwrap(),
            StripeKey::new("whsec_b").unwrap(),
            key.clone(),
        ];
        b.iter(|| {
            verify_stripe(
                black_box(&payload),
                black_box(&header),
                &three,
                Some(300),
                now,
            )
            .unwrap()
        })
    });
    g.bench_function("parse_stripe_event", |b| {
        b.iter(|| {
            parse_stripe_event(
                black_box(&payload),
                black_box(&header),
                &keys,
                Some(300),
                now,
            )
            .unwrap()
        })
    });
    g.bench_function("parse_json_only", |b| {
        let json = std::str::from_utf8(&payload).unwrap();
        b.iter(|| payedge_core::event::parse_event(black_box(json)).unwrap())
    });

    let std_key = StandardKey::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let std_sig = sign_standard("msg_1", NOW, &payload, &std_key);
    let ts = NOW.to_string();
    let headers = StandardHeaders {
        id: Some("msg_1"),
        timestamp: Some(&ts),
        signature: Some(&std_sig),
    };
    let std_keys = [std_key];
    g.bench_function("verify_standard", |b| {
        b.iter(|| verify_standard(black_box(&payload), &headers, &std_keys, 300, now).unwrap())
    });
    let mac = hex::encode(HmacKey::new(b"k").unwrap().sign(&[&payload]));
    g.bench_function("verify_hmac_hex", |b| {
        b.iter(|| {
            verify_hmac(
                black_box(&payload),
                black_box(&mac),
                b"k",
                HmacEncoding::Hex,
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
