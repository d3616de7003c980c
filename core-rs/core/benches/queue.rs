//! Terminal queue: enqueue + allocate + complete cycles (1 and 2 threads),
//! lock-free position reads, and lease-lock acquire + release.
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use payedge_core::locks::LeaseLocks;
use payedge_core::queue::TerminalQueue;

const IDS: usize = 1024;

fn ids(prefix: &str) -> Vec<String> {
    (0..IDS).map(|i| format!("{prefix}{i}")).collect()
}

/// One cycle on `terminal`; another thread may win the payment, then this
/// one completes whatever it was given (still one cycle of work).
fn cycle(q: &TerminalQueue, terminal: &str, payment: &str, user: &str) {
    let _ = q.enqueue(payment, user, 0.0);
    if let Ok(Some(lease)) = q.allocate(terminal, 0.0) {
        let _ = q.complete(lease.token, 0.0);
    }
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("queue");
    group.throughput(Throughput::Elements(1));
    let Ok(q) = TerminalQueue::new(["t0", "t1"], 180.0) else {
        return;
    };
    let a = ids("a");
    let mut i = 0;
    group.bench_function("cycle/1 thread", |b| {
        b.iter(|| {
            i = (i + 1) % IDS;
            cycle(&q, "t0", &a[i], "ua");
        })
    });

    let b_ids = ids("b");
    group.throughput(Throughput::Elements(2));
    group.bench_function("cycle/2 threads", |b| {
        b.iter_custom(|iters| {
            std::thread::scope(|s| {
                let run = |terminal: &'static str, ids: &[String], user: &'static str| {
                    let start = Instant::now();
                    for n in 0..iters as usize {
                        cycle(&q, terminal, &ids[n % IDS], user);
                    }
                    start.elapsed()
                };
                let (a_ids, b_ids) = (&a, &b_ids);
                let one = s.spawn(move || run("t0", a_ids, "ua"));
                let two = s.spawn(move || run("t1", b_ids, "ub"));
                let one = one.join().unwrap_or(Duration::ZERO);
                let two = two.join().unwrap_or(Duration::ZERO);
                one.max(two)
            })
        })
    });

    group.throughput(Throughput::Elements(1));
    let Ok(big) = TerminalQueue::new(["t0"], 180.0) else {
        return;
    };
    for (n, id) in ids("p").iter().enumerate() {
        let _ = big.enqueue(id, &format!("u{n}"), 0.0);
    }
    let probe = "p700";
    group.bench_function("position (1024 queued)", |b| {
        b.iter(|| black_box(big.position(black_box(probe))))
    });

    let Ok(locks) = LeaseLocks::new(180.0) else {
        return;
    };
    group.bench_function("lease lock acquire+release", |b| {
        b.iter(|| {
            if let Ok(Some(token)) = locks.acquire("user-1", 0.0) {
                let _ = locks.release("user-1", token, 0.0);
            }
        })
    });
    group.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
