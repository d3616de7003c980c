//! Lease locks with fencing tokens (SPEC 2.4).
