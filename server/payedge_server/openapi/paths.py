"""The documented operations of the payments API, webhooks, live status, quotes and terminals.

Parts with routes of their own (parking, ...) document them beside their routes with
the same `op`. Each operation lists the error codes it answers with (the catalogue
gives their statuses) and, for a POST, an example body that a test sends to check
that its Idempotency-Key is honoured.
"""

from __future__ import annotations

from typing import Any

from payedge_server.openapi.builder import error_responses, op, path_param, query_param
from payedge_server.openapi.schemas import CURRENCY, OBJECT, PAYMENT, PAYMENT_ID
from payedge_server.payments.model import STATUSES
from payedge_server.webhooks.listing import OUTCOMES

_ID = [path_param("id", PAYMENT_ID)]
_ID_ERRORS = ("invalid_id", "payment_not_found")
_GATEWAY_ERRORS = ("gateway_rejected", "gateway_unavailable", "gateway_timeout", "amount_not_representable")
_PROVIDERS = ["stripe", "sandbox", "paypal", "cinetpay", "mtn_momo", "orange_money"]
_INT = {"type": "integer", "minimum": 0, "maximum": 10**11}

PAYMENTS: dict[str, dict[str, Any]] = {
    "/v1/payments": {
        "post": op(
            "Create a payment",
            ok=201,
            schema=PAYMENT,
            body={"$ref": "#/components/schemas/PaymentCreate"},
            body_required=True,
            errors=(
                "parameter_missing",
                "parameter_invalid",
                "amount_invalid",
                "currency_invalid",
                "card_data_refused",
                "gateway_invalid",
                "payment_method_invalid",
                "currency_not_supported",
                *_GATEWAY_ERRORS,
            ),
            idempotent=True,
            example={"amount": 1500, "currency": "EUR", "payment_method": "pm_sandbox_ok"},
        ),
        "get": op(
            "List payments, newest first (cursor pagination)",
            schema={"$ref": "#/components/schemas/PaymentList"},
            params=[
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
                query_param("starting_after", PAYMENT_ID),
                query_param("ending_before", PAYMENT_ID),
                query_param("status", {"type": "string", "enum": list(STATUSES)}),
                query_param("gateway", {"type": "string"}),
                query_param("user_id", {"type": "string"}),
                query_param("order_ref", {"type": "string"}),
                query_param("currency", CURRENCY),
                *(query_param(f"created[{o}]", _INT) for o in ("gte", "lte", "gt", "lt")),
            ],
            errors=(
                "parameter_unknown",
                "parameter_invalid",
                "invalid_id",
                "invalid_cursor",
                "currency_invalid",
            ),
        ),
    },
    "/v1/payments/{id}": {
        "get": op(
            "Get a payment with its status history and attempts",
            schema=PAYMENT,
            params=_ID,
            errors=_ID_ERRORS,
        )
    },
    "/v1/payments/{id}/confirm": {
        "post": op(
            "Confirm a payment through its gateway (402 with the payment when declined)",
            schema=PAYMENT,
            params=_ID,
            body={"$ref": "#/components/schemas/PaymentConfirm"},
            errors=(
                *_ID_ERRORS,
                "parameter_missing",
                "parameter_invalid",
                "card_data_refused",
                "payment_method_invalid",
                "payment_unexpected_state",
                "payment_busy",
                "card_declined",
                "payment_failed",
                *_GATEWAY_ERRORS,
            ),
            idempotent=True,
            example={"payment_method": "pm_sandbox_ok"},
        )
    },
    "/v1/payments/{id}/cancel": {
        "post": op(
            "Cancel a payment not yet confirmed",
            schema=PAYMENT,
            params=_ID,
            body=OBJECT,
            errors=(*_ID_ERRORS, "payment_unexpected_state", "payment_busy", *_GATEWAY_ERRORS),
            idempotent=True,
            example={},
        )
    },
    "/v1/payments/{id}/refunds": {
        "post": op(
            "Refund a payment, fully or partly (never more than captured)",
            schema={"$ref": "#/components/schemas/Refund"},
            params=_ID,
            body={"$ref": "#/components/schemas/RefundCreate"},
            errors=(
                *_ID_ERRORS,
                "amount_invalid",
                "payment_unexpected_state",
                "refund_exceeds_captured",
                "refund_not_supported",
                *_GATEWAY_ERRORS,
            ),
            idempotent=True,
            example={"amount": 100},
        )
    },
}

_WEBHOOK_ERRORS = (
    "unknown_provider",
    "invalid_signature",
    "invalid_payload",
    "webhook_not_configured",
    "gateway_unavailable",  # PayPal's certificate cannot be fetched now: PayPal retries
)
WEBHOOKS: dict[str, dict[str, Any]] = {
    "/v1/webhooks/{provider}": {
        "post": op(
            "Receive a provider webhook (stripe: Stripe-Signature; sandbox: Standard Webhooks; paypal: "
            "PAYPAL-TRANSMISSION-SIG with PAYPAL-CERT-URL; cinetpay: x-token; orange_money: notif_token; "
            "mtn_momo: unsigned, a hint to read the status). A signed event is acknowledged even when "
            "payedge does not act on it.",
            schema={"$ref": "#/components/schemas/WebhookAck"},
            params=[
                path_param("provider", {"type": "string", "enum": _PROVIDERS}),
                {"name": "Stripe-Signature", "in": "header", "required": False, "schema": {"type": "string"}},
                {"name": "webhook-id", "in": "header", "required": False, "schema": {"type": "string"}},
                {
                    "name": "webhook-timestamp",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                },
                {
                    "name": "webhook-signature",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                },
            ],
            body=OBJECT,
            errors=_WEBHOOK_ERRORS,
            public=True,
            limited=False,
        ),
        "put": op(
            "Receive a provider webhook sent with PUT (MTN MoMo sends its callbacks so): as POST",
            schema={"$ref": "#/components/schemas/WebhookAck"},
            params=[path_param("provider", {"type": "string", "enum": _PROVIDERS})],
            body=OBJECT,
            errors=_WEBHOOK_ERRORS,
            public=True,
            limited=False,
        ),
        "get": op(
            "A provider checking that its webhook URL answers (CinetPay does, before notifying): 200",
            schema=OBJECT,
            params=[path_param("provider", {"type": "string", "enum": _PROVIDERS})],
            errors=("unknown_provider",),
            public=True,
            limited=False,
        ),
    },
}

WEBHOOK_EVENTS: dict[str, dict[str, Any]] = {
    "/v1/webhook-events": {
        "get": op(
            "Webhook events received, newest first; `outcome=flagged|unparsed` lists the signed events "
            "payedge recorded without applying them (for operators)",
            schema=OBJECT,
            params=[
                query_param("outcome", {"type": "string", "enum": list(OUTCOMES)}),
                query_param("provider", {"type": "string"}),
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
                query_param("starting_after", {"type": "string", "pattern": "^[^:]+:.+$"}),
            ],
            errors=("parameter_unknown", "parameter_invalid"),
        )
    },
}
WEBHOOKS.update(WEBHOOK_EVENTS)

SERVICE: dict[str, dict[str, Any]] = {
    "/health": {"get": op("Liveness", public=True, schema=OBJECT, limited=False)},
    "/health/ready": {
        "get": op(
            "Readiness of the store, gateways, Redis, MQTT (503 when one is down)",
            public=True,
            limited=False,
            schema={"$ref": "#/components/schemas/Ready"},
            responses={
                "503": {
                    "description": "a dependency is down",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ready"}}},
                }
            },
        )
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics (text format)",
            "security": [],
            "responses": {
                "200": {"description": "success", "content": {"text/plain": {"schema": {"type": "string"}}}}
            },
        }
    },
    "/openapi.json": {"get": op("This document", public=True, schema=OBJECT)},
}

LIVE: dict[str, dict[str, Any]] = {
    "/v1/stream": {
        "get": op(
            "WebSocket of live events (subscribe/unsubscribe messages). Browsers authenticate with a "
            "payment's ?client_secret= (that payment's channel only) or a dashboard session cookie; "
            "?token=<api key> is deprecated. A request that is not a WebSocket upgrade is refused.",
            ok=101,
            params=[
                query_param("client_secret", {"type": "string"}),
                query_param("token", {"type": "string"}),
            ],
            errors=("bad_request",),
        )
    },
    "/v1/payments/{id}/status": {
        "get": op(
            "Long-poll a payment's status until its version passes `since`",
            schema=PAYMENT,
            params=[
                *_ID,
                query_param("wait", {"type": "number", "minimum": 0, "maximum": 60}),
                query_param("since", {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}),
                query_param("client_secret", {"type": "string"}),
                query_param("token", {"type": "string"}),
            ],
            errors=("parameter_invalid", "payment_not_found", "forbidden"),
        )
    },
    "/static/{name}": {
        "get": {
            "summary": "The plain-JavaScript live client (payedge.js) and a demo page (status.html, with "
            "status.js and status.css)",
            "security": [],
            "parameters": [
                path_param(
                    "name",
                    {"type": "string", "enum": ["payedge.js", "status.css", "status.html", "status.js"]},
                )
            ],
            "responses": {
                "200": {
                    "description": "the file",
                    "content": {"text/javascript": {}, "text/html": {}, "text/css": {}},
                },
                **error_responses(("rate_limited",)),
                "404": {"description": "no such file", "content": {"application/json": {"schema": OBJECT}}},
            },
        }
    },
}

_TOKEN = [path_param("token", {"type": "string", "pattern": "^[0-9]{1,19}$"})]
_TERMINAL_ERRORS = ("terminals_not_configured",)

QUOTES_AND_TERMINALS: dict[str, dict[str, Any]] = {
    "/v1/quotes": {
        "post": op(
            "Quote a parking stay with the site tariff (409 tariff_not_configured without --tariff)",
            schema=OBJECT,
            body={
                "type": "object",
                "required": ["entry", "exit"],
                "additionalProperties": False,
                "properties": {
                    "entry": {"type": "integer", "minimum": 0, "description": "UNIX seconds"},
                    "exit": {"type": "integer", "minimum": 0, "description": "UNIX seconds"},
                    "lost_ticket": {"type": "boolean"},
                    "subscription": {"type": "string"},
                },
            },
            body_required=True,
            errors=(
                "tariff_not_configured",
                "parameter_missing",
                "parameter_invalid",
                "invalid_argument",
                "invalid_tariff",
            ),
            idempotent=True,
            example={"entry": 1764000000, "exit": 1764007200},
        )
    },
    "/v1/terminals": {
        "get": op(
            "Terminal queue snapshot: queued payments and leases", schema=OBJECT, errors=_TERMINAL_ERRORS
        )
    },
    "/v1/terminals/queue": {
        "post": op(
            "Queue a payment for the next free terminal (idempotent per payment)",
            schema=OBJECT,
            body={
                "type": "object",
                "required": ["payment_id", "user_id"],
                "properties": {
                    "payment_id": {"type": "string", "minLength": 1, "maxLength": 255},
                    "user_id": {"type": "string", "minLength": 1, "maxLength": 255},
                },
            },
            body_required=True,
            errors=(*_TERMINAL_ERRORS, "parameter_invalid", "invalid_argument", "already_allocated"),
            idempotent=True,
            example={"payment_id": "pay_example", "user_id": "user_example"},
        )
    },
    "/v1/terminals/queue/{payment_id}": {
        "get": op(
            "Position of a queued payment (null once allocated)",
            schema=OBJECT,
            params=[path_param("payment_id")],
            errors=_TERMINAL_ERRORS,
        )
    },
    "/v1/terminals/queue/{payment_id}/cancel": {
        "post": op(
            "Remove a queued payment or end its lease",
            schema=OBJECT,
            params=[path_param("payment_id")],
            errors=_TERMINAL_ERRORS,
            idempotent=True,
        )
    },
    "/v1/terminals/{terminal_id}/allocate": {
        "post": op(
            "Give an idle terminal to the oldest eligible payment (409 terminal_busy)",
            schema=OBJECT,
            params=[path_param("terminal_id")],
            errors=(*_TERMINAL_ERRORS, "terminal_busy", "unknown_terminal"),
            idempotent=True,
        )
    },
    "/v1/terminals/leases/{token}/complete": {
        "post": op(
            "End a lease (409 stale_lease when expired or done)",
            schema=OBJECT,
            params=_TOKEN,
            errors=(*_TERMINAL_ERRORS, "parameter_invalid", "stale_lease"),
            idempotent=True,
        )
    },
    "/v1/terminals/leases/{token}/extend": {
        "post": op(
            "Extend a live lease",
            schema=OBJECT,
            params=_TOKEN,
            errors=(*_TERMINAL_ERRORS, "parameter_invalid", "stale_lease"),
            idempotent=True,
        )
    },
}
