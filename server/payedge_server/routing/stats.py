"""`GET /v1/gateways/stats?from=&to=&group_by=gateway|currency|day`: attempts aggregated from the store.

Counts every call made to a gateway on confirm (`payment_attempts`, fallbacks
included) whose time is in `[from, to)` (UNIX seconds; default: the last 24 hours),
grouped by gateway, by the payment's currency, or by UTC day, one SQL `GROUP BY`
(the `payment_attempts (at)` index finds the window). Per group:

- `attempts`, and how they ended: `succeeded` (the money was taken), `pending`
  (`processing`: the payer acts at the provider, or a timeout not settled yet),
  `declined` (the payer's or the provider's answer: failed, or back to
  `requires_payment_method`), `errors` (no answer: unavailable, timed out, refused);
  an attempt left `processing` takes the outcome its provider reports later
  (`repository.settle_attempt`), as a Hyperswitch payment attempt does;
- `success_rate`: succeeded / attempts;
- `amounts`: per currency (amounts of different currencies are never added), the
  minor units `attempted` and `succeeded` (the payments' amounts).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from payedge_server.contracts import Store, Tx
from payedge_server.errors import RequestError

GROUPS = ("gateway", "currency", "day")
FIELDS = frozenset({"from", "to", "group_by"})
DAY = 86_400
MAX_SECONDS = 10**11  # far beyond any date a payment can have
_KEYS = {"gateway": "a.gateway", "currency": "p.currency", "day": "a.at / 86400000"}
_CAPTURED = frozenset({"succeeded", "partially_refunded", "refunded"})


@dataclass(frozen=True, slots=True)
class StatsQuery:
    start: int  # UNIX seconds, included
    end: int  # UNIX seconds, excluded
    group_by: str


def _seconds(query: Mapping[str, str], name: str) -> int | None:
    text = query.get(name)
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or int(text) > MAX_SECONDS:
        raise RequestError("parameter_invalid", f"{name} must be UNIX seconds (0 to {MAX_SECONDS})", name)
    return int(text)


def parse(query: Mapping[str, str], now: float | None = None) -> StatsQuery:
    for name in query:
        if name not in FIELDS:
            raise RequestError("parameter_unknown", f"unknown parameter {name[:64]!r}", name)
    group_by = query.get("group_by", "gateway")
    if group_by not in GROUPS:
        raise RequestError("parameter_invalid", "group_by must be gateway, currency or day", "group_by")
    end = _seconds(query, "to")
    end = int(now if now is not None else time.time()) + 1 if end is None else end
    start = _seconds(query, "from")
    start = max(0, end - DAY) if start is None else start
    if start >= end:
        raise RequestError("parameter_invalid", "from must be before to", "from")
    return StatsQuery(start, end, group_by)


def outcome_class(outcome: str) -> str:
    """An attempt's stored outcome as the stats count it."""
    if outcome in _CAPTURED:
        return "succeeded"
    if outcome == "processing":
        return "pending"
    if outcome == "error":
        return "errors"
    return "declined"


def _key(group_by: str, value: Any) -> str:
    if group_by == "day":
        return datetime.date.fromordinal(datetime.date(1970, 1, 1).toordinal() + int(value)).isoformat()
    return str(value)


def _rows(tx: Tx, q: StatsQuery) -> list[tuple[Any, ...]]:
    sql = (
        f"SELECT {_KEYS[q.group_by]}, p.currency, a.outcome, COUNT(*), SUM(p.amount) "
        "FROM payment_attempts a JOIN payments p ON p.id = a.payment_id "
        "WHERE a.at >= ? AND a.at < ? GROUP BY 1, 2, 3"
    )
    return tx.fetchall(sql, (q.start * 1000, q.end * 1000))


def fold(group_by: str, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """(key, currency, outcome, count, amount) rows into one entry per group, sorted by key."""
    groups: dict[str, dict[str, Any]] = {}
    for value, currency, outcome, count, amount in rows:
        key = _key(group_by, value)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "key": key,
                "attempts": 0,
                "succeeded": 0,
                "pending": 0,
                "declined": 0,
                "errors": 0,
                "amounts": {},
            }
        kind = outcome_class(outcome)
        n, total = int(count), int(amount)
        group["attempts"] += n
        group[kind] += n
        money = group["amounts"].setdefault(currency, {"attempted": 0, "succeeded": 0})
        money["attempted"] += total
        if kind == "succeeded":
            money["succeeded"] += total
    for group in groups.values():
        group["success_rate"] = group["succeeded"] / group["attempts"]
        group["amounts"] = dict(sorted(group["amounts"].items()))
    return [groups[k] for k in sorted(groups)]


async def aggregate(store: Store, q: StatsQuery) -> dict[str, Any]:
    rows = await store.read(lambda tx: _rows(tx, q))
    return {
        "object": "gateway_stats",
        "from": q.start,
        "to": q.end,
        "group_by": q.group_by,
        "data": fold(q.group_by, rows),
    }
