//! Criterion benches for dedupe, idempotency and fingerprints.
//!
//! `cargo bench -p payedge-core --bench dedupe`
// Bench harness code, like tests: a setup that fails must stop the run loudly.
#![allow(clippy::unwrap_used)]
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use payedge_core::dedupe::legacy::LegacyDeduper;
use payedge_core::dedupe::Deduper;
use payedge_core::fingerprint::fingerprint;
use payedge_core::idempotency::IdempotencyCache;

const N: usize = 10_000;
const TTL: f64 = 259_200.0;

fn keys(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}_{i:024x}")).collect()
}

fn dedupe(c: &mut Criterion) {
    let fresh = keys("evt", N);
    let mut group = c.benchmark_group("deduper");
    group.throughput(Throughput::Elements(N as u64));
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(3));

    group.bench_function("check_and_insert/new", |b| {
        b.iter_batched(
            || Deduper::new(TTL, 10_000_000).unwrap(),
            |d| {
                for key in &fresh {
                    black_box(d.check_and_insert(key, 1.0).unwrap());
                }
                d
            },
            BatchSize::LargeInput,
        );
    });

    let seen = Deduper::new(TTL, 10_000_000).unwrap();
    for key in &fresh {
        seen.check_and_insert(key, 1.0).unwrap();
    }
    group.bench_function("check_and_insert/duplicate", |b| {
        b.iter(|| {
            for key in &fresh {
                black_box(seen.check_and_insert(key, 2.0).unwrap());
            }
        });
    });

    // At the bound every insert evicts the globally oldest entry.
    let stream = keys("cap", 200_000);
    let full = Deduper::new(TTL, N).unwrap();
    let mut next = 0usize;
    group.bench_function("check_and_insert/at_capacity", |b| {
        b.iter(|| {
            for _ in 0..N {
                let key = &stream[next % stream.len()];
                next += 1;
                black_box(full.check_and_insert(key, 1.0).unwrap());
            }
        });
    });

    group.bench_function("check_and_insert_many/new", |b| {
        b.iter_batched(
            || Deduper::new(TTL, 10_000_000).unwrap(),
            |d| {
                black_box(d.check_and_insert_many(&fresh, 1.0).unwrap());
                d
            },
            BatchSize::LargeInput,
        );
    });

    // Four threads inserting disjoint fresh keys into one deduper.
    let per_thread: Vec<Vec<String>> = (0..4).map(|t| keys(&format!("t{t}"), N / 4)).collect();
    group.bench_function("check_and_insert/new_4_threads", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let d = Deduper::new(TTL, 10_000_000).unwrap();
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for chunk in &per_thread {
                        let d = &d;
                        scope.spawn(move || {
                            for key in chunk {
                                black_box(d.check_and_insert(key, 1.0).unwrap());
                            }
                        });
                    }
                });
                total += start.elapsed();
            }
            total
        });
    });
    group.finish();
}

/// The deduper before issue 16 (whole keys stored), as the baseline.
fn dedupe_legacy(c: &mut Criterion) {
    let fresh = keys("evt", N);
    let mut group = c.benchmark_group("deduper_legacy");
    group.throughput(Throughput::Elements(N as u64));
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(3));
    group.bench_function("check_and_insert/new", |b| {
        b.iter_batched(
            || LegacyDeduper::new(TTL, 10_000_000).unwrap(),
            |d| {
                for key in &fresh {
                    black_box(d.check_and_insert(key, 1.0).unwrap());
                }
                d
            },
            BatchSize::LargeInput,
        );
    });
    let seen = LegacyDeduper::new(TTL, 10_000_000).unwrap();
    for key in &fresh {
        seen.check_and_insert(key, 1.0).unwrap();
    }
    group.bench_function("check_and_insert/duplicate", |b| {
        b.iter(|| {
            for key in &fresh {
                black_box(seen.check_and_insert(key, 2.0).unwrap());
            }
        });
    });
    group.finish();
}

fn idempotency(c: &mut Criterion) {
    let ks = keys("idem", N);
    let mut group = c.benchmark_group("idempotency");
    group.throughput(Throughput::Elements(N as u64));
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(3));
    group.bench_function("begin_new+complete", |b| {
        b.iter_batched(
            || IdempotencyCache::new(86_400.0).unwrap(),
            |cache| {
                for key in &ks {
                    black_box(cache.begin(key, "fp", 1.0).unwrap());
                    cache
                        .complete(key, 200, &b"{\"id\":\"pay_1\"}"[..])
                        .unwrap();
                }
                cache
            },
            BatchSize::LargeInput,
        );
    });
    let done = IdempotencyCache::new(86_400.0).unwrap();
    for key in &ks {
        done.begin(key, "fp", 1.0).unwrap();
        done.complete(key, 200, vec![b'x'; 512]).unwrap();
    }
    group.bench_function("begin_replay", |b| {
        b.iter(|| {
            for key in &ks {
                black_box(done.begin(key, "fp", 2.0).unwrap());
            }
        });
    });
    group.finish();
}

fn fingerprints(c: &mut Criterion) {
    // About 1 KB of JSON, like a payment creation request with metadata.
    let mut body = String::from(
        r#"{"amount": 12500, "currency": "eur", "payment_method": "pm_card_visa", "metadata": {"#,
    );
    for i in 0..30 {
        body.push_str(&format!(r#""key_{i:02}": "value number {i}", "#));
    }
    body.push_str(r#""last": true}, "capture": true, "description": null}"#);
    let mut group = c.benchmark_group("fingerprint");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(3));
    group.bench_function("json_1kb", |b| {
        b.iter(|| {
            fingerprint(
                black_box("POST"),
                "/v1/payments",
                black_box(body.as_bytes()),
            )
        });
    });
    let raw = vec![b'a'; body.len()];
    group.bench_function("raw_1kb", |b| {
        b.iter(|| fingerprint(black_box("POST"), "/v1/payments", black_box(&raw)));
    });
    group.finish();
}

criterion_group!(group, dedupe, dedupe_legacy, idempotency, fingerprints);
criterion_main!(group);
