"""The documented operations of the catalog and orders (SPEC 8), registered beside their routes."""

from __future__ import annotations

from typing import Any

from payedge_server.openapi import op, path_param, query_param
from payedge_server.openapi.schemas import AMOUNT, CURRENCY, LOCALE
from payedge_server.orders.model import ORDER_STATUSES

_PRODUCT_ID: dict[str, Any] = {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"}
_ORDER_ID: dict[str, Any] = {"type": "string", "pattern": "^ord_[0-9a-f]{24}$"}
_LIMIT = query_param("limit", {"type": "integer", "minimum": 1, "maximum": 100})

PRODUCT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "object", "name", "prices", "active"],
    "properties": {
        "id": _PRODUCT_ID,
        "object": {"const": "product"},
        "name": {"type": "string"},
        "prices": {"type": "object", "additionalProperties": {"type": "integer"}},
        "active": {"type": "boolean"},
        "source": {"enum": ["config", "api"]},
        "created": {"type": "integer"},
        "updated": {"type": "integer"},
    },
}
PRODUCT_CREATE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "prices"],
    "additionalProperties": False,
    "properties": {
        "id": _PRODUCT_ID,
        "name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"},
        "prices": {
            "type": "object",
            "minProperties": 1,
            "maxProperties": 50,
            "propertyNames": {"pattern": "^[A-Z]{3}$"},
            "additionalProperties": AMOUNT,
            "description": 'minor units per ISO 4217 currency: {"EUR": 2900}',
        },
        "active": {"type": "boolean"},
    },
}
ORDER: dict[str, Any] = {
    "type": "object",
    "required": ["id", "object", "status", "payment_status", "amount", "currency", "items", "payment_id"],
    "properties": {
        "id": _ORDER_ID,
        "object": {"const": "order"},
        "status": {"enum": list(ORDER_STATUSES)},
        "payment_status": {"type": "string"},
        "amount": {"type": "integer", "description": "minor units, computed by the server"},
        "currency": {"type": "string"},
        "items": {"type": "array", "items": {"type": "object"}},
        "payment_id": {"type": "string"},
        "client_secret": {"type": "string", "description": "only in the create response"},
        "receipt": {"type": ["object", "null"]},
    },
}
ORDER_CREATE: dict[str, Any] = {
    "type": "object",
    "required": ["items", "currency", "customer"],
    "additionalProperties": False,
    "properties": {
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": 100,
            "items": {
                "type": "object",
                "required": ["product_id", "quantity"],
                "additionalProperties": False,
                "properties": {
                    "product_id": _PRODUCT_ID,
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
                },
            },
        },
        "currency": CURRENCY,
        "customer": {
            "type": "object",
            "required": ["email"],
            "additionalProperties": False,
            "properties": {
                "email": {"type": "string", "maxLength": 254, "pattern": "^[^@\\s]{1,64}@[^@\\s]{1,189}$"},
                "name": {"type": ["string", "null"], "minLength": 1, "maxLength": 200},
            },
        },
        "payee": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9_.:-]{1,64}$"},
        "gateway": {"type": ["string", "null"], "default": "sandbox"},
        "locale": LOCALE,
    },
}
_LIST = {"type": "object", "properties": {"object": {"const": "list"}, "data": {"type": "array"}}}
_GATEWAY_ERRORS = (
    "gateway_rejected",
    "gateway_unavailable",
    "amount_not_representable",
    "currency_not_supported",
)

PATHS: dict[str, dict[str, Any]] = {
    "/v1/products": {
        "get": op(
            "List the catalog's products by id",
            schema=_LIST,
            params=[
                _LIMIT,
                query_param("starting_after", _PRODUCT_ID),
                query_param("active", {"type": "string", "enum": ["true", "false"]}),
            ],
            errors=("parameter_unknown", "parameter_invalid"),
        ),
        "post": op(
            "Create a product (201) or replace the one with this id (200)",
            schema=PRODUCT,
            body=PRODUCT_CREATE,
            body_required=True,
            responses={
                "201": {"description": "created", "content": {"application/json": {"schema": PRODUCT}}}
            },
            errors=("parameter_missing", "parameter_invalid", "currency_invalid", "amount_invalid"),
            idempotent=True,
            example={"id": "basic", "name": "Consultation", "prices": {"EUR": 2900, "XOF": 19000}},
        ),
    },
    "/v1/products/{id}": {
        "get": op(
            "A product",
            schema=PRODUCT,
            params=[path_param("id", _PRODUCT_ID)],
            errors=("parameter_invalid", "product_not_found"),
        )
    },
    "/v1/orders": {
        "post": op(
            "Create an order: the server prices its items and creates its payment (SPEC 8); "
            "the answer carries the payment's client_secret for the hosted checkout",
            ok=201,
            schema=ORDER,
            body=ORDER_CREATE,
            body_required=True,
            errors=(
                "client_price_refused",
                "parameter_missing",
                "parameter_invalid",
                "currency_invalid",
                "product_unavailable",
                "price_unavailable",
                "gateway_invalid",
                "commission_type_unknown",
                *_GATEWAY_ERRORS,
            ),
            idempotent=True,
            example={
                "items": [{"product_id": "example", "quantity": 2}],
                "currency": "EUR",
                "customer": {"email": "ada@example.com", "name": "Ada"},
            },
        ),
        "get": op(
            "List orders, newest first",
            schema=_LIST,
            params=[
                _LIMIT,
                query_param("starting_after", _ORDER_ID),
                query_param("status", {"type": "string", "enum": list(ORDER_STATUSES)}),
            ],
            errors=("parameter_unknown", "parameter_invalid", "invalid_id"),
        ),
    },
    "/v1/orders/{id}": {
        "get": op(
            "An order: its `status` and its payment's `payment_status` (also with ?client_secret= of its "
            "payment, in place of an API key)",
            schema=ORDER,
            params=[path_param("id", _ORDER_ID), query_param("client_secret", {"type": "string"})],
            errors=("invalid_id", "order_not_found"),
        )
    },
    "/v1/orders/{id}/fulfill": {
        "post": op(
            "Mark a paid order fulfilled",
            schema=ORDER,
            params=[path_param("id", _ORDER_ID)],
            errors=("invalid_id", "order_not_found", "order_unexpected_state", "parameter_unknown"),
            idempotent=True,
        )
    },
    "/v1/orders/{id}/cancel": {
        "post": op(
            "Cancel a pending order (its payment is canceled; the order follows)",
            schema=ORDER,
            params=[path_param("id", _ORDER_ID)],
            errors=(
                "invalid_id",
                "order_not_found",
                "order_unexpected_state",
                "payment_unexpected_state",
                "payment_busy",
                "parameter_unknown",
                "gateway_rejected",
                "gateway_unavailable",
            ),
            idempotent=True,
        )
    },
}
