//! Event reading: fixed cases, and property tests that sign events with random
//! JSON in every field and compare with a reference reading of the same
//! `serde_json::Value` (the rules of Python's `json.loads` as stripe-python reads them).
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::*;
use crate::signature::sign_stripe;

const EVENT: &str = r#"{
  "id": "evt_1", "object": "event", "api_version": "2024-06-20", "created": 1700000000,
  "data": {"object": {"id": "pi_1", "object": "payment_intent", "amount": 2000,
    "amount_received": 2000, "currency": "eur", "status": "succeeded",
    "metadata": {"order_id": "A-1", "note": "caf\u00e9"}, "charges": {"data": [1, 2.5, null]}}},
  "livemode": false, "pending_webhooks": 1, "request": {"id": null},
  "type": "payment_intent.succeeded"
}"#;

fn key() -> StripeKey {
    StripeKey::new("whsec_x").unwrap()
}

fn meta<'a>(ev: &'a StripeEvent<'_>) -> Vec<(&'a str, &'a str)> {
    ev.metadata
        .0
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[test]
fn parses_the_fields_borrowing_unescaped_strings() {
    let ev = parse_event(EVENT).unwrap();
    assert_eq!(ev.id.as_str(), "evt_1");
    assert_eq!(ev.event_type.as_str(), "payment_intent.succeeded");
    assert_eq!((ev.created, ev.livemode), (1_700_000_000, false));
    assert_eq!(ev.object_id.as_ref().map(Text::as_str), Some("pi_1"));
    assert_eq!(
        ev.object_type.as_ref().map(Text::as_str),
        Some("payment_intent")
    );
    assert_eq!((ev.amount, ev.amount_received), (Some(2000), Some(2000)));
    assert_eq!(ev.currency.as_ref().map(Text::as_str), Some("eur"));
    assert_eq!(ev.status.as_ref().map(Text::as_str), Some("succeeded"));
    assert_eq!(meta(&ev), [("order_id", "A-1"), ("note", "café")]);
    assert!(ev.malformed.is_empty());
    let (s, e) = ev.id.span_in(EVENT.as_bytes()).unwrap();
    assert_eq!(&EVENT[s..e], "evt_1");
    assert_eq!(ev.metadata.0[1].1.span_in(EVENT.as_bytes()), None); // had an escape
}

#[test]
fn optional_parts_may_be_absent_or_null() {
    let ev = parse_event(r#"{"id":"evt_2","type":"balance.available","created":1,"data":{"object":{"metadata":null,"amount":null}}}"#).unwrap();
    assert_eq!(
        (ev.livemode, ev.amount, ev.object_id.is_none()),
        (false, None, true)
    );
    assert!(ev.metadata.0.is_empty() && ev.malformed.is_empty());
    let ev = parse_event(r#"{"id":"evt_3","type":"x","created":1,"data":null,"livemode":null}"#)
        .unwrap();
    assert!(ev.object_type.is_none() && ev.malformed.is_empty());
}

#[test]
fn fields_of_another_type_are_absent_and_listed() {
    // the shapes of issue 16: newer Stripe objects carry amounts and statuses as objects
    let ev = parse_event(
        r#"{"id":"evt_4","type":"payment_intent.succeeded","created":5,"livemode":"yes",
        "data":{"object":{"id":7,"object":["pi"],"amount":{"value":100,"currency":"usd"},
        "amount_received":20.5,"currency":false,"status":{"type":"succeeded"},
        "metadata":{"a":1,"b":"ok","c":null,"d":{"x":[1]},"e":"fine"}}}}"#,
    )
    .unwrap();
    assert_eq!(
        (ev.id.as_str(), ev.created, ev.livemode),
        ("evt_4", 5, false)
    );
    assert!(ev.object_id.is_none() && ev.object_type.is_none());
    assert_eq!((ev.amount, ev.amount_received), (None, None));
    assert_eq!((&ev.currency, &ev.status), (&None, &None));
    assert_eq!(meta(&ev), [("b", "ok"), ("e", "fine")]);
    assert_eq!(
        ev.malformed,
        [
            "livemode",
            "data.object.id",
            "data.object.object",
            "data.object.amount",
            "data.object.amount_received",
            "data.object.currency",
            "data.object.status",
            "data.object.metadata.a",
            "data.object.metadata.c",
            "data.object.metadata.d",
        ]
    );
    for (data, path) in [
        (r#""data":5"#, "data"),
        (r#""data":{"object":"pi_1"}"#, "data.object"),
        (
            r#""data":{"object":{"metadata":["a"]}}"#,
            "data.object.metadata",
        ),
    ] {
        let doc = format!(r#"{{"id":"e","type":"t","created":1,{data}}}"#);
        assert_eq!(parse_event(&doc).unwrap().malformed, [path]);
    }
}

#[test]
fn numbers_follow_python_json() {
    let amount = |text: &str| {
        let doc = format!(
            r#"{{"id":"e","type":"t","created":1,"data":{{"object":{{"amount":{text}}}}}}}"#
        );
        let ev = parse_event(&doc).unwrap();
        (ev.amount, ev.malformed.len())
    };
    assert_eq!(amount("2000"), (Some(2000), 0));
    assert_eq!(amount("-0"), (Some(0), 0));
    assert_eq!(amount("-9223372036854775808"), (Some(i64::MIN), 0));
    for float in ["2000.0", "2e3", "2E3", "1e400", "-1e400", "0.1"] {
        assert_eq!(amount(float), (None, 1), "{float}");
    }
    // integers beyond 64 bits: read by Python, outside payedge's range
    for huge in [
        "9223372036854775808",
        "123456789012345678901234567890123456789",
    ] {
        assert_eq!(amount(huge), (None, 1), "{huge}");
    }
    // huge numbers in unread fields are skipped, not converted
    let ev = parse_event(r#"{"id":"e","type":"t","created":1,"x":1e400,"y":-1e999999}"#).unwrap();
    assert!(ev.malformed.is_empty());
}

#[test]
fn repeated_keys_the_last_counts() {
    let ev = parse_event(
        r#"{"id":"a","id":"b","type":"t","created":1,"data":{"object":{"amount":{"v":1},"amount":5,
        "metadata":{"k":1,"j":"x","k":"y","j":2}}}}"#,
    )
    .unwrap();
    assert_eq!((ev.id.as_str(), ev.amount), ("b", Some(5)));
    assert_eq!(meta(&ev), [("k", "y")]);
    assert_eq!(ev.malformed, ["data.object.metadata.j"]);
    // the last `id` is not a string: the event has no readable id
    let err = parse_event(r#"{"id":"a","type":"t","created":1,"id":1}"#).unwrap_err();
    assert_eq!((err.code(), err.param()), ("invalid_payload", Some("id")));
}

#[test]
fn what_is_not_an_event_is_a_payload_error_naming_the_field() {
    for (bad, param) in [
        ("", "payload"),
        ("[]", "payload"),
        ("{", "payload"),
        ("5", "payload"),
        ("1e400", "payload"),
        ("\"evt\"", "payload"),
        ("{} x", "payload"),
        ("{\"id\":NaN}", "payload"),
        ("\u{feff}{}", "payload"),
        ("{}", "id"),
        (r#"{"id":null,"type":"t","created":1}"#, "id"),
        (r#"{"id":1,"type":"t","created":1}"#, "id"),
        (r#"{"id":"e","created":1}"#, "type"),
        (r#"{"id":"e","type":["t"],"created":1}"#, "type"),
        (r#"{"id":"e","type":"t"}"#, "created"),
        (r#"{"id":"e","type":"t","created":1.5}"#, "created"),
        (r#"{"id":"e","type":"t","created":"1"}"#, "created"),
        (r#"{"id":"\ud800","type":"t","created":1}"#, "id"),
    ] {
        let err = parse_event(bad).unwrap_err();
        assert_eq!(
            (err.code(), err.param()),
            ("invalid_payload", Some(param)),
            "{bad}"
        );
        assert!(matches!(err, Error::Payload { .. }));
    }
}

#[test]
fn lone_surrogates_are_unreadable_not_fatal() {
    let ev = parse_event(
        r#"{"id":"e","type":"t","created":1,"\udc00":1,"data":{"object":{"status":"\ud800",
        "metadata":{"\ud800":"x","k":"\udfff","ok":"\ud83d\ude00"}}}}"#,
    )
    .unwrap();
    assert_eq!(ev.status, None);
    assert_eq!(meta(&ev), [("ok", "😀")]);
    assert_eq!(ev.malformed.len(), 3, "{:?}", ev.malformed);
}

#[test]
fn deep_nesting_is_skipped_without_recursion() {
    // far beyond serde_json's recursion limit (128), in unread and in read fields
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let doc = format!(
        r#"{{"id":"e","type":"t","created":1,"x":{d},"data":{{"object":{{"amount":{d},"metadata":{{"k":{d}}},"y":{d}}}}}}}"#,
        d = deep(100_000)
    );
    let ev = parse_event(&doc).unwrap();
    assert_eq!(
        ev.malformed,
        ["data.object.amount", "data.object.metadata.k"]
    );
    // only the path to the fields read is parsed as maps: a deep object there is fine too
    let obj = format!("{}1{}", r#"{"a":"#.repeat(5_000), "}".repeat(5_000));
    assert!(parse_event(&format!(
        r#"{{"id":"e","type":"t","created":1,"data":{obj}}}"#
    ))
    .is_ok());
    // serde_json's own limit still guards anything parsed as a value tree (fingerprints)
    assert!(serde_json::from_str::<Value>(&deep(200)).is_err());
}

#[test]
fn values_one_pass_cannot_interpret_fall_back_to_the_robust_reader() {
    for odd in ["1e400", "-1e400", r#""\ud800""#, r#"["\udc00", 1e999]"#] {
        for doc in [
            format!(r#"{{"id":"e","type":"t","created":1,"data":{odd}}}"#),
            format!(r#"{{"id":"e","type":"t","created":1,"data":{{"object":{odd}}}}}"#),
            format!(
                r#"{{"id":"e","type":"t","created":1,"data":{{"object":{{"metadata":{odd},"amount":3}}}}}}"#
            ),
        ] {
            let fast_fails = parts::one_pass(&doc).is_err();
            assert!(fast_fails || odd.starts_with('['), "{doc}");
            let ev = parse_event(&doc).unwrap();
            assert_eq!(ev.malformed.len(), 1, "{doc}: {:?}", ev.malformed);
        }
    }
}

#[test]
fn verifies_before_parsing_and_never_says_signature_after() {
    let header = sign_stripe(EVENT.as_bytes(), &key(), 1_700_000_000);
    let now = UnixTime::from_secs(1_700_000_100);
    let (ts, ev) = parse_stripe_event(EVENT.as_bytes(), &header, &[key()], Some(300), now).unwrap();
    assert_eq!(
        (ts.as_u64(), ev.id.as_str()),
        (Some(1_700_000_000), "evt_1")
    );
    let bad = parse_stripe_event(b"{}", &header, &[key()], Some(300), now).unwrap_err();
    assert_eq!(
        (bad.code(), bad.param()),
        ("signature_mismatch", Some("header"))
    );
    let header = sign_stripe(b"{}", &key(), 1_700_000_000);
    let bad = parse_stripe_event(b"{}", &header, &[key()], Some(300), now).unwrap_err();
    assert!(matches!(bad, Error::Payload { .. }));
    assert_eq!((bad.code(), bad.param()), ("invalid_payload", Some("id")));
}

// ------------------------------------------------------------------ the reference

/// What Python's `json.loads` + the reading rules give for a document.
#[allow(clippy::large_enum_variant)] // a test value, compared once
#[derive(Debug, PartialEq)]
enum Reading {
    /// `Error::Payload` with this param.
    Refused(&'static str),
    Event {
        id: String,
        event_type: String,
        created: i64,
        livemode: bool,
        strings: [Option<String>; 4], // object id, object type, currency, status
        amounts: [Option<i64>; 2],
        metadata: Vec<(String, String)>,
        malformed: Vec<String>,
    },
}

fn as_i64(v: &Value) -> Option<i64> {
    // a JSON integer token: serde_json keeps those as i64/u64; floats as f64
    v.as_i64().filter(|_| !v.is_f64())
}

fn reference(doc: &Value) -> Reading {
    let Some(ev) = doc.as_object() else {
        return Reading::Refused("payload");
    };
    let Some(id) = ev.get("id").and_then(Value::as_str) else {
        return Reading::Refused("id");
    };
    let Some(event_type) = ev.get("type").and_then(Value::as_str) else {
        return Reading::Refused("type");
    };
    let Some(created) = ev.get("created").and_then(as_i64) else {
        return Reading::Refused("created");
    };
    let mut malformed = Vec::new();
    let mut wrong = |path: &str| malformed.push(path.to_owned());
    let livemode = match ev.get("livemode") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            wrong("livemode");
            false
        }
    };
    let empty = Map::new();
    let object = match ev.get("data") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(data)) => match data.get("object") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(object)) => object,
            Some(_) => {
                wrong("data.object");
                &empty
            }
        },
        Some(_) => {
            wrong("data");
            &empty
        }
    };
    let mut string = |name: &str| match object.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            wrong(&format!("data.object.{name}"));
            None
        }
    };
    let (oid, otype) = (string("id"), string("object"));
    let mut int = |name: &str| match object.get(name) {
        None | Some(Value::Null) => None,
        Some(v) => as_i64(v).or_else(|| {
            wrong(&format!("data.object.{name}"));
            None
        }),
    };
    let amounts = [int("amount"), int("amount_received")];
    let mut string = |name: &str| match object.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            wrong(&format!("data.object.{name}"));
            None
        }
    };
    let strings = [oid, otype, string("currency"), string("status")];
    let mut metadata = Vec::new();
    match object.get("metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                match v {
                    Value::String(s) => metadata.push((k.clone(), s.clone())),
                    _ => wrong(&format!("data.object.metadata.{k}")),
                }
            }
        }
        Some(_) => wrong("data.object.metadata"),
    }
    Reading::Event {
        id: id.to_owned(),
        event_type: event_type.to_owned(),
        created,
        livemode,
        strings,
        amounts,
        metadata,
        malformed,
    }
}

fn reading_of(ev: &StripeEvent<'_>) -> Reading {
    let s = |t: &Option<Text<'_>>| t.as_ref().map(|t| t.as_str().to_owned());
    Reading::Event {
        id: ev.id.as_str().to_owned(),
        event_type: ev.event_type.as_str().to_owned(),
        created: ev.created,
        livemode: ev.livemode,
        strings: [
            s(&ev.object_id),
            s(&ev.object_type),
            s(&ev.currency),
            s(&ev.status),
        ],
        amounts: [ev.amount, ev.amount_received],
        metadata: ev
            .metadata
            .0
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.as_str().to_owned()))
            .collect(),
        malformed: ev.malformed.clone(),
    }
}

// ------------------------------------------------------------------ generators

/// Any JSON value, nested up to `depth` (keys from a small set, so that
/// random objects hit the fields payedge reads).
fn any_json(depth: u32) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(|f| json!(f)),
        Just(json!(100.0)),
        "[a-z_ é\u{1F600}\"\\\\]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "id", "type", "created", "livemode", "data", "object", "amount",
            "amount_received", "currency", "status", "metadata", "value",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z.é]{0,6}",
    ]
}

/// A Stripe-like event where each field payedge reads is, at random, of its
/// type, absent, `null`, or any JSON value.
fn event() -> impl Strategy<Value = Value> {
    fn weighted(good: BoxedStrategy<Value>, weight: u32) -> BoxedStrategy<Option<Value>> {
        prop_oneof![
            weight => good.prop_map(Some),
            1 => Just(None),
            1 => Just(Some(Value::Null)),
            2 => any_json(3).prop_map(Some),
        ]
        .boxed()
    }
    // required fields are usually right, so most cases reach the optional ones
    let required = |good: BoxedStrategy<Value>| weighted(good, 40);
    let field = |good: BoxedStrategy<Value>| weighted(good, 6);
    let text = || "[a-z_0-9é]{1,12}".prop_map(Value::String).boxed();
    let int = || any::<i64>().prop_map(Value::from).boxed();
    let metadata = prop::collection::vec(
        (
            "[a-z_.é]{0,8}",
            prop_oneof![3 => "[ -~é]{0,10}".prop_map(Value::String), 1 => any_json(2)],
        ),
        0..6,
    )
    .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()))
    .boxed();
    let object = (
        (field(text()), field(text()), field(int()), field(int())),
        (field(text()), field(text()), field(metadata)),
        prop::collection::vec((field_name(), any_json(2)), 0..3),
    )
        .prop_map(
            |((id, obj, amount, received), (currency, status, metadata), extra)| {
                let mut m = Map::new();
                for (k, v) in extra {
                    m.insert(k, v);
                }
                for (k, v) in [
                    ("id", id),
                    ("object", obj),
                    ("amount", amount),
                    ("amount_received", received),
                    ("currency", currency),
                    ("status", status),
                    ("metadata", metadata),
                ] {
                    if let Some(v) = v {
                        m.insert(k.to_owned(), v);
                    }
                }
                Value::Object(m)
            },
        )
        .boxed();
    let data = field(object.prop_map(|o| json!({ "object": o })).boxed());
    (
        (required(text()), required(text()), required(int())),
        (field(any::<bool>().prop_map(Value::Bool).boxed()), data),
        prop::collection::vec((field_name(), any_json(3)), 0..3),
    )
        .prop_map(|((id, ty, created), (livemode, data), extra)| {
            let mut m = Map::new();
            for (k, v) in extra {
                m.insert(k, v);
            }
            for (k, v) in [
                ("id", id),
                ("type", ty),
                ("created", created),
                ("livemode", livemode),
                ("data", data),
            ] {
                if let Some(v) = v {
                    m.insert(k.to_owned(), v);
                }
            }
            Value::Object(m)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Sign random events: a verified one never gets a signature error; it is
    /// refused (naming the field) exactly when the reference cannot read `id`,
    /// `type` or `created`, and otherwise reads as the reference does.
    #[test]
    fn signed_events_read_like_the_reference(doc in prop_oneof![4 => event(), 1 => any_json(3)], pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&doc) } else { serde_json::to_string(&doc) };
        let text = text.unwrap();
        let header = sign_stripe(text.as_bytes(), &key(), 1_700_000_000);
        let got = parse_stripe_event(text.as_bytes(), &header, &[key()], None, UnixTime::from_secs(0));
        let want = reference(&doc);
        match got {
            Ok((_, ev)) => prop_assert_eq!(reading_of(&ev), want),
            Err(err) => {
                prop_assert!(matches!(err, Error::Payload { .. }), "{:?}", err);
                let param = err.param().unwrap_or_default().to_owned();
                prop_assert_eq!(Reading::Refused(Box::leak(param.into_boxed_str())), want);
            }
        }
    }

    /// The one-pass reader and the robust one read every document alike
    /// (where one pass succeeds; where it fails, the robust one is used).
    #[test]
    fn both_readers_agree(doc in prop_oneof![4 => event(), 1 => any_json(3)]) {
        let text = serde_json::to_string(&doc).unwrap();
        let robust = parts::robust(&text).map_err(|_| ()).and_then(|p| build(p).map_err(|_| ()));
        match parts::one_pass(&text) {
            Ok(p) => prop_assert_eq!(build(p).map_err(|_| ()), robust),
            Err(_) => prop_assert!(!doc.is_object(), "one pass failed on {}", text),
        }
    }

    #[test]
    fn any_text_is_handled_without_panic(text in ".{0,200}") {
        if let Err(err) = parse_event(&text) {
            prop_assert!(matches!(err, Error::Payload { .. }), "{:?}", err);
        }
    }

    #[test]
    fn strings_round_trip(id in "[ -~é\u{1F600}]{1,40}", amount in any::<i64>()) {
        let json = serde_json::json!({"id": id, "type": "t", "created": 5,
            "data": {"object": {"amount": amount, "metadata": {id.clone(): id.clone()}}}}).to_string();
        let ev = parse_event(&json).unwrap();
        prop_assert_eq!(ev.id.as_str(), id.as_str());
        prop_assert_eq!(ev.amount, Some(amount));
        prop_assert_eq!(ev.metadata.0[0].1.as_str(), id.as_str());
    }
}
