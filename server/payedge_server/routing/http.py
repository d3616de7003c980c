"""HTTP of routing (SPEC 5): the gateways with their health, their statistics, and the
decision for a hypothetical payment.

- `GET /v1/gateways`: every gateway configured here or named by the rules, with its
  health (`Router.health()`: circuit, buckets, success rates of this instance and its
  peers, this instance's latency p50/p99);
- `GET /v1/gateways/stats`: stats.py;
- `POST /v1/routing/simulate`: what a payment with these fields would be routed to now,
  with no effect (`Router.simulate`: a half-open circuit's probe is named, never
  taken; nothing is recorded). With `rules`, candidate rules are tried instead of the
  configured ones, against the current health (this instance's and its peers' exports
  merged into them; probes in flight are not carried over).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from aiohttp import web

from payedge_server.config.kinds import Invalid
from payedge_server.config.sections.routing import compile_rules
from payedge_server.errors import DomainError, RequestError, json_response, read_json_object
from payedge_server.keys import STORE
from payedge_server.payments import validation
from payedge_server.payments.methods import METHOD_TYPES
from payedge_server.routing import stats
from payedge_server.routing.plan import Plan
from payedge_server.routing.router import DEFAULT_GATEWAY, NOT_CONFIGURED, Routing, none_can

ROUTING = web.AppKey("routing", Routing)
PEERS = web.AppKey("routing_peers", dict[str, Any])  # the peers' last exports (sync.HealthSync.peers)

SIMULATE_FIELDS = frozenset(
    {
        "payment_id",
        "amount",
        "currency",
        "gateway",
        "country",
        "payment_method",
        "payment_method_type",
        "metadata",
        "rules",
    }
)


async def list_gateways(request: web.Request) -> web.Response:
    if request.query:
        name = next(iter(request.query))
        raise RequestError("parameter_unknown", f"unknown parameter {name[:64]!r}", name)
    routing = request.app[ROUTING]
    health = routing.router.health()
    names = [*routing.router.gateways, *(g for g in sorted(routing.gateways) if g not in health)]
    data = [
        {
            "object": "gateway",
            "name": name,
            "configured": name in routing.gateways,
            "in_rules": name in routing.ruled,
            "health": health.get(name),
        }
        for name in names
    ]
    return json_response({"object": "list", "routing": routing.routes, "data": data})


async def gateway_stats(request: web.Request) -> web.Response:
    query = stats.parse(request.query)
    return json_response(await stats.aggregate(request.app[STORE], query))


def _text(body: dict[str, Any], name: str, limit: int = 64) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > limit or not value.isprintable():
        raise RequestError(
            "parameter_invalid", f"{name} must be a printable string of 1 to {limit} characters", name
        )
    return value


def _candidate(routing: Routing, rules: Any, peers: dict[str, Any]) -> Routing:
    """Candidate rules (an object, the `[routing]` document) against the current health."""
    if not isinstance(rules, dict):
        raise RequestError(
            "parameter_invalid", "rules must be a routing rules object (docs/routing.md)", "rules"
        )
    text = json.dumps(rules)
    try:
        compile_rules(text)
    except Invalid as exc:
        raise DomainError("invalid_routing_rules", str(exc), "rules") from None
    candidate = Routing(text, routing.gateways, warn=False)
    candidate.router.merge_health("self", routing.router.export_health())
    for peer, snapshot in peers.items():
        candidate.router.merge_health(peer, snapshot)
    return candidate


def _decision(payment_id: str, plan: Plan, error: DomainError | None) -> dict[str, Any]:
    out = {"object": "routing_decision", "payment_id": payment_id, "routed": plan.routed, **plan.view()}
    if error is not None:
        out["error"] = {"code": error.code, "message": error.message}
    return out


def _method_type(body: dict[str, Any], method: str | None) -> str | None:
    """`payment_method_type`: one a payment can carry (payments.methods), instead of `payment_method`."""
    kind = _text(body, "payment_method_type")
    if kind is None:
        return None
    if method is not None:
        raise RequestError(
            "parameter_invalid",
            "give payment_method or payment_method_type, not both (a payment's type is its method's)",
            "payment_method_type",
        )
    if kind not in METHOD_TYPES:
        raise RequestError(
            "parameter_invalid",
            f"payment_method_type must be a type payments carry: {', '.join(sorted(METHOD_TYPES))}",
            "payment_method_type",
        )
    return kind


async def simulate(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    validation.check_unknown(body, SIMULATE_FIELDS)
    payment_id = _text(body, "payment_id", validation.MAX_REF) or "pay_" + secrets.token_hex(12)
    amount = validation.amount(body.get("amount"))
    currency = validation.currency(body.get("currency"))
    method = validation.payment_method(body.get("payment_method"))
    fields = {
        "payment_method": method,
        "payment_method_type": _method_type(body, method),
        "country": _text(body, "country"),
        "metadata": validation.metadata(body.get("metadata")),
    }
    routing = request.app[ROUTING]
    gateway = _text(body, "gateway")
    if body.get("rules") is not None:
        routing = _candidate(routing, body["rules"], request.app[PEERS])
    elif gateway is not None or not routing.routes:
        return json_response(
            _pinned(routing, payment_id, gateway or DEFAULT_GATEWAY, amount, currency, method)
        )
    plan = routing.preview(payment_id, amount, currency, **fields)
    error = None
    if not plan.gateways:
        reasons = [(g, plan.skipped[g]) for g in plan.skipped]
        error = none_can(plan.rule or "default", reasons, routing, amount, currency)
    return json_response(_decision(payment_id, plan, error))


def _pinned(  # noqa: PLR0917 - the simulated payment's fields
    routing: Routing, payment_id: str, gateway: str, amount: int, currency: str, method: str | None
) -> dict[str, Any]:
    """A payment that names its gateway (or any payment, without rules) goes there or nowhere."""
    why = routing.refusal(gateway, amount, currency, method)
    if why is None:
        return _decision(payment_id, Plan.pinned(gateway), None)
    error = (
        DomainError("gateway_invalid", f"no gateway {gateway!r} is configured here", "gateway")
        if why == NOT_CONFIGURED
        else none_can("(pinned)", [(gateway, why)], routing, amount, currency)
    )
    return _decision(payment_id, Plan((), skipped={gateway: why}), error)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/gateways", list_gateways)
    app.router.add_get("/v1/gateways/stats", gateway_stats)
    app.router.add_post("/v1/routing/simulate", simulate)
