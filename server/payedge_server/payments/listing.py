"""GET /v1/payments: filters and cursor pagination (newest first, like Stripe)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from payedge_server.contracts import Store, Tx
from payedge_server.errors import RequestError
from payedge_server.payments import repository, validation
from payedge_server.payments.model import STATUSES

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
_EQUALS = ("status", "gateway", "user_id", "order_ref", "currency")
_RANGES = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
KNOWN = frozenset(
    {"limit", "starting_after", "ending_before", *_EQUALS}
    | {f"created[{op}]" for op in _RANGES}
    | {f"created_{op}" for op in _RANGES}
)


def _int(value: str, param: str, lo: int, hi: int) -> int:
    if not value.isascii() or not value.isdigit():
        raise validation.bad(param, f"{param} must be an integer")
    n = int(value)
    if not lo <= n <= hi:
        raise validation.bad(param, f"{param} must be between {lo} and {hi}")
    return n


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A validated `GET /v1/payments` query: SQL conditions with their values, page size, cursor."""

    where: tuple[str, ...]
    params: tuple[Any, ...]
    limit: int
    after: str | None
    before: str | None


def _equals(query: Mapping[str, str]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for name in _EQUALS:
        if name in query:
            value: Any = query[name]
            if name == "status" and value not in STATUSES:
                raise validation.bad("status", f"unknown status {value[:64]!r}")
            if name == "currency":
                value = validation.currency(value)
            found.append((f"{name} = ?", value))
    return found


def _created(query: Mapping[str, str]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for op, sql in _RANGES.items():
        for param in (f"created[{op}]", f"created_{op}"):
            if param in query:
                # `created` is shown in seconds; compare on whole seconds of created_at (ms).
                found.append((f"(created_at / 1000) {sql} ?", _int(query[param], param, 0, 10**11)))
    return found


def _cursors(query: Mapping[str, str]) -> tuple[str | None, str | None]:
    after, before = query.get("starting_after"), query.get("ending_before")
    if after is not None and before is not None:
        raise validation.bad("starting_after", "use starting_after or ending_before, not both")
    for name, cursor in (("starting_after", after), ("ending_before", before)):
        if cursor is not None and not validation.PAYMENT_ID.fullmatch(cursor):
            raise validation.bad(name, f"{name} must be a payment id", "invalid_id")
    return after, before


def parse(query: Mapping[str, str]) -> ListQuery:
    for key in query:
        if key not in KNOWN:
            raise validation.bad(key, f"unknown parameter {key[:64]!r}", "parameter_unknown")
    conditions = [*_equals(query), *_created(query)]
    limit = _int(query["limit"], "limit", 1, MAX_LIMIT) if "limit" in query else DEFAULT_LIMIT
    after, before = _cursors(query)
    where = tuple(sql for sql, _ in conditions)
    return ListQuery(where, tuple(value for _, value in conditions), limit, after, before)


async def list_payments(store: Store, query: Mapping[str, str]) -> dict[str, Any]:
    q = parse(query)
    where, params, limit, after, before = q.where, q.params, q.limit, q.after, q.before

    def read(tx: Tx) -> dict[str, Any]:
        clauses = list(where)
        args = list(params)
        order = "DESC"
        cursor = after or before
        if cursor is not None:
            row = tx.fetchone("SELECT seq FROM payments WHERE id = ?", (cursor,))
            if row is None:
                raise RequestError(
                    "invalid_cursor",
                    f"no payment {cursor}",
                    "starting_after" if after else "ending_before",
                )
            clauses.append("seq < ?" if after else "seq > ?")
            args.append(row[0])
            if before:
                order = "ASC"
        sql = repository.SELECT
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY seq {order} LIMIT ?"
        rows = tx.fetchall(sql, (*args, limit + 1))
        has_more = len(rows) > limit
        items = [repository.from_row(r).view() for r in rows[:limit]]
        if order == "ASC":
            items.reverse()
        return {"object": "list", "data": items, "has_more": has_more}

    return await store.read(read)
