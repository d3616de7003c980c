"""The ledger's paths in /openapi.json (registered by `setup_ledger` next to its routes)."""

from __future__ import annotations

from typing import Any

from payedge_server.openapi import op, path_param, query_param

_OBJ: dict[str, Any] = {"type": "object"}
_INT = {"type": "integer"}
_OWNER = [path_param("owner")]
_ID = [path_param("id")]
_PERIOD = [
    query_param("from", {"type": "integer", "description": "UNIX seconds, inclusive"}),
    query_param("to", {"type": "integer", "description": "UNIX seconds, exclusive (default: now)"}),
]


def _errors(operation: dict[str, Any], **statuses: str) -> dict[str, Any]:
    """Add error responses (`e402="insufficient_funds"`) to an operation."""
    for key, codes in statuses.items():
        operation["responses"][key.removeprefix("e")] = {
            "description": codes,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return operation


WITHDRAWAL = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "object": {"const": "withdrawal"},
        "owner": {"type": "string"},
        "amount": _INT,
        "currency": {"type": "string"},
        "status": {"enum": ["pending", "completed", "failed", "expired"]},
        "created": _INT,
        "expires": {"type": ["integer", "null"]},
    },
}
BALANCE = {
    "type": "object",
    "properties": {k: _INT for k in ("available", "pending_out", "credited", "debited")},
}
TRANSFER_IN = {
    "type": "object",
    "required": ["id"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"},
        "debit_account": {"type": "string", "description": "account code, e.g. wallet:alice:EUR"},
        "credit_account": {"type": "string"},
        "amount": {"type": "integer", "minimum": 1},
        "currency": {"type": "string"},
        "pending": {"type": "boolean"},
        "timeout_seconds": {"type": "integer", "minimum": 0},
        "post_pending_id": {"type": "string"},
        "void_pending_id": {"type": "string"},
        "linked": {"type": "boolean"},
    },
}
RESULTS = {
    "type": "object",
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "result": {"type": "string", "description": "ok, exists, or an error code"},
                },
            },
        }
    },
}

PATHS: dict[str, dict[str, Any]] = {
    "/v1/wallets/{owner}": {
        "get": op(
            "Balances of an owner's wallets per currency ({} when it has none)",
            schema={
                "type": "object",
                "properties": {
                    "owner": {"type": "string"},
                    "balances": {"type": "object", "additionalProperties": BALANCE},
                },
            },
            params=_OWNER,
        )
    },
    "/v1/wallets/{owner}/transactions": {
        "get": op(
            "An owner's wallet transactions, newest first (cursor: starting_after)",
            schema=_OBJ,
            params=[
                *_OWNER,
                query_param("currency", {"type": "string"}),
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
                query_param("starting_after", {"type": "string"}),
            ],
        )
    },
    "/v1/wallets/{owner}/statistics": {
        "get": op(
            "Money in and out of an owner's wallets over a period, by type",
            schema=_OBJ,
            params=[*_OWNER, *_PERIOD],
        )
    },
    "/v1/wallets/{owner}/withdrawals": {
        "post": _errors(
            op(
                "Withdraw from a wallet: a pending transfer to payouts:pending (200 when the id exists)",
                ok=201,
                schema=WITHDRAWAL,
                params=_OWNER,
                body={
                    "type": "object",
                    "required": ["amount", "currency"],
                    "properties": {
                        "amount": {"type": "integer", "minimum": 1},
                        "currency": {"type": "string"},
                        "id": {"type": "string"},
                        "timeout_seconds": {"type": "integer", "minimum": 0},
                    },
                },
                idempotent=True,
            ),
            e402="insufficient_funds",
        )
    },
    "/v1/withdrawals/{id}": {
        "get": _errors(op("A withdrawal", schema=WITHDRAWAL, params=_ID), e404="withdrawal_not_found")
    },
    "/v1/withdrawals/{id}/complete": {
        "post": _errors(
            op("Complete (post) a pending withdrawal", schema=WITHDRAWAL, params=_ID, idempotent=True),
            e404="withdrawal_not_found",
            e409="withdrawal_already_resolved, pending_transfer_expired",
        )
    },
    "/v1/withdrawals/{id}/fail": {
        "post": _errors(
            op(
                "Fail (void) a pending withdrawal: its amount returns to the wallet",
                schema=WITHDRAWAL,
                params=_ID,
                idempotent=True,
            ),
            e404="withdrawal_not_found",
            e409="withdrawal_already_resolved, pending_transfer_expired",
        )
    },
    "/v1/commissions/rates": {"get": op("The commission rates in force", schema=_OBJ)},
    "/v1/commissions/statistics": {
        "get": op(
            "Commissions of the payments that succeeded over a period, per currency and type",
            schema=_OBJ,
            params=[
                *_PERIOD,
                query_param("owner", {"type": "string"}),
                query_param("commission_type", {"type": "string"}),
            ],
        )
    },
    "/v1/commissions/projections": {
        "post": op(
            "Project commissions and merchants' net for planned sales",
            schema=_OBJ,
            body={
                "type": "object",
                "required": ["currency", "sales"],
                "properties": {
                    "currency": {"type": "string"},
                    "sales": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "commission_type": {"type": "string"},
                                "owner": {"type": "string"},
                                "amount": {"type": "integer", "minimum": 1},
                                "count": {"type": "integer", "minimum": 1},
                            },
                        },
                    },
                },
            },
            idempotent=True,
        )
    },
    "/v1/ledger/transfers": {
        "post": op(
            "Create transfers (TigerBeetle batch semantics: a result per transfer, linked chains atomic)",
            schema=RESULTS,
            body={
                "type": "object",
                "required": ["transfers"],
                "properties": {"transfers": {"type": "array", "maxItems": 1000, "items": TRANSFER_IN}},
            },
            idempotent=True,
        )
    },
    "/v1/ledger/accounts/{code}": {
        "get": _errors(
            op("An account's balances (posted and pending)", schema=_OBJ, params=[path_param("code")]),
            e404="account_not_found",
        )
    },
    "/v1/ledger/trial-balance": {
        "get": op("Sums of all accounts per currency (debits = credits)", schema=_OBJ)
    },
    "/v1/invoices": {
        "get": op(
            "The invoice and credit notes of a payment",
            schema=_OBJ,
            params=[query_param("payment_id", {"type": "string"})],
        )
    },
    "/v1/invoices/{id}": {
        "get": _errors(
            op(
                "An invoice or credit note: JSON, or a PDF for Accept: application/pdf",
                schema=_OBJ,
                params=_ID,
            ),
            e404="invoice_not_found",
        )
    },
}
