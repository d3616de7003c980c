//! A sequence counter that lets readers take consistent, lock-free views of
//! state that one writer at a time mutates (the writer is serialised by the
//! queue's mutex; this counter only tells readers whether they raced it).
//!
//! The orderings are the canonical seqlock ones: the writer makes the counter
//! odd, then a release fence, then its stores; readers load the counter with
//! acquire, read, issue an acquire fence and re-load it. Every datum read
//! under it is itself an atomic or behind a lock, so a racing read is never
//! undefined, only discarded.
use std::sync::atomic::{fence, AtomicU64, Ordering};

use crossbeam::utils::CachePadded;

#[derive(Debug, Default)]
pub(crate) struct SeqLock {
    seq: CachePadded<AtomicU64>,
}

impl SeqLock {
    /// Begin a write: the caller must hold the writer mutex.
    pub(crate) fn write_begin(&self) {
        self.seq.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::Release);
    }

    /// End a write begun by [`SeqLock::write_begin`].
    pub(crate) fn write_end(&self) {
        self.seq.fetch_add(1, Ordering::Release);
    }

    /// Start an optimistic read; `None` while a writer is active.
    pub(crate) fn read_begin(&self) -> Option<u64> {
        let seq = self.seq.load(Ordering::Acquire);
        (seq & 1 == 0).then_some(seq)
    }

    /// True when no write began since `read_begin` returned `seq`.
    pub(crate) fn read_validate(&self, seq: u64) -> bool {
        fence(Ordering::Acquire);
        self.seq.load(Ordering::Relaxed) == seq
    }
}
