//! Tariff quoting: a typical stay, and the cost of long stays at fine increments.
//!
//! The SPEC requires the cost not to grow with the number of units: compare
//! `30-day stay, 1-min units` (43,200 units) with `1-hour stay, 1-min units` (60).
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use payedge_core::tariff::{PerStay, Tariff};

fn rules(increment: u32) -> String {
    format!(
        r#"{{
  "currency": "EUR",
  "timezone": "Europe/Paris",
  "increment_minutes": {increment},
  "grace_minutes": 10,
  "bands": [
    {{"up_to_minute": 60,   "unit_price": 50}},
    {{"up_to_minute": 240,  "unit_price": 40}},
    {{"up_to_minute": null, "unit_price": 30}}
  ],
  "night": {{"start": "20:00", "end": "07:00", "unit_price": 10}},
  "daily_cap": 2000,
  "lost_ticket_fee": 3000,
  "subscriptions": {{"resident": {{"discount_percent": 50}}}}
}}"#
    )
}

fn tariff(increment: u32) -> Option<Tariff> {
    Tariff::from_json(rules(increment).as_bytes())
        .map_err(|e| eprintln!("bench rules invalid: {e}"))
        .ok()
}

// 2024-06-03T10:00:00+02:00 (no DST change in the next 30 days).
const ENTRY: i64 = 1_717_401_600;

fn benches(c: &mut Criterion) {
    let (Some(quarter), Some(minute)) = (tariff(15), tariff(1)) else {
        return;
    };

    let mut g = c.benchmark_group("tariff_typical");
    // 7h40 stay, 15-minute units, crossing into the night window.
    let exit = ENTRY + 7 * 3600 + 40 * 60;
    g.bench_function("quote_15min_7h40", |b| {
        b.iter(|| quarter.quote(black_box(ENTRY), black_box(exit), false, None))
    });
    g.bench_function("amount_15min_7h40", |b| {
        b.iter(|| quarter.amount(black_box(ENTRY), black_box(exit), false, None))
    });
    g.bench_function("from_json", |b| {
        let text = rules(15);
        b.iter(|| Tariff::from_json(black_box(text.as_bytes())))
    });
    g.finish();

    let mut g = c.benchmark_group("tariff_long_stays");
    let hour = ENTRY + 3600;
    let month = ENTRY + 30 * 86_400 + 1800;
    g.bench_function("amount_1min_1h", |b| {
        b.iter(|| minute.amount(black_box(ENTRY), black_box(hour), false, None))
    });
    g.bench_function("amount_1min_30d", |b| {
        b.iter(|| minute.amount(black_box(ENTRY), black_box(month), false, None))
    });
    g.bench_function("quote_1min_1h", |b| {
        b.iter(|| minute.quote(black_box(ENTRY), black_box(hour), false, None))
    });
    g.bench_function("quote_1min_30d", |b| {
        b.iter(|| minute.quote(black_box(ENTRY), black_box(month), false, None))
    });
    // Across the autumn DST change (2024-10-27), 30 days.
    let autumn = 1_729_332_000; // 2024-10-19T12:00:00+02:00
    g.bench_function("amount_1min_30d_across_dst", |b| {
        b.iter(|| {
            minute.amount(
                black_box(autumn),
                black_box(autumn + 30 * 86_400 + 1800),
                false,
                None,
            )
        })
    });
    g.finish();

    let mut g = c.benchmark_group("tariff_batch");
    let entries: Vec<i64> = (0..10_000).map(|i| ENTRY + i * 97).collect();
    let exits: Vec<i64> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| e + 600 + (i as i64 % 89) * 433)
        .collect();
    g.bench_function("quote_many_10k_15min", |b| {
        b.iter(|| quarter.quote_many(&entries, &exits, PerStay::All(false), PerStay::All(None)))
    });
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
