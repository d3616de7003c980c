"""The error catalogue: every `code` the server answers with, its HTTP status and meaning.

Domain code raises a `DomainError` (or a subclass) naming a code from `CATALOGUE`;
the Rust core raises `payedge.PayedgeError` with its own codes. Neither knows
about HTTP: `to_response` (called once, by the edge middleware) looks the code up
here and renders `{"error": {"code", "message", "param"?, ...}}` with its status.
As Hyperswitch's single API error type, this table is the one place a status is
decided, and what the docs' error reference is generated from.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import payedge
from aiohttp import web

log = logging.getLogger("payedge.errors")

JSON = "application/json"


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    status: int
    meaning: str


def _spec(status: int, meaning: str) -> ErrorSpec:
    return ErrorSpec(status, meaning)


CATALOGUE: Mapping[str, ErrorSpec] = {
    # -- the request itself ------------------------------------------------------------
    "invalid_json": _spec(400, "The request body is not a JSON object."),
    "parameter_missing": _spec(400, "A required parameter is absent; `param` names it."),
    "parameter_invalid": _spec(400, "A parameter has a wrong type or value; `param` names it."),
    "parameter_unknown": _spec(400, "The body holds a parameter this operation does not take."),
    "amount_invalid": _spec(400, "An amount is not a positive integer of minor units within bounds."),
    "currency_invalid": _spec(400, "Not a three-letter ISO 4217 currency payedge knows."),
    "invalid_id": _spec(400, "A path id does not have the shape of this object's ids."),
    "invalid_cursor": _spec(400, "A pagination cursor names no object of this list."),
    "card_data_refused": _spec(400, "A field looks like a card number: payedge never takes card data."),
    "idempotency_key_invalid": _spec(400, "An Idempotency-Key is empty, too long or not printable."),
    "idempotency_key_mismatch": _spec(422, "This Idempotency-Key was used with a different request."),
    "idempotency_key_in_flight": _spec(409, "A request with this Idempotency-Key is still running."),
    "unauthorized": _spec(401, "No API key, or not a valid one (Authorization: Bearer <key>)."),
    "csrf_failed": _spec(
        403, "A dashboard session wrote without its CSRF token (header X-CSRF-Token), or from another origin."
    ),
    "forbidden": _spec(403, "The credential cannot do this: a client secret reads only its own payment."),
    "rate_limited": _spec(429, "Too many requests for this API key or address: retry after `Retry-After` s."),
    "not_found": _spec(404, "No such route."),
    "method_not_allowed": _spec(405, "The route exists but not with this method."),
    "body_too_large": _spec(413, "The request body is larger than the 1 MB limit."),
    "unsupported_media_type": _spec(415, "The request body's content type is not accepted here."),
    "bad_request": _spec(400, "The HTTP request is malformed."),
    # -- payments ------------------------------------------------------------------------
    "payment_not_found": _spec(404, "No payment with this id."),
    "payment_unexpected_state": _spec(400, "The payment's status does not allow this operation."),
    "payment_busy": _spec(409, "Another operation on this payment is in progress; retry."),
    "payment_method_invalid": _spec(400, "The payment method id is not one this gateway takes."),
    "gateway_invalid": _spec(400, "No gateway with this name is configured."),
    "refund_exceeds_captured": _spec(400, "A refund would exceed what is left to refund."),
    "amount_not_representable": _spec(
        400, "The gateway cannot carry this amount in this currency exactly (never rounded)."
    ),
    "currency_not_supported": _spec(400, "The gateway does not take this currency."),
    "card_declined": _spec(402, "The provider declined the payment; the payment is in the body."),
    "payment_failed": _spec(402, "The payment attempt failed at the provider; the payment is in the body."),
    "gateway_rejected": _spec(400, "The provider refused the request; `gateway_code` says why."),
    "gateway_unavailable": _spec(503, "The provider could not be reached or answered 5xx; retry later."),
    "gateway_timeout": _spec(
        504,
        "The provider did not answer in time: it may have acted. payedge settles it by a status read; "
        "retry with the same Idempotency-Key.",
    ),
    "invalid_routing_rules": _spec(400, "Routing rules are invalid; `param` is the JSON path (or `rules`)."),
    "refund_not_supported": _spec(
        400, "The payment's gateway has no refund API: refund it from the provider's back office."
    ),
    # -- catalog and orders (SPEC 8) -----------------------------------------------------
    "product_not_found": _spec(404, "No product with this id."),
    "order_not_found": _spec(404, "No order with this id (or the client secret is not this order's)."),
    "client_price_refused": _spec(
        400,
        "The body sets an amount or a price: the server prices orders from the catalog; `param` names it.",
    ),
    "product_unavailable": _spec(400, "An order item names no active product; `param` names the item."),
    "price_unavailable": _spec(
        400, "A product has no price in the order's currency; `param` names the item."
    ),
    "order_unexpected_state": _spec(400, "The order's status does not allow this operation."),
    # -- webhooks ------------------------------------------------------------------------
    "invalid_signature": _spec(400, "The webhook's signature, or its signature header, is not valid."),
    "invalid_payload": _spec(
        400, "A webhook that cannot be an event at all (no id); a signed one is acknowledged instead."
    ),
    "webhook_not_configured": _spec(400, "This server has no secret for this provider's webhooks."),
    "unknown_provider": _spec(404, "No webhook endpoint for this provider."),
    # -- terminals (codes of the core's TerminalQueue) -----------------------------------
    "terminal_busy": _spec(409, "The terminal already holds a lease."),
    "unknown_terminal": _spec(404, "No terminal with this id."),
    "stale_lease": _spec(409, "The lease token is expired, completed or unknown."),
    "already_allocated": _spec(409, "The payment holds a terminal lease: it cannot be queued again."),
    "terminals_not_configured": _spec(409, "The server has no terminal queue (start it with --terminals)."),
    # -- quotes and tariffs --------------------------------------------------------------
    "tariff_not_configured": _spec(409, "The server has no tariff (start it with --tariff FILE)."),
    "invalid_tariff": _spec(400, "Tariff rules are invalid; `param` is the JSON path."),
    # -- parking -------------------------------------------------------------------------
    "session_not_found": _spec(404, "No parking session with this id."),
    "session_closed": _spec(409, "The session is closed: it cannot be overridden."),
    "trusted_not_found": _spec(404, "No trusted badge or PIN entry with this id."),
    "badge_in_use": _spec(409, "This badge is already trusted."),
    "pin_in_use": _spec(409, "This PIN is already given to another trusted user."),
    # -- the ledger (SPEC 6; TigerBeetle's create_transfer result names where one exists) --
    "id_invalid": _spec(400, "An id is not 1 to 64 characters of [A-Za-z0-9_.:-]."),
    "account_code_invalid": _spec(400, "Not an account code (`wallet:<owner>:<CUR>`, `platform:...`)."),
    "accounts_must_be_different": _spec(400, "A transfer's debit and credit accounts are the same."),
    "flags_are_mutually_exclusive": _spec(400, "A transfer is both pending and posting or voiding one."),
    "timeout_reserved_for_pending_transfer": _spec(400, "Only a pending transfer takes a timeout."),
    "timeout_invalid": _spec(400, "A timeout is not a whole number of seconds within bounds."),
    "account_not_found": _spec(404, "No ledger account with this code."),
    "currency_mismatch": _spec(400, "The transfer's currency is not its accounts' currency."),
    "exists_with_different_fields": _spec(409, "A transfer with this id exists with other fields."),
    "transfer_exists_with_different_fields": _spec(409, "A transfer with this id exists with other fields."),
    "exceeds_credits": _spec(402, "The debit would take the account below what it was credited."),
    "exceeds_debits": _spec(402, "The credit would take the account beyond what it was debited."),
    "pending_transfer_not_found": _spec(404, "No pending transfer with this id."),
    "pending_transfer_not_pending": _spec(409, "The transfer named is not a pending one."),
    "pending_transfer_has_different_accounts": _spec(400, "Posting or voiding names other accounts."),
    "pending_transfer_has_different_amount": _spec(400, "Voiding names another amount than pending."),
    "pending_transfer_already_posted": _spec(409, "The pending transfer was posted already."),
    "pending_transfer_already_voided": _spec(409, "The pending transfer was voided already."),
    "pending_transfer_expired": _spec(409, "The pending transfer timed out: it can no longer resolve."),
    "exceeds_pending_transfer_amount": _spec(400, "Posting more than the pending amount."),
    "linked_event_failed": _spec(400, "Another transfer of this linked chain failed: none committed."),
    "linked_event_chain_open": _spec(400, "The batch's last transfer leaves a linked chain open."),
    "insufficient_funds": _spec(402, "The wallet cannot pay this: nothing was moved."),
    "withdrawal_not_found": _spec(404, "No withdrawal with this id."),
    "withdrawal_already_resolved": _spec(409, "The withdrawal was completed or failed already."),
    "invoice_not_found": _spec(404, "No invoice or credit note with this id."),
    "commission_type_unknown": _spec(400, "No commission rate for this type, payee and currency."),
    # -- codes of the Rust core (payedge.PayedgeError) -----------------------------------
    "invalid_argument": _spec(400, "An argument is invalid; `param` names it."),
    "unknown_currency": _spec(400, "Not an ISO 4217 currency payedge knows."),
    "excess_precision": _spec(400, "More decimals than the currency has."),
    "invalid_amount": _spec(400, "Not an amount (or out of range)."),
    # -- the server ----------------------------------------------------------------------
    "internal_error": _spec(500, "An unexpected error; it is logged."),
    "store_unavailable": _spec(503, "The database cannot be reached or is full; retry later."),
}


class DomainError(Exception):
    """An error a client can act on: a `code` from `CATALOGUE`, a message, the bad field.

    `details` are extra fields of the error object (e.g. `gateway_code`);
    `attach` are extra top-level fields of the body (e.g. the declined `payment`).
    """

    def __init__(
        self,
        code: str,
        message: str,
        param: str | None = None,
        *,
        details: Mapping[str, Any] | None = None,
        attach: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.details = dict(details or {})
        self.attach = dict(attach or {})
        self.headers = dict(headers or {})

    @property
    def status(self) -> int:
        return status_of(self.code)

    def as_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        error.update(self.details)
        return {"error": error, **self.attach}


class RequestError(DomainError):
    """The request is wrong (a bad, missing or unknown parameter): nothing was done."""


class NotFoundError(DomainError):
    """The object the request names does not exist."""


def status_of(code: str) -> int:
    spec = CATALOGUE.get(code)
    if spec is None:  # a code raised without its catalogue entry: a bug, answered as one
        log.error("error code %r is not in the catalogue", code)
        return 500
    return spec.status


def from_core(exc: payedge.PayedgeError) -> DomainError:
    """A core error as a domain error (same code, message and param)."""
    return DomainError(exc.code, str(exc), exc.param)


def to_response(exc: DomainError | payedge.PayedgeError) -> web.Response:
    """The one place an error becomes HTTP."""
    error = exc if isinstance(exc, DomainError) else from_core(exc)
    return web.Response(
        status=error.status,
        body=orjson.dumps(error.as_dict()),
        content_type=JSON,
        headers=error.headers or None,
    )


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(data), content_type=JSON, headers=headers)


# aiohttp's own HTTP exceptions (routing, body size) mapped to stable codes.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


def from_http_exception(exc: web.HTTPException) -> DomainError:
    status = exc.status
    code = _HTTP_CODES.get(status, "internal_error")
    message = exc.reason
    if status == 413:
        message = CATALOGUE["body_too_large"].meaning
    elif status == 404:
        message = "no such route"
    headers = None
    if status == 405:
        allow = exc.headers.get("Allow")
        headers = {"Allow": allow} if allow else None
    return DomainError(code, message, headers=headers)


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 saying what is wrong."""
    body = await request.read()
    if not body:
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestError("invalid_json", "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise RequestError("invalid_json", "the request body must be a JSON object")
    return data


def reference() -> str:
    """docs/errors.md: the catalogue as a Markdown table (kept equal to the file by a test)."""
    lines = [
        "# Error codes",
        "",
        'Every error the edge server answers with is `{"error": {"code", "message", "param"?, ...}}`',
        "with one of these codes. The table is generated from the one catalogue",
        "(`server/payedge_server/errors.py`): `python -m payedge_server.errors > docs/errors.md`.",
        "",
        "| code | HTTP status | meaning |",
        "| --- | --- | --- |",
    ]
    for code, spec in CATALOGUE.items():
        lines.append(f"| `{code}` | {spec.status} | {spec.meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(reference(), end="")
