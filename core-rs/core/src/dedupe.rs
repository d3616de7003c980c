//! In-memory event dedupe with TTL and bounded memory (SPEC 2.2).
