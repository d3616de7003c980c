"""Payment rows in the store: SQL only, typed in and out (`Payment`, `Attempt`, refund rows).

Every function takes the caller's transaction (`Tx`); none decides anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from payedge_server.contracts import Tx
from payedge_server.payments.model import Attempt, LastError, NextAction, Payment, PaymentStatus

_COLUMNS = (
    "id, amount, currency, gateway, status, version, created_at, updated_at, user_id, order_ref, "
    "payment_method, metadata, gateway_ref, amount_captured, amount_refunded, last_error_code, "
    "last_error_message, last_error_gateway_code, provider_at, locked_until, payee, commission_type, "
    "next_action, client_secret_hash, locale"
)
SELECT = f"SELECT {_COLUMNS} FROM payments"
_BY_ID = f"{SELECT} WHERE id = ?"  # built once: a webhook's lookup runs these per event
_BY_REF = f"{SELECT} WHERE gateway = ? AND gateway_ref = ?"


def from_row(row: Sequence[Any]) -> Payment:
    (pid, amount, currency, gateway, status, version, created, updated, user_id, order_ref, pm, metadata,
     ref, captured, refunded, err_code, err_message, err_gateway, provider_at, locked, payee,
     commission_type, action, secret_hash, locale) = row  # fmt: skip
    return Payment(
        id=pid,
        amount=amount,
        currency=currency,
        gateway=gateway,
        status=PaymentStatus(status),
        version=version,
        created_at=created,
        updated_at=updated,
        user_id=user_id,
        order_ref=order_ref,
        payment_method=pm,
        metadata=orjson.loads(metadata),
        gateway_ref=ref,
        amount_captured=captured,
        amount_refunded=refunded,
        last_error=LastError(err_code, err_message, err_gateway) if err_code is not None else None,
        provider_at=provider_at,
        locked_until=locked,
        payee=payee,
        commission_type=commission_type,
        next_action=NextAction.loads(action),
        client_secret_hash=secret_hash,
        locale=locale,
    )


def _values(p: Payment) -> tuple[Any, ...]:
    error = p.last_error
    return (
        p.id,
        p.amount,
        p.currency,
        p.gateway,
        p.status.value,
        p.version,
        p.created_at,
        p.updated_at,
        p.user_id,
        p.order_ref,
        p.payment_method,
        orjson.dumps(dict(p.metadata)).decode(),
        p.gateway_ref,
        p.amount_captured,
        p.amount_refunded,
        error.code if error else None,
        error.message if error else None,
        error.gateway_code if error else None,
        p.provider_at,
        p.locked_until,
        p.payee,
        p.commission_type,
        p.next_action.dumps() if p.next_action else None,
        p.client_secret_hash,
        p.locale,
    )


_INSERT = f"INSERT INTO payments ({_COLUMNS}) VALUES ({', '.join('?' * 25)})"
_UPDATE = (
    "UPDATE payments SET status = ?, version = ?, updated_at = ?, payment_method = ?, gateway_ref = ?, "
    "amount_captured = ?, amount_refunded = ?, last_error_code = ?, last_error_message = ?, "
    "last_error_gateway_code = ?, provider_at = ?, locked_until = ?, next_action = ? "
    "WHERE id = ? AND version = ?"
)


def load(tx: Tx, payment_id: str) -> Payment | None:
    row = tx.fetchone(_BY_ID, (payment_id,))
    return from_row(row) if row else None


def client_secret_hash(tx: Tx, payment_id: str) -> str | None:
    """The stored hash of the payment's client secret (None: no such payment, or none kept)."""
    row = tx.fetchone("SELECT client_secret_hash FROM payments WHERE id = ?", (payment_id,))
    return str(row[0]) if row and row[0] is not None else None


def find_by_ref(tx: Tx, gateway: str, ref: str) -> Payment | None:
    row = tx.fetchone(_BY_REF, (gateway, ref))
    return from_row(row) if row else None


def insert(tx: Tx, p: Payment) -> None:
    tx.execute(_INSERT, _values(p))


def update(tx: Tx, before: Payment, after: Payment) -> None:
    """Write `after` over `before` (same id); the row must still be at `before.version`."""
    error = after.last_error
    changed = tx.execute(
        _UPDATE,
        (
            after.status.value,
            after.version,
            after.updated_at,
            after.payment_method,
            after.gateway_ref,
            after.amount_captured,
            after.amount_refunded,
            error.code if error else None,
            error.message if error else None,
            error.gateway_code if error else None,
            after.provider_at,
            after.locked_until,
            after.next_action.dumps() if after.next_action else None,
            before.id,
            before.version,
        ),
    )
    if changed != 1:
        raise RuntimeError(f"payment {before.id} changed under a write (version {before.version})")


def append_history(tx: Tx, p: Payment, source: str) -> None:
    tx.execute(
        "INSERT INTO payment_status_history (payment_id, version, status, source, at) VALUES (?, ?, ?, ?, ?)",
        (p.id, p.version, p.status.value, source, p.updated_at),
    )


def history(tx: Tx, payment_id: str) -> list[dict[str, Any]]:
    return [
        {"version": v, "status": s, "source": src, "at": at // 1000}
        for v, s, src, at in tx.fetchall(
            "SELECT version, status, source, at FROM payment_status_history WHERE payment_id = ? "
            "ORDER BY version",
            (payment_id,),
        )
    ]


def insert_attempt(tx: Tx, payment_id: str, attempt: Attempt) -> None:
    tx.execute(
        "INSERT INTO payment_attempts (payment_id, gateway, outcome, error_code, latency_ms, at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (payment_id, attempt.gateway, attempt.outcome, attempt.error_code, attempt.latency_ms, attempt.at),
    )


def attempts(tx: Tx, payment_id: str) -> list[Attempt]:
    rows = tx.fetchall(
        "SELECT gateway, outcome, error_code, latency_ms, at FROM payment_attempts WHERE payment_id = ? "
        "ORDER BY id",
        (payment_id,),
    )
    return [Attempt(*row) for row in rows]


# -- refunds ------------------------------------------------------------------------------


def refunds_counted(tx: Tx, payment_id: str) -> int:
    """What is refunded or being refunded (`succeeded` and `pending` refund rows)."""
    row = tx.fetchone(
        "SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE payment_id = ? "
        "AND status IN ('pending', 'succeeded')",
        (payment_id,),
    )
    return int(row[0]) if row else 0


def insert_refund(
    tx: Tx,
    refund_id: str,
    payment_id: str,
    amount: int,
    status: str,
    *,
    at: int,
    gateway_ref: str | None = None,
    request_key: str | None = None,
) -> None:
    tx.execute(
        "INSERT INTO refunds (id, payment_id, amount, status, gateway_ref, request_key, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (refund_id, payment_id, amount, status, gateway_ref, request_key, at),
    )


def pending_refund(tx: Tx, payment_id: str, request_key: str) -> tuple[str, int] | None:
    """The refund a request with this key reserved and did not finish (a crash in between)."""
    row = tx.fetchone(
        "SELECT id, amount FROM refunds WHERE payment_id = ? AND request_key = ? AND status = 'pending'",
        (payment_id, request_key),
    )
    return (str(row[0]), int(row[1])) if row else None


def settle_refund(tx: Tx, refund_id: str, status: str, gateway_ref: str | None = None) -> None:
    tx.execute(
        "UPDATE refunds SET status = ?, gateway_ref = ? WHERE id = ?", (status, gateway_ref, refund_id)
    )


# -- routing (SPEC 5) ---------------------------------------------------------------------


def switch_gateway(tx: Tx, p: Payment, gateway: str, locked_until: int | None) -> Payment:
    """Move a held payment to the next gateway of its plan (nothing was taken by the last one).

    Bookkeeping, no new version: the provider object of the last gateway (`gateway_ref`)
    and what the payer had to do there (`next_action`) are gone with it.
    """
    changed = tx.execute(
        "UPDATE payments SET gateway = ?, gateway_ref = NULL, next_action = NULL, locked_until = ? "
        "WHERE id = ? AND version = ?",
        (gateway, locked_until, p.id, p.version),
    )
    if changed != 1:
        raise RuntimeError(f"payment {p.id} changed under a write (version {p.version})")
    return p.replace(gateway=gateway, gateway_ref=None, next_action=None, locked_until=locked_until)


def save_route(tx: Tx, payment_id: str, decision: dict[str, Any], at: int) -> None:
    """Keep a routed payment's latest decision (its row also marks the payment as routed)."""
    tx.execute(
        "INSERT INTO payment_routes (payment_id, decision, decided_at) VALUES (?, ?, ?) ON CONFLICT "
        "(payment_id) DO UPDATE SET decision = excluded.decision, decided_at = excluded.decided_at",
        (payment_id, orjson.dumps(decision).decode(), at),
    )


def route(tx: Tx, payment_id: str) -> dict[str, Any] | None:
    """A routed payment's latest decision; None for a payment pinned to its gateway."""
    row = tx.fetchone("SELECT decision FROM payment_routes WHERE payment_id = ?", (payment_id,))
    return dict(orjson.loads(row[0])) if row else None


def settle_attempt(tx: Tx, p: Payment) -> None:
    """The provider settled a `processing` attempt (callback, status read): the attempt says how.

    As a Hyperswitch payment attempt, its status follows the provider; only the newest
    attempt at the payment's gateway, and only while it is still `processing`.
    """
    error = p.last_error.code if p.last_error and not p.status.captured else None
    tx.execute(
        "UPDATE payment_attempts SET outcome = ?, error_code = ? WHERE id = (SELECT MAX(id) FROM "
        "payment_attempts WHERE payment_id = ? AND gateway = ?) AND outcome = 'processing'",
        (p.status.value, error, p.id, p.gateway),
    )
