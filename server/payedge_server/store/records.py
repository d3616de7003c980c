"""Helpers every part uses inside a write: append to the audit log, queue an outbox message."""

from __future__ import annotations

import time
from typing import Any

import orjson

from payedge_server.contracts import Tx


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def append_audit(
    tx: Tx, *, actor: str, action: str, subject: str | None, data: dict[str, Any] | None = None
) -> None:
    """Append one row to the audit log (never updated, never deleted)."""
    tx.execute(
        "INSERT INTO audit_log (at, actor, action, subject, data) VALUES (?, ?, ?, ?, ?)",
        (now_ms(), actor, action, subject, orjson.dumps(data or {}).decode()),
    )


def enqueue_outbox(tx: Tx, topic: str, payload: dict[str, Any]) -> int:
    """Queue a message (e.g. MQTT) in the same transaction as the change that causes it."""
    # Its relay reads "id > last published": ids must be committed in id order, also when
    # several connections (PostgreSQL) write at once.
    tx.lock("payedge:outbox")
    row = tx.fetchone(
        "INSERT INTO outbox (topic, payload, created_at) VALUES (?, ?, ?) RETURNING id",
        (topic, orjson.dumps(payload), now_ms()),
    )
    return int(row[0]) if row else 0
