//! Routing tests: worked examples, validation paths, and property tests of the
//! invariants (split members once each, deterministic picks, each condition's
//! truth table against SPEC 5's wording, first match wins, circuit transitions
//! with exactly one probe, health shared between instances).
use proptest::prelude::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::*;

fn router(doc: &Value) -> Router {
    Router::from_value(doc).unwrap()
}

fn pay<'a>(id: &'a str, amount: i64, currency: &'a str) -> Payment<'a> {
    Payment {
        id,
        amount,
        currency,
        country: None,
        payment_method_type: None,
        metadata: &[],
    }
}

fn names(d: &Decision) -> Vec<&str> {
    d.gateways().collect()
}

fn skipped(d: &Decision) -> Vec<(&str, &'static str)> {
    d.skipped().map(|(g, why)| (g, why.as_str())).collect()
}

fn failure(class: &str) -> Outcome<'_> {
    Outcome {
        ok: false,
        failure_class: Some(class),
        ..Outcome::default()
    }
}

fn success() -> Outcome<'static> {
    Outcome {
        ok: true,
        ..Outcome::default()
    }
}

fn error_path(doc: &Value) -> String {
    match Router::from_value(doc) {
        Err(Error::Routing { path, .. }) => path,
        other => panic!("expected a routing error for {doc}, got {other:?}"),
    }
}

fn example() -> Value {
    json!({
        "rules": [
            {"name": "big-eur", "when": [
                {"field": "currency", "op": "eq", "value": "EUR"},
                {"field": "amount", "op": "ge", "value": 100_000}
            ], "then": {"gateways": ["adyen", "stripe"]}},
            {"name": "west-africa-momo", "when": [
                {"field": "country", "op": "in", "value": ["CI", "SN", "CM"]},
                {"field": "payment_method_type", "op": "eq", "value": "mobile_money"}
            ], "then": {"split": {"cinetpay": 70, "orange_money": 30}}},
            {"name": "vip", "when": [{"field": "metadata.tier", "op": "eq", "value": "gold"}],
             "then": {"success_rate": ["stripe", "paypal", "adyen"]}}
        ],
        "default": {"gateways": ["stripe", "paypal"]}
    })
}

#[test]
fn worked_examples() {
    let r = router(&example());
    assert_eq!(
        r.gateways().collect::<Vec<_>>(),
        ["adyen", "stripe", "cinetpay", "orange_money", "paypal"]
    );
    assert_eq!(r.metadata_keys().collect::<Vec<_>>(), ["tier"]);

    let d = r.decide(&pay("pay_1", 150_000, "EUR"), 0.0).unwrap();
    assert_eq!((d.rule(), d.approach()), ("big-eur", Approach::Priority));
    assert_eq!(names(&d), ["adyen", "stripe"]);

    // Between the rules: 99_999 EUR is not big, so the default applies.
    let d = r.decide(&pay("pay_1", 99_999, "EUR"), 0.0).unwrap();
    assert_eq!((d.rule(), d.approach()), ("default", Approach::Default));
    assert_eq!(names(&d), ["stripe", "paypal"]);
    assert!(d.probe().is_none() && d.skipped().len() == 0);

    let momo = Payment {
        country: Some("SN"),
        payment_method_type: Some("mobile_money"),
        ..pay("pay_2", 5000, "XOF")
    };
    let d = r.decide(&momo, 0.0).unwrap();
    assert_eq!(
        (d.rule(), d.approach()),
        ("west-africa-momo", Approach::Split)
    );
    let mut members = names(&d);
    members.sort_unstable();
    assert_eq!(members, ["cinetpay", "orange_money"]);

    let gold = [Some("gold")];
    let vip = Payment {
        metadata: &gold,
        ..pay("pay_3", 10, "USD")
    };
    let d = r.decide(&vip, 0.0).unwrap();
    assert_eq!((d.rule(), d.approach()), ("vip", Approach::SuccessRate));
    assert_eq!(d.gateways().len(), 3);
}

#[test]
fn decide_rejects_bad_arguments() {
    let r = router(&example());
    let err = r.decide(&pay("", 1, "EUR"), 0.0).unwrap_err();
    assert_eq!(err.param(), Some("payment_id"));
    let err = r.decide(&pay("p", -1, "EUR"), 0.0).unwrap_err();
    assert_eq!(err.param(), Some("amount"));
    let err = r.decide(&pay("p", 1, "EUR"), f64::NAN).unwrap_err();
    assert_eq!(err.param(), Some("now"));
    let err = r.record("nope", &success(), 0.0).unwrap_err();
    assert_eq!(
        (err.code(), err.param()),
        ("invalid_argument", Some("gateway"))
    );
    let bad_class = Outcome {
        failure_class: Some("timeout"),
        ..success()
    };
    assert_eq!(
        r.record("stripe", &bad_class, 0.0).unwrap_err().param(),
        Some("failure_class")
    );
    let bad_latency = Outcome {
        latency_ms: Some(-1.0),
        ..success()
    };
    assert_eq!(
        r.record("stripe", &bad_latency, 0.0).unwrap_err().param(),
        Some("latency_ms")
    );
}

#[test]
fn validation_names_the_json_path() {
    let base = example();
    let with = |pointer: &str, value: Value| {
        let mut doc = base.clone();
        *doc.pointer_mut(pointer).unwrap() = value;
        doc
    };
    let cases = [
        (
            with("/rules/1/when/0/op", json!("like")),
            "$.rules[1].when[0].op",
        ),
        (
            with("/rules/0/when/0/op", json!("lt")),
            "$.rules[0].when[0].op",
        ),
        (
            with("/rules/0/when/1/value", json!(1.5)),
            "$.rules[0].when[1].value",
        ),
        (
            with("/rules/0/when/1/value", json!(-1)),
            "$.rules[0].when[1].value",
        ),
        (
            with("/rules/1/when/0/value", json!([])),
            "$.rules[1].when[0].value",
        ),
        (
            with("/rules/1/when/0/value", json!(["CI", 3])),
            "$.rules[1].when[0].value[1]",
        ),
        (
            with("/rules/0/when/0/field", json!("metadata.")),
            "$.rules[0].when[0].field",
        ),
        (
            with("/rules/1/then/split/cinetpay", json!(60)),
            "$.rules[1].then.split",
        ),
        (
            with("/rules/1/then/split/cinetpay", json!(0)),
            "$.rules[1].then.split.cinetpay",
        ),
        (with("/rules/2/name", json!("big-eur")), "$.rules[2].name"),
        (with("/rules/2/name", json!("default")), "$.rules[2].name"),
        (with("/rules/0/then", json!({})), "$.rules[0].then"),
        (
            with("/rules/0/then/gateways/1", json!("adyen")),
            "$.rules[0].then.gateways[1]",
        ),
        (
            with("/default", json!({"split": {"a": 100}})),
            "$.default.split",
        ),
        (with("/default/gateways", json!([])), "$.default.gateways"),
    ];
    for (doc, path) in cases {
        assert_eq!(error_path(&doc), path, "{doc}");
    }
    let mut no_default = base.clone();
    no_default.as_object_mut().unwrap().remove("default");
    assert_eq!(error_path(&no_default), "$.default");
    assert_eq!(
        error_path(
            &json!({"default": {"gateways": ["a"]}, "health": {"success_rate": {"window": 5, "min_samples": 6}}})
        ),
        "$.health.success_rate.min_samples"
    );
    let err = Router::from_json(b"{\"default\": ").unwrap_err();
    assert_eq!(
        (err.code(), err.param()),
        ("invalid_routing_rules", Some("$"))
    );
    // JSON text keeps duplicate members: they are errors, not "last one wins".
    let err =
        Router::from_json(br#"{"default": {"gateways": ["a"]}, "default": {"gateways": ["b"]}}"#)
            .unwrap_err();
    assert_eq!(err.param(), Some("$.default"));
    let err = Router::from_json(br#"{"rules": [{"name": "s", "when": [], "then": {"split": {"a": 50, "a": 50}}}], "default": {"gateways": ["a"]}}"#)
        .unwrap_err();
    assert_eq!(err.param(), Some("$.rules[0].then.split.a"));
}

#[test]
fn health_defaults_and_overrides() {
    let r = router(&json!({"default": {"gateways": ["a"]}}));
    assert_eq!(*r.cfg(), HealthConfig::default());
    let r = router(&json!({"default": {"gateways": ["a"]}, "health": {
        "elimination": {"bucket_size": 2, "leak_interval_seconds": 0.5, "probe_timeout_seconds": 3,
                        "classes": {"timeout": {"bucket_size": 4}}},
        "success_rate": {"window": 8, "hedging_percent": 2.5},
        "latency_window": 10, "peer_ttl_seconds": 5}}));
    let cfg = r.cfg();
    assert_eq!(cfg.bucket.size, 2);
    assert_eq!(cfg.params("timeout").size, 4);
    // A class override inherits what it does not set.
    assert_eq!(cfg.params("timeout").leak_interval, 0.5);
    assert_eq!(cfg.params("other").size, 2);
    assert_eq!((cfg.window, cfg.min_samples, cfg.hedging_bp), (8, 8, 250));
    assert_eq!(
        (cfg.probe_timeout, cfg.latency_window, cfg.peer_ttl),
        (3.0, 10, 5.0)
    );
}

// ------------------------------------------------------------------ properties

const TEXTS: [&str; 3] = ["EUR", "XOF", "eur"];

#[derive(Debug, Clone)]
struct TestPayment {
    amount: i64,
    currency: &'static str,
    country: Option<&'static str>,
    method: Option<&'static str>,
    tier: Option<&'static str>,
}

fn text() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&TEXTS[..])
}

fn payments() -> impl Strategy<Value = TestPayment> {
    (
        0i64..40,
        text(),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(|(amount, currency, country, method, tier)| TestPayment {
            amount,
            currency,
            country,
            method,
            tier,
        })
}

/// A valid condition as JSON: (field, op, value).
fn conditions() -> impl Strategy<Value = (String, String, Value)> {
    let amount_ops = prop_oneof![
        (
            prop::sample::select(vec!["eq", "ne", "lt", "le", "gt", "ge"]),
            0i64..40
        )
            .prop_map(|(op, v)| (op.to_owned(), json!(v))),
        (
            prop::sample::select(vec!["in", "not_in"]),
            prop::collection::vec(0i64..40, 1..4)
        )
            .prop_map(|(op, v)| (op.to_owned(), json!(v))),
        (0i64..40, 0i64..20).prop_map(|(lo, w)| ("between".to_owned(), json!([lo, lo + w]))),
    ];
    let text_ops = prop_oneof![
        (prop::sample::select(vec!["eq", "ne"]), text())
            .prop_map(|(op, v)| (op.to_owned(), json!(v))),
        (
            prop::sample::select(vec!["in", "not_in"]),
            prop::collection::vec(text(), 1..3)
        )
            .prop_map(|(op, v)| (op.to_owned(), json!(v))),
    ];
    prop_oneof![
        amount_ops.prop_map(|(op, v)| ("amount".to_owned(), op, v)),
        (
            prop::sample::select(vec![
                "currency",
                "country",
                "payment_method_type",
                "metadata.tier"
            ]),
            text_ops
        )
            .prop_map(|(f, (op, v))| (f.to_owned(), op, v)),
    ]
}

/// SPEC 5 read literally: a missing field makes a condition false, except `ne`/`not_in`.
fn oracle(field: &str, op: &str, value: &Value, p: &TestPayment) -> bool {
    let actual: Option<Value> = match field {
        "amount" => Some(json!(p.amount)),
        "currency" => Some(json!(p.currency)),
        "country" => p.country.map(|v| json!(v)),
        "payment_method_type" => p.method.map(|v| json!(v)),
        _ => p.tier.map(|v| json!(v)),
    };
    let Some(a) = actual else {
        return op == "ne" || op == "not_in";
    };
    let list = || value.as_array().unwrap().clone();
    let n = || a.as_i64().unwrap();
    match op {
        "eq" => a == *value,
        "ne" => a != *value,
        "in" => list().contains(&a),
        "not_in" => !list().contains(&a),
        "lt" => n() < value.as_i64().unwrap(),
        "le" => n() <= value.as_i64().unwrap(),
        "gt" => n() > value.as_i64().unwrap(),
        "ge" => n() >= value.as_i64().unwrap(),
        "between" => list()[0].as_i64().unwrap() <= n() && n() <= list()[1].as_i64().unwrap(),
        _ => unreachable!(),
    }
}

fn decide_test(r: &Router, p: &TestPayment, id: &str) -> Decision {
    let tier = [p.tier];
    let payment = Payment {
        id,
        amount: p.amount,
        currency: p.currency,
        country: p.country,
        payment_method_type: p.method,
        metadata: if r.metadata_keys().len() == 1 {
            &tier
        } else {
            &[]
        },
    };
    r.decide(&payment, 0.0).unwrap()
}

/// SHA-256's first 8 bytes, big-endian, mod 100: the documented split point.
fn split_point(id: &str) -> u64 {
    let digest = Sha256::digest(id.as_bytes());
    u64::from_be_bytes(digest[..8].try_into().unwrap()) % 100
}

fn weights() -> impl Strategy<Value = Vec<u8>> {
    // Cut 1..=99 at up to 4 distinct points: positive weights summing to 100.
    prop::collection::btree_set(1u8..100, 0..5).prop_map(|cuts| {
        let mut bounds: Vec<u8> = vec![0];
        bounds.extend(cuts);
        bounds.push(100);
        bounds.windows(2).map(|w| w[1] - w[0]).collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_condition_holds_exactly_as_spec_5_says(
        (field, op, value) in conditions(),
        p in payments(),
    ) {
        let r = router(&json!({
            "rules": [{"name": "r", "when": [{"field": field, "op": op, "value": value}],
                       "then": {"gateways": ["a"]}}],
            "default": {"gateways": ["b"]}
        }));
        let d = decide_test(&r, &p, "pay");
        let expected = oracle(&field, &op, &value, &p);
        prop_assert_eq!(d.rule() == "r", expected, "{} {} {} on {:?}", field, op, value, p);
    }

    #[test]
    fn the_first_matching_rule_wins(
        rules in prop::collection::vec(prop::collection::vec(conditions(), 0..3), 0..6),
        p in payments(),
    ) {
        let doc_rules: Vec<Value> = rules.iter().enumerate().map(|(i, conds)| json!({
            "name": format!("r{i}"),
            "when": conds.iter().map(|(f, op, v)| json!({"field": f, "op": op, "value": v})).collect::<Vec<_>>(),
            "then": {"gateways": [format!("g{i}")]}
        })).collect();
        let r = router(&json!({"rules": doc_rules, "default": {"gateways": ["fallback"]}}));
        let d = decide_test(&r, &p, "pay");
        let expected = rules
            .iter()
            .position(|conds| conds.iter().all(|(f, op, v)| oracle(f, op, v, &p)))
            .map_or("default".to_owned(), |i| format!("r{i}"));
        prop_assert_eq!(d.rule(), expected.as_str());
    }

    #[test]
    fn a_split_lists_every_member_once_and_picks_by_the_documented_hash(
        weights in weights(),
        ids in prop::collection::vec("[a-z0-9_]{1,24}", 1..20),
    ) {
        let split: serde_json::Map<String, Value> = weights
            .iter()
            .enumerate()
            .map(|(i, w)| (format!("g{i}"), json!(w)))
            .collect();
        let doc = json!({"rules": [{"name": "s", "when": [], "then": {"split": split}}],
                         "default": {"gateways": ["g0"]}});
        let (one, two) = (router(&doc), router(&doc));
        for id in &ids {
            let d = one.decide(&pay(id, 1, "EUR"), 0.0).unwrap();
            prop_assert_eq!(d.approach(), Approach::Split);
            let got = names(&d);
            let mut sorted = got.clone();
            sorted.sort_unstable();
            sorted.dedup();
            prop_assert_eq!(sorted.len(), weights.len());
            // Picked first, the others in document order.
            let point = split_point(id);
            let mut upto = 0u64;
            let picked = weights.iter().position(|w| { upto += u64::from(*w); point < upto }).unwrap();
            let mut expected = vec![format!("g{picked}")];
            expected.extend((0..weights.len()).filter(|i| *i != picked).map(|i| format!("g{i}")));
            prop_assert_eq!(got, expected.iter().map(String::as_str).collect::<Vec<_>>());
            // A second router built from the same rules agrees.
            let again = two.decide(&pay(id, 1, "EUR"), 0.0).unwrap();
            prop_assert_eq!(names(&again), names(&d));
        }
    }

    #[test]
    fn circuit_closed_open_half_open_closed_with_exactly_one_probe(
        size in 1u32..6,
        interval in 0.5f64..30.0,
        contenders in 1usize..8,
        probe_fails in any::<bool>(),
    ) {
        let r = router(&json!({
            "default": {"gateways": ["a", "b"]},
            "health": {"elimination": {"bucket_size": size, "leak_interval_seconds": interval}}
        }));
        let t0 = 1000.0;
        for i in 0..size {
            // A decline (no class) and a success never fill a bucket.
            r.record("a", &Outcome { ok: false, ..Outcome::default() }, t0).unwrap();
            r.record("a", &success(), t0).unwrap();
            let d = r.decide(&pay("p", 1, "EUR"), t0).unwrap();
            prop_assert_eq!(names(&d), ["a", "b"], "closed before failure {}", i);
            r.record("a", &failure("timeout"), t0).unwrap();
        }
        // Full: open for one leak interval.
        for t in [t0, t0 + interval * 0.99] {
            let d = r.decide(&pay("p", 1, "EUR"), t).unwrap();
            prop_assert_eq!(names(&d), ["b"]);
            prop_assert_eq!(skipped(&d), [("a", "circuit_open")]);
            prop_assert!(d.probe().is_none());
        }
        let view = &r.health(t0).unwrap().0[0].1;
        prop_assert_eq!(view.circuit, "open");
        // Leaked below full: half-open, and exactly one payment carries the probe.
        let t1 = t0 + interval * 1.01;
        let decisions: Vec<Decision> =
            (0..contenders).map(|_| r.decide(&pay("p", 1, "EUR"), t1).unwrap()).collect();
        prop_assert_eq!(decisions.iter().filter(|d| d.probe() == Some("a")).count(), 1);
        prop_assert_eq!(names(&decisions[0]), ["a", "b"]);
        for d in &decisions[1..] {
            prop_assert_eq!(names(d), ["b"]);
            prop_assert_eq!(skipped(d), [("a", "probe_in_flight")]);
        }
        prop_assert!(r.health(t1).unwrap().0[0].1.probe_in_flight);
        if probe_fails {
            r.record("a", &failure("timeout"), t1).unwrap();
            let d = r.decide(&pay("p", 1, "EUR"), t1 + interval * 0.99).unwrap();
            prop_assert_eq!(skipped(&d), [("a", "circuit_open")]);
            let d = r.decide(&pay("p", 1, "EUR"), t1 + interval * 1.01).unwrap();
            prop_assert_eq!(d.probe(), Some("a"));
        } else {
            r.record("a", &success(), t1).unwrap();
            for _ in 0..contenders {
                let d = r.decide(&pay("p", 1, "EUR"), t1).unwrap();
                prop_assert_eq!(names(&d), ["a", "b"]);
                prop_assert!(d.probe().is_none() && d.skipped().len() == 0);
            }
            prop_assert_eq!(r.health(t1).unwrap().0[0].1.circuit, "closed");
        }
    }
}

#[test]
fn split_shares_follow_the_weights() {
    let r = router(
        &json!({"rules": [{"name": "s", "when": [], "then": {"split": {"a": 70, "b": 30}}}],
                           "default": {"gateways": ["a"]}}),
    );
    let n = 100_000;
    let a = (0..n)
        .filter(|i| {
            let id = format!("pay_{i:024x}");
            r.decide(&pay(&id, 1, "EUR"), 0.0)
                .unwrap()
                .gateways()
                .next()
                == Some("a")
        })
        .count();
    let share = a as f64 / f64::from(n);
    assert!((share - 0.70).abs() < 0.01, "{share}");
}

#[test]
fn an_unused_probe_times_out_or_is_released() {
    let r = router(
        &json!({"default": {"gateways": ["a"]}, "health": {"elimination": {
        "bucket_size": 1, "leak_interval_seconds": 10, "probe_timeout_seconds": 5}}}),
    );
    r.record("a", &failure("5xx"), 0.0).unwrap();
    // Every candidate skipped: the whole list comes back, reasons kept.
    let d = r.decide(&pay("p", 1, "EUR"), 1.0).unwrap();
    assert_eq!(
        (names(&d), skipped(&d)),
        (vec!["a"], vec![("a", "circuit_open")])
    );
    assert_eq!(
        r.decide(&pay("p", 1, "EUR"), 10.0).unwrap().probe(),
        Some("a")
    );
    assert_eq!(
        skipped(&r.decide(&pay("p", 1, "EUR"), 14.9).unwrap()),
        [("a", "probe_in_flight")]
    );
    assert_eq!(
        r.decide(&pay("p", 1, "EUR"), 15.0).unwrap().probe(),
        Some("a")
    );
    assert!(r.release_probe("a").unwrap());
    assert!(!r.release_probe("a").unwrap());
    assert_eq!(
        r.decide(&pay("p", 1, "EUR"), 15.0).unwrap().probe(),
        Some("a")
    );
}

#[test]
fn simulate_names_the_probe_without_taking_it() {
    let r = router(
        &json!({"rules": [{"name": "split", "when": [], "then": {"split": {"a": 50, "b": 50}}}],
                "default": {"gateways": ["a"]}, "health": {"elimination": {
        "bucket_size": 1, "leak_interval_seconds": 10, "probe_timeout_seconds": 5}}}),
    );
    r.record("a", &failure("5xx"), 0.0).unwrap();
    for id in ["p1", "p2", "p3", "p4"] {
        // Open: simulate and decide agree, and neither changes anything.
        let (s, d) = (
            r.simulate(&pay(id, 1, "EUR"), 1.0).unwrap(),
            r.decide(&pay(id, 1, "EUR"), 1.0).unwrap(),
        );
        assert_eq!((names(&s), skipped(&s)), (names(&d), skipped(&d)));
    }
    // Half-open: any number of simulations name the probe, none takes it.
    for _ in 0..3 {
        let s = r.simulate(&pay("p1", 1, "EUR"), 10.0).unwrap();
        assert_eq!(s.probe(), Some("a"));
        assert!(!r.health(10.0).unwrap().0[0].1.probe_in_flight);
    }
    let d = r.decide(&pay("p1", 1, "EUR"), 10.0).unwrap();
    assert_eq!(d.probe(), Some("a"));
    // Taken now: a simulation sees what the next decision sees.
    let (s, d) = (
        r.simulate(&pay("p2", 1, "EUR"), 10.0).unwrap(),
        r.decide(&pay("p2", 1, "EUR"), 10.0).unwrap(),
    );
    assert_eq!(
        (names(&s), skipped(&s), s.probe()),
        (names(&d), skipped(&d), d.probe())
    );
    assert_eq!(skipped(&s), [("a", "probe_in_flight")]);
}

#[test]
fn one_probe_per_decision_and_other_classes_settle_it() {
    let r = router(&json!({"default": {"gateways": ["a", "b", "c"]},
        "health": {"elimination": {"bucket_size": 1, "leak_interval_seconds": 1}}}));
    r.record("a", &failure("timeout"), 0.0).unwrap();
    r.record("b", &failure("timeout"), 0.0).unwrap();
    let d = r.decide(&pay("p", 1, "EUR"), 1.0).unwrap();
    assert_eq!(d.probe(), Some("a"));
    assert_eq!(names(&d), ["a", "c"]);
    assert_eq!(skipped(&d), [("b", "half_open")]);
    let d = r.decide(&pay("p", 1, "EUR"), 1.0).unwrap();
    assert_eq!(d.probe(), Some("b"));
    // A probe answered with a failure of another class closes the timeout circuit
    // (the gateway answered) and counts in that class's own bucket.
    r.record("a", &failure("declined_by_acquirer"), 1.0)
        .unwrap();
    let view = &r.health(1.0).unwrap().0[0].1;
    assert_eq!(view.buckets["timeout"].state, "closed");
    assert_eq!(view.buckets["declined_by_acquirer"].state, "open");
}

#[test]
fn success_rate_orders_by_score_and_hedges_deterministically() {
    let r = router(&json!({
        "rules": [{"name": "sr", "when": [], "then": {"success_rate": ["a", "b", "c"]}}],
        "default": {"gateways": ["a"]},
        "health": {"success_rate": {"window": 20, "min_samples": 10, "hedging_percent": 10}}
    }));
    let outcome = |ok, currency| Outcome {
        ok,
        currency: Some(currency),
        payment_method_type: Some("card"),
        ..Outcome::default()
    };
    // Cold start: nobody scored, the list order.
    fn card(id: &str) -> Payment<'_> {
        Payment {
            payment_method_type: Some("card"),
            ..pay(id, 1, "EUR")
        }
    }
    let cold: Vec<Decision> = (0..200)
        .map(|i| {
            let id = format!("p{i}");
            r.decide(&card(&id), 0.0).unwrap()
        })
        .collect();
    assert!(cold
        .iter()
        .filter(|d| !d.hedged())
        .all(|d| names(d) == ["a", "b", "c"]));
    // a: 50 %, b: 90 %, c: not scored (fewer than min_samples) counts as perfect.
    for i in 0..20 {
        r.record("a", &outcome(i % 2 == 0, "EUR"), 0.0).unwrap();
        r.record("b", &outcome(i % 10 != 0, "EUR"), 0.0).unwrap();
    }
    for _ in 0..9 {
        r.record("c", &outcome(false, "EUR"), 0.0).unwrap();
    }
    // Another currency's outcomes do not count for EUR.
    for _ in 0..20 {
        r.record("c", &outcome(false, "USD"), 0.0).unwrap();
    }
    let n = 20_000;
    let mut hedged = 0;
    for i in 0..n {
        let id = format!("p{i}");
        let d = r.decide(&card(&id), 0.0).unwrap();
        assert_eq!(d.approach(), Approach::SuccessRate);
        if d.hedged() {
            hedged += 1;
            assert_ne!(d.gateways().next(), Some("c"));
        } else {
            assert_eq!(names(&d), ["c", "b", "a"]);
        }
    }
    let share = f64::from(hedged) / f64::from(n);
    assert!((share - 0.10).abs() < 0.01, "{share}");
    r.record("c", &outcome(false, "EUR"), 0.0).unwrap();
    let d = r.decide(&card("p-not-hedged-by-luck"), 0.0).unwrap();
    if !d.hedged() {
        assert_eq!(names(&d), ["b", "a", "c"]);
    }
    let view = &r.health(0.0).unwrap().0;
    let c = &view[2].1.success_rate;
    assert_eq!(c.len(), 2);
    assert_eq!(
        (
            c[0].currency.as_str(),
            c[0].successes,
            c[0].total,
            c[0].score
        ),
        ("EUR", 0, 10, Some(0.0))
    );
}

#[test]
fn latency_percentiles_over_the_window() {
    let r = router(&json!({"default": {"gateways": ["a"]}, "health": {"latency_window": 100}}));
    for ms in 1..=200 {
        let o = Outcome {
            latency_ms: Some(f64::from(ms)),
            ..success()
        };
        r.record("a", &o, 0.0).unwrap();
    }
    let latency = &r.health(0.0).unwrap().0[0].1.latency_ms;
    // The last 100 samples: 101..=200.
    assert_eq!(
        (latency.p50, latency.p99, latency.samples),
        (Some(150.0), Some(199.0), 100)
    );
}

#[test]
fn instances_share_health_through_export_and_merge() {
    let doc = json!({"default": {"gateways": ["a", "b"]},
        "health": {"elimination": {"bucket_size": 4, "leak_interval_seconds": 10}, "peer_ttl_seconds": 30}});
    let (x, y) = (router(&doc), router(&doc));
    // Two failures each: neither is full alone, together they are.
    for r in [&x, &y] {
        r.record("a", &failure("timeout"), 0.0).unwrap();
        r.record("a", &failure("timeout"), 0.0).unwrap();
    }
    assert_eq!(
        names(&x.decide(&pay("p", 1, "EUR"), 0.0).unwrap()),
        ["a", "b"]
    );
    let from_y = Export::from_json(y.export_health(0.0).unwrap().to_json().as_bytes()).unwrap();
    x.merge_health("y", &from_y, 0.0).unwrap();
    // Merging the same export again counts nothing twice.
    x.merge_health("y", &from_y, 0.0).unwrap();
    assert_eq!(x.health(0.0).unwrap().0[0].1.buckets["timeout"].level, 4);
    let from_x = x.export_health(0.0).unwrap();
    assert_eq!(
        from_x.gateways["a"].buckets["timeout"].level, 2,
        "exports only its own"
    );
    y.merge_health("x", &from_x, 0.0).unwrap();
    for r in [&x, &y] {
        assert_eq!(
            skipped(&r.decide(&pay("p", 1, "EUR"), 1.0).unwrap()),
            [("a", "circuit_open")]
        );
    }
    // x probes and the probe succeeds: y adopts the close through the next merge.
    assert_eq!(
        x.decide(&pay("p", 1, "EUR"), 10.5).unwrap().probe(),
        Some("a")
    );
    x.record("a", &success(), 11.0).unwrap();
    y.merge_health("x", &x.export_health(11.0).unwrap(), 11.0)
        .unwrap();
    x.merge_health("y", &y.export_health(11.0).unwrap(), 11.0)
        .unwrap();
    for r in [&x, &y] {
        let d = r.decide(&pay("p", 1, "EUR"), 11.0).unwrap();
        assert_eq!((names(&d), d.probe()), (vec!["a", "b"], None));
        assert_eq!(r.health(11.0).unwrap().0[0].1.circuit, "closed");
    }
    // A peer that stops exporting is forgotten after peer_ttl_seconds.
    for _ in 0..4 {
        y.record("a", &failure("timeout"), 20.0).unwrap();
    }
    x.merge_health("y", &y.export_health(20.0).unwrap(), 20.0)
        .unwrap();
    assert_eq!(
        skipped(&x.decide(&pay("p", 1, "EUR"), 20.0).unwrap()),
        [("a", "circuit_open")]
    );
    assert_eq!(x.health(50.5).unwrap().0[0].1.circuit, "half_open");
    assert!(Export::from_json(br#"{"version": 2, "gateways": {}}"#)
        .and_then(|e| x.merge_health("z", &e, 0.0))
        .is_err());
    assert!(Export::from_json(br#"{"version": 1, "gateways": {}, "extra": 1}"#).is_err());
}

#[test]
fn reset_health_empties_buckets_and_propagates_by_epoch() {
    let doc = json!({"default": {"gateways": ["a"]},
        "health": {"elimination": {"bucket_size": 1, "leak_interval_seconds": 100}}});
    let (x, y) = (router(&doc), router(&doc));
    x.record("a", &failure("timeout"), 0.0).unwrap();
    y.merge_health("x", &x.export_health(0.0).unwrap(), 0.0)
        .unwrap();
    assert_eq!(y.health(0.0).unwrap().0[0].1.circuit, "open");
    x.reset_health(Some("a"), 1.0).unwrap();
    assert_eq!(x.health(1.0).unwrap().0[0].1.circuit, "closed");
    y.merge_health("x", &x.export_health(1.0).unwrap(), 1.0)
        .unwrap();
    assert_eq!(y.health(1.0).unwrap().0[0].1.circuit, "closed");
}

#[test]
fn concurrent_deciders_share_one_probe() {
    let r = std::sync::Arc::new(router(&json!({"default": {"gateways": ["a", "b"]},
        "health": {"elimination": {"bucket_size": 1, "leak_interval_seconds": 1}}})));
    r.record("a", &failure("timeout"), 0.0).unwrap();
    let probes: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let r = &r;
                s.spawn(move || {
                    (0..500)
                        .filter(|i| {
                            let id = format!("p{t}-{i}");
                            r.decide(&pay(&id, 1, "EUR"), 2.0)
                                .unwrap()
                                .probe()
                                .is_some()
                        })
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(probes, 1);
}

#[test]
fn too_many_failure_classes_is_an_error_not_growth() {
    let r = router(&json!({"default": {"gateways": ["a"]}}));
    for i in 0..MAX_CLASSES {
        r.record("a", &failure(&format!("c{i}")), 0.0).unwrap();
    }
    let err = r.record("a", &failure("one-too-many"), 0.0).unwrap_err();
    assert_eq!(err.param(), Some("failure_class"));
}

/// A whole number written with a point (`500000.0`) is refused where an integer is
/// needed, and the message shows it as written: `got 500000` would read as the integer
/// the user is told to write.
#[test]
fn a_float_is_shown_as_a_float_in_every_message() {
    let amount = json!({"rules": [{"name": "r", "when": [{"field": "amount", "op": "ge", "value": 500000.0}],
        "then": {"gateways": ["a"]}}], "default": {"gateways": ["a"]}});
    let health = json!({"default": {"gateways": ["a"]},
        "health": {"elimination": {"bucket_size": 5.0}}});
    for (doc, shown) in [(amount, "got 500000.0"), (health, "5.0")] {
        match Router::from_value(&doc) {
            Err(Error::Routing { message, .. }) => assert!(message.contains(shown), "{message}"),
            other => panic!("expected a routing error for {doc}, got {other:?}"),
        }
    }
    let tariff = br#"{"currency": "EUR", "timezone": "UTC", "increment_minutes": 15.0,
        "bands": [{"up_to_minute": null, "unit_price": 10}]}"#;
    match crate::tariff::Tariff::from_json(tariff) {
        Err(Error::Tariff { message, .. }) => assert!(message.contains("got 15.0"), "{message}"),
        other => panic!("expected a tariff error, got {other:?}"),
    }
}
