"""POST /v1/quotes: price a parking stay with the site tariff (`--tariff FILE`, payedge.Tariff)."""

from __future__ import annotations

from typing import Any

import payedge
from aiohttp import web

from payedge_server.errors import DomainError, RequestError, json_response, read_json_object
from payedge_server.payments.validation import check_unknown

TARIFF: web.AppKey[payedge.Tariff | None] = web.AppKey("tariff")
"""The compiled `payedge.Tariff` of `--tariff` / `[tariff]` (validated at start by the config), or None."""

FIELDS = frozenset({"entry", "exit", "lost_ticket", "subscription"})


def _seconds(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if value is None:
        raise RequestError("parameter_missing", f"{name} (UNIX seconds) is required", name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
        raise RequestError("parameter_invalid", f"{name} must be UNIX seconds (a non-negative integer)", name)
    return value


async def create_quote(request: web.Request) -> web.Response:
    tariff = request.app[TARIFF]
    if tariff is None:
        raise DomainError("tariff_not_configured", "this server has no tariff: start it with --tariff FILE")
    body = await read_json_object(request)
    check_unknown(body, FIELDS)
    entry = _seconds(body, "entry")
    exit_ = _seconds(body, "exit")
    lost = body.get("lost_ticket", False)
    if not isinstance(lost, bool):
        raise RequestError("parameter_invalid", "lost_ticket must be true or false", "lost_ticket")
    subscription = body.get("subscription")
    if subscription is not None and not isinstance(subscription, str):
        raise RequestError("parameter_invalid", "subscription must be a string", "subscription")
    # A core error (exit before entry, unknown subscription) is answered by the catalogue.
    quote = tariff.quote(entry, exit_, lost_ticket=lost, subscription=subscription)
    return json_response(
        {
            "object": "quote",
            "entry": entry,
            "exit": exit_,
            "amount": quote.amount,
            "currency": quote.currency,
            "units": quote.units,
            "lines": quote.lines,
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/quotes", create_quote)
