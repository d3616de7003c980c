#![no_main]
//! Arbitrary bytes as routing rules: parsing and validation return Ok or a
//! routing error naming a JSON path, never panic. Rules that validate are then
//! exercised: decisions for payments derived from the input (every gateway
//! once, named by the rules; a split lists its members; a second router from
//! the same bytes decides alike), outcomes recorded, and health exported,
//! round-tripped through JSON and merged into the second router.
use libfuzzer_sys::fuzz_target;
use payedge_core::routing::{Approach, Export, Outcome, Payment, Router};
use payedge_core::Error;

const TEXTS: [&str; 6] = ["EUR", "XOF", "FR", "card", "gold", ""];

fuzz_target!(|data: &[u8]| {
    let router = match Router::from_json(data) {
        Ok(r) => r,
        Err(Error::Routing { path, .. }) => {
            assert!(path.starts_with('$'), "error path {path:?} is not a JSON path");
            return;
        }
        Err(other) => panic!("unexpected error kind: {other:?}"),
    };
    let twin = Router::from_json(data).expect("the same bytes validate twice");
    let gateways: Vec<String> = router.gateways().map(str::to_owned).collect();
    assert!(!gateways.is_empty());
    let keys = router.metadata_keys().len();

    let mut state = data
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let mut next = || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    for round in 0..8u32 {
        let id = format!("pay_{}", next());
        let pick = |n: u64| TEXTS[(n % TEXTS.len() as u64) as usize];
        let metadata: Vec<Option<&str>> = (0..keys).map(|_| Some(pick(next()))).collect();
        let payment = Payment {
            id: &id,
            amount: (next() % 2_000_000) as i64,
            currency: pick(next()),
            country: Some(pick(next())).filter(|_| next() % 3 != 0),
            payment_method_type: Some(pick(next())).filter(|_| next() % 3 != 0),
            metadata: &metadata,
        };
        let now = f64::from(round) * 7.5;
        let d = router.decide(&payment, now).expect("a valid payment is routed");
        let names: Vec<&str> = d.gateways().collect();
        assert!(!names.is_empty());
        for (i, g) in names.iter().enumerate() {
            assert!(gateways.iter().any(|k| k == g), "{g} is not a gateway of the rules");
            assert!(!names[..i].contains(g), "{g} listed twice");
        }
        if d.approach() == Approach::Split {
            let other = twin.decide(&payment, now).expect("twin routes too");
            assert_eq!(other.gateways().next(), d.gateways().next(), "split picks differ");
        }
        if d.approach() == Approach::Default {
            assert_eq!(d.rule(), "default");
        }
        let first = names[0].to_owned();
        let outcome = Outcome {
            ok: next() % 2 == 0,
            failure_class: None,
            currency: Some(payment.currency),
            payment_method_type: payment.payment_method_type,
            latency_ms: Some((next() % 5000) as f64),
        };
        let outcome = if outcome.ok {
            outcome
        } else {
            Outcome { failure_class: Some(pick(next())).filter(|c| !c.is_empty()), ..outcome }
        };
        router.record(&first, &outcome, now).expect("recording a named gateway");
    }
    let export = router.export_health(60.0).expect("export");
    let back = Export::from_json(export.to_json().as_bytes()).expect("an export reads back");
    assert_eq!(back, export);
    twin.merge_health("fuzz-peer", &back, 60.0).expect("merge");
    let _ = twin.health(61.0).expect("health");
});
