"""Rows parking writes into the server's shared tables: `audit_log` and `outbox`.

Both are written inside the caller's transaction, so an audit entry or an
outgoing MQTT message commits or rolls back with the state change it explains.
Parking's audit entries have the session id as `subject`; what the payment part
audits has the payment id.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from payedge_server.contracts import Tx
from payedge_server.store.records import append_audit, enqueue_outbox

SRC = "payedge"


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def new_msg_id() -> str:
    return uuid.uuid4().hex


def audit(
    tx: Tx,
    action: str,
    *,
    session_id: str | None,
    actor: str,
    reason: str | None = None,
    payment_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one entry to the audit trail (who did what, why, when)."""
    entry: dict[str, Any] = dict(data or {})
    if reason is not None:
        entry["reason"] = reason
    if payment_id is not None:
        entry["payment_id"] = payment_id
    append_audit(tx, actor=actor, action=action, subject=session_id, data=entry)


def enqueue(tx: Tx, topic: str, payload: dict[str, Any]) -> None:
    """Write one outgoing MQTT message into the outbox (relayed after commit)."""
    enqueue_outbox(tx, topic, payload)


def audit_trail(tx: Tx, session_id: str, payment_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """The session's audit entries, with those of its payments, in order."""
    subjects = [session_id, *(payment_ids or [])]
    marks = ", ".join("?" for _ in subjects)
    rows = tx.fetchall(
        f"SELECT id, at, actor, action, subject, data FROM audit_log WHERE subject IN ({marks}) ORDER BY id",
        subjects,
    )
    trail = []
    for row in rows:
        data = loads(row[5]) if row[5] else {}
        trail.append(
            {
                "id": row[0],
                "at": row[1] / 1000,
                "actor": row[2],
                "action": row[3],
                "subject": row[4],
                "reason": data.pop("reason", None),
                "payment_id": data.pop("payment_id", row[4] if row[4] != session_id else None),
                "data": data,
            }
        )
    return trail
