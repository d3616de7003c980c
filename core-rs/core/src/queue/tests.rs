use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;

use super::*;

fn ids(snapshot: &Snapshot) -> Vec<&str> {
    snapshot.queue.iter().map(|s| &**s).collect()
}

fn code<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Ok(v) => format!("ok {v:?}"),
        Err(e) => e.code().to_owned(),
    }
}

#[test]
fn fifo_positions_and_idempotent_enqueue() -> Result<()> {
    let q = TerminalQueue::new(["t1", "t2"], 180.0)?;
    assert_eq!(q.enqueue("p1", "u1", 0.0)?, 1);
    assert_eq!(q.enqueue("p2", "u2", 0.0)?, 2);
    assert_eq!(q.enqueue("p3", "u3", 0.0)?, 3);
    assert_eq!(q.enqueue("p2", "u2", 1.0)?, 2, "idempotent");
    assert_eq!(code(q.enqueue("p2", "u9", 1.0)), "invalid_argument");
    assert_eq!(q.position("p3"), Some(3));
    assert_eq!(q.position("nope"), None);
    let lease = q.allocate("t1", 1.0)?;
    assert_eq!(
        lease
            .as_ref()
            .map(|l| (&*l.payment_id, l.token, l.expires_at)),
        Some(("p1", 1, 181.0))
    );
    assert_eq!(q.position("p1"), None);
    assert_eq!(q.position("p2"), Some(1));
    assert_eq!(q.position("p3"), Some(2));
    assert_eq!(code(q.enqueue("p1", "u1", 2.0)), "already_allocated");
    assert_eq!(code(q.allocate("t1", 2.0)), "terminal_busy");
    assert_eq!(code(q.allocate("t9", 2.0)), "unknown_terminal");
    q.complete(1, 3.0)?;
    assert_eq!(code(q.complete(1, 3.0)), "stale_lease");
    assert_eq!(q.position("p1"), None);
    Ok(())
}

#[test]
fn allocation_skips_users_with_a_live_lease() -> Result<()> {
    let q = TerminalQueue::new(["t1", "t2", "t3"], 10.0)?;
    q.enqueue("a1", "alice", 0.0)?;
    q.enqueue("a2", "alice", 0.0)?;
    q.enqueue("b1", "bob", 0.0)?;
    let first = q.allocate("t1", 0.0)?.map(|l| l.payment_id);
    assert_eq!(first.as_deref(), Some("a1"));
    let second = q.allocate("t2", 0.0)?.map(|l| l.payment_id);
    assert_eq!(
        second.as_deref(),
        Some("b1"),
        "alice holds a lease: a2 is skipped"
    );
    assert_eq!(q.allocate("t3", 0.0)?, None, "only alice is waiting");
    assert_eq!(q.position("a2"), Some(1));
    assert!(q.cancel("a1"), "ends alice's lease");
    let third = q.allocate("t1", 0.0)?.map(|l| l.payment_id);
    assert_eq!(third.as_deref(), Some("a2"));
    Ok(())
}

#[test]
fn expired_leases_go_back_to_the_front_in_enqueue_order() -> Result<()> {
    let q = TerminalQueue::new(["t1", "t2", "t3"], 10.0)?;
    for (p, u) in [("p1", "u1"), ("p2", "u2"), ("p3", "u3"), ("p4", "u4")] {
        q.enqueue(p, u, 0.0)?;
    }
    // allocate p1 at 5 (expires 15), p2 at 0 (expires 10)
    let l2 = q.allocate("t2", 0.0)?;
    let l1 = q.allocate("t1", 5.0)?;
    assert_eq!(l2.as_ref().map(|l| &*l.payment_id), Some("p1"));
    assert_eq!(l1.as_ref().map(|l| &*l.payment_id), Some("p2"));
    q.enqueue("p5", "u5", 6.0)?;
    assert_eq!(q.expire(14.999)?.len(), 1, "only the lease expiring at 10");
    assert_eq!(ids(&q.snapshot()), ["p1", "p3", "p4", "p5"]);
    // lazy expiry through a failing call: t9 is unknown but p2 expires first
    assert_eq!(code(q.allocate("t9", 15.0)), "unknown_terminal");
    assert_eq!(ids(&q.snapshot()), ["p2", "p1", "p3", "p4", "p5"]);
    assert_eq!(q.position("p2"), Some(1));
    assert_eq!(q.position("p5"), Some(5));
    assert!(
        q.expire(15.0)?.is_empty(),
        "already ended by the lazy expiry"
    );
    // both expire in the same call: front, in original enqueue order
    let a = q.allocate("t1", 20.0)?.map(|l| l.token);
    let b = q.allocate("t2", 21.0)?.map(|l| l.token);
    assert_eq!((a, b), (Some(3), Some(4)));
    let ended = q.expire(40.0)?;
    let ended: Vec<&str> = ended.iter().map(|l| &*l.payment_id).collect();
    assert_eq!(ended, ["p1", "p2"]);
    assert_eq!(ids(&q.snapshot()), ["p1", "p2", "p3", "p4", "p5"]);
    assert_eq!(code(q.complete(3, 40.0)), "stale_lease");
    assert_eq!(code(q.extend(4, 40.0)), "stale_lease");
    Ok(())
}

#[test]
fn expiry_boundary_and_extend() -> Result<()> {
    let q = TerminalQueue::new(["t1"], 10.0)?;
    q.enqueue("p1", "u1", 0.0)?;
    let token = q.allocate("t1", 0.0)?.map_or(0, |l| l.token);
    assert_eq!(q.extend(token, 5.0)?, 15.0);
    assert_eq!(q.extend(token, 1.0)?, 15.0, "never shortened");
    assert!(q.expire(14.999)?.is_empty());
    assert_eq!(
        code(q.complete(token, 15.0)),
        "stale_lease",
        "expired at now == expires_at"
    );
    assert_eq!(q.position("p1"), Some(1));
    let snapshot = q.snapshot();
    assert_eq!(snapshot.terminals, vec![(Arc::from("t1"), None)]);
    Ok(())
}

#[test]
fn bad_arguments_name_their_field() {
    let msg = |r: Result<TerminalQueue>| r.err().map(|e| e.to_string());
    assert!(msg(TerminalQueue::new(["t1", "t1"], 1.0)).is_some_and(|m| m.starts_with("terminals:")));
    assert!(msg(TerminalQueue::new(Vec::<String>::new(), 1.0))
        .is_some_and(|m| m.starts_with("terminals:")));
    assert!(msg(TerminalQueue::new(["t1"], f64::NAN)).is_some_and(|m| m.starts_with("lock_ttl:")));
    assert!(msg(TerminalQueue::new(["t1"], -1.0)).is_some_and(|m| m.starts_with("lock_ttl:")));
    let Ok(q) = TerminalQueue::new(["t1"], 1.0) else {
        return;
    };
    assert!(q.enqueue("p", "u", f64::INFINITY).is_err());
    assert!(q
        .enqueue("", "u", 0.0)
        .is_err_and(|e| e.to_string().starts_with("payment_id:")));
    assert!(q
        .enqueue("p", "", 0.0)
        .is_err_and(|e| e.to_string().starts_with("user_id:")));
    assert!(q.is_empty());
}

#[test]
fn middle_removals_keep_positions_exact() -> Result<()> {
    let q = TerminalQueue::new(["t1"], 10.0)?;
    let n = 50;
    for i in 0..n {
        q.enqueue(&format!("p{i}"), &format!("u{i}"), 0.0)?;
    }
    let mut expected: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
    for i in [3, 40, 0, 25, 49, 24, 1] {
        let id = format!("p{i}");
        assert!(q.cancel(&id));
        expected.retain(|p| *p != id);
        for (pos, p) in expected.iter().enumerate() {
            assert_eq!(q.position(p), Some(pos + 1), "{p}");
        }
    }
    assert!(!q.cancel("p3"));
    assert_eq!(q.len(), expected.len());
    Ok(())
}

/// (token, payment id) of each allocation, tokens completed.
type WorkerLog = (Vec<(u64, String)>, Vec<u64>);

/// Several threads enqueue, allocate and complete (and let some leases
/// expire) while readers take snapshots. Afterwards: a payment never holds
/// two live leases, a user never holds two, tokens are unique and each
/// thread sees them increase, nothing is lost.
#[test]
fn concurrent_workers_keep_the_invariants() -> Result<()> {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 400;
    let terminals: Vec<String> = (0..THREADS).map(|i| format!("t{i}")).collect();
    let q = TerminalQueue::new(&terminals, 5.0)?;
    let clock = AtomicI64::new(0);
    let done = AtomicBool::new(false);
    let (results, violations) = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut violations = Vec::new();
            let mut rounds = 0;
            while !done.load(Ordering::Relaxed) && rounds < 100_000 {
                rounds += 1;
                let snap = q.snapshot();
                let leases: Vec<&Lease> = snap
                    .terminals
                    .iter()
                    .filter_map(|(_, l)| l.as_ref())
                    .collect();
                let users: HashSet<&str> = leases.iter().map(|l| &*l.user_id).collect();
                let leased: HashSet<&str> = leases.iter().map(|l| &*l.payment_id).collect();
                if users.len() != leases.len() {
                    violations.push(format!("a user holds two leases: {leases:?}"));
                }
                if snap.queue.iter().any(|p| leased.contains(&**p)) || leased.len() != leases.len()
                {
                    violations.push(format!("a payment is both queued and leased: {snap:?}"));
                }
                if let Some(p) = snap.queue.first() {
                    // positions are read without the writer lock: always >= 1
                    if q.position(p) == Some(0) {
                        violations.push("position 0".into());
                    }
                }
            }
            violations
        });
        let workers: Vec<_> = terminals
            .iter()
            .enumerate()
            .map(|(w, terminal)| {
                let (q, clock) = (&q, &clock);
                s.spawn(move || -> Result<WorkerLog> {
                    let mut allocations = Vec::new();
                    let mut completed = Vec::new();
                    for i in 0..PER_THREAD {
                        // users shared across threads: lots of skipping
                        q.enqueue(
                            &format!("w{w}-{i}"),
                            &format!("u{}", i % 7),
                            clock.load(Ordering::Relaxed) as f64,
                        )?;
                        let now = clock.fetch_add(1, Ordering::Relaxed) as f64;
                        let lease = match q.allocate(terminal, now) {
                            // a "crashed" holder still has it: wait for its expiry
                            Err(e) if e.code() == "terminal_busy" => None,
                            other => other?,
                        };
                        if let Some(lease) = lease {
                            allocations.push((lease.token, lease.payment_id.to_string()));
                            // one in 5 holders "crashes": its lease expires later
                            if i % 5 != 0 {
                                // another thread's later clock may have expired it first
                                match q.complete(lease.token, now) {
                                    Ok(()) => completed.push(lease.token),
                                    Err(Error::StaleLease { .. }) => {}
                                    Err(e) => return Err(e),
                                }
                            }
                        }
                    }
                    Ok((allocations, completed))
                })
            })
            .collect();
        let results: Vec<Result<WorkerLog>> =
            workers.into_iter().filter_map(|h| h.join().ok()).collect();
        done.store(true, Ordering::Relaxed);
        (
            results,
            reader
                .join()
                .unwrap_or_else(|_| vec!["reader panicked".into()]),
        )
    });
    assert!(violations.is_empty(), "{violations:?}");
    let mut all_tokens = Vec::new();
    let mut completed_payments = HashSet::new();
    let mut allocations_of: HashMap<String, usize> = HashMap::new();
    assert_eq!(results.len(), THREADS);
    for result in results {
        let (allocations, completed) = result?;
        let tokens: Vec<u64> = allocations.iter().map(|(t, _)| *t).collect();
        assert!(
            tokens.windows(2).all(|w| w[0] < w[1]),
            "tokens increase per thread"
        );
        let completed: HashSet<u64> = completed.into_iter().collect();
        for (token, payment) in allocations {
            *allocations_of.entry(payment.clone()).or_default() += 1;
            if completed.contains(&token) {
                assert!(
                    completed_payments.insert(payment),
                    "a payment completed twice"
                );
            }
        }
        all_tokens.extend(tokens);
    }
    let unique: HashSet<u64> = all_tokens.iter().copied().collect();
    assert_eq!(unique.len(), all_tokens.len(), "tokens are unique");
    // Drain: let every lease expire, then allocate and complete everything left.
    let mut now = clock.load(Ordering::Relaxed) as f64 + 10.0;
    q.expire(now)?;
    let mut rounds = 0;
    while let Some(lease) = q.allocate("t0", now)? {
        assert!(
            completed_payments.insert(lease.payment_id.to_string()),
            "completed twice"
        );
        q.complete(lease.token, now)?;
        now += 1.0;
        rounds += 1;
        assert!(rounds <= THREADS * PER_THREAD);
    }
    assert_eq!(
        completed_payments.len(),
        THREADS * PER_THREAD,
        "nothing lost"
    );
    assert!(q.is_empty());
    assert!(allocations_of.values().all(|n| *n >= 1));
    Ok(())
}
