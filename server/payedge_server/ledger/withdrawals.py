"""Withdrawals: a pending transfer wallet -> payouts:pending, posted when paid out, voided on failure.

The withdrawal's id is its pending transfer's id (given by the client, or `wd_...`), so a
retried request with the same id finds it (and one with other fields is refused 409
`transfer_exists_with_different_fields`). An optional timeout makes an unpaid
withdrawal expire: its amount returns to the wallet and it can no longer be completed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from payedge import format_money

from payedge_server.contracts import Tx
from payedge_server.ledger import engine, model
from payedge_server.ledger.errors import Code, LedgerError
from payedge_server.ledger.model import Outcome, PendingState, Transfer, TransferKind

CODE = "withdrawal"
STATUS = {
    PendingState.PENDING: "pending",
    PendingState.POSTED: "completed",
    PendingState.VOIDED: "failed",
    PendingState.EXPIRED: "expired",
}


def new_id() -> str:
    return "wd_" + secrets.token_hex(12)


@dataclass(frozen=True, slots=True)
class Withdrawal:
    id: str
    owner: str
    amount: int
    currency: str
    status: str
    created: int
    expires: int | None

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "withdrawal",
            "owner": self.owner,
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status,
            "created": self.created,
            "expires": self.expires,
        }


def load(tx: Tx, withdrawal_id: str, now_ms: int) -> Withdrawal | None:
    t = engine.get_transfer(tx, withdrawal_id)
    found = engine.pending_state(tx, withdrawal_id)
    if t is None or found is None or t.code != CODE or t.kind is not TransferKind.PENDING:
        return None
    state, expires_at = found
    if state is PendingState.PENDING and expires_at is not None and expires_at <= now_ms:
        state = PendingState.EXPIRED  # due: the sweeper releases it shortly; it can no longer be resolved
    owner = model.parse_account(t.debit_account).name
    return Withdrawal(
        t.id,
        owner,
        t.amount,
        t.currency,
        STATUS[state],
        t.ts // 1_000_000,
        expires_at // 1000 if expires_at is not None else None,
    )


def create(
    tx: Tx, owner: str, amount: int, currency: str, *, withdrawal_id: str, timeout_seconds: int, now_ms: int
) -> tuple[Withdrawal, bool]:
    """Hold `amount` on the owner's wallet; (withdrawal, created now). 402 `insufficient_funds`."""
    hold = Transfer(
        withdrawal_id,
        model.wallet(owner, currency),
        model.payouts(currency),
        amount,
        currency,
        kind=TransferKind.PENDING,
        timeout_seconds=timeout_seconds,
        code=CODE,
    )
    try:
        outcome = engine.create_transfer(tx, hold, now_ms)
    except LedgerError as exc:
        if exc.code is Code.EXCEEDS_CREDITS:
            raise LedgerError(
                Code.INSUFFICIENT_FUNDS,
                f"the wallet of {owner} has less than {format_money(amount, currency)} available",
                "amount",
            ) from None
        if exc.code is Code.EXISTS_WITH_DIFFERENT_FIELDS:
            raise LedgerError(Code.TRANSFER_EXISTS_WITH_DIFFERENT_FIELDS, exc.message, "id") from None
        raise
    found = load(tx, withdrawal_id, now_ms)
    assert found is not None
    return found, outcome is Outcome.OK


def resolve(tx: Tx, withdrawal_id: str, *, complete: bool, now_ms: int) -> Withdrawal:
    """Post (complete) or void (fail) a pending withdrawal, once."""
    found = load(tx, withdrawal_id, now_ms)
    if found is None:
        raise LedgerError(Code.WITHDRAWAL_NOT_FOUND, f"no withdrawal {withdrawal_id}", "id")
    if found.status == "expired":
        raise LedgerError(Code.PENDING_TRANSFER_EXPIRED, f"withdrawal {withdrawal_id} has expired", "id")
    if found.status != "pending":
        raise LedgerError(
            Code.WITHDRAWAL_ALREADY_RESOLVED, f"withdrawal {withdrawal_id} is already {found.status}", "id"
        )
    suffix, kind = ("complete", TransferKind.POST) if complete else ("fail", TransferKind.VOID)
    engine.create_transfer(
        tx,
        Transfer(
            f"{withdrawal_id}:{suffix}", None, None, None, kind=kind, pending_id=withdrawal_id, code=CODE
        ),
        now_ms,
    )
    done = load(tx, withdrawal_id, now_ms)
    assert done is not None
    return done
