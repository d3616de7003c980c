"""`GET /v1/gateways/stats` on a real server and store: the aggregates equal a plain-Python
reference over the attempts (hypothesis), for every grouping and time window; bad
parameters get stable codes.

Each example writes its own payments and attempts straight into the server's database,
in a time span of its own (ten days apart), and asks for a window inside it: what the
server reads is exactly what the example wrote.
"""

from __future__ import annotations

import datetime
import itertools
import uuid
from collections import defaultdict
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server.support import API_KEY, Server

pytestmark = pytest.mark.timeout(180)

DAY_MS = 86_400_000
SPAN_DAYS = 3
# UTC midnights ten days apart, in 2020: far from the payments other tests make now.
BASES = itertools.count(
    int(datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC).timestamp()) * 1000, 10 * DAY_MS
)
OUTCOMES = ["succeeded", "processing", "error", "failed", "requires_payment_method", "refunded"]
ATTEMPT = st.tuples(
    st.sampled_from(["sandbox", "stripe", "cinetpay", "mtn_momo"]),
    st.sampled_from(OUTCOMES),
    st.integers(0, SPAN_DAYS * DAY_MS - 1),
)
PAYMENT = st.tuples(
    st.sampled_from(["EUR", "XOF", "USD"]),
    st.integers(1, 10**9),
    st.lists(ATTEMPT, min_size=1, max_size=3),
)


def reference(
    payments: list[tuple[str, int, list[tuple[str, str, int]]]],
    base: int,
    start: int,
    end: int,
    group_by: str,
) -> list[dict[str, Any]]:
    """The stats, counted one attempt at a time (attempt times are `base` + their offset, in ms)."""
    groups: dict[str, dict[str, Any]] = {}
    for currency, amount, attempts in payments:
        for gateway, outcome, offset in attempts:
            at = base + offset
            if not start * 1000 <= at < end * 1000:
                continue
            day = datetime.datetime.fromtimestamp(at / 1000, datetime.UTC).date().isoformat()
            key = {"gateway": gateway, "currency": currency, "day": day}[group_by]
            g = groups.setdefault(key, {"key": key, "attempts": 0, "amounts": defaultdict(lambda: [0, 0])})
            kind = {"succeeded": "succeeded", "refunded": "succeeded", "processing": "pending"}.get(outcome)
            kind = kind or ("errors" if outcome == "error" else "declined")
            g["attempts"] += 1
            g[kind] = g.get(kind, 0) + 1
            g["amounts"][currency][0] += amount
            g["amounts"][currency][1] += amount if kind == "succeeded" else 0
    out = []
    for key in sorted(groups):
        g = groups[key]
        row = {"key": key, "attempts": g["attempts"]}
        row.update({k: g.get(k, 0) for k in ("succeeded", "pending", "declined", "errors")})
        row["success_rate"] = row["succeeded"] / row["attempts"]
        row["amounts"] = {c: {"attempted": a, "succeeded": s} for c, (a, s) in sorted(g["amounts"].items())}
        out.append(row)
    return out


def seed(server: Server, base: int, payments: list[tuple[str, int, list[tuple[str, str, int]]]]) -> None:
    for currency, amount, attempts in payments:
        pid = "pay_" + uuid.uuid4().hex[:24]
        server.rows(
            "INSERT INTO payments (id, amount, currency, gateway, status, version, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
            (pid, amount, currency, attempts[-1][0], "succeeded", base, base),
        )
        for gateway, outcome, at in attempts:
            server.rows(
                "INSERT INTO payment_attempts (payment_id, gateway, outcome, error_code, latency_ms, at) "
                "VALUES (?, ?, ?, NULL, 1, ?)",
                (pid, gateway, outcome, base + at),
            )


def stats(server: Server, **query: str | int) -> requests.Response:
    return requests.get(
        f"{server.url}/v1/gateways/stats", params=query, headers={"Authorization": f"Bearer {API_KEY}"}
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    payments=st.lists(PAYMENT, max_size=12),
    group_by=st.sampled_from(["gateway", "currency", "day"]),
    window=st.tuples(st.integers(0, SPAN_DAYS * 86_400), st.integers(1, SPAN_DAYS * 86_400)),
)
def test_the_aggregates_equal_the_reference(
    server: Server,
    payments: list[tuple[str, int, list[tuple[str, str, int]]]],
    group_by: str,
    window: tuple[int, int],
) -> None:
    base = next(BASES)
    seed(server, base, payments)
    lo, span = window
    start, end = base // 1000 + lo, base // 1000 + lo + span
    resp = stats(server, group_by=group_by, **{"from": start, "to": end})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["from"], body["to"], body["group_by"]) == (start, end, group_by)
    assert body["data"] == reference(payments, base, start, end, group_by)


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"group_by": "week"}, "group_by"),
        ({"from": "yesterday"}, "from"),
        ({"to": "-5"}, "to"),
        ({"from": "1.5"}, "from"),
        ({"to": str(10**12)}, "to"),
        ({"from": "100", "to": "100"}, "from"),
        ({"from": "200", "to": "100"}, "from"),
        ({"form": "100"}, "form"),
    ],
)
def test_bad_parameters_have_stable_codes(server: Server, query: dict[str, str], param: str) -> None:
    resp = stats(server, **query)
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["param"] == param
    assert error["code"] == ("parameter_unknown" if param == "form" else "parameter_invalid")


def test_the_default_window_is_the_last_day(server: Server) -> None:
    body = stats(server).json()
    assert body["to"] - body["from"] == 86_400 and body["group_by"] == "gateway"
