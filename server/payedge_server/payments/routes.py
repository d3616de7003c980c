"""HTTP routes of the payments API (SPEC 3)."""

from __future__ import annotations

from aiohttp import web

from payedge_server import idempotency
from payedge_server.errors import json_response, read_json_object
from payedge_server.keys import PAYMENTS
from payedge_server.payments import listing, validation

CONFIRM_FIELDS = frozenset({"payment_method"})
REFUND_FIELDS = frozenset({"amount"})


def _payment_id(request: web.Request) -> str:
    return validation.check_payment_id(request.match_info["id"])


async def create_payment(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    validation.check_unknown(body, validation.CREATE_FIELDS)
    amount = validation.amount(body.get("amount"))
    currency = validation.currency(body.get("currency"))
    gateway = body.get("gateway", "sandbox")
    if not isinstance(gateway, str):
        raise validation.bad("gateway", "gateway must be a string", "gateway_invalid")
    user_id = validation.optional_ref(body, "user_id")
    order_ref = validation.optional_ref(body, "order_ref")
    payment_method = validation.payment_method(body.get("payment_method"))
    metadata = validation.metadata(body.get("metadata"))
    payee = validation.ledger_id(body, "payee")
    commission_type = validation.ledger_id(body, "commission_type")
    view = await request.app[PAYMENTS].create(
        amount=amount,
        currency=currency,
        gateway=gateway,
        user_id=user_id,
        order_ref=order_ref,
        payment_method=payment_method,
        metadata=metadata,
        payee=payee,
        commission_type=commission_type,
        idem=idempotency.context(request),
    )
    return json_response(view, status=201)


async def list_payments(request: web.Request) -> web.Response:
    return json_response(await listing.list_payments(request.app[PAYMENTS].store, request.query))


async def get_payment(request: web.Request) -> web.Response:
    return json_response(await request.app[PAYMENTS].get(_payment_id(request), history=True))


async def confirm_payment(request: web.Request) -> web.Response:
    payment_id = _payment_id(request)
    body = await read_json_object(request)
    validation.check_unknown(body, CONFIRM_FIELDS)
    payment_method = validation.payment_method(body.get("payment_method"))
    status, view = await request.app[PAYMENTS].confirm(
        payment_id, payment_method=payment_method, idem=idempotency.context(request)
    )
    return json_response(view, status=status)


async def cancel_payment(request: web.Request) -> web.Response:
    payment_id = _payment_id(request)
    body = await read_json_object(request)
    validation.check_unknown(body, frozenset())
    return json_response(await request.app[PAYMENTS].cancel(payment_id, idem=idempotency.context(request)))


async def refund_payment(request: web.Request) -> web.Response:
    payment_id = _payment_id(request)
    body = await read_json_object(request)
    validation.check_unknown(body, REFUND_FIELDS)
    amount = validation.amount(body["amount"]) if body.get("amount") is not None else None
    view = await request.app[PAYMENTS].refund(payment_id, amount=amount, idem=idempotency.context(request))
    return json_response(view)


# These handlers check and save the Idempotency-Key inside their own writes.
for _handler in (create_payment, confirm_payment, cancel_payment, refund_payment):
    idempotency.checks_in_tx(_handler)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/payments", create_payment)
    app.router.add_get("/v1/payments", list_payments)
    app.router.add_get("/v1/payments/{id}", get_payment)
    app.router.add_post("/v1/payments/{id}/confirm", confirm_payment)
    app.router.add_post("/v1/payments/{id}/cancel", cancel_payment)
    app.router.add_post("/v1/payments/{id}/refunds", refund_payment)
