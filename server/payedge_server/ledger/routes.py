"""HTTP routes of the ledger (SPEC 6): parse and validate into typed arguments, call the service.

A ledger refusal is a `LedgerError` (a `DomainError`): the server's one error catalogue
gives it its status at the edge.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from payedge_server import idempotency
from payedge_server.errors import json_response, read_json_object
from payedge_server.ledger import commissions, pdf
from payedge_server.ledger.errors import Code, LedgerError
from payedge_server.ledger.invoices import INVOICE_ID
from payedge_server.ledger.model import (
    ID,
    MAX_AMOUNT,
    MAX_TIMEOUT_SECONDS,
    Transfer,
    TransferKind,
    currency_code,
    parse_account,
)
from payedge_server.ledger.service import LedgerService
from payedge_server.ledger.withdrawals import new_id

LEDGER = web.AppKey("ledger", LedgerService)
MAX_BATCH = 1000
MAX_PROJECTED_SALES = 100
MAX_COUNT = 10**6

WITHDRAWAL_FIELDS = frozenset({"amount", "currency", "id", "timeout_seconds"})
TRANSFER_FIELDS = frozenset(
    {
        "id",
        "debit_account",
        "credit_account",
        "amount",
        "currency",
        "pending",
        "timeout_seconds",
        "post_pending_id",
        "void_pending_id",
        "linked",
    }
)
SALE_FIELDS = frozenset({"commission_type", "owner", "amount", "count"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _answer(result: tuple[int, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """The service's (status, body) is the response an Idempotency-Key saves."""
    return result


# ----------------------------------------------------------------------------- parsing
def _bad(param: str, message: str, code: Code = Code.PARAMETER_INVALID) -> LedgerError:
    return LedgerError(code, message, param)


def _check_unknown(body: Mapping[str, Any], allowed: frozenset[str], prefix: str = "") -> None:
    for key in body:
        if key not in allowed:
            raise _bad(f"{prefix}{key}"[:80], f"unknown parameter {key[:64]!r}", Code.PARAMETER_UNKNOWN)


def _id(value: Any, param: str) -> str:
    if not isinstance(value, str) or not ID.fullmatch(value):
        raise _bad(param, f"{param} must be 1 to 64 characters of [A-Za-z0-9_.:-]", Code.ID_INVALID)
    return value


def _amount(value: Any, param: str) -> int:
    if value is None:
        raise _bad(param, f"{param} is required", Code.PARAMETER_MISSING)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_AMOUNT:
        raise _bad(
            param, f"{param} must be an integer of minor units from 1 to {MAX_AMOUNT}", Code.AMOUNT_INVALID
        )
    return value


def _currency(value: Any, param: str) -> str:
    if value is None:
        raise _bad(param, f"{param} is required", Code.PARAMETER_MISSING)
    code = value.upper() if isinstance(value, str) else ""
    if not currency_code(code):
        raise _bad(param, f"{param} must be a known three-letter ISO 4217 code", Code.CURRENCY_INVALID)
    return code


def _int(value: Any, param: str, *, low: int, high: int, code: Code = Code.PARAMETER_INVALID) -> int:
    """A JSON integer in [low, high]: "10" or 10.0 in a body is refused, as amounts are."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(param, f"{param} must be an integer from {low} to {high}", code)
    return value


def _timeout(value: Any, param: str) -> int:
    """A hold's `timeout_seconds`: `timeout_invalid` as the batch's result code says it (docs/ledger.md)."""
    return _int(value, param, low=0, high=MAX_TIMEOUT_SECONDS, code=Code.TIMEOUT_INVALID)


def _query_int(request: web.Request, name: str, default: int | None, *, low: int, high: int) -> int | None:
    """A query parameter is text: its digits are the integer."""
    raw = request.query.get(name)
    if raw is None:
        return default
    number: Any = int(raw) if raw.isascii() and raw.lstrip("-").isdigit() and len(raw) < 20 else raw
    return _int(number, name, low=low, high=high)


def _owner(request: web.Request) -> str:
    return _id(request.match_info["owner"], "owner")


# ----------------------------------------------------------------------------- wallets
async def get_wallet(request: web.Request) -> web.Response:
    return json_response(await request.app[LEDGER].wallet(_owner(request)))


async def wallet_transactions(request: web.Request) -> web.Response:
    owner = _owner(request)
    currency = request.query.get("currency")
    after = request.query.get("starting_after")
    page = await request.app[LEDGER].wallet_transactions(
        owner,
        currency=_currency(currency, "currency") if currency is not None else None,
        limit=_query_int(request, "limit", 10, low=1, high=100) or 10,
        starting_after=_id(after, "starting_after") if after is not None else None,
    )
    return json_response(page)


def _period(request: web.Request) -> tuple[int, int | None]:
    since = _query_int(request, "from", 0, low=0, high=2**40) or 0
    until = _query_int(request, "to", None, low=0, high=2**40)
    if until is not None and until < since:
        raise _bad("to", "to must not be before from")
    return since, until


async def wallet_statistics(request: web.Request) -> web.Response:
    owner = _owner(request)
    since, until = _period(request)
    return json_response(await request.app[LEDGER].wallet_statistics(owner, since=since, until=until))


# ----------------------------------------------------------------------------- withdrawals
async def create_withdrawal(request: web.Request) -> web.Response:
    owner = _owner(request)
    body = await read_json_object(request)
    _check_unknown(body, WITHDRAWAL_FIELDS)
    status, view = await request.app[LEDGER].withdraw(
        owner,
        _amount(body.get("amount"), "amount"),
        _currency(body.get("currency"), "currency"),
        withdrawal_id=_id(body["id"], "id") if body.get("id") is not None else new_id(),
        timeout_seconds=_timeout(body.get("timeout_seconds", 0), "timeout_seconds"),
        idem=idempotency.context(request, _answer),
    )
    return json_response(view, status=status)


async def get_withdrawal(request: web.Request) -> web.Response:
    return json_response(await request.app[LEDGER].withdrawal(_id(request.match_info["id"], "id")))


async def _resolve(request: web.Request, *, complete: bool) -> web.Response:
    withdrawal_id = _id(request.match_info["id"], "id")
    _check_unknown(await read_json_object(request), frozenset())
    view = await request.app[LEDGER].resolve_withdrawal(
        withdrawal_id, complete=complete, idem=idempotency.context(request, _answer)
    )
    return json_response(view)


async def complete_withdrawal(request: web.Request) -> web.Response:
    return await _resolve(request, complete=True)


async def fail_withdrawal(request: web.Request) -> web.Response:
    return await _resolve(request, complete=False)


# ----------------------------------------------------------------------------- commissions
async def commission_rates(request: web.Request) -> web.Response:
    return json_response(request.app[LEDGER].settings.rates.view())


async def commission_statistics(request: web.Request) -> web.Response:
    since, until = _period(request)
    owner = request.query.get("owner")
    ctype = request.query.get("commission_type")
    stats = await request.app[LEDGER].commission_statistics(
        since=since,
        until=until,
        owner=_id(owner, "owner") if owner is not None else None,
        commission_type=_id(ctype, "commission_type") if ctype is not None else None,
    )
    return json_response(stats)


def _sale(item: Any, index: int) -> commissions.Sale:
    param = f"sales[{index}]"
    if not isinstance(item, dict):
        raise _bad(param, f"{param} must be an object")
    _check_unknown(item, SALE_FIELDS, f"{param}.")
    ctype = item.get("commission_type")
    return commissions.Sale(
        commission_type=_id(ctype, f"{param}.commission_type") if ctype is not None else None,
        owner=_id(item.get("owner", "default"), f"{param}.owner"),
        amount=_amount(item.get("amount"), f"{param}.amount"),
        count=_int(item.get("count", 1), f"{param}.count", low=1, high=MAX_COUNT),
    )


async def commission_projections(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    _check_unknown(body, frozenset({"currency", "sales"}))
    currency = _currency(body.get("currency"), "currency")
    sales = body.get("sales")
    if not isinstance(sales, list) or not 0 < len(sales) <= MAX_PROJECTED_SALES:
        raise _bad("sales", f"sales must be an array of 1 to {MAX_PROJECTED_SALES} objects")
    rates = request.app[LEDGER].settings.rates
    parsed = [_sale(item, i) for i, item in enumerate(sales)]
    for i, sale in enumerate(parsed):
        if sale.commission_type and rates.lookup(sale.commission_type, sale.owner, currency) is None:
            raise _bad(
                f"sales[{i}].commission_type",
                f"no commission rate for type {sale.commission_type!r}",
                Code.COMMISSION_TYPE_UNKNOWN,
            )
    return json_response(commissions.project(rates, currency, parsed))


# ----------------------------------------------------------------------------- ledger
def _kind(item: Mapping[str, Any], param: str) -> tuple[TransferKind, str | None]:
    pending = item.get("pending", False)
    if not isinstance(pending, bool):
        raise _bad(f"{param}.pending", "pending must be true or false")
    chosen = [
        (kind, item[key])
        for kind, key in ((TransferKind.POST, "post_pending_id"), (TransferKind.VOID, "void_pending_id"))
        if item.get(key) is not None
    ]
    if len(chosen) + pending > 1:
        raise _bad(
            param,
            "pending, post_pending_id and void_pending_id are mutually exclusive",
            Code.FLAGS_ARE_MUTUALLY_EXCLUSIVE,
        )
    if not chosen:
        return (TransferKind.PENDING if pending else TransferKind.SINGLE), None
    kind, pending_id = chosen[0]
    return kind, _id(pending_id, f"{param}.{kind.value}_pending_id")


def _optional_text(item: Mapping[str, Any], key: str, param: str) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise _bad(f"{param}.{key}", f"{key} must be a string")
    return value


def _transfer(item: Any, index: int) -> Transfer:
    """One batch entry; type errors refuse the whole request, ledger rules give a result code."""
    param = f"transfers[{index}]"
    if not isinstance(item, dict):
        raise _bad(param, f"{param} must be an object")
    _check_unknown(item, TRANSFER_FIELDS, f"{param}.")
    kind, pending_id = _kind(item, param)
    amount = item.get("amount")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)):
        raise _bad(f"{param}.amount", "amount must be an integer of minor units")
    currency = item.get("currency")
    if kind in (TransferKind.SINGLE, TransferKind.PENDING) and currency is None:
        raise _bad(f"{param}.currency", "currency is required", Code.PARAMETER_MISSING)
    linked = item.get("linked", False)
    if not isinstance(linked, bool):
        raise _bad(f"{param}.linked", "linked must be true or false")
    timeout = item.get("timeout_seconds", 0)
    if isinstance(timeout, bool) or not isinstance(timeout, int):  # its range is a result code (engine)
        raise _bad(f"{param}.timeout_seconds", "timeout_seconds must be an integer", Code.TIMEOUT_INVALID)
    return Transfer(
        id=_id(item.get("id"), f"{param}.id"),
        debit_account=_optional_text(item, "debit_account", param),
        credit_account=_optional_text(item, "credit_account", param),
        amount=amount,
        currency=_currency(currency, f"{param}.currency") if currency is not None else None,
        kind=kind,
        pending_id=pending_id,
        timeout_seconds=timeout,
        linked=linked,
    )


async def create_transfers(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    _check_unknown(body, frozenset({"transfers"}))
    items = body.get("transfers")
    if not isinstance(items, list) or not 0 < len(items) <= MAX_BATCH:
        raise _bad("transfers", f"transfers must be an array of 1 to {MAX_BATCH} transfers")
    batch = [_transfer(item, i) for i, item in enumerate(items)]
    return json_response(
        await request.app[LEDGER].transfers(batch, idem=idempotency.context(request, _answer))
    )


async def get_account(request: web.Request) -> web.Response:
    code = parse_account(request.match_info["code"], "code").code
    return json_response(await request.app[LEDGER].account(code))


async def trial_balance(request: web.Request) -> web.Response:
    return json_response(await request.app[LEDGER].trial_balance())


# ----------------------------------------------------------------------------- invoices
def _wants_pdf(request: web.Request) -> bool:
    return "application/pdf" in request.headers.get("Accept", "")


async def get_invoice(request: web.Request) -> web.Response:
    invoice_id = request.match_info["id"]
    if not INVOICE_ID.fullmatch(invoice_id):
        raise _bad("id", "an invoice id looks like INV-2026-000001", Code.ID_INVALID)
    doc = await request.app[LEDGER].invoice(invoice_id)
    if not _wants_pdf(request):
        return json_response(doc)
    # Rendering takes milliseconds of CPU: off the event loop.
    body = await asyncio.get_running_loop().run_in_executor(None, pdf.render, doc)
    return web.Response(
        body=body,
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{invoice_id}.pdf"'},
    )


async def list_invoices(request: web.Request) -> web.Response:
    payment_id = request.query.get("payment_id")
    if payment_id is None:
        raise _bad("payment_id", "payment_id is required", Code.PARAMETER_MISSING)
    return json_response(await request.app[LEDGER].invoices_of_payment(_id(payment_id, "payment_id")))


# These check and save the Idempotency-Key inside their own writes.
for _handler in (create_withdrawal, complete_withdrawal, fail_withdrawal, create_transfers):
    idempotency.checks_in_tx(_handler)


def add_routes(app: web.Application) -> None:
    add = app.router
    add.add_get("/v1/wallets/{owner}", get_wallet)
    add.add_get("/v1/wallets/{owner}/transactions", wallet_transactions)
    add.add_get("/v1/wallets/{owner}/statistics", wallet_statistics)
    add.add_post("/v1/wallets/{owner}/withdrawals", create_withdrawal)
    add.add_get("/v1/withdrawals/{id}", get_withdrawal)
    add.add_post("/v1/withdrawals/{id}/complete", complete_withdrawal)
    add.add_post("/v1/withdrawals/{id}/fail", fail_withdrawal)
    add.add_get("/v1/commissions/rates", commission_rates)
    add.add_get("/v1/commissions/statistics", commission_statistics)
    add.add_post("/v1/commissions/projections", commission_projections)
    add.add_post("/v1/ledger/transfers", create_transfers)
    add.add_get("/v1/ledger/accounts/{code}", get_account)
    add.add_get("/v1/ledger/trial-balance", trial_balance)
    add.add_get("/v1/invoices", list_invoices)
    add.add_get("/v1/invoices/{id}", get_invoice)
