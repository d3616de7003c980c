//! Idempotency-key cache: begin / complete / abandon (SPEC 2.2).
