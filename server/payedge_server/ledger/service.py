"""LedgerService: the ledger's operations on the store, one write (or read) each.

Routes parse and validate into typed arguments and call these; each call is one
`store.write` (group-committed: many transfers, one fsync) or one `store.read`.
Requests with an Idempotency-Key check and save it inside the same write as their
effect (a withdrawal and the key that created it commit together). Refusals are
`LedgerError`s raised inside the write: the store rolls it back, nothing is written,
and the key is not saved (the request may be retried with it, e.g. after funding).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from payedge_server.contracts import Store, Tx
from payedge_server.idempotency import IdempotencyContext
from payedge_server.ledger import commissions, engine, invoices, wallets, withdrawals
from payedge_server.ledger.errors import Code, LedgerError
from payedge_server.ledger.model import Transfer
from payedge_server.ledger.settings import LedgerSettings
from payedge_server.store.records import now_ms

log = logging.getLogger("payedge.ledger")

SWEEP_EVERY = 1.0
SWEEP_BATCH = 500


class LedgerService:
    def __init__(self, store: Store, settings: LedgerSettings, clock: Callable[[], int] = now_ms) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    async def _write(
        self, idem: IdempotencyContext | None, fn: Callable[[Tx], tuple[int, dict[str, Any]]]
    ) -> tuple[int, dict[str, Any]]:
        """One write running `fn` -> (status, body), checking and saving the Idempotency-Key with it."""

        def write(tx: Tx) -> tuple[int, dict[str, Any]]:
            if idem is not None:
                idem.check_in_tx(tx)
            status, body = fn(tx)
            if idem is not None:
                idem.save_in_tx(tx, (status, body))
            return status, body

        answer = await self.store.write(write)
        if idem is not None:
            idem.mark_started()
        return answer

    # ----------------------------------------------------------------------- withdrawals
    async def withdraw(
        self,
        owner: str,
        amount: int,
        currency: str,
        *,
        withdrawal_id: str,
        timeout_seconds: int,
        idem: IdempotencyContext | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """201 with the new withdrawal; 200 with it as it is now when its id exists with the same fields."""

        def fn(tx: Tx) -> tuple[int, dict[str, Any]]:
            found, is_new = withdrawals.create(
                tx,
                owner,
                amount,
                currency,
                withdrawal_id=withdrawal_id,
                timeout_seconds=timeout_seconds,
                now_ms=self.clock(),
            )
            return (201 if is_new else 200), found.view()

        return await self._write(idem, fn)

    async def resolve_withdrawal(
        self, withdrawal_id: str, *, complete: bool, idem: IdempotencyContext | None = None
    ) -> dict[str, Any]:
        def fn(tx: Tx) -> tuple[int, dict[str, Any]]:
            return 200, withdrawals.resolve(tx, withdrawal_id, complete=complete, now_ms=self.clock()).view()

        return (await self._write(idem, fn))[1]

    async def withdrawal(self, withdrawal_id: str) -> dict[str, Any]:
        found = await self.store.read(lambda tx: withdrawals.load(tx, withdrawal_id, self.clock()))
        if found is None:
            raise LedgerError(Code.WITHDRAWAL_NOT_FOUND, f"no withdrawal {withdrawal_id}", "id")
        return found.view()

    # ----------------------------------------------------------------------- wallets
    async def wallet(self, owner: str) -> dict[str, Any]:
        return await self.store.read(lambda tx: wallets.balances(tx, owner))

    async def wallet_transactions(
        self, owner: str, *, currency: str | None, limit: int, starting_after: str | None
    ) -> dict[str, Any]:
        page = await self.store.read(
            lambda tx: wallets.transactions(
                tx, owner, currency=currency, limit=limit, starting_after=starting_after
            )
        )
        if page is None:
            raise LedgerError(Code.PARAMETER_INVALID, "starting_after names no transaction", "starting_after")
        return page

    async def wallet_statistics(self, owner: str, *, since: int, until: int | None) -> dict[str, Any]:
        until_ms = self.clock() if until is None else until * 1000
        stats = await self.store.read(
            lambda tx: wallets.statistics(tx, owner, since_ms=since * 1000, until_ms=until_ms)
        )
        return {**stats, "from": since, "to": until_ms // 1000}

    # ----------------------------------------------------------------------- ledger
    async def transfers(
        self, batch: Sequence[Transfer], idem: IdempotencyContext | None = None
    ) -> dict[str, Any]:
        """TigerBeetle's batch semantics. First the whole batch in one write with no savepoint (the
        usual case: everything is accepted); if a transfer is refused, that write is rolled
        back and the batch runs again chain by chain, each under its savepoint."""

        def body(results: list[str]) -> tuple[int, dict[str, Any]]:
            return 200, {"results": [{"id": t.id, "result": r} for t, r in zip(batch, results, strict=True)]}

        def whole(tx: Tx) -> tuple[int, dict[str, Any]]:
            results = engine.create_all(tx, batch, self.clock())
            if results is None:
                return chains(tx)
            return body(results)

        def chains(tx: Tx) -> tuple[int, dict[str, Any]]:
            return body(engine.create_batch(tx, batch, self.clock()))

        try:
            return (await self._write(idem, whole))[1]
        except LedgerError:
            return (await self._write(idem, chains))[1]

    async def account(self, code: str) -> dict[str, Any]:
        found = await self.store.read(lambda tx: engine.get_account(tx, code))
        if found is None:
            raise LedgerError(Code.ACCOUNT_NOT_FOUND, f"no account {code}", "code")
        return found.view()

    async def trial_balance(self) -> dict[str, Any]:
        totals = await self.store.read(engine.trial_balance)
        return {
            "currencies": {
                currency: {
                    "debits_posted": t.debits_posted,
                    "credits_posted": t.credits_posted,
                    "debits_pending": t.debits_pending,
                    "credits_pending": t.credits_pending,
                }
                for currency, t in totals.items()
            }
        }

    # ----------------------------------------------------------------------- commissions
    async def commission_statistics(
        self, *, since: int, until: int | None, owner: str | None, commission_type: str | None
    ) -> dict[str, Any]:
        until_ms = self.clock() if until is None else until * 1000
        stats = await self.store.read(
            lambda tx: commissions.statistics(
                tx, since_ms=since * 1000, until_ms=until_ms, owner=owner, commission_type=commission_type
            )
        )
        return {"from": since, "to": until_ms // 1000, **stats}

    # ----------------------------------------------------------------------- invoices
    async def invoice(self, invoice_id: str) -> dict[str, Any]:
        found = await self.store.read(lambda tx: invoices.get(tx, invoice_id))
        if found is None:
            raise LedgerError(Code.INVOICE_NOT_FOUND, f"no invoice or credit note {invoice_id}", "id")
        return found

    async def invoices_of_payment(self, payment_id: str) -> dict[str, Any]:
        docs = await self.store.read(lambda tx: invoices.of_payment(tx, payment_id))
        return {"object": "list", "data": docs, "has_more": False}

    # ----------------------------------------------------------------------- expiry
    async def expire_due(self) -> int:
        """Expire the pending transfers whose timeout has passed (a write only when some are due)."""
        now = self.clock()
        due = await self.store.read(
            lambda tx: tx.fetchone(
                "SELECT 1 FROM ledger_pending WHERE state = 'pending' AND expires_at IS NOT NULL "
                "AND expires_at <= ? LIMIT 1",
                (now,),
            )
        )
        if due is None:
            return 0
        return await self.store.write(lambda tx: engine.expire_due(tx, now, SWEEP_BATCH))

    async def expire_forever(self, every: float = SWEEP_EVERY) -> None:
        """The expiry sweeper: TigerBeetle expires pending transfers by the cluster's clock;
        here by the store's writers', every `every` seconds (and at once when a transfer
        needs the released amount, see engine._move)."""
        while True:
            try:
                while await self.expire_due() == SWEEP_BATCH:
                    pass
            except Exception:
                log.exception("expiring pending transfers failed; retrying")
            await asyncio.sleep(every)
