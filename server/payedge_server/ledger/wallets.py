"""Wallet reads: balances per currency, transactions (cursor), statistics (SPEC 6)."""

from __future__ import annotations

import heapq
from typing import Any

from payedge_server.contracts import Tx
from payedge_server.ledger import engine
from payedge_server.ledger.model import StoredTransfer, TransferKind

FAR_FUTURE = 2**62


def _prefix(owner: str) -> str:
    return f"wallet:{owner}:"


def balances(tx: Tx, owner: str) -> dict[str, Any]:
    """`{"owner", "balances": {"EUR": {"available", "pending_out", "credited", "debited"}}}`.

    credited/debited: posted credits/debits; pending_out: pending debits (holds);
    available = credited - debited - pending_out.
    """
    out: dict[str, Any] = {}
    for account in engine.accounts_with_prefix(tx, _prefix(owner)):
        out[account.currency] = {
            "available": account.credits_posted - account.debits_posted - account.debits_pending,
            "pending_out": account.debits_pending,
            "credited": account.credits_posted,
            "debited": account.debits_posted,
        }
    return {"owner": owner, "balances": out}


def _status(tx: Tx, t: StoredTransfer) -> str:
    if t.kind is TransferKind.PENDING:
        found = engine.pending_state(tx, t.id)
        return found[0].value if found else "pending"
    return "voided" if t.kind is TransferKind.VOID else "posted"


def _item(tx: Tx, t: StoredTransfer, account: str) -> dict[str, Any]:
    credit = t.credit_account == account
    return {
        "id": t.id,
        "object": "wallet_transaction",
        "type": t.code,
        "kind": t.kind.value,
        "direction": "credit" if credit else "debit",
        "amount": t.amount,
        "currency": t.currency,
        "counterparty": t.debit_account if credit else t.credit_account,
        "status": _status(tx, t),
        "pending_id": t.pending_id,
        "ref": t.ref,
        "created": t.ts // 1_000_000,
    }


def _page(tx: Tx, side: str, account: str, before: tuple[int, str], limit: int) -> list[StoredTransfer]:
    rows = tx.fetchall(
        f"SELECT {engine.TRANSFER_COLUMNS} FROM ledger_transfers WHERE {side} = ? "
        "AND (ts < ? OR (ts = ? AND id < ?)) ORDER BY ts DESC, id DESC LIMIT ?",
        (account, before[0], before[0], before[1], limit),
    )
    return [engine.transfer_from_row(r) for r in rows]


def transactions(
    tx: Tx, owner: str, *, currency: str | None, limit: int, starting_after: str | None
) -> dict[str, Any] | None:
    """Newest first; `starting_after` is the last id of the previous page. None: unknown cursor."""
    before: tuple[int, str] = (FAR_FUTURE, "")
    if starting_after is not None:
        cursor = engine.get_transfer(tx, starting_after)
        if cursor is None:
            return None
        before = (cursor.ts, cursor.id)
    accounts = [
        a.code
        for a in engine.accounts_with_prefix(tx, _prefix(owner))
        if currency is None or a.currency == currency
    ]
    pages = [
        [(t, code) for t in _page(tx, side, code, before, limit + 1)]
        for code in accounts
        for side in ("debit_account", "credit_account")
    ]
    merged = list(heapq.merge(*pages, key=lambda pair: (pair[0].ts, pair[0].id), reverse=True))
    page = merged[: limit + 1]
    return {
        "object": "list",
        "data": [_item(tx, t, code) for t, code in page[:limit]],
        "has_more": len(page) > limit,
    }


def statistics(tx: Tx, owner: str, *, since_ms: int, until_ms: int) -> dict[str, Any]:
    """Posted money in and out of each of the owner's wallets in [since, until), by type."""
    currencies: dict[str, Any] = {}
    for account in engine.accounts_with_prefix(tx, _prefix(owner)):
        by_type: dict[str, dict[str, int]] = {}
        for side, key in (("credit_account", "credited"), ("debit_account", "debited")):
            rows = tx.fetchall(
                f"SELECT code, COUNT(*), SUM(amount) FROM ledger_transfers WHERE {side} = ? AND ts >= ? "
                "AND ts < ? AND kind IN ('single', 'post') GROUP BY code",
                (account.code, since_ms * 1000, until_ms * 1000),
            )
            for code, count, total in rows:
                figures = by_type.setdefault(code, {"count": 0, "credited": 0, "debited": 0})
                figures["count"] += int(count)
                figures[key] += int(total)
        credited = sum(f["credited"] for f in by_type.values())
        debited = sum(f["debited"] for f in by_type.values())
        currencies[account.currency] = {
            "credited": credited,
            "debited": debited,
            "net": credited - debited,
            "transactions": sum(f["count"] for f in by_type.values()),
            "by_type": by_type,
            "pending_out": account.debits_pending,
        }
    return {"owner": owner, "currencies": currencies}
