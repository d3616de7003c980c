//! The deduper's entries in insertion order: a FIFO of 24-byte entries
//! (digest, expiry) stored in fixed blocks, addressed by sequence number.
//!
//! Blocks of [`BLOCK`] entries are added at the back and freed from the front
//! as entries are popped, so the memory follows the number of entries held
//! (within one block at each end) instead of doubling like a `VecDeque`; a
//! popped block is kept as a spare so a steady stream of inserts and expiries
//! allocates nothing. A block is allocated but filled as entries come (the OS
//! maps its pages only when they are written), so a small deduper stays small.
use std::collections::VecDeque;

use super::digest::Digest;

/// Entries per block: 64 Ki entries, 1.5 MiB.
const BLOCK: usize = 1 << 16;

/// One key sighting: its digest and when it expires.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Entry {
    pub(crate) digest: Digest,
    pub(crate) expires: f64,
}

/// Sequence numbers are `u64` and never reused; entry `seq` lives at offset
/// `seq - base` from the start of `blocks[0]`.
#[derive(Default)]
pub(crate) struct Ring {
    /// Each of capacity [`BLOCK`]; all full but the last.
    blocks: VecDeque<Vec<Entry>>,
    /// Sequence number of `blocks[0][0]`.
    base: u64,
    /// Sequence number of the front entry.
    head: u64,
    /// Sequence number the next pushed entry gets.
    tail: u64,
    spare: Option<Vec<Entry>>,
}

impl Ring {
    pub(crate) fn len(&self) -> usize {
        usize::try_from(self.tail - self.head).unwrap_or(usize::MAX)
    }

    pub(crate) fn head(&self) -> u64 {
        self.head
    }

    /// The entry `seq`, if it is held.
    #[inline]
    pub(crate) fn get(&self, seq: u64) -> Option<&Entry> {
        if seq < self.head || seq >= self.tail {
            return None;
        }
        let offset = usize::try_from(seq - self.base).ok()?;
        self.blocks.get(offset / BLOCK)?.get(offset % BLOCK)
    }

    pub(crate) fn front(&self) -> Option<&Entry> {
        self.get(self.head)
    }

    /// Append an entry; returns its sequence number.
    pub(crate) fn push(&mut self, entry: Entry) -> u64 {
        if self.blocks.back().is_none_or(|block| block.len() == BLOCK) {
            let block = self
                .spare
                .take()
                .unwrap_or_else(|| Vec::with_capacity(BLOCK));
            self.blocks.push_back(block);
        }
        if let Some(block) = self.blocks.back_mut() {
            block.push(entry);
        }
        self.tail += 1;
        self.tail - 1
    }

    /// Remove the front entry; returns it with its sequence number.
    pub(crate) fn pop_front(&mut self) -> Option<(u64, Entry)> {
        let entry = *self.front()?;
        let seq = self.head;
        self.head += 1;
        if self.head - self.base == BLOCK as u64 {
            // the front block is used up
            self.base += BLOCK as u64;
            self.spare = self.blocks.pop_front().map(|mut block| {
                block.clear();
                block
            });
        }
        Some((seq, entry))
    }

    /// Every entry held, front to back, with its sequence number.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &Entry)> + '_ {
        (self.head..self.tail).filter_map(move |seq| self.get(seq).map(|e| (seq, e)))
    }

    /// Give every block back once empty (after a mass expiry); sequence
    /// numbers carry on from where they were.
    pub(crate) fn release_if_empty(&mut self) {
        if self.head == self.tail {
            self.blocks.clear();
            self.spare = None;
            self.base = self.tail;
        }
    }

    /// Entries allocated for (blocks and spare; not all of it is mapped).
    #[cfg(test)]
    pub(crate) fn allocated_entries(&self) -> usize {
        self.blocks
            .iter()
            .chain(&self.spare)
            .map(Vec::capacity)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u64) -> Entry {
        Entry {
            digest: [n, !n],
            expires: n as f64,
        }
    }

    #[test]
    fn fifo_across_blocks_reusing_the_spare() {
        let mut ring = Ring::default();
        let n = (BLOCK * 2 + 10) as u64;
        for i in 0..n {
            assert_eq!(ring.push(entry(i)), i);
        }
        assert_eq!(ring.len(), n as usize);
        assert_eq!(ring.get(BLOCK as u64 + 3), Some(&entry(BLOCK as u64 + 3)));
        assert_eq!(ring.get(n), None);
        for i in 0..(BLOCK as u64 + 5) {
            assert_eq!(ring.pop_front(), Some((i, entry(i))));
        }
        assert_eq!(ring.get(0), None);
        assert_eq!(ring.front(), Some(&entry(BLOCK as u64 + 5)));
        assert_eq!(ring.allocated_entries(), 3 * BLOCK); // two in use, one spare
        for i in n..n + BLOCK as u64 {
            ring.push(entry(i)); // reuses the spare
        }
        assert_eq!(ring.allocated_entries(), 3 * BLOCK);
        let seqs: Vec<u64> = ring.iter().map(|(s, _)| s).collect();
        assert_eq!(seqs.first(), Some(&(BLOCK as u64 + 5)));
        assert_eq!(seqs.len(), ring.len());
        while ring.pop_front().is_some() {}
        assert_eq!(ring.len(), 0);
        ring.release_if_empty();
        assert_eq!(ring.allocated_entries(), 0);
        let seq = ring.push(entry(7));
        assert_eq!(ring.get(seq), Some(&entry(7)));
    }
}
