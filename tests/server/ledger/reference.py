"""A plain-Python reference ledger: TigerBeetle's transfer semantics and SPEC 6's postings.

Written for clarity, not speed, and independently of payedge_server.ledger (no code
shared): dicts of balances, a dict of transfers, exact Fractions for the commission
and reversal formulas. The stateful test drives it and the real engine (on the real
SQLite store) with the same operations and clock, and requires the same results,
error codes and balances. Decisions where the spec is silent (shared by both):

* validation order: id, (post/void: pending id, amount) / (pending id absent, amount,
  accounts, currencies, timeout); then the id (exists / exists_with_different_fields);
  then the pending transfer's state; then balances in sorted order of account code;
* a hold that has expired but was not yet swept is released when a transfer needs it;
* `exists` does not fail a linked chain;
* accounts are created on first use, with the flags their kind implies.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction

WALLET_FLAG = 2  # debits_must_not_exceed_credits
CLEARING_FLAG = 4  # credits_must_not_exceed_debits
MAX_AMOUNT = 10**15
KNOWN_CURRENCIES = {"EUR", "USD", "XOF", "JPY"}
ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def account_kind(code: str) -> tuple[str, str, int]:
    """(error code or "", currency, flags) of an account code, from its grammar."""
    head, _, rest = code.partition(":")
    name, _, currency = rest.rpartition(":")
    if currency not in KNOWN_CURRENCIES or not name:
        return "account_code_invalid", "", 0
    flags = {"wallet": WALLET_FLAG, "gateway": CLEARING_FLAG, "platform": 0, "payouts": 0, "external": 0}
    if head not in flags:
        return "account_not_found", "", 0
    if head == "gateway" and not name.endswith(":clearing"):
        return "account_code_invalid", "", 0
    return "", currency, flags[head]


class Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class T:
    """A transfer request (same fields as the engine's)."""

    id: str
    debit: str | None
    credit: str | None
    amount: int | None
    currency: str | None = None
    kind: str = "single"  # single | pending | post | void
    pending_id: str | None = None
    timeout: int = 0
    linked: bool = False
    code: str = "transfer"
    ref: str | None = None


@dataclass
class Acct:
    currency: str
    flags: int
    dp: int = 0  # debits_pending
    dpo: int = 0  # debits_posted
    cp: int = 0
    cpo: int = 0

    @property
    def available(self) -> int:
        return self.cpo - self.dpo - self.dp


@dataclass
class Pending:
    state: str
    expires_at: int | None


@dataclass
class RefLedger:
    accounts: dict[str, Acct] = field(default_factory=dict)
    transfers: dict[str, T] = field(default_factory=dict)  # stored (resolved) fields
    pending: dict[str, Pending] = field(default_factory=dict)

    # -- validation --------------------------------------------------------------------
    @staticmethod
    def _valid_amount(amount: object) -> bool:
        return isinstance(amount, int) and 0 < amount <= MAX_AMOUNT

    def _validate(self, t: T) -> tuple[str, str] | None:
        """(debit currency, ...) checks; raises Refused. Returns (currency, "") for single/pending."""
        if not ID.fullmatch(t.id):
            raise Refused("id_invalid")
        if t.kind in ("post", "void"):
            self._validate_resolution(t)
            return None
        if t.pending_id is not None:
            raise Refused("flags_are_mutually_exclusive")
        if not self._valid_amount(t.amount):
            raise Refused("amount_invalid")
        currency = self._validate_accounts(t)
        if not 0 <= t.timeout <= 366 * 86400:
            raise Refused("timeout_invalid")
        if t.timeout and t.kind != "pending":
            raise Refused("timeout_reserved_for_pending_transfer")
        return currency, ""

    def _validate_resolution(self, t: T) -> None:
        """A post or void: the pending id, an amount if any, no timeout."""
        if t.pending_id is None or not ID.fullmatch(t.pending_id):
            raise Refused("id_invalid")
        if t.amount is not None and not self._valid_amount(t.amount):
            raise Refused("amount_invalid")
        if t.timeout:
            raise Refused("timeout_reserved_for_pending_transfer")

    @staticmethod
    def _validate_accounts(t: T) -> str:
        """Both account codes valid, different, of one currency (the transfer's, if it names one)."""
        assert t.debit is not None and t.credit is not None
        for code in (t.debit, t.credit):
            error, _, _ = account_kind(code)
            if error:
                raise Refused(error)
        if t.debit == t.credit:
            raise Refused("accounts_must_be_different")
        cur_d, cur_c = account_kind(t.debit)[1], account_kind(t.credit)[1]
        if cur_d != cur_c or (t.currency is not None and t.currency != cur_d):
            raise Refused("currency_mismatch")
        return cur_d

    # -- balances ----------------------------------------------------------------------
    def _acct(self, code: str) -> Acct:
        if code not in self.accounts:
            _, currency, flags = account_kind(code)
            self.accounts[code] = Acct(currency, flags)
        return self.accounts[code]

    @staticmethod
    def _fits(a: Acct, debit: bool, amount: int) -> bool:
        if debit:
            return not a.flags & WALLET_FLAG or a.dp + a.dpo + amount <= a.cpo
        return not a.flags & CLEARING_FLAG or a.cp + a.cpo + amount <= a.dpo

    @staticmethod
    def _add(a: Acct, debit: bool, phase: str, amount: int) -> None:
        name = ("d" if debit else "c") + ("p" if phase == "pending" else "po")
        setattr(a, name, getattr(a, name) + amount)

    def _move(self, t: T, amount: int, phase: str, now: int) -> None:
        assert t.debit is not None and t.credit is not None
        for code, debit in sorted(((t.debit, True), (t.credit, False))):
            a = self._acct(code)
            if not self._fits(a, debit, amount):
                self.expire_due_on(code, now)
                if not self._fits(a, debit, amount):
                    raise Refused("exceeds_credits" if debit else "exceeds_debits")
            self._add(a, debit, phase, amount)

    def _release(self, p: T, posted: int) -> None:
        assert p.debit is not None and p.credit is not None and p.amount is not None
        d, c = self.accounts[p.debit], self.accounts[p.credit]
        d.dp -= p.amount
        c.cp -= p.amount
        d.dpo += posted
        c.cpo += posted

    # -- transfers ---------------------------------------------------------------------
    def _exists(self, stored: T) -> str:
        found = self.transfers[stored.id]
        if replace(found, linked=False) != replace(stored, linked=False):
            raise Refused("exists_with_different_fields")
        return "exists"

    def _resolve(self, t: T, now: int) -> str:
        assert t.pending_id is not None
        p = self.transfers.get(t.pending_id)
        if p is None or p.kind != "pending":
            raise Refused("pending_transfer_not_found")
        for given, actual in ((t.debit, p.debit), (t.credit, p.credit), (t.currency, p.currency)):
            if given is not None and given != actual:
                raise Refused("pending_transfer_has_different_accounts")
        assert p.amount is not None
        amount = p.amount if t.amount is None else t.amount
        if t.kind == "void" and amount != p.amount:
            raise Refused("pending_transfer_has_different_amount")
        if amount > p.amount:
            raise Refused("exceeds_pending_transfer_amount")
        stored = T(t.id, p.debit, p.credit, amount, p.currency, t.kind, p.id, 0, False, t.code, t.ref)
        if t.id in self.transfers:
            return self._exists(stored)
        state = self.pending[p.id]
        if state.state != "pending" or (state.expires_at is not None and state.expires_at <= now):
            raise Refused(
                {
                    "posted": "pending_transfer_already_posted",
                    "voided": "pending_transfer_already_voided",
                }.get(state.state, "pending_transfer_expired")
            )
        self.transfers[t.id] = stored
        state.state = "posted" if t.kind == "post" else "voided"
        self._release(p, amount if t.kind == "post" else 0)
        return "ok"

    def create(self, t: T, now: int) -> str:
        """Apply one transfer: "ok" or "exists"; raises Refused (the caller undoes its changes)."""
        checked = self._validate(t)
        if checked is None:
            return self._resolve(t, now)
        currency = checked[0]
        stored = T(t.id, t.debit, t.credit, t.amount, currency, t.kind, None, t.timeout, False, t.code, t.ref)
        if t.id in self.transfers:
            return self._exists(stored)
        assert t.amount is not None
        self._move(t, t.amount, "pending" if t.kind == "pending" else "posted", now)
        self.transfers[t.id] = stored
        if t.kind == "pending":
            self.pending[t.id] = Pending("pending", now + t.timeout * 1000 if t.timeout else None)
        return "ok"

    def attempt(self, t: T, now: int) -> str:
        """`create`, with its changes undone if it is refused (a transfer on its own)."""
        saved = self.snapshot()
        try:
            return self.create(t, now)
        except Refused:
            self.restore(saved)
            raise

    def snapshot(self) -> RefLedger:
        return copy.deepcopy(self)

    def restore(self, saved: RefLedger) -> None:
        self.accounts, self.transfers, self.pending = saved.accounts, saved.transfers, saved.pending

    def batch(self, ts: list[T], now: int) -> list[str]:
        """TigerBeetle's create_transfers: a result per transfer, linked chains atomic."""
        results: list[str] = []
        i = 0
        while i < len(ts):
            j = i
            while j < len(ts) and ts[j].linked:
                j += 1
            if j == len(ts):
                results += ["linked_event_failed"] * (j - i - 1) + ["linked_event_chain_open"]
                break
            chain = ts[i : j + 1]
            saved = self.snapshot()
            outcomes = []
            for k, t in enumerate(chain):
                try:
                    outcomes.append(self.create(t, now))
                except Refused as exc:
                    self.restore(saved)
                    outcomes = ["linked_event_failed"] * len(chain)
                    outcomes[k] = exc.code
                    break
            results += outcomes
            i = j + 1
        return results

    # -- expiry ------------------------------------------------------------------------
    def _expire(self, pid: str, now: int) -> None:
        state = self.pending[pid]
        if state.state == "pending" and state.expires_at is not None and state.expires_at <= now:
            state.state = "expired"
            self._release(self.transfers[pid], 0)

    def expire_due(self, now: int) -> None:
        for pid in list(self.pending):
            self._expire(pid, now)

    def expire_due_on(self, code: str, now: int) -> None:
        for pid in list(self.pending):
            p = self.transfers[pid]
            if code in (p.debit, p.credit):
                self._expire(pid, now)

    def totals(self) -> dict[str, tuple[int, int, int, int]]:
        out: dict[str, list[int]] = {}
        for a in self.accounts.values():
            t = out.setdefault(a.currency, [0, 0, 0, 0])
            t[0] += a.dpo
            t[1] += a.cpo
            t[2] += a.dp
            t[3] += a.cp
        return {k: (v[0], v[1], v[2], v[3]) for k, v in out.items()}


# ------------------------------------------------------------------------------------- SPEC 6
def half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


@dataclass(frozen=True)
class RefRate:
    basis_points: int
    fixed: int = 0
    min: int | None = None
    max: int | None = None

    def commission(self, captured: int) -> int:
        k = half_up(Fraction(captured * self.basis_points, 10_000)) + self.fixed
        if self.min is not None:
            k = max(k, self.min)
        if self.max is not None:
            k = min(k, self.max)
        return min(captured, k)


@dataclass
class RefPayment:
    id: str
    payee: str
    gateway: str
    currency: str
    captured: int
    commission: int
    refunded: int = 0
    merchant_reversed: int = 0
    commission_reversed: int = 0

    @property
    def wallet(self) -> str:
        return f"wallet:{self.payee}:{self.currency}"

    @property
    def clearing(self) -> str:
        return f"gateway:{self.gateway}:clearing:{self.currency}"

    def merchant_total(self, refunded: int) -> int:
        return half_up(Fraction((self.captured - self.commission) * refunded, self.captured))


@dataclass
class RefPostings:
    """SPEC 6 postings over a RefLedger, written from the spec's formulas."""

    ledger: RefLedger
    payments: dict[str, RefPayment] = field(default_factory=dict)
    holds: dict[str, tuple[str, int, str | None]] = field(default_factory=dict)  # refund -> (pay, R, hold)

    def capture(self, p: RefPayment, now: int) -> None:
        self.payments[p.id] = p
        c, k = p.captured, p.commission
        if c - k:
            self.ledger.create(
                T(f"{p.id}:capture", p.clearing, p.wallet, c - k, code="payment", ref=p.id), now
            )
        if k:
            revenue = f"platform:revenue:{p.currency}"
            self.ledger.create(
                T(f"{p.id}:commission", p.clearing, revenue, k, code="commission", ref=p.id), now
            )

    def _take(self, p: RefPayment, tid: str, amount: int, now: int) -> None:
        if amount <= 0:
            return
        self.ledger.expire_due_on(p.wallet, now)
        wallet = self.ledger.accounts.get(p.wallet)
        from_wallet = min(amount, max(0, wallet.available if wallet else 0))
        if from_wallet:
            self.ledger.create(T(tid, p.wallet, p.clearing, from_wallet, code="refund", ref=p.id), now)
        if amount > from_wallet:
            shortfall = f"platform:refund_shortfall:{p.currency}"
            self.ledger.create(
                T(
                    f"{tid}:shortfall",
                    shortfall,
                    p.clearing,
                    amount - from_wallet,
                    code="refund_shortfall",
                    ref=p.id,
                ),
                now,
            )

    def _platform(self, p: RefPayment, tid: str, amount: int, now: int) -> None:
        if amount:
            revenue = f"platform:revenue:{p.currency}"
            self.ledger.create(T(tid, revenue, p.clearing, amount, code="commission_reversal", ref=p.id), now)

    def _record(self, p: RefPayment, after: int, merchant: int) -> None:
        p.commission_reversed += after - p.refunded - merchant
        p.merchant_reversed += merchant
        p.refunded = after

    def gateway_refund(self, pid: str, refunded_now: int, now: int) -> None:
        p = self.payments[pid]
        after = min(refunded_now, p.captured)
        if after <= p.refunded:
            return
        merchant = p.merchant_total(after) - p.merchant_reversed
        base = f"{pid}:reversal:{after}"
        self._take(p, base, merchant, now)
        self._platform(p, f"{base}:commission", after - p.refunded - merchant, now)
        self._record(p, after, merchant)

    def hold(self, pid: str, refund_id: str, amount: int, now: int) -> None:
        p = self.payments[pid]
        net = p.captured - p.commission
        bound = min(math.ceil(Fraction(net * amount, p.captured)), net - p.merchant_reversed)
        hold_id = None
        if bound > 0:
            hold_id = f"{refund_id}:hold"
            try:
                self.ledger.create(
                    T(hold_id, p.wallet, p.clearing, bound, kind="pending", code="refund", ref=pid), now
                )
            except Refused as exc:
                raise Refused("insufficient_funds" if exc.code == "exceeds_credits" else exc.code) from None
        self.holds[refund_id] = (pid, amount, hold_id)

    def settle(self, refund_id: str, now: int) -> None:
        pid, amount, hold_id = self.holds.pop(refund_id)
        p = self.payments[pid]
        after = p.refunded + amount
        merchant = p.merchant_total(after) - p.merchant_reversed
        held = 0
        if hold_id is not None:
            pending_amount = self.ledger.transfers[hold_id].amount
            assert pending_amount is not None
            held = min(merchant, pending_amount)
            kind = "post" if held else "void"
            self.ledger.create(
                T(
                    f"{refund_id}:settle",
                    None,
                    None,
                    held or None,
                    kind=kind,
                    pending_id=hold_id,
                    code="refund",
                    ref=pid,
                ),
                now,
            )
        self._take(p, f"{refund_id}:rest", merchant - held, now)
        self._platform(p, f"{refund_id}:commission", after - p.refunded - merchant, now)
        self._record(p, after, merchant)

    def release(self, refund_id: str, now: int) -> None:
        pid, _, hold_id = self.holds.pop(refund_id)
        if hold_id is not None:
            self.ledger.create(
                T(
                    f"{refund_id}:release",
                    None,
                    None,
                    None,
                    kind="void",
                    pending_id=hold_id,
                    code="refund",
                    ref=pid,
                ),
                now,
            )
