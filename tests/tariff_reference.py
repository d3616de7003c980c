"""A plain-Python reference for SPEC 2.3: walks a stay unit by unit, exactly as
the spec reads, with ``zoneinfo`` for local time. Slow on purpose (no cleverness
to get wrong); the oracle for ``payedge.Tariff.quote`` in the differential tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


def _clock(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass
class ReferenceQuote:
    amount: int
    units: int
    lines: list[dict[str, Any]] = field(default_factory=list)


def _unit_price(rules: dict[str, Any], s_k: int, m: int) -> int:
    """Step 5: the night price if the unit starts in the night window (local wall clock, minute
    precision), else the price of the first band with `m < up_to_minute`."""
    night = rules.get("night")
    if night is not None:
        local = datetime.fromtimestamp(s_k, ZoneInfo(rules["timezone"]))
        minute_of_day = local.hour * 60 + local.minute
        start, end = _clock(night["start"]), _clock(night["end"])
        inside = (
            start <= minute_of_day < end if start < end else (minute_of_day >= start or minute_of_day < end)
        )
        if inside:
            return int(night["unit_price"])
    for band in rules["bands"]:
        if band["up_to_minute"] is None or m < band["up_to_minute"]:
            return int(band["unit_price"])
    raise AssertionError("the last band has no limit")


def reference_quote(
    rules: dict[str, Any],
    entry: int,
    exit: int,
    *,
    lost_ticket: bool = False,
    subscription: str | None = None,
) -> ReferenceQuote:
    """SPEC 2.3 steps 1-8, literally. ``rules`` must be valid."""
    # 1.
    if exit < entry:
        raise ValueError("exit < entry")
    d = exit - entry
    increment = rules["increment_minutes"] * 60
    grace = rules.get("grace_minutes") or 0
    periods: dict[int, list[int]] = {}  # period -> [units, gross]
    units = 0
    # 2.
    if d > grace * 60:
        # 3.
        units = -(-d // increment)
        for k in range(units):
            s_k = entry + k * increment
            # 4.
            p = (s_k - entry) // 86400
            m = ((s_k - entry) % 86400) // 60
            slot = periods.setdefault(p, [0, 0])
            slot[0] += 1
            slot[1] += _unit_price(rules, s_k, m)
    # 6.
    lines: list[dict[str, Any]] = []
    parking = 0
    cap = rules.get("daily_cap")
    for p in sorted(periods):
        n, gross = periods[p]
        charged = gross if cap is None else min(gross, cap)
        parking += charged
        lines.append(
            {
                "kind": "period",
                "period": p,
                "start": entry + p * 86400,
                "units": n,
                "gross": gross,
                "charged": charged,
            }
        )
    # 7.
    if subscription is not None:
        subscriptions = rules.get("subscriptions") or {}
        if subscription not in subscriptions:
            raise KeyError(subscription)
        percent = subscriptions[subscription]["discount_percent"]
        discount = parking * percent // 100
        parking -= discount
        lines.append(
            {
                "kind": "discount",
                "discount": discount,
                "subscription": subscription,
                "discount_percent": percent,
            }
        )
    # 8.
    total = parking
    fee = rules.get("lost_ticket_fee")
    if lost_ticket and fee is not None:
        total += fee
        lines.append({"kind": "lost_ticket_fee", "lost_ticket_fee": fee})
    max_amount = rules.get("max_amount")
    if max_amount is not None and total > max_amount:
        lines.append({"kind": "max_amount", "max_amount": max_amount, "reduction": total - max_amount})
        total = max_amount
    return ReferenceQuote(amount=total, units=units, lines=lines)
