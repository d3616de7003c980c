"""Routing's paths in /openapi.json (registered by `setup_routing` next to its routes)."""

from __future__ import annotations

from typing import Any

from payedge_server.openapi import op, query_param
from payedge_server.openapi.schemas import AMOUNT, CURRENCY, METADATA, REF
from payedge_server.payments.methods import METHOD_TYPES

_OBJ: dict[str, Any] = {"type": "object"}
_TEXT: dict[str, Any] = {"type": ["string", "null"], "minLength": 1, "maxLength": 64}
_SECONDS = {"type": "integer", "minimum": 0, "maximum": 10**11}

DECISION: dict[str, Any] = {
    "type": "object",
    "required": ["object", "payment_id", "routed", "gateways", "skipped"],
    "properties": {
        "object": {"const": "routing_decision"},
        "payment_id": {"type": "string"},
        "routed": {"type": "boolean", "description": "false: the payment goes to the gateway it names"},
        "rule": {"type": ["string", "null"]},
        "approach": {"enum": ["priority", "split", "success_rate", "default", "pinned"]},
        "gateways": {"type": "array", "items": {"type": "string"}, "description": "try order"},
        "skipped": {"type": "object", "additionalProperties": {"type": "string"}},
        "probe": {"type": ["string", "null"]},
        "hedged": {"type": "boolean"},
        "error": {"type": "object", "description": "what a payment would be answered when no gateway can"},
    },
}
SIMULATE: dict[str, Any] = {
    "type": "object",
    "required": ["amount", "currency"],
    "additionalProperties": False,
    "properties": {
        "payment_id": {**REF, "description": "splits and hedging depend on it (default: a new id)"},
        "amount": AMOUNT,
        "currency": CURRENCY,
        "gateway": {**_TEXT, "description": "a payment that names its gateway is not routed"},
        "country": _TEXT,
        "payment_method": REF,
        "payment_method_type": {
            "type": "string",
            "enum": sorted(METHOD_TYPES),
            "description": "instead of payment_method (not with it): the type a payment would carry",
        },
        "metadata": METADATA,
        "rules": {"type": ["object", "null"], "description": "candidate rules instead of [routing]"},
    },
}

PATHS: dict[str, dict[str, Any]] = {
    "/v1/gateways": {
        "get": op(
            "Gateways with their health: circuit, success rates, latency p50/p99",
            schema={"type": "object", "properties": {"data": {"type": "array", "items": _OBJ}}},
            errors=("parameter_unknown",),
        )
    },
    "/v1/gateways/stats": {
        "get": op(
            "Attempts per gateway, currency or day: outcomes and amounts (seed 003)",
            schema=_OBJ,
            params=[
                query_param(
                    "from", {**_SECONDS, "description": "UNIX seconds, inclusive (default: to - 1 day)"}
                ),
                query_param("to", {**_SECONDS, "description": "UNIX seconds, exclusive (default: now)"}),
                query_param("group_by", {"enum": ["gateway", "currency", "day"]}),
            ],
            errors=("parameter_invalid", "parameter_unknown"),
        )
    },
    "/v1/routing/simulate": {
        "post": op(
            "The routing decision for a hypothetical payment (no effect: no probe taken, nothing recorded)",
            schema=DECISION,
            body=SIMULATE,
            body_required=True,
            errors=(
                "parameter_missing",
                "parameter_invalid",
                "amount_invalid",
                "currency_invalid",
                "card_data_refused",
                "invalid_routing_rules",
            ),
            idempotent=True,
            example={"amount": 2500, "currency": "EUR", "payment_method": "pm_sandbox_ok"},
        )
    },
}
