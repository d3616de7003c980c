"""Differential tests: payedge.Tariff.quote against the unit-by-unit reference
(tests/tariff_reference.py) on random rule sets and stays.

Stays are drawn to hit the hard cases: time zones with DST and odd offsets,
entries near DST transitions, exits exactly at grace and increment boundaries
(and one second either side), multi-day stays, increments that do not divide
1440, night windows that wrap midnight or not, caps including 0,
subscriptions, max_amount and the lost-ticket fee. The reference walks every
unit, so stays are bounded to a few thousand units to keep the run short.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import payedge
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tariff_reference import reference_quote

ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/St_Johns",
]
MAX_UNITS = 5000
Y1970, Y2100 = 0, 4_102_444_800


@functools.cache
def transitions(zone: str) -> tuple[int, ...]:
    """UTC offset changes of `zone` between 1980 and 2040, to the second (scan, then bisect)."""
    tz = ZoneInfo(zone)

    def offset(t: int) -> object:
        return datetime.fromtimestamp(t, tz).utcoffset()

    found = []
    step = 86400
    t = 315_532_800  # 1980-01-01
    end = 2_208_988_800  # 2040-01-01
    previous = offset(t)
    while t < end:
        nxt = t + step
        if offset(nxt) != previous:
            lo, hi = t, nxt  # offset(lo) == previous != offset(hi)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == previous:
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
            previous = offset(hi)
        t = nxt
    return tuple(found)


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def rule_sets(draw: st.DrawFn) -> dict[str, Any]:
    inc = draw(
        st.one_of(
            st.sampled_from([1, 5, 7, 15, 45, 59, 60, 61, 90, 97, 360, 700, 1439, 1440]),
            st.integers(1, 1440),
        )
    )
    ups = sorted(set(draw(st.lists(st.integers(1, 1440), max_size=4))))
    prices = st.integers(0, 500)
    bands: list[dict[str, Any]] = [{"up_to_minute": up, "unit_price": draw(prices)} for up in ups]
    bands.append({"up_to_minute": None, "unit_price": draw(prices)})
    rules: dict[str, Any] = {
        "currency": draw(st.sampled_from(["EUR", "JPY", "KWD", "XOF"])),
        "timezone": draw(st.sampled_from(ZONES)),
        "increment_minutes": inc,
        "bands": bands,
    }
    optional = {
        "grace_minutes": st.integers(0, 180),
        "night": st.tuples(st.integers(0, 1439), st.integers(0, 1439), st.integers(0, 200))
        .filter(lambda n: n[0] != n[1])
        .map(lambda n: {"start": clock(n[0]), "end": clock(n[1]), "unit_price": n[2]}),
        "daily_cap": st.one_of(st.just(0), st.integers(0, 30_000)),
        "lost_ticket_fee": st.integers(0, 5000),
        "max_amount": st.one_of(st.just(0), st.integers(0, 200_000)),
    }
    for name, strategy in optional.items():
        choice = draw(st.sampled_from(["absent", "null", "set", "set"]))
        if choice == "null":
            rules[name] = None
        elif choice == "set":
            rules[name] = draw(strategy)
    if draw(st.booleans()):
        rules["subscriptions"] = {
            "resident": {"discount_percent": 50},
            "third": {"discount_percent": draw(st.integers(0, 100))},
            "staff": {"discount_percent": 100},
        }
    return rules


@st.composite
def stays(draw: st.DrawFn, rules: dict[str, Any]) -> tuple[int, int]:
    inc = rules["increment_minutes"] * 60
    grace = (rules.get("grace_minutes") or 0) * 60
    zone_changes = transitions(rules["timezone"])
    near_change = draw(st.booleans())
    if zone_changes and near_change:
        # Around a DST (or other offset) change: up to two days before it.
        entry = draw(st.sampled_from(zone_changes)) - draw(st.integers(0, 2 * 86400))
    else:
        entry = draw(st.integers(Y1970, Y2100))
    delta = draw(st.sampled_from([-1, 0, 1]))
    kind = draw(st.sampled_from(["grace", "increment", "days", "units", "zero"]))
    if kind == "grace":
        duration = grace + delta
    elif kind == "increment":
        duration = draw(st.integers(1, MAX_UNITS)) * inc + delta
    elif kind == "days":
        duration = draw(st.integers(1, 30)) * 86400 + delta
    elif kind == "units":
        duration = (draw(st.integers(1, MAX_UNITS)) - 1) * inc + draw(st.integers(1, inc))
    else:
        duration = 0
    # Keep the reference walk short: at most MAX_UNITS units.
    duration = max(0, min(duration, MAX_UNITS * inc))
    return entry, entry + duration


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], int, int, bool, str | None]:
    rules = draw(rule_sets())
    entry, exit_ = draw(stays(rules))
    names = [None, *sorted(rules.get("subscriptions") or {})]
    return rules, entry, exit_, draw(st.booleans()), draw(st.sampled_from(names))


@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_quote_matches_unit_by_unit_reference(
    case: tuple[dict[str, Any], int, int, bool, str | None],
) -> None:
    rules, entry, exit_, lost, subscription = case
    tariff = payedge.Tariff(rules)
    want = reference_quote(rules, entry, exit_, lost_ticket=lost, subscription=subscription)
    got = tariff.quote(entry, exit_, lost_ticket=lost, subscription=subscription)
    assert (got.amount, got.units) == (want.amount, want.units), rules
    assert got.lines == want.lines, rules
    assert got.currency == rules["currency"]
    many = tariff.quote_many([entry], [exit_], lost_ticket=lost, subscription=subscription)
    assert many == [want.amount]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_quote_many_matches_quote(data: st.DataObject) -> None:
    rules = data.draw(rule_sets())
    batch = data.draw(st.lists(stays(rules), min_size=1, max_size=20))
    names = [None, *sorted(rules.get("subscriptions") or {})]
    lost = data.draw(st.lists(st.booleans(), min_size=len(batch), max_size=len(batch)))
    subs = data.draw(st.lists(st.sampled_from(names), min_size=len(batch), max_size=len(batch)))
    tariff = payedge.Tariff(rules)
    entries = [e for e, _ in batch]
    exits = [x for _, x in batch]
    amounts = tariff.quote_many(entries, exits, lost_ticket=lost, subscription=subs)
    expected = [
        tariff.quote(e, x, lost_ticket=lo, subscription=s).amount
        for e, x, lo, s in zip(entries, exits, lost, subs, strict=True)
    ]
    assert amounts == expected


def test_transition_tables_cover_the_tricky_zones() -> None:
    # The stays above only reach DST changes if these exist.
    assert len(transitions("Europe/Paris")) > 100
    assert len(transitions("Australia/Lord_Howe")) > 100
    assert len(transitions("America/St_Johns")) > 100
    assert len(transitions("Asia/Kathmandu")) == 1  # +05:30 -> +05:45 in 1986
    assert transitions("UTC") == ()
