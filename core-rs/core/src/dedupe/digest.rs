//! The 128-bit keyed digest a [`Deduper`](super::Deduper) stores instead of a key.
//!
//! SipHash-1-3 with a 128-bit output (the `siphasher` crate), keyed with 128
//! random bits drawn from the OS for each deduper. SipHash is a pseudorandom
//! function: without the key, nobody can pick two ids that share a digest (or
//! that land in the same index bucket), so a false duplicate can only be the
//! accident whose probability the module documentation of
//! [`dedupe`](super) works out.
use siphasher::sip128::SipHasher13;

/// A key's digest: two 64-bit halves; `[0]` also places it in the index.
pub(crate) type Digest = [u64; 2];

/// A keyed 128-bit PRF over key bytes.
#[derive(Clone)]
pub(crate) struct Digester {
    sip: SipHasher13,
    /// Tests: a digest whose first half (the index hash) takes 4 values, so
    /// that every lookup walks a long chain of same-bucket, same-tag entries.
    #[cfg(test)]
    weak: bool,
}

impl Digester {
    /// A digester with a fresh random key.
    pub(crate) fn random() -> Self {
        let (k0, k1) = random_key();
        Self::with_keys(k0, k1)
    }

    pub(crate) fn with_keys(k0: u64, k1: u64) -> Self {
        Digester {
            sip: SipHasher13::new_with_keys(k0, k1),
            #[cfg(test)]
            weak: false,
        }
    }

    #[cfg(test)]
    pub(crate) fn weak() -> Self {
        Digester {
            weak: true,
            ..Self::with_keys(0, 0)
        }
    }

    #[inline]
    pub(crate) fn digest(&self, key: &[u8]) -> Digest {
        let h = self.sip.hash(key);
        #[cfg(test)]
        if self.weak {
            return [h.h1 % 4, h.h2];
        }
        [h.h1, h.h2]
    }
}

impl std::fmt::Debug for Digester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Digester(<secret key>)")
    }
}

/// 128 random bits from the OS (`getrandom`). Should the OS refuse (it does
/// not on any supported platform), the standard library's per-process random
/// SipHash keys, which it draws from the OS once at start, are used instead.
fn random_key() -> (u64, u64) {
    match (getrandom::u64(), getrandom::u64()) {
        (Ok(k0), Ok(k1)) => (k0, k1),
        _ => {
            use std::hash::BuildHasher;
            let state = std::collections::hash_map::RandomState::new();
            (state.hash_one(0u8), state.hash_one(1u8))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_and_deterministic_per_instance() {
        let a = Digester::with_keys(1, 2);
        assert_eq!(a.digest(b"evt_1"), a.digest(b"evt_1"));
        assert_ne!(a.digest(b"evt_1"), a.digest(b"evt_2"));
        assert_ne!(
            a.digest(b"evt_1"),
            Digester::with_keys(1, 3).digest(b"evt_1")
        );
        // two random instances disagree (with overwhelming probability)
        assert_ne!(
            Digester::random().digest(b"evt_1"),
            Digester::random().digest(b"evt_1")
        );
    }
}
