"""Component schemas of `/openapi.json`: the shapes the server reads and writes, with its constraints."""

from __future__ import annotations

from typing import Any

from payedge_server.payments import validation
from payedge_server.payments.model import STATUSES

PAYMENT_ID: dict[str, Any] = {"type": "string", "pattern": "^pay_[0-9a-f]{24}$"}
CURRENCY: dict[str, Any] = {"type": "string", "pattern": "^[A-Za-z]{3}$", "description": "ISO 4217 code"}
REF: dict[str, Any] = {"type": ["string", "null"], "minLength": 1, "maxLength": validation.MAX_REF}
AMOUNT: dict[str, Any] = {
    "type": "integer",
    "minimum": 1,
    "maximum": validation.MAX_AMOUNT,
    "description": "minor units of the currency (ISO 4217: cents for EUR, yen for JPY)",
}
METADATA: dict[str, Any] = {
    "type": ["object", "null"],
    "maxProperties": validation.MAX_METADATA_KEYS,
    "propertyNames": {"minLength": 1, "maxLength": validation.MAX_METADATA_KEY},
    "additionalProperties": {"type": "string", "maxLength": validation.MAX_METADATA_VALUE},
}
LAST_ERROR: dict[str, Any] = {
    "type": ["object", "null"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": ["string", "null"]},
        "gateway_code": {"type": "string"},
        "customer_message": {"type": "string", "description": "for the customer, in the payment's locale"},
    },
}
NEXT_ACTION: dict[str, Any] = {
    "type": ["object", "null"],
    "description": "what the payer must do at the provider while the payment is processing",
    "properties": {
        "type": {"enum": ["redirect", "approve_on_phone"]},
        "url": {"type": "string", "description": "the provider's page (redirect)"},
    },
}
LOCALE: dict[str, Any] = {"type": ["string", "null"], "enum": ["en", "fr", None]}
ATTEMPT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "gateway": {"type": "string"},
        "outcome": {
            "type": "string",
            "enum": [*STATUSES, "error"],
            "description": "the payment status the call left (requires_payment_method: declined), "
            "or error when it gave no result",
        },
        "error_code": {
            "type": ["string", "null"],
            "description": "why: a decline's code, gateway_unavailable, gateway_timeout, a refusal's code",
        },
        "latency_ms": {"type": "integer"},
        "at": {"type": "integer", "description": "UNIX seconds"},
    },
}

SCHEMAS: dict[str, Any] = {
    "Payment": {
        "type": "object",
        "required": ["id", "object", "amount", "currency", "gateway", "status", "version"],
        "properties": {
            "id": PAYMENT_ID,
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
            "last_error": LAST_ERROR,
            "next_action": NEXT_ACTION,
            "created": {"type": "integer", "description": "UNIX seconds"},
            "updated": {"type": "integer", "description": "UNIX seconds"},
            "history": {"type": "array", "items": {"type": "object"}},
            "attempts": {"type": "array", "items": ATTEMPT},
            "locale": {"type": ["string", "null"]},
            "client_secret": {
                "type": "string",
                "description": "only in the create response (SPEC 8): lets a browser read this payment",
            },
            "routing": {
                "type": ["object", "null"],
                "description": "the routing decision of a payment that named no gateway (null: pinned)",
            },
        },
    },
    "PaymentCreate": {
        "type": "object",
        "required": ["amount", "currency"],
        "additionalProperties": False,
        "properties": {
            "amount": AMOUNT,
            "currency": CURRENCY,
            "gateway": {
                "type": ["string", "null"],
                "description": "absent: chosen by the [routing] rules when configured, else sandbox",
            },
            "user_id": REF,
            "order_ref": REF,
            "payment_method": REF,
            "metadata": METADATA,
            "locale": LOCALE,
        },
    },
    "PaymentConfirm": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"payment_method": REF},
    },
    "RefundCreate": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "amount": {**AMOUNT, "type": ["integer", "null"], "description": "default: all that is left"}
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
            "payment_id": PAYMENT_ID,
            "amount": {"type": "integer"},
            "currency": {"type": "string"},
            "status": {"type": "string"},
            "gateway_ref": {"type": ["string", "null"]},
            "payment": {"$ref": "#/components/schemas/Payment"},
        },
    },
    "WebhookAck": {
        "type": "object",
        "required": ["received", "duplicate"],
        "properties": {"received": {"const": True}, "duplicate": {"type": "boolean"}},
    },
    "Ready": {
        "type": "object",
        "required": ["status", "checks"],
        "properties": {
            "status": {"enum": ["ready", "degraded"]},
            "checks": {"type": "object", "additionalProperties": {"type": "boolean"}},
        },
    },
}

PAYMENT = {"$ref": "#/components/schemas/Payment"}
OBJECT: dict[str, Any] = {"type": "object"}
