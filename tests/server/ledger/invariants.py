"""The ledger's invariants, checked on the database itself (a store Tx or a sqlite3 connection).

1. Per currency, total debits = total credits (posted, and pending).
2. No account flag is violated; no balance is negative.
3. Every balance equals what its transfers say: posted = single + post transfers,
   pending = pending transfers whose state is still `pending`.
4. A pending transfer resolves once: at most one post or void names it, and its state
   says which (expired: none).
5. Invoice and credit-note numbers run 1..n without a gap or a duplicate per series and year.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

FetchAll = Callable[[str], Sequence[Sequence[Any]]]


def _balances(fetchall: FetchAll) -> dict[str, tuple[int, int, int, int, str]]:
    rows = fetchall(
        "SELECT code, currency, flags, debits_pending, debits_posted, credits_pending, credits_posted "
        "FROM ledger_accounts"
    )
    out: dict[str, tuple[int, int, int, int, str]] = {}
    for code, currency, flags, dp, dpo, cp, cpo in rows:
        assert min(dp, dpo, cp, cpo) >= 0, code
        assert not flags & 2 or dp + dpo <= cpo, f"{code} debits exceed credits"
        assert not flags & 4 or cp + cpo <= dpo, f"{code} credits exceed debits"
        out[code] = (dp, dpo, cp, cpo, currency)
    return out


def _recomputed(fetchall: FetchAll) -> dict[str, list[int]]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    rows = fetchall(
        "SELECT t.kind, t.debit_account, t.credit_account, t.amount, p.state FROM ledger_transfers t "
        "LEFT JOIN ledger_pending p ON p.id = t.id"
    )
    for kind, debit, credit, amount, state in rows:
        if kind in ("single", "post"):
            sums[debit][1] += amount
            sums[credit][3] += amount
        elif kind == "pending" and state == "pending":
            sums[debit][0] += amount
            sums[credit][2] += amount
    return sums


def _resolutions(fetchall: FetchAll) -> None:
    resolved: dict[str, list[str]] = defaultdict(list)
    for kind, pending_id in fetchall(
        "SELECT kind, pending_id FROM ledger_transfers WHERE pending_id IS NOT NULL"
    ):
        resolved[pending_id].append(kind)
    for pid, state in fetchall("SELECT id, state FROM ledger_pending"):
        kinds = resolved.pop(pid, [])
        expected = {"pending": [], "expired": [], "posted": ["post"], "voided": ["void"]}[state]
        assert kinds == expected, (pid, state, kinds)
    assert not resolved, f"posts/voids of no pending transfer: {resolved}"


def _numbering(fetchall: FetchAll) -> int:
    rows = fetchall(
        "SELECT series, year, COUNT(*), COUNT(DISTINCT number), MAX(number) FROM ledger_invoices "
        "GROUP BY series, year"
    )
    for series, year, count, distinct, highest in rows:
        assert count == distinct == highest, (series, year, count, distinct, highest)
    return sum(int(r[2]) for r in rows)


def check(fetchall: FetchAll) -> dict[str, Any]:
    """Assert every invariant; returns per-currency totals and counts."""
    balances = _balances(fetchall)
    recomputed = _recomputed(fetchall)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for code, (dp, dpo, cp, cpo, currency) in balances.items():
        assert [dp, dpo, cp, cpo] == recomputed.pop(code, [0, 0, 0, 0]), (code, [dp, dpo, cp, cpo])
        t = totals[currency]
        t[0], t[1], t[2], t[3] = t[0] + dpo, t[1] + cpo, t[2] + dp, t[3] + cp
    assert not {c: v for c, v in recomputed.items() if any(v)}, f"transfers on unknown accounts: {recomputed}"
    for currency, (dpo, cpo, dp, cp) in totals.items():
        assert dpo == cpo and dp == cp, (currency, dpo, cpo, dp, cp)
    _resolutions(fetchall)
    bad = fetchall(
        "SELECT payment_id FROM ledger_payment_postings "
        "WHERE merchant_reversed + commission_reversed != refunded OR refunded > captured"
    )
    assert not bad, bad
    return {"totals": dict(totals), "accounts": len(balances), "documents": _numbering(fetchall)}
