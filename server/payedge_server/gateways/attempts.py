"""Attempts at providers that take payedge's own ids: the attempt <-> provider id mapping.

CinetPay (`transaction_id`), MTN MoMo (`X-Reference-Id`) and Orange Money (`order_id`)
identify a payment attempt by an id the merchant makes, and refuse a reused one.
Each confirm that starts a new attempt makes a fresh id and records it here, in
a store write of its own, BEFORE the request is sent: whatever happens next (a
timeout, a crash), the id is known and a status read can settle the attempt.

States: `sending` (recorded, the answer not read yet), `open` (the provider
created it; `token` holds what a later status read needs), `abandoned` (the
provider never gave the payer a way to pay it: its answer was lost, so the link
or token never reached anyone; nothing can be paid through it).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from payedge_server.contracts import Store, Tx

_COLUMNS = "gateway, provider_ref, payment_id, amount, currency, state, token, callback_digest, created_at"
_INSERT = f"INSERT INTO provider_attempts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_SELECT = f"SELECT {_COLUMNS} FROM provider_attempts"
_LATEST = f"{_SELECT} WHERE payment_id = ? AND gateway = ? ORDER BY created_at DESC, provider_ref LIMIT 8"
_UPDATE = (
    "UPDATE provider_attempts SET state = ?, token = ?, callback_digest = ? "
    "WHERE gateway = ? AND provider_ref = ? AND state <> 'abandoned'"
)


class AttemptState(StrEnum):
    SENDING = "sending"
    OPEN = "open"
    ABANDONED = "abandoned"


def digest(secret: str) -> str:
    """What is stored of a token a callback must echo (the token itself never is)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ProviderAttempt:
    gateway: str
    provider_ref: str
    payment_id: str
    amount: int  # ISO minor units, as sent
    currency: str  # payedge's currency
    state: AttemptState = AttemptState.SENDING
    token: str | None = None
    callback_digest: str | None = None
    created_at: int = 0  # UNIX ms

    @property
    def age(self) -> float:
        """Seconds since the attempt was recorded."""
        return time.time() - self.created_at / 1000


def _row(row: Sequence[Any]) -> ProviderAttempt:
    gateway, ref, payment_id, amount, currency, state, token, callback, created = row
    return ProviderAttempt(
        gateway, ref, payment_id, amount, currency, AttemptState(state), token, callback, created
    )


class AttemptLog:
    """One gateway's attempts on the store (each call is its own short read or write)."""

    def __init__(self, store: Store, gateway: str) -> None:
        self.store = store
        self.gateway = gateway

    async def start(self, attempt: ProviderAttempt) -> ProviderAttempt:
        """Record an attempt before its request is sent (durable once this returns)."""
        recorded = replace(attempt, state=AttemptState.SENDING, created_at=time.time_ns() // 1_000_000)
        values = (
            recorded.gateway,
            recorded.provider_ref,
            recorded.payment_id,
            recorded.amount,
            recorded.currency,
            recorded.state.value,
            recorded.token,
            recorded.callback_digest,
            recorded.created_at,
        )
        await self.store.write(lambda tx: tx.execute(_INSERT, values))
        return recorded

    async def settle(self, attempt: ProviderAttempt) -> None:
        """Write the attempt's new state and token (an abandoned attempt stays abandoned)."""
        args = (
            attempt.state.value,
            attempt.token,
            attempt.callback_digest,
            self.gateway,
            attempt.provider_ref,
        )
        await self.store.write(lambda tx: tx.execute(_UPDATE, args))

    async def latest(self, payment_id: str) -> ProviderAttempt | None:
        """The payment's newest attempt at this gateway that is not abandoned."""
        rows = await self.store.read(lambda tx: tx.fetchall(_LATEST, (payment_id, self.gateway)))
        found = (_row(r) for r in rows)
        return next((a for a in found if a.state is not AttemptState.ABANDONED), None)

    async def find(self, provider_ref: str) -> ProviderAttempt | None:
        sql = f"{_SELECT} WHERE gateway = ? AND provider_ref = ?"
        row = await self.store.read(lambda tx: tx.fetchone(sql, (self.gateway, provider_ref)))
        return _row(row) if row else None

    async def by_callback(self, callback_digest: str) -> ProviderAttempt | None:
        sql = f"{_SELECT} WHERE gateway = ? AND callback_digest = ?"
        row = await self.store.read(lambda tx: tx.fetchone(sql, (self.gateway, callback_digest)))
        return _row(row) if row else None


def find_in_tx(tx: Tx, gateway: str, provider_ref: str) -> ProviderAttempt | None:
    row = tx.fetchone(f"{_SELECT} WHERE gateway = ? AND provider_ref = ?", (gateway, provider_ref))
    return _row(row) if row else None
