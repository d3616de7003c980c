"""Version 2: typed payments, converging webhooks, one clock policy for stored times.

- payments: the provider's own error code, the provider time of the newest state
  applied (SPEC 3.1), the operation lock in milliseconds; attempts kept per payment;
- webhook_events: the payedge id an event echoes, the effect of an event waiting for
  its payment, why a signed event could not be applied; indexes on the waiting ones;
- every stored time is UNIX milliseconds: the columns 0.1.0 kept as REAL seconds
  (idempotency keys, sandbox deliveries, parking, live feed) are converted in place.
  (A device's event time, `parking_sessions.*_ts`, stays the UNIX seconds it sent.)
"""

from __future__ import annotations


def _to_ms(table: str, column: str, *, not_null: bool, indexes: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Statements turning a REAL seconds column into INTEGER milliseconds, keeping its name."""
    tmp = f"{column}_ms"
    default = " NOT NULL DEFAULT 0" if not_null else ""
    return (
        *(f"DROP INDEX IF EXISTS {name}" for name in indexes),
        f"ALTER TABLE {table} ADD COLUMN {tmp} INTEGER{default}",
        f"UPDATE {table} SET {tmp} = CAST(ROUND({column} * 1000) AS INTEGER) WHERE {column} IS NOT NULL",
        f"ALTER TABLE {table} DROP COLUMN {column}",
        f"ALTER TABLE {table} RENAME COLUMN {tmp} TO {column}",
    )


SQLITE: tuple[str, ...] = (
    "ALTER TABLE payments ADD COLUMN last_error_gateway_code TEXT",
    "ALTER TABLE payments ADD COLUMN provider_at INTEGER",
    *_to_ms("payments", "locked_until", not_null=False),
    """CREATE TABLE payment_attempts (
        id INTEGER PRIMARY KEY,
        payment_id TEXT NOT NULL,
        gateway TEXT NOT NULL,
        outcome TEXT NOT NULL,
        error_code TEXT,
        latency_ms INTEGER NOT NULL,
        at INTEGER NOT NULL
    )""",
    "CREATE INDEX payment_attempts_payment ON payment_attempts (payment_id, id)",
    "ALTER TABLE webhook_events ADD COLUMN hint TEXT",
    "ALTER TABLE webhook_events ADD COLUMN effect TEXT",
    "ALTER TABLE webhook_events ADD COLUMN problem TEXT",
    "CREATE INDEX webhook_events_waiting_object ON webhook_events (provider, object_id) "
    "WHERE outcome = 'unknown_object'",
    "CREATE INDEX webhook_events_waiting_hint ON webhook_events (provider, hint) "
    "WHERE outcome = 'unknown_object' AND hint IS NOT NULL",
    *_to_ms("idempotency_keys", "created_at", not_null=True),
    *_to_ms("sandbox_deliveries", "due_at", not_null=True, indexes=("sandbox_deliveries_pending",)),
    *_to_ms("sandbox_deliveries", "claimed_until", not_null=False),
    "CREATE INDEX sandbox_deliveries_pending ON sandbox_deliveries (due_at) WHERE delivered_at IS NULL",
    *_to_ms("parking_sessions", "created_at", not_null=True),
    *_to_ms("parking_sessions", "updated_at", not_null=True),
    *_to_ms("processed_messages", "processed_at", not_null=True, indexes=("processed_messages_at",)),
    "CREATE INDEX processed_messages_at ON processed_messages (processed_at)",
    *_to_ms("parking_trusted", "created_at", not_null=True),
    *_to_ms("parking_settings", "updated_at", not_null=True),
    *_to_ms("live_feed", "at", not_null=True, indexes=("live_feed_at",)),
    "CREATE INDEX live_feed_at ON live_feed (at)",
)
