"""Version 7: routing (SPEC 5).

- payment_routes: the routing decision of each payment that named no gateway (the rule,
  the approach, the gateways in try order, those left out and why), as JSON; written at
  creation (the provisional choice) and replaced at each confirm. A payment without a row
  is pinned to its gateway. Kept like the payments themselves (a business record).
- payment_attempts(at): `GET /v1/gateways/stats` aggregates the attempts of a time window.

Portable DDL, the same for both stores.
"""

from __future__ import annotations

SQLITE: tuple[str, ...] = (
    """CREATE TABLE payment_routes (
        payment_id TEXT PRIMARY KEY,
        decision TEXT NOT NULL,
        decided_at BIGINT NOT NULL
    )""",
    "CREATE INDEX payment_attempts_at ON payment_attempts (at)",
)
POSTGRES: tuple[str, ...] = SQLITE
