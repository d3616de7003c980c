"""Housekeeping: rows that grow with traffic are purged by age, in small batches.

An edge that ingests thousands of events a second runs for months: every table that
gains a row per request has a retention here (issue 16), and the purge never stalls
the store's group commit: each batch deletes at most `BATCH` rows (oldest first,
found through an index on the time column) in one ordinary `store.write`, sharing its
commit with the traffic, and the loop yields between batches. SQLite reuses the freed
pages, so the database file stops growing once the retention window is full.

Kept for ever: the tables of `KEPT`, each with the reason (business records, the audit
log, the ledger, small bounded tables). A table in neither the plan, `LIVE_FEED` nor
`KEPT` fails tests/server/store/test_housekeeping.py: a new migration's table waits
for someone to decide.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from payedge_server import metrics
from payedge_server.config.sections.retention import RetentionConfig
from payedge_server.contracts import Store, Tx

log = logging.getLogger("payedge.housekeeping")

BATCH = 1000
MAX_BATCHES = 1000  # per table and purge: a backlog is worked off over several purges
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Purge:
    """Rows of `table` whose `column` (UNIX ms) is older than `keep_ms`, found by their `key`."""

    table: str
    key: str  # the key column(s), e.g. "id" or "provider, event_id"
    column: str
    keep_ms: int
    only: str = ""  # an extra condition (e.g. only rows already sent)

    @property
    def sql(self) -> str:
        condition = f"{self.column} < ?" + (f" AND {self.only}" if self.only else "")
        return (
            f"DELETE FROM {self.table} WHERE ({self.key}) IN (SELECT {self.key} FROM {self.table} "
            f"WHERE {condition} ORDER BY {self.column} LIMIT ?)"
        )


def purges(retention: RetentionConfig) -> tuple[Purge, ...]:
    """Every table that grows per request, with its retention."""
    return (
        Purge("webhook_events", "provider, event_id", "received_at", int(retention.webhook_events * 1000)),
        Purge("outbox", "id", "sent_at", int(retention.outbox * 1000), "sent_at IS NOT NULL"),
        # SPEC 3: an Idempotency-Key lives 24 hours.
        Purge("idempotency_keys", "key", "created_at", DAY_MS),
        # Far beyond any broker redelivery of an MQTT message (its msg_id is the dedupe key).
        Purge("processed_messages", "msg_id", "processed_at", 30 * DAY_MS),
        # The sandbox's async webhooks once delivered (kept a day to look at).
        Purge("sandbox_deliveries", "event_id", "delivered_at", DAY_MS, "delivered_at IS NOT NULL"),
        # Dashboard sessions once expired (SPEC 8: 12 hours; a sign-out deletes its row at once).
        Purge("dashboard_sessions", "id_hash", "expires_at", 0),
    )


# The workers' live fan-out (live_feed.py, --workers N): trimmed by the feed itself, a minute
# behind, in the same bounded batches.
LIVE_FEED_KEEP_MS = 60_000
LIVE_FEED = Purge("live_feed", "id", "at", LIVE_FEED_KEEP_MS)

# Never purged, and why (docs/server.md, "Retention", lists them).
KEPT: dict[str, str] = {
    "payments": "business record: what was paid, by whom, for how much",
    "payment_status_history": "business record: every status a payment took, and what moved it",
    "payment_attempts": "business record: each gateway attempt of a payment (GET /v1/gateways/stats)",
    "payment_routes": "business record: the routing decision of a payment",
    "provider_attempts": "maps a payment's attempts to the provider's ids: a late webhook or a "
    "refund months later must still find its payment",
    "refunds": "business record: money sent back",
    "audit_log": "the audit trail: append-only (triggers refuse UPDATE and DELETE)",
    "ledger_accounts": "the ledger: balances are the sum of its transfers, never deleted",
    "ledger_transfers": "the ledger: double-entry postings are immutable history",
    "ledger_pending": "the ledger: the state of each two-phase transfer, read to post or void it",
    "ledger_payment_postings": "the ledger: which payment was posted to which payee, once",
    "ledger_refund_holds": "the ledger: each refund's hold on the payee's balance",
    "ledger_invoices": "legal record: an invoice is kept for the years the law requires",
    "ledger_invoice_counters": "one row per series and year: invoice numbers never reused",
    "orders": "business record: what a customer ordered and its payment",
    "products": "the catalog: written by the operator, bounded by it",
    "parking_sessions": "business record: a vehicle's stay, its price and payment (the barrier's why)",
    "parking_settings": "a few rows of settings (the fallback mode)",
    "parking_trusted": "the operator's trusted badges and PINs, bounded by the operator",
    "schema_migrations": "one row per schema version",
}


async def purge_once(store: Store, plan: Sequence[Purge], *, now_ms: int | None = None) -> dict[str, int]:
    """Delete what is past its retention, table by table, a batch per write; returns rows deleted."""
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    deleted: dict[str, int] = {}
    for purge in plan:
        total = 0
        delete = functools.partial(_delete, purge=purge, cutoff=now - purge.keep_ms)
        for _ in range(MAX_BATCHES):
            n = await store.write(delete)
            total += n
            if n < BATCH:
                break
            await asyncio.sleep(0)  # let requests in between batches
        if total:
            metrics.PURGED.labels(purge.table).inc(total)
        deleted[purge.table] = total
    return deleted


def _delete(tx: Tx, *, purge: Purge, cutoff: int) -> int:
    return tx.execute(purge.sql, (cutoff, BATCH))


async def run_forever(store: Store, plan: Sequence[Purge], every: float) -> None:
    """Purge every `every` seconds until cancelled; a failure is logged and retried next time."""
    while True:
        try:
            deleted = await purge_once(store, plan)
            if any(deleted.values()):
                log.info("purged %s", ", ".join(f"{t}: {n}" for t, n in deleted.items() if n))
        except Exception:
            log.exception("housekeeping purge failed")
        await asyncio.sleep(every)
