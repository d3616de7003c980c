//! Routing decisions on the 20-rule document of docs/examples/routing-20-rules.json,
//! health enabled (outcomes recorded, one circuit open): a mixed stream of
//! payments, plus one case per approach, and `record`.
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use payedge_core::routing::{Outcome, Payment, Router};

const RULES: &str = include_str!("../../../docs/examples/routing-20-rules.json");

/// (amount, currency, country, payment_method_type, metadata.env, metadata.tier)
type Case = (
    i64,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

const MIX: [Case; 10] = [
    (2_500, "EUR", Some("FR"), Some("card"), None, None), // eur-cards (split), rule 17
    (4_999, "USD", Some("US"), Some("card"), None, None), // usd-cards (success rate), rule 18
    (10_000, "XOF", Some("CI"), Some("orange_money"), None, None), // ci-orange, circuit open
    (15_000, "XAF", Some("CM"), Some("mtn_momo"), None, None), // cm-momo (success rate)
    (50, "EUR", Some("DE"), Some("sepa_debit"), None, None), // micro, rule 20
    (300_000, "BRL", Some("BR"), Some("pix"), None, None), // default
    (7_000, "GBP", Some("GB"), Some("card"), None, None), // gbp-cards (split)
    (1_200, "EUR", Some("FR"), Some("card"), Some("test"), None), // test-traffic, rule 1
    (20_000, "EUR", Some("NL"), Some("ideal"), None, Some("gold")), // gold-merchants
    (250_000, "USD", Some("MX"), None, None, None),       // default, no method
];

fn router() -> Option<Router> {
    let r = Router::from_json(RULES.as_bytes())
        .map_err(|e| eprintln!("bench rules invalid: {e}"))
        .ok()?;
    for i in 0..200u32 {
        for (gw, currency, method) in [
            ("stripe", "USD", "card"),
            ("paypal", "USD", "card"),
            ("mtn_momo", "XAF", "mtn_momo"),
            ("cinetpay", "XAF", "mtn_momo"),
        ] {
            let ok = i % 10 != 0 || gw == "paypal";
            let outcome = Outcome {
                ok,
                failure_class: (!ok).then_some("server_error"),
                currency: Some(currency),
                payment_method_type: Some(method),
                latency_ms: Some(f64::from(100 + i % 50)),
            };
            r.record(gw, &outcome, 0.0).ok()?;
        }
    }
    let timeout = Outcome {
        failure_class: Some("timeout"),
        ..Outcome::default()
    };
    for _ in 0..5 {
        r.record("orange_money", &timeout, 100.0).ok()?;
    }
    Some(r)
}

fn payment<'a>(id: &'a str, case: &Case, metadata: &'a [Option<&'a str>; 2]) -> Payment<'a> {
    Payment {
        id,
        amount: case.0,
        currency: case.1,
        country: case.2,
        payment_method_type: case.3,
        metadata,
    }
}

fn benches(c: &mut Criterion) {
    let Some(r) = router() else { return };
    // The router's metadata keys are env then tier (first appearance).
    let metas: Vec<[Option<&str>; 2]> = MIX.iter().map(|c| [c.4, c.5]).collect();
    let ids: Vec<String> = (0..MIX.len()).map(|i| format!("pay_{i:024x}")).collect();
    let payments: Vec<Payment<'_>> = MIX
        .iter()
        .zip(&metas)
        .zip(&ids)
        .map(|((case, meta), id)| payment(id, case, meta))
        .collect();

    let mut g = c.benchmark_group("routing_decide");
    g.bench_function("mix_of_10", |b| {
        b.iter(|| {
            for p in &payments {
                black_box(r.decide(black_box(p), 101.0).ok());
            }
        })
    });
    for (name, i) in [
        ("split_rule_17", 0),
        ("success_rate_rule_18", 1),
        ("circuit_open_rule_2", 2),
        ("default_after_20_rules", 5),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| r.decide(black_box(&payments[i]), 101.0))
        });
    }
    g.finish();

    let outcome = Outcome {
        ok: true,
        currency: Some("EUR"),
        payment_method_type: Some("card"),
        latency_ms: Some(120.0),
        ..Outcome::default()
    };
    c.bench_function("routing_record", |b| {
        b.iter(|| r.record(black_box("stripe"), black_box(&outcome), 101.0))
    });
}

criterion_group!(routing, benches);
criterion_main!(routing);
