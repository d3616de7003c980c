//! Verified Stripe event parsing (SPEC 2.1 parse_stripe_event).
