//! Webhook signatures: Stripe, Standard Webhooks, plain HMAC (SPEC 2.1).
