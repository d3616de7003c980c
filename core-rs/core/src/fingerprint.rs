//! Canonical request fingerprints for idempotency keys (SPEC 2.2).
