"""The ledger's paths in /openapi.json (registered by `setup_ledger` next to its routes)."""

from __future__ import annotations

from typing import Any

from payedge_server.openapi import op, path_param, query_param

_OBJ: dict[str, Any] = {"type": "object"}
_INT = {"type": "integer"}
_OWNER = [path_param("owner", {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"})]
_ID = [path_param("id", {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"})]
_PERIOD = [
    query_param("from", {"type": "integer", "description": "UNIX seconds, inclusive"}),
    query_param("to", {"type": "integer", "description": "UNIX seconds, exclusive (default: now)"}),
]


# The codes a request can be refused with before the ledger is reached (routes.py's parsing).
_INPUT = ("parameter_invalid", "parameter_missing", "id_invalid")
_BODY = (*_INPUT, "amount_invalid", "currency_invalid")
_PERIOD_ERRORS = ("parameter_invalid",)
_WITHDRAWAL_RESOLVED = (
    "id_invalid",
    "withdrawal_not_found",
    "withdrawal_already_resolved",
    "pending_transfer_expired",
)
_PATTERN_ID = {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"}


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
            errors=("id_invalid",),
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
            errors=(*_INPUT, "currency_invalid"),
        )
    },
    "/v1/wallets/{owner}/statistics": {
        "get": op(
            "Money in and out of an owner's wallets over a period, by type",
            schema=_OBJ,
            params=[*_OWNER, *_PERIOD],
            errors=("id_invalid", *_PERIOD_ERRORS),
        )
    },
    "/v1/wallets/{owner}/withdrawals": {
        "post": op(
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
            body_required=True,
            errors=(
                *_BODY,
                "parameter_unknown",
                "timeout_invalid",
                "insufficient_funds",
                "transfer_exists_with_different_fields",
            ),
            example={"amount": 100, "currency": "EUR"},
        )
    },
    "/v1/withdrawals/{id}": {
        "get": op(
            "A withdrawal", schema=WITHDRAWAL, params=_ID, errors=("id_invalid", "withdrawal_not_found")
        )
    },
    "/v1/withdrawals/{id}/complete": {
        "post": op(
            "Complete (post) a pending withdrawal",
            schema=WITHDRAWAL,
            params=_ID,
            body=_OBJ,
            idempotent=True,
            errors=_WITHDRAWAL_RESOLVED,
            example={},
        )
    },
    "/v1/withdrawals/{id}/fail": {
        "post": op(
            "Fail (void) a pending withdrawal: its amount returns to the wallet",
            schema=WITHDRAWAL,
            params=_ID,
            body=_OBJ,
            idempotent=True,
            errors=_WITHDRAWAL_RESOLVED,
            example={},
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
            errors=(*_PERIOD_ERRORS, "id_invalid"),
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
            body_required=True,
            errors=(*_BODY, "parameter_unknown", "commission_type_unknown"),
            example={"currency": "EUR", "sales": [{"amount": 2500, "count": 10}]},
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
            body_required=True,
            errors=(
                *_BODY,
                "parameter_unknown",
                "account_code_invalid",
                "timeout_invalid",
                "flags_are_mutually_exclusive",
            ),
            example={
                "transfers": [
                    {
                        "id": "example-1",
                        "debit_account": "external:bank:EUR",
                        "credit_account": "wallet:example:EUR",
                        "amount": 100,
                        "currency": "EUR",
                    }
                ]
            },
        )
    },
    "/v1/ledger/accounts/{code}": {
        "get": op(
            "An account's balances (posted and pending)",
            schema=_OBJ,
            params=[path_param("code")],
            errors=("account_code_invalid", "account_not_found", "parameter_invalid"),
        )
    },
    "/v1/ledger/trial-balance": {
        "get": op("Sums of all accounts per currency (debits = credits)", schema=_OBJ)
    },
    "/v1/invoices": {
        "get": op(
            "The invoice and credit notes of a payment",
            schema=_OBJ,
            params=[query_param("payment_id", _PATTERN_ID, required=True)],
            errors=_INPUT,
        )
    },
    "/v1/invoices/{id}": {
        "get": op(
            "An invoice or credit note: JSON, or a PDF for Accept: application/pdf",
            schema=_OBJ,
            params=[path_param("id")],
            errors=("id_invalid", "invoice_not_found"),
        )
    },
}
