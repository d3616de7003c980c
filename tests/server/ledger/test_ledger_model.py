"""Model-based test: the ledger engine on the REAL SQLite store against the reference ledger.

Random interleavings of payments (with commissions), API refunds (held, then settled or
released, possibly after other operations), refunds reported by the gateway,
withdrawals (complete, fail, expire), operator batches with linked chains and bad
transfers, retries of earlier batches with the same ids, and bursts of concurrent
withdrawals that the store group-commits in one batch. After every step: the same
results and error codes as the model, every balance equal to the model's, and the
ledger's invariants (invariants.py) on the database itself.
"""

from __future__ import annotations

import asyncio
import copy
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from payedge_server.contracts import Tx
from payedge_server.ledger import engine, postings, withdrawals
from payedge_server.ledger.commissions import Rate, Rates
from payedge_server.ledger.errors import LedgerError
from payedge_server.ledger.model import Transfer, TransferKind
from payedge_server.ledger.settings import LedgerSettings
from payedge_server.store import migrations
from payedge_server.store.sqlite import SqliteStore

from tests.server.ledger import invariants
from tests.server.ledger.reference import RefLedger, RefPayment, RefPostings, RefRate, Refused, T

# The engine's SQL runs on both stores in test_ledger_engine.py; the model's hundreds of
# examples, each on a fresh database, run on SQLite alone.
pytestmark = pytest.mark.sqlite_only

NOW0 = 1_800_000_000_000
RATES = Rates(
    (
        Rate("ticket_sale", None, None, 500, 30),
        Rate("ticket_sale", "b", None, 250, 0),
        Rate("template_sale", None, "EUR", 1500, 0, 100, 2000),
    )
)
REF_RATES = {
    ("ticket_sale", "a"): RefRate(500, 30),
    ("ticket_sale", "b"): RefRate(250, 0),
    ("template_sale", "EUR"): RefRate(1500, 0, 100, 2000),
}
SETTINGS = LedgerSettings(rates=RATES)
VALID_CODES = [
    "wallet:a:EUR",
    "wallet:b:EUR",
    "external:bank:EUR",
    "platform:revenue:EUR",
    "gateway:sandbox:clearing:EUR",
    "payouts:pending:EUR",
    "wallet:a:USD",
    "external:bank:USD",
]
CODES = st.one_of(
    *[st.sampled_from(VALID_CODES[:6])] * 12,
    st.sampled_from(VALID_CODES[6:]),
    st.sampled_from(["foo:x:EUR", "wallet:a:ABC"]),
)
AMOUNTS = st.one_of(*[st.integers(1, 5000)] * 6, st.sampled_from([-5, 0, 10**16]))


def ref_rate(ctype: str | None, payee: str, currency: str) -> RefRate | None:
    if ctype is None:
        return None
    if (ctype, payee) in REF_RATES:
        return REF_RATES[(ctype, payee)]
    if ctype == "ticket_sale":
        return REF_RATES[("ticket_sale", "a")]
    return REF_RATES.get((ctype, currency))


def to_engine(t: T) -> Transfer:
    return Transfer(
        t.id,
        t.debit,
        t.credit,
        t.amount,
        t.currency,
        TransferKind(t.kind),
        t.pending_id,
        t.timeout,
        t.linked,
        t.code,
        t.ref,
    )


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory(prefix="payedge-ledger-model-")
        self.loop = asyncio.new_event_loop()
        self.store = SqliteStore(Path(self.dir.name) / "ledger.sqlite3")
        self.loop.run_until_complete(self.store.open())
        self.loop.run_until_complete(migrations.upgrade(self.store))
        self.now = NOW0
        self.model = RefPostings(RefLedger())
        self.n = 0
        self.open_refunds: list[str] = []
        self.withdrawal_ids: list[str] = []
        self.batches: list[list[T]] = []

    def teardown(self) -> None:
        self.loop.run_until_complete(self.store.close())
        self.loop.close()
        self.dir.cleanup()

    # -- driving both sides ------------------------------------------------------------
    def fresh(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def real(self, fn: Any) -> tuple[Any, str | None]:
        try:
            return self.loop.run_until_complete(self.store.write(fn)), None
        except LedgerError as exc:
            return None, exc.code.value

    def modelled(self, fn: Any) -> str | None:
        saved = copy.deepcopy(self.model)
        try:
            fn()
        except Refused as exc:
            self.model = saved
            return exc.code
        return None

    def both(self, real_fn: Any, model_fn: Any) -> Any:
        result, code = self.real(real_fn)
        expected = self.modelled(model_fn)
        assert code == expected, (code, expected)
        event(f"outcome: {code or 'ok'}")
        return result

    # -- payments ----------------------------------------------------------------------
    @rule(
        payee=st.sampled_from(["a", "b"]),
        currency=st.sampled_from(["EUR", "USD"]),
        amount=st.integers(1, 100_000),
        ctype=st.sampled_from([None, "ticket_sale", "template_sale"]),
    )
    def pay(self, payee: str, currency: str, amount: int, ctype: str | None) -> None:
        rate = ref_rate(ctype, payee, currency)
        pid = self.fresh("pay_")
        facts = postings.PaymentFacts(pid, "sandbox", currency, payee, ctype, amount, 0, {})
        k = rate.commission(amount) if rate else 0
        p = RefPayment(pid, payee, "sandbox", currency, amount, k)
        self.both(
            lambda tx: postings.capture(tx, facts, SETTINGS, self.now),
            lambda: self.model.capture(p, self.now),
        )

    def _refundable(self, pid: str) -> int:
        p = self.model.payments[pid]
        held = sum(r for (q, r, _) in self.model.holds.values() if q == pid)
        return p.captured - p.refunded - held

    @precondition(lambda self: self.model.payments)
    @rule(data=st.data(), share=st.floats(0.01, 1.0))
    def start_refund(self, data: st.DataObject, share: float) -> None:
        pid = data.draw(st.sampled_from(sorted(self.model.payments)))
        amount = max(1, int(self._refundable(pid) * share))
        if self._refundable(pid) < amount:
            return
        rid = self.fresh("re_")
        _result, code = self.real(lambda tx: postings.hold_refund(tx, pid, rid, amount, self.now))
        expected = self.modelled(lambda: self.model.hold(pid, rid, amount, self.now))
        assert code == expected, (code, expected)
        event(f"refund hold: {code or 'ok'}")
        if code is None:
            self.open_refunds.append(rid)

    @precondition(lambda self: self.open_refunds)
    @rule(data=st.data(), succeeded=st.booleans())
    def finish_refund(self, data: st.DataObject, succeeded: bool) -> None:
        rid = data.draw(st.sampled_from(self.open_refunds))
        self.open_refunds.remove(rid)
        if succeeded:
            self.both(
                lambda tx: postings.settle_refund(tx, rid, SETTINGS, self.now),
                lambda: self.model.settle(rid, self.now),
            )
        else:
            self.both(
                lambda tx: postings.release_refund(tx, rid, self.now),
                lambda: self.model.release(rid, self.now),
            )

    @precondition(lambda self: self.model.payments)
    @rule(data=st.data(), amount=st.integers(1, 50_000))
    def gateway_refund(self, data: st.DataObject, amount: int) -> None:
        pid = data.draw(st.sampled_from(sorted(self.model.payments)))
        amount = min(amount, self._refundable(pid))
        p = self.model.payments[pid]
        refunded_now = p.refunded + amount
        facts = postings.PaymentFacts(pid, "sandbox", p.currency, p.payee, None, p.captured, refunded_now, {})
        self.both(
            lambda tx: postings.catch_up_refunds(tx, facts, SETTINGS, self.now),
            lambda: self.model.gateway_refund(pid, refunded_now, self.now),
        )

    # -- withdrawals -------------------------------------------------------------------
    def _withdraw_model(self, owner: str, currency: str, amount: int, wid: str, timeout: int) -> None:
        t = T(
            wid,
            f"wallet:{owner}:{currency}",
            f"payouts:pending:{currency}",
            amount,
            currency,
            "pending",
            timeout=timeout,
            code="withdrawal",
        )
        try:
            self.model.ledger.create(t, self.now)
        except Refused as exc:
            renamed = {
                "exceeds_credits": "insufficient_funds",
                "exists_with_different_fields": "transfer_exists_with_different_fields",
            }
            raise Refused(renamed.get(exc.code, exc.code)) from None

    def _withdraw_real(self, owner: str, currency: str, amount: int, wid: str, timeout: int) -> Any:
        return lambda tx: withdrawals.create(
            tx, owner, amount, currency, withdrawal_id=wid, timeout_seconds=timeout, now_ms=self.now
        )

    @rule(
        owner=st.sampled_from(["a", "b"]),
        currency=st.sampled_from(["EUR", "USD"]),
        amount=st.sampled_from([1, 100, 999, 2500, 20_000]),
        timeout=st.sampled_from([0, 5, 5, 60]),
        reuse=st.booleans(),
    )
    def withdraw(self, owner: str, currency: str, amount: int, timeout: int, reuse: bool) -> None:
        wid = self.withdrawal_ids[-1] if reuse and self.withdrawal_ids else self.fresh("wd_")
        self.both(
            self._withdraw_real(owner, currency, amount, wid, timeout),
            lambda: self._withdraw_model(owner, currency, amount, wid, timeout),
        )
        if wid not in self.withdrawal_ids and wid in self.model.ledger.transfers:
            self.withdrawal_ids.append(wid)

    @rule(
        owner=st.sampled_from(["a", "b"]),
        amounts=st.lists(st.sampled_from([50, 400, 3000]), min_size=2, max_size=6),
    )
    def withdraw_burst(self, owner: str, amounts: list[int]) -> None:
        """Concurrent withdrawals: one store batch, applied in submission order."""
        ids = [self.fresh("wd_") for _ in amounts]

        async def burst() -> list[Any]:
            writes = [
                self.store.write(self._withdraw_real(owner, "EUR", a, w, 0))
                for a, w in zip(amounts, ids, strict=True)
            ]
            return await asyncio.gather(*writes, return_exceptions=True)

        outcomes = self.loop.run_until_complete(burst())
        for amount, wid, outcome in zip(amounts, ids, outcomes, strict=True):
            code = outcome.code.value if isinstance(outcome, LedgerError) else None
            assert not isinstance(outcome, BaseException) or code is not None, outcome
            expected = self.modelled(lambda a=amount, w=wid: self._withdraw_model(owner, "EUR", a, w, 0))
            assert code == expected, (code, expected)
            event(f"burst withdrawal: {code or 'ok'}")
            if code is None:
                self.withdrawal_ids.append(wid)

    def _resolve_model(self, wid: str, complete: bool) -> None:
        ledger = self.model.ledger
        state = ledger.pending.get(wid)
        if state is None or ledger.transfers[wid].code != "withdrawal":
            raise Refused("withdrawal_not_found")
        due = state.expires_at is not None and state.expires_at <= self.now
        if state.state == "expired" or (state.state == "pending" and due):
            raise Refused("pending_transfer_expired")
        if state.state != "pending":
            raise Refused("withdrawal_already_resolved")
        suffix, kind = ("complete", "post") if complete else ("fail", "void")
        ledger.create(
            T(f"{wid}:{suffix}", None, None, None, kind=kind, pending_id=wid, code="withdrawal"), self.now
        )

    @rule(data=st.data(), complete=st.booleans())
    def resolve_withdrawal(self, data: st.DataObject, complete: bool) -> None:
        known = st.sampled_from(self.withdrawal_ids) if self.withdrawal_ids else st.nothing()
        wid = data.draw(st.one_of(known, known, known, st.just("wd_unknown")))
        self.both(
            lambda tx: withdrawals.resolve(tx, wid, complete=complete, now_ms=self.now),
            lambda: self._resolve_model(wid, complete),
        )

    # -- time --------------------------------------------------------------------------
    @rule(seconds=st.sampled_from([1, 4, 10, 61]))
    def tick(self, seconds: int) -> None:
        self.now += seconds * 1000

    @rule()
    def sweep(self) -> None:
        self.both(lambda tx: engine.expire_due(tx, self.now), lambda: self.model.ledger.expire_due(self.now))

    # -- operator batches --------------------------------------------------------------
    @st.composite
    @staticmethod
    def _transfer(draw: Any, pendings: list[str], fresh: Any) -> T:
        kind = draw(st.sampled_from(["single", "single", "pending", "pending", "post", "post", "void"]))
        linked = draw(st.sampled_from([False, False, True]))
        tid = fresh()
        if kind in ("post", "void"):
            pid = draw(st.sampled_from([*pendings, "nope"]))
            amount = draw(st.one_of(st.none(), AMOUNTS))
            return T(tid, None, None, amount, None, kind, pid, linked=linked)
        debit, credit = draw(CODES), draw(CODES)
        currency = draw(st.sampled_from([None, "EUR", "EUR", "USD"]))
        timeout = (
            draw(st.sampled_from([0, 3, 30])) if kind == "pending" else draw(st.sampled_from([0, 0, 0, 5]))
        )
        return T(tid, debit, credit, draw(AMOUNTS), currency, kind, None, timeout, linked)

    @rule(data=st.data(), size=st.integers(1, 6))
    def operator_batch(self, data: st.DataObject, size: int) -> None:
        pendings = sorted(p for p in self.model.ledger.pending if p.startswith(("op", "wd_")))
        batch = [data.draw(self._transfer(pendings, lambda: self.fresh("op"))) for _ in range(size)]
        self._submit(batch)
        self.batches.append(batch)

    @precondition(lambda self: self.batches)
    @rule(data=st.data(), change=st.booleans())
    def retry_batch(self, data: st.DataObject, change: bool) -> None:
        """The same ids again: `exists` (or exists_with_different_fields when an amount changed)."""
        batch = data.draw(st.sampled_from(self.batches))
        if change:
            first = batch[0]
            batch = [T(**{**first.__dict__, "amount": (first.amount or 0) + 1}), *batch[1:]]
        self._submit(batch)

    def _submit(self, batch: list[T]) -> None:
        """As LedgerService.transfers: the whole batch in one write, chain by chain if refused."""
        transfers = [to_engine(t) for t in batch]
        real, code = self.real(lambda tx: engine.create_all(tx, transfers, self.now))
        if code is not None or real is None:
            real, code = self.real(lambda tx: engine.create_batch(tx, transfers, self.now))
        assert code is None
        expected = self.model.ledger.batch(batch, self.now)
        assert real == expected, (batch, real, expected)
        for result in real:
            event(f"batch result: {result}")

    # -- invariants --------------------------------------------------------------------
    def read(self, sql: str) -> list[tuple[Any, ...]]:
        return self.loop.run_until_complete(self.store.read(lambda tx: tx.fetchall(sql)))

    @invariant()
    def balances_match_the_model(self) -> None:
        rows = self.read(
            "SELECT code, debits_pending, debits_posted, credits_pending, credits_posted FROM ledger_accounts"
        )
        real = {r[0]: tuple(r[1:]) for r in rows}
        model = {c: (a.dp, a.dpo, a.cp, a.cpo) for c, a in self.model.ledger.accounts.items()}
        assert real == model

    @invariant()
    def ledger_invariants_hold(self) -> None:
        result = invariants.check(self.read)
        for currency, (dpo, cpo, dp, cp) in self.model.ledger.totals().items():
            assert result["totals"].get(currency, [0, 0, 0, 0]) == [dpo, cpo, dp, cp]

    @invariant()
    def postings_match_the_model(self) -> None:
        rows = self.read(
            "SELECT payment_id, refunded, merchant_reversed, commission_reversed FROM ledger_payment_postings"
        )
        real = {r[0]: tuple(r[1:]) for r in rows}
        model = {
            p.id: (p.refunded, p.merchant_reversed, p.commission_reversed)
            for p in self.model.payments.values()
        }
        assert real == model


def _read_tx(tx: Tx, sql: str) -> list[tuple[Any, ...]]:
    return tx.fetchall(sql)


LedgerMachine.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=35,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestLedgerModel = LedgerMachine.TestCase
