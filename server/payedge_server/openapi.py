"""GET /openapi.json: the OpenAPI 3.1 description of the real routes.

Each part registers the paths it serves with `register(app, paths)` next to the
code that adds the routes; a test checks that the document and `app.router`
list exactly the same (method, path) pairs.
"""

from __future__ import annotations

from typing import Any

import payedge
from aiohttp import web

from payedge_server.errors import json_response
from payedge_server.payments.states import STATUSES

OPENAPI_PATHS = web.AppKey("openapi_paths", dict[str, dict[str, Any]])

_ERROR = {"$ref": "#/components/schemas/Error"}


def _resp(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {"application/json": {"schema": schema}}
    return out


def op(
    summary: str,
    *,
    ok: int = 200,
    schema: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    public: bool = False,
    idempotent: bool = False,
) -> dict[str, Any]:
    """One operation object with the usual error responses."""
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {str(ok): _resp("success", schema), "400": _resp("invalid request", _ERROR)},
    }
    if public:
        operation["security"] = []
    else:
        operation["responses"]["401"] = _resp("missing or wrong API key", _ERROR)
    parameters = list(params or [])
    if idempotent:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "maxLength": 255},
            }
        )
        operation["responses"]["409"] = _resp("a request with this key is in flight", _ERROR)
        operation["responses"]["422"] = _resp("key reused with a different request", _ERROR)
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return operation


def path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def query_param(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "param": {"type": "string"},
                },
            }
        },
    },
    "Payment": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "pattern": "^pay_[0-9a-f]{24}$"},
            "object": {"const": "payment"},
            "amount": {"type": "integer", "description": "minor units"},
            "currency": {"type": "string"},
            "gateway": {"type": "string"},
            "status": {"enum": list(STATUSES)},
            "version": {"type": "integer"},
            "user_id": {"type": ["string", "null"]},
            "order_ref": {"type": ["string", "null"]},
            "payment_method": {"type": ["string", "null"]},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "gateway_ref": {"type": ["string", "null"]},
            "amount_captured": {"type": "integer"},
            "amount_refunded": {"type": "integer"},
            "last_error": {"type": ["object", "null"]},
            "created": {"type": "integer"},
            "updated": {"type": "integer"},
            "payee": {"type": "string", "description": "wallet owner credited on success (SPEC 6)"},
            "commission_type": {"type": ["string", "null"]},
        },
    },
    "PaymentCreate": {
        "type": "object",
        "required": ["amount", "currency"],
        "additionalProperties": False,
        "properties": {
            "amount": {"type": "integer", "minimum": 1},
            "currency": {"type": "string", "minLength": 3, "maxLength": 3},
            "gateway": {"type": "string", "default": "sandbox"},
            "user_id": {"type": "string", "maxLength": 255},
            "order_ref": {"type": "string", "maxLength": 255},
            "payment_method": {"type": "string", "maxLength": 255},
            "metadata": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 500}},
            "payee": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$", "default": "default"},
            "commission_type": {
                "type": "string",
                "description": "400 commission_type_unknown without a rate",
            },
        },
    },
    "PaymentList": {
        "type": "object",
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/Payment"}},
            "has_more": {"type": "boolean"},
        },
    },
    "Refund": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "object": {"const": "refund"},
            "payment_id": {"type": "string"},
            "amount": {"type": "integer"},
            "status": {"type": "string"},
            "payment": {"$ref": "#/components/schemas/Payment"},
        },
    },
    "WebhookAck": {
        "type": "object",
        "properties": {"received": {"const": True}, "duplicate": {"type": "boolean"}},
    },
}

PAYMENT = {"$ref": "#/components/schemas/Payment"}
_ID = [path_param("id")]

CORE_PATHS: dict[str, dict[str, Any]] = {
    "/v1/payments": {
        "post": op(
            "Create a payment",
            ok=201,
            schema=PAYMENT,
            body={"$ref": "#/components/schemas/PaymentCreate"},
            idempotent=True,
        ),
        "get": op(
            "List payments, newest first (cursor pagination)",
            schema={"$ref": "#/components/schemas/PaymentList"},
            params=[
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
                query_param("starting_after", {"type": "string"}),
                query_param("ending_before", {"type": "string"}),
                query_param("status", {"type": "string"}),
                query_param("gateway", {"type": "string"}),
                query_param("user_id", {"type": "string"}),
                query_param("order_ref", {"type": "string"}),
                query_param("currency", {"type": "string"}),
                query_param("created[gte]", {"type": "integer"}),
                query_param("created[lte]", {"type": "integer"}),
                query_param("created[gt]", {"type": "integer"}),
                query_param("created[lt]", {"type": "integer"}),
            ],
        ),
    },
    "/v1/payments/{id}": {"get": op("Get a payment with its status history", schema=PAYMENT, params=_ID)},
    "/v1/payments/{id}/confirm": {
        "post": op(
            "Confirm a payment through its gateway (402 with the payment when declined)",
            schema=PAYMENT,
            params=_ID,
            body={"type": "object", "properties": {"payment_method": {"type": "string"}}},
            idempotent=True,
        )
    },
    "/v1/payments/{id}/cancel": {
        "post": op("Cancel a payment not yet confirmed", schema=PAYMENT, params=_ID, idempotent=True)
    },
    "/v1/payments/{id}/refunds": {
        "post": op(
            "Refund a payment, fully or partly (never more than captured)",
            schema={"$ref": "#/components/schemas/Refund"},
            params=_ID,
            body={"type": "object", "properties": {"amount": {"type": "integer", "minimum": 1}}},
            idempotent=True,
        )
    },
    "/v1/webhooks/{provider}": {
        "post": op(
            "Receive a provider webhook (stripe: Stripe-Signature; sandbox: Standard Webhooks)",
            schema={"$ref": "#/components/schemas/WebhookAck"},
            params=[path_param("provider")],
            body={"type": "object"},
            public=True,
        )
    },
    "/health": {"get": op("Liveness", public=True)},
    "/health/ready": {"get": op("Readiness of store, gateways, Redis, MQTT", public=True)},
    "/metrics": {"get": op("Prometheus metrics (text format)", public=True)},
    "/openapi.json": {"get": op("This document", public=True)},
}


def register(app: web.Application, paths: dict[str, dict[str, Any]]) -> None:
    """Document more paths (call before the app starts, next to `add_routes`)."""
    documented = app.setdefault(OPENAPI_PATHS, {})
    for path, operations in paths.items():
        documented.setdefault(path, {}).update(operations)


def document(app: web.Application) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "payedge edge server", "version": payedge.__version__},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"apiKey": []}],
        "paths": app.get(OPENAPI_PATHS, {}),
    }


async def handle_openapi(request: web.Request) -> web.Response:
    return json_response(document(request.app))


# Served by payedge_server.live (setup_live).
LIVE_PATHS: dict[str, dict[str, Any]] = {
    "/v1/stream": {
        "get": op(
            "WebSocket of live events (subscribe/unsubscribe messages; ?token= accepted for browsers)",
            ok=101,
        )
    },
    "/v1/payments/{id}/status": {
        "get": op(
            "Long-poll a payment's status until its version passes `since`",
            schema=PAYMENT,
            params=[
                path_param("id"),
                query_param("wait", {"type": "number", "minimum": 0, "maximum": 60}),
                query_param("since", {"type": "integer"}),
                query_param("token", {"type": "string"}),
            ],
        )
    },
    "/static/{name}": {
        "get": op(
            "The plain-JavaScript live client (payedge.js) and a demo page (status.html)",
            params=[path_param("name")],
            public=True,
        )
    },
}

_TOKEN = [path_param("token")]
_OBJ: dict[str, Any] = {"type": "object"}

QUOTE_AND_TERMINAL_PATHS: dict[str, dict[str, Any]] = {
    "/v1/quotes": {
        "post": op(
            "Quote a parking stay with the site tariff (409 tariff_not_configured without --tariff)",
            schema=_OBJ,
            body={
                "type": "object",
                "required": ["entry", "exit"],
                "properties": {
                    "entry": {"type": "integer", "description": "UNIX seconds"},
                    "exit": {"type": "integer", "description": "UNIX seconds"},
                    "lost_ticket": {"type": "boolean"},
                    "subscription": {"type": "string"},
                },
            },
            idempotent=True,
        )
    },
    "/v1/terminals": {"get": op("Terminal queue snapshot: queued payments and leases", schema=_OBJ)},
    "/v1/terminals/queue": {
        "post": op(
            "Queue a payment for the next free terminal (idempotent per payment)",
            schema=_OBJ,
            body={
                "type": "object",
                "required": ["payment_id", "user_id"],
                "properties": {"payment_id": {"type": "string"}, "user_id": {"type": "string"}},
            },
            idempotent=True,
        )
    },
    "/v1/terminals/queue/{payment_id}": {
        "get": op(
            "Position of a queued payment (null once allocated)",
            schema=_OBJ,
            params=[path_param("payment_id")],
        )
    },
    "/v1/terminals/queue/{payment_id}/cancel": {
        "post": op(
            "Remove a queued payment or end its lease",
            schema=_OBJ,
            params=[path_param("payment_id")],
            idempotent=True,
        )
    },
    "/v1/terminals/{terminal_id}/allocate": {
        "post": op(
            "Give an idle terminal to the oldest eligible payment (409 terminal_busy)",
            schema=_OBJ,
            params=[path_param("terminal_id")],
            idempotent=True,
        )
    },
    "/v1/terminals/leases/{token}/complete": {
        "post": op(
            "End a lease (409 stale_lease when expired or done)", schema=_OBJ, params=_TOKEN, idempotent=True
        )
    },
    "/v1/terminals/leases/{token}/extend": {
        "post": op("Extend a live lease", schema=_OBJ, params=_TOKEN, idempotent=True)
    },
}
