//! Tariff tests: worked examples, validation paths, and a property test against
//! a naive implementation that walks unit by unit exactly as SPEC 2.3 reads.
use jiff::Timestamp;
use proptest::prelude::*;

use super::*;
use crate::Error;

/// SPEC 2.3, unit by unit: the oracle for the arithmetic engine.
fn naive(t: &Tariff, entry: i64, exit: i64, lost: bool, sub: Option<&str>) -> Result<i64> {
    let r = t.rules();
    assert!(exit >= entry);
    let d = exit - entry;
    let inc = i64::from(r.increment_minutes) * 60;
    let mut periods: Vec<i128> = Vec::new();
    if d > r.grace_minutes.unwrap_or(0) * 60 {
        let n = (d + inc - 1) / inc;
        for k in 0..n {
            let s = entry + k * inc;
            let p = ((s - entry) / 86400) as usize;
            let m = ((s - entry) % 86400) / 60;
            let local = t
                .time_zone()
                .to_datetime(Timestamp::from_second(s).unwrap());
            let minute_of_day =
                u32::try_from(local.hour()).unwrap() * 60 + u32::try_from(local.minute()).unwrap();
            let price = match &r.night {
                Some(night) if night.contains(minute_of_day) => night.unit_price,
                _ => {
                    r.bands
                        .iter()
                        .find(|b| b.up_to_minute.is_none_or(|up| m < i64::from(up)))
                        .unwrap()
                        .unit_price
                }
            };
            if periods.len() <= p {
                periods.resize(p + 1, 0);
            }
            periods[p] += i128::from(price);
        }
    }
    let mut parking: i128 = periods
        .iter()
        .map(|&g| r.daily_cap.map_or(g, |c| g.min(i128::from(c))))
        .sum();
    if let Some(name) = sub {
        let pct = r.subscriptions.iter().find(|(n, _)| n == name).unwrap().1;
        parking -= parking * i128::from(pct) / 100;
    }
    let mut total = parking
        + if lost {
            i128::from(r.lost_ticket_fee.unwrap_or(0))
        } else {
            0
        };
    if let Some(max) = r.max_amount {
        total = total.min(i128::from(max));
    }
    Ok(i64::try_from(total).unwrap())
}

/// The SPEC 2.3 example rules (also the docs' worked examples and `payedge quote` sample).
const PARIS: &str = include_str!("../../../../docs/examples/paris.json");

fn ts(s: &str) -> i64 {
    s.parse::<Timestamp>().unwrap().as_second()
}

fn tariff(json: &str) -> Tariff {
    Tariff::from_json(json.as_bytes()).unwrap()
}

#[test]
fn worked_examples_paris() {
    let t = tariff(PARIS);
    // 2024-06-03 is a Monday in summer time (UTC+2): 10:00 local = 08:00Z.
    let entry = ts("2024-06-03T08:00:00Z");
    let q = |mins: i64| t.quote(entry, entry + mins * 60, false, None).unwrap();
    // Within grace: free, no units.
    assert_eq!((q(10).amount, q(10).units), (0, 0));
    // 10 min 1 s: one unit of the first band.
    assert_eq!(t.quote(entry, entry + 601, false, None).unwrap().amount, 50);
    // 2h30: 4 units at 50 then 6 at 40 = 440.
    assert_eq!((q(150).amount, q(150).units), (440, 10));
    // 5h: 4*50 + 12*40 + 4*30 = 800.
    assert_eq!(q(300).amount, 800);
    // 10:00 -> 21:00 (11h, 44 units): 4*50 + 12*40 + 24*30 (until 20:00) + 4*10 = 1440.
    assert_eq!(q(660).amount, 1440);
    // 24h: 4*50 + 12*40 + (24 + 12)*30 (14:00-20:00, 07:00-10:00) + 44*10 = 2200, capped at 2000.
    let day = q(1440);
    assert_eq!((day.amount, day.units), (2000, 96));
    assert_eq!(
        day.period_lines().collect::<Vec<_>>(),
        vec![PeriodLine {
            period: 0,
            units: 96,
            gross: 2200,
            charged: 2000
        }]
    );
    // Resident: 50% off 2000 = 1000; staff 100%.
    assert_eq!(
        t.quote(entry, entry + 86400, false, Some("resident"))
            .unwrap()
            .amount,
        1000
    );
    assert_eq!(
        t.quote(entry, entry + 86400, false, Some("staff"))
            .unwrap()
            .amount,
        0
    );
    // Lost ticket adds 3000 after the discount.
    let lost = t
        .quote(entry, entry + 86400, true, Some("resident"))
        .unwrap();
    assert_eq!(lost.amount, 4000);
    assert_eq!(lost.lost_ticket_fee, Some(3000));
    assert_eq!(lost.discount.as_ref().map(|d| d.amount), Some(1000));
    // 3 days and 1 minute: 3 capped periods + 1 unit at 10:00 (band 1) = 6050.
    let long = q(3 * 1440 + 1);
    assert_eq!(long.amount, 3 * 2000 + 50);
    assert_eq!(long.periods.len(), 2);
    assert_eq!(long.periods[0].count, 3);
    assert_eq!(long.period_lines().count(), 4);
}

#[test]
fn daily_cap_and_max_amount() {
    let rules = r#"{"currency": "EUR", "timezone": "UTC", "increment_minutes": 60,
        "bands": [{"up_to_minute": null, "unit_price": 300}], "daily_cap": 2000, "max_amount": 5000}"#;
    let t = tariff(rules);
    let q = t.quote(0, 3 * 86400, false, None).unwrap();
    // 24 * 300 = 7200 per period, capped at 2000 each: 6000, then max 5000.
    assert_eq!(q.amount, 5000);
    assert_eq!(q.parking, 6000);
    assert_eq!(
        q.max_amount,
        Some(MaxAmount {
            max_amount: 5000,
            reduction: 1000
        })
    );
    assert_eq!(
        q.periods,
        vec![PeriodRun {
            first: 0,
            count: 3,
            units: 24,
            gross: 7200,
            charged: 2000
        }]
    );
    // A cap of 0 is free parking.
    let free = tariff(&rules.replace("2000", "0"));
    assert_eq!(free.amount(0, 86400 * 10, false, None).unwrap(), 0);
}

#[test]
fn increment_not_dividing_a_day() {
    // 7-minute units: period 0 has units at minutes 0,7,..,1435 (206 units);
    // period 1 starts with the unit at minute 2 (1442 - 1440), and so on.
    let t = tariff(
        r#"{"currency": "JPY", "timezone": "UTC", "increment_minutes": 7,
        "bands": [{"up_to_minute": 3, "unit_price": 1000}, {"up_to_minute": null, "unit_price": 1}]}"#,
    );
    let q = t.quote(0, 2 * 86400, false, None).unwrap();
    // period 0: unit at minute 0 costs 1000, 205 more at 1 = 1205;
    // period 1: first unit at minute 2 (< 3) costs 1000; units at 2,9,..: 206 units (2 + 205*7 = 1437).
    let lines: Vec<_> = q.period_lines().collect();
    assert_eq!(
        lines[0],
        PeriodLine {
            period: 0,
            units: 206,
            gross: 1205,
            charged: 1205
        }
    );
    assert_eq!(
        lines[1],
        PeriodLine {
            period: 1,
            units: 206,
            gross: 1205,
            charged: 1205
        }
    );
    assert_eq!(q.units, 412);
    assert_eq!(q.amount, naive(&t, 0, 2 * 86400, false, None).unwrap());
    // A long stay matches the naive walk too (the grid cycles every 7 periods).
    for days in [6, 7, 8, 15, 40] {
        let x = days * 86400 + 3600;
        assert_eq!(
            t.amount(0, x, false, None).unwrap(),
            naive(&t, 0, x, false, None).unwrap()
        );
        assert_eq!(
            t.quote(0, x, false, None).unwrap().amount,
            naive(&t, 0, x, false, None).unwrap()
        );
    }
}

#[test]
fn night_across_dst_changes() {
    let t = tariff(PARIS);
    for (entry, days) in [
        ("2024-03-30T12:00:00Z", 3),
        ("2024-10-26T18:07:00Z", 2),
        ("2024-03-31T00:59:59Z", 1),
        ("2024-10-27T00:15:00Z", 1),
    ] {
        let e = ts(entry);
        for extra in [0, 1, 899, 900, 901, 3600, 7 * 3600 + 5] {
            let x = e + days * 86400 + extra;
            assert_eq!(
                t.amount(e, x, false, None).unwrap(),
                naive(&t, e, x, false, None).unwrap(),
                "{entry} +{days}d {extra}s"
            );
        }
    }
}

#[test]
fn errors_name_their_field() {
    let t = tariff(PARIS);
    let e = t.quote(100, 99, false, None).unwrap_err();
    assert!(
        matches!(&e, Error::Tariff { path, .. } if path == "exit"),
        "{e}"
    );
    let e = t.quote(0, 99, false, Some("vip")).unwrap_err();
    assert!(
        matches!(&e, Error::Tariff { path, .. } if path == "subscription"),
        "{e}"
    );
    assert!(e.to_string().contains("resident"), "{e}");
    let e = t.quote(i64::MIN, 0, false, None).unwrap_err();
    assert!(
        matches!(&e, Error::Tariff { path, .. } if path == "entry"),
        "{e}"
    );
    let e = t
        .quote_many(&[0, 0], &[10, -1], PerStay::All(false), PerStay::All(None))
        .unwrap_err();
    assert!(
        matches!(&e, Error::Tariff { path, .. } if path == "exits[1]"),
        "{e}"
    );
    let e = t
        .quote_many(
            &[0, 0],
            &[10, 1],
            PerStay::All(false),
            PerStay::Each(&[None, Some("x")]),
        )
        .unwrap_err();
    assert!(
        matches!(&e, Error::Tariff { path, .. } if path == "subscription[1]"),
        "{e}"
    );
    let e = t
        .quote_many(&[0], &[10, 1], PerStay::All(false), PerStay::All(None))
        .unwrap_err();
    assert!(
        matches!(&e, Error::Tariff { path, .. } if path == "exits"),
        "{e}"
    );
}

#[test]
fn quote_many_matches_quote() {
    let t = tariff(PARIS);
    let entries: Vec<i64> = (0..200).map(|i| 1_700_000_000 + i * 7919).collect();
    let exits: Vec<i64> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| e + (i as i64) * 1301)
        .collect();
    let lost: Vec<bool> = (0..200).map(|i| i % 3 == 0).collect();
    let subs: Vec<Option<&str>> = (0..200)
        .map(|i| [None, Some("resident"), Some("staff")][i % 3])
        .collect();
    let many = t
        .quote_many(&entries, &exits, PerStay::Each(&lost), PerStay::Each(&subs))
        .unwrap();
    for i in 0..200 {
        let q = t.quote(entries[i], exits[i], lost[i], subs[i]).unwrap();
        assert_eq!(many[i], q.amount);
    }
}

fn validation_error(json: &str) -> (String, String) {
    match Tariff::from_json(json.as_bytes()) {
        Err(Error::Tariff { path, message }) => (path, message),
        other => panic!("expected a tariff error for {json}, got {other:?}"),
    }
}

#[test]
fn validation_paths() {
    let base: serde_json::Value = serde_json::from_str(PARIS).unwrap();
    let with = |pointer: &str, value: serde_json::Value| {
        let mut v = base.clone();
        *v.pointer_mut(pointer).unwrap() = value;
        v.to_string()
    };
    let cases = [
        (
            with("/bands/1/up_to_minute", 30.into()),
            "$.bands[1].up_to_minute",
        ),
        (
            with("/bands/1/up_to_minute", 60.into()),
            "$.bands[1].up_to_minute",
        ),
        (
            with("/bands/0/up_to_minute", serde_json::Value::Null),
            "$.bands[0].up_to_minute",
        ),
        (
            with("/bands/2/up_to_minute", 2000.into()),
            "$.bands[2].up_to_minute",
        ),
        (
            with("/bands/0/unit_price", (-1).into()),
            "$.bands[0].unit_price",
        ),
        (
            with("/bands/0/unit_price", 1.5.into()),
            "$.bands[0].unit_price",
        ),
        (
            with("/bands/0/unit_price", "50".into()),
            "$.bands[0].unit_price",
        ),
        (with("/bands", serde_json::json!([])), "$.bands"),
        (
            with("/bands/0", serde_json::json!({"up_to_minute": 60})),
            "$.bands[0].unit_price",
        ),
        (
            with(
                "/bands/0",
                serde_json::json!({"up_to_minute": 60, "unit_price": 1, "x": 1}),
            ),
            "$.bands[0].x",
        ),
        (with("/currency", "EURO".into()), "$.currency"),
        (with("/currency", 978.into()), "$.currency"),
        (with("/timezone", "Mars/Olympus".into()), "$.timezone"),
        (with("/timezone", "europe/paris".into()), "$.timezone"),
        (with("/timezone", "../../etc/passwd".into()), "$.timezone"),
        (with("/increment_minutes", 0.into()), "$.increment_minutes"),
        (
            with("/increment_minutes", 1441.into()),
            "$.increment_minutes",
        ),
        (with("/grace_minutes", (-5).into()), "$.grace_minutes"),
        (with("/night/start", "25:00".into()), "$.night.start"),
        (with("/night/end", "7:00".into()), "$.night.end"),
        (with("/night/end", "20:00".into()), "$.night.end"),
        (with("/night/unit_price", true.into()), "$.night.unit_price"),
        (with("/daily_cap", (-1).into()), "$.daily_cap"),
        (with("/lost_ticket_fee", "x".into()), "$.lost_ticket_fee"),
        (with("/max_amount", 1e30.into()), "$.max_amount"),
        (
            with("/subscriptions/resident/discount_percent", 101.into()),
            "$.subscriptions.resident.discount_percent",
        ),
        (
            with("/subscriptions/staff", serde_json::json!({"percent": 5})),
            "$.subscriptions.staff.percent",
        ),
        (
            with("/subscriptions", serde_json::json!([1])),
            "$.subscriptions",
        ),
        (with("/night", serde_json::json!("20:00-07:00")), "$.night"),
    ];
    for (json, want) in cases {
        let (path, message) = validation_error(&json);
        assert_eq!(path, want, "{message} for {json}");
    }
    let (path, _) = validation_error(&PARIS.replace("\"grace_minutes\"", "\"grace\""));
    assert_eq!(path, "$.grace");
    let (path, _) =
        validation_error(&PARIS.replace("\"max_amount\": null", "\"currency\": \"EUR\""));
    assert_eq!(path, "$.currency");
    let (path, _) = validation_error(&PARIS.replace("\"currency\": \"EUR\",", ""));
    assert_eq!(path, "$.currency");
    let (path, _) = validation_error("[1]");
    assert_eq!(path, "$");
    let (path, message) = validation_error("{\"currency\": ");
    assert_eq!(path, "$");
    assert!(message.contains("invalid JSON"), "{message}");
    let (path, _) = validation_error(&PARIS.replace("\"staff\"", "\"resident\""));
    assert_eq!(path, "$.subscriptions.resident");
}

#[test]
fn lowercase_currency_is_canonicalised() {
    let t = tariff(&PARIS.replace("\"EUR\"", "\"eur\""));
    assert_eq!(t.currency().code(), "EUR");
}

/// Rules as JSON, from proptest-chosen parts.
#[allow(clippy::too_many_arguments)]
fn rules_json(
    tz: &str,
    inc: u32,
    grace: Option<u32>,
    bands: &[(u32, i64)],
    last_price: i64,
    night: Option<(u32, u32, i64)>,
    cap: Option<i64>,
    fee: Option<i64>,
    max: Option<i64>,
) -> String {
    let mut ups: Vec<u32> = bands.iter().map(|b| b.0).collect();
    ups.sort_unstable();
    ups.dedup();
    let mut band_json: Vec<String> = ups
        .iter()
        .zip(bands)
        .map(|(up, (_, price))| format!("{{\"up_to_minute\": {up}, \"unit_price\": {price}}}"))
        .collect();
    band_json.push(format!(
        "{{\"up_to_minute\": null, \"unit_price\": {last_price}}}"
    ));
    let opt = |v: Option<i64>| v.map_or("null".to_owned(), |v| v.to_string());
    let night = match night {
        Some((s, e, price)) if s != e => format!(
            "{{\"start\": \"{:02}:{:02}\", \"end\": \"{:02}:{:02}\", \"unit_price\": {price}}}",
            s / 60,
            s % 60,
            e / 60,
            e % 60
        ),
        _ => "null".to_owned(),
    };
    format!(
        r#"{{"currency": "EUR", "timezone": "{tz}", "increment_minutes": {inc}, "grace_minutes": {},
        "bands": [{}], "night": {night}, "daily_cap": {}, "lost_ticket_fee": {}, "max_amount": {},
        "subscriptions": {{"half": {{"discount_percent": 50}}, "third": {{"discount_percent": 33}}}}}}"#,
        grace.map_or("null".to_owned(), |g| g.to_string()),
        band_json.join(", "),
        opt(cap),
        opt(fee),
        opt(max),
    )
}

const ZONES: [&str; 9] = [
    "UTC",
    "Africa/Casablanca",
    "Europe/Dublin",
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Pacific/Chatham",
];

fn increments() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(1u32),
        Just(15),
        Just(60),
        Just(1440),
        1u32..=120,
        prop::sample::select(vec![7u32, 45, 59, 61, 90, 97, 700, 1000, 1439]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_naive_walk(
        zone in prop::sample::select(ZONES.to_vec()),
        inc in increments(),
        grace in prop::option::of(0u32..120),
        bands in prop::collection::vec((1u32..1440, 0i64..500), 0..4),
        last_price in 0i64..500,
        night in prop::option::of((0u32..1440, 0u32..1440, 0i64..100)),
        cap in prop::option::of(0i64..20_000),
        fee in prop::option::of(0i64..5000),
        max in prop::option::of(0i64..100_000),
        // 1970..2100, biased towards DST seasons by the wide range of entries
        entry in 0i64..4_102_444_800,
        duration in prop_oneof![0i64..7200, 0i64..(3 * 86400), 0i64..(12 * 86400)],
        lost in any::<bool>(),
        sub in prop::sample::select(vec![None, Some("half"), Some("third")]),
    ) {
        let json = rules_json(zone, inc, grace, &bands, last_price, night, cap, fee, max);
        let t = Tariff::from_json(json.as_bytes()).unwrap();
        let exit = entry + duration;
        let want = naive(&t, entry, exit, lost, sub).unwrap();
        let q = t.quote(entry, exit, lost, sub).unwrap();
        prop_assert_eq!(q.amount, want, "{}", json);
        prop_assert_eq!(t.amount(entry, exit, lost, sub).unwrap(), want);
        let charged: i128 = q.period_lines().map(|l| l.charged).sum();
        prop_assert_eq!(charged, q.parking);
        let units: i64 = q.period_lines().map(|l| l.units).sum();
        prop_assert_eq!(units, q.units);
    }

    #[test]
    fn dst_transition_neighbourhoods(
        zone in prop::sample::select(ZONES[1..].to_vec()),
        year in 1990i16..2040,
        which in 0usize..2,
        before in 0i64..(2 * 86400),
        duration in 0i64..(3 * 86400),
        inc in increments(),
        night in (0u32..1440, 0u32..1440),
    ) {
        let tz = jiff::tz::TimeZone::get(zone).unwrap();
        let start = jiff::civil::date(year, 1, 1).at(0, 0, 0, 0).to_zoned(tz.clone()).unwrap().timestamp();
        // The next two transitions (or the last two, for zones that stopped changing).
        let transitions: Vec<i64> = tz
            .following(start)
            .take(2)
            .chain(tz.preceding(start).take(2))
            .map(|t| t.timestamp().as_second())
            .collect();
        let entry = transitions[which] - before;
        let json = rules_json(zone, inc, None, &[(60, 50)], 30, Some((night.0, night.1, 7)), None, None, None);
        let t = Tariff::from_json(json.as_bytes()).unwrap();
        prop_assert_eq!(
            t.amount(entry, entry + duration, false, None).unwrap(),
            naive(&t, entry, entry + duration, false, None).unwrap(),
            "{}", json
        );
    }

    #[test]
    fn far_past_and_future_match_naive_walk(
        zone in prop::sample::select(ZONES.to_vec()),
        inc in increments(),
        // 1811..2286: across both ends of the precomputed offset table (1900, 2200).
        entry in prop_oneof![-5_000_000_000i64..10_000_000_000, -2_209_100_000i64..-2_208_900_000, 7_258_000_000i64..7_258_200_000],
        duration in 0i64..(4 * 86400),
        night in (0u32..1440, 0u32..1440),
    ) {
        let json = rules_json(zone, inc, None, &[(60, 50)], 30, Some((night.0, night.1, 7)), None, None, None);
        let t = Tariff::from_json(json.as_bytes()).unwrap();
        prop_assert_eq!(
            t.amount(entry, entry + duration, false, None).unwrap(),
            naive(&t, entry, entry + duration, false, None).unwrap(),
            "{}", json
        );
    }

    #[test]
    fn arbitrary_stays_never_panic(entry in any::<i64>(), exit in any::<i64>(), inc in increments()) {
        let json = rules_json("Australia/Lord_Howe", inc, Some(5), &[(60, i64::MAX)], i64::MAX, Some((1200, 420, i64::MAX)), None, None, None);
        let t = Tariff::from_json(json.as_bytes()).unwrap();
        let _ = t.quote(entry, exit, true, Some("half"));
        let _ = t.amount(entry, exit, false, None);
    }
}

#[test]
fn huge_lines_do_not_fail_a_quote_whose_amount_fits() {
    // Found by the fuzzer: the period gross exceeds i64 but a 93% discount brings it back.
    let t = tariff(
        r#"{"currency": "AUD", "timezone": "Australia/Lord_Howe", "increment_minutes": 1438,
        "bands": [{"up_to_minute": null, "unit_price": 9223372036854775807}],
        "subscriptions": {"a": {"discount_percent": 93}}}"#,
    );
    let q = t.quote(0, 2 * 1438 * 60, false, Some("a")).unwrap();
    assert_eq!(q.parking, 2 * i128::from(i64::MAX));
    assert_eq!(Ok(q.amount), t.amount(0, 2 * 1438 * 60, false, Some("a")));
    let e = t.quote(0, 2 * 1438 * 60, false, None).unwrap_err();
    assert_eq!(e.code(), "overflow");
    assert_eq!(e, t.amount(0, 2 * 1438 * 60, false, None).unwrap_err());
}
