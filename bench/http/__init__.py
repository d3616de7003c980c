"""HTTP load harness: payedge vs the Stripe-docs baseline vs a bare aiohttp handler (wrk)."""
