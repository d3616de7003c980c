"""GET /v1/webhook-events: what providers delivered, for operators (issue 16).

Above all the signed events payedge recorded without applying them: `unparsed` (it
could not read them at all) and `flagged` (of a type it acts on, with a field it could
not read; never applied half-read): an operator looks at these. Newest first, cursor
pagination: `starting_after=<provider>:<event_id>` of the last row seen (rows received in the
same millisecond are ordered by provider and event id, so a page boundary loses none).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from payedge_server.contracts import Tx
from payedge_server.errors import RequestError, json_response
from payedge_server.keys import STORE

OUTCOMES = ("applied", "ignored", "unhandled_type", "unknown_object", "unparsed", "flagged")
MAX_LIMIT = 100
_KNOWN = frozenset({"outcome", "provider", "limit", "starting_after"})
_SELECT = (
    "SELECT provider, event_id, type, object_id, hint, outcome, problem, received_at FROM webhook_events"
)


@dataclass(frozen=True, slots=True)
class EventQuery:
    outcome: str | None
    provider: str | None
    limit: int
    after: tuple[str, str] | None  # (provider, event_id) of the last row of the previous page


def parse(query: Mapping[str, str]) -> EventQuery:
    for key in query:
        if key not in _KNOWN:
            raise RequestError("parameter_unknown", f"unknown parameter {key[:64]!r}", key)
    outcome = query.get("outcome")
    if outcome is not None and outcome not in OUTCOMES:
        raise RequestError("parameter_invalid", f"outcome must be one of {', '.join(OUTCOMES)}", "outcome")
    limit = _number(query, "limit", 1, MAX_LIMIT, 20)
    cursor = query.get("starting_after")
    after = None
    if cursor is not None:
        provider, sep, event_id = cursor.partition(":")
        if not sep or not provider or not event_id:
            raise RequestError(
                "parameter_invalid", "starting_after is <provider>:<event_id>", "starting_after"
            )
        after = (provider, event_id)
    return EventQuery(outcome, query.get("provider"), limit if limit is not None else 20, after)


def _number(query: Mapping[str, str], name: str, lo: int, hi: int, default: int | None) -> int | None:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not lo <= int(raw) <= hi:
        raise RequestError("parameter_invalid", f"{name} must be an integer from {lo} to {hi}", name)
    return int(raw)


def _read(tx: Tx, q: EventQuery) -> dict[str, Any]:
    where: list[str] = []
    args: list[object] = []
    for column, value in (("outcome", q.outcome), ("provider", q.provider)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if q.after is not None:
        # Strictly after the cursor's row in (received_at, provider, event_id) descending order.
        where.append(
            "(received_at, provider, event_id) < (SELECT received_at, provider, event_id FROM webhook_events "
            "WHERE provider = ? AND event_id = ?)"
        )
        args.extend(q.after)
    order = " ORDER BY received_at DESC, provider DESC, event_id DESC LIMIT ?"
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + order
    rows = tx.fetchall(sql, (*args, q.limit + 1))
    keys = ("provider", "event_id", "type", "object_id", "payment_id", "outcome", "problem", "received_at")
    data = [dict(zip(keys, row, strict=True)) for row in rows[: q.limit]]
    for item in data:
        item["received"] = item.pop("received_at") // 1000
    more = len(rows) > q.limit
    return {
        "object": "list",
        "data": data,
        "has_more": more,
        "next_before": rows[q.limit - 1][7] if more else None,
    }


async def list_events(request: web.Request) -> web.Response:
    q = parse(request.query)
    return json_response(await request.app[STORE].read(lambda tx: _read(tx, q)))
