"""Version 3: purging by age without scanning (issue 16: tables that grow with traffic).

An index on the time column of every table the housekeeping purges, so it deletes the
oldest rows in small batches; each grows at its right edge (times increase), so it
costs a write one cheap append.
"""

from __future__ import annotations

SQLITE: tuple[str, ...] = (
    "CREATE INDEX webhook_events_received ON webhook_events (received_at)",
    "CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL",
    "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)",
    "CREATE INDEX sandbox_deliveries_delivered ON sandbox_deliveries (delivered_at) "
    "WHERE delivered_at IS NOT NULL",
)
POSTGRES: tuple[str, ...] = SQLITE
