#![no_main]
//! Arbitrary bytes as tariff rules: parsing and validation must return Ok or a
//! tariff error, never panic; rules that validate are then quoted on a few
//! stays (derived from the input) that must not panic either, and whose
//! `amount` must agree with `quote` and `quote_many`.
use libfuzzer_sys::fuzz_target;
use payedge_core::tariff::{PerStay, Tariff};
use payedge_core::Error;

fuzz_target!(|data: &[u8]| {
    let tariff = match Tariff::from_json(data) {
        Ok(t) => t,
        Err(Error::Tariff { path, .. }) => {
            assert!(path.starts_with('$'), "error path {path:?} is not a JSON path");
            return;
        }
        Err(other) => panic!("unexpected error kind: {other:?}"),
    };
    // Stays from the input's bytes: entries around 1970-2100, durations up to ~40 days.
    let seed = data
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let mut entries = Vec::new();
    let mut exits = Vec::new();
    let mut state = seed;
    for _ in 0..4 {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let entry = i64::try_from(state % 4_102_444_800).unwrap_or(0);
        let duration = i64::try_from((state >> 20) % (40 * 86_400)).unwrap_or(0);
        entries.push(entry);
        exits.push(entry + duration);
    }
    let subscription = tariff.rules().subscriptions.first().map(|(name, _)| name.clone());
    for (&entry, &exit) in entries.iter().zip(&exits) {
        for lost in [false, true] {
            let quote = tariff.quote(entry, exit, lost, subscription.as_deref());
            let amount = tariff.amount(entry, exit, lost, subscription.as_deref());
            match (quote, amount) {
                (Ok(q), Ok(a)) => {
                    assert_eq!(q.amount, a);
                    assert!(q.amount >= 0);
                    let charged: i128 = q.period_lines().map(|l| l.charged).sum();
                    assert_eq!(charged, q.parking);
                }
                (Err(_), Err(_)) => {}
                (q, a) => panic!("quote and amount disagree: {q:?} vs {a:?}"),
            }
        }
        // A stay backwards is an error naming `exit`, never a panic.
        if exit > entry {
            assert!(tariff.quote(exit, entry, false, None).is_err());
        }
    }
    let _ = tariff.quote_many(
        &entries,
        &exits,
        PerStay::All(true),
        PerStay::All(subscription.as_deref()),
    );
});
