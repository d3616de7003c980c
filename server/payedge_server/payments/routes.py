"""HTTP routes of the payments API (SPEC 3): parse into a typed command, call, render."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from payedge_server import idempotency
from payedge_server.errors import DomainError, json_response, read_json_object
from payedge_server.keys import PAYMENTS
from payedge_server.payments import listing, operations, refunds, validation
from payedge_server.payments.model import DEFAULT_PAYEE, Payment, Refund
from payedge_server.payments.operations import Confirmation
from payedge_server.payments.service import NewPayment

CONFIRM_FIELDS = frozenset({"payment_method"})
REFUND_FIELDS = frozenset({"amount"})


def _payment_id(request: web.Request) -> str:
    return validation.check_payment_id(request.match_info["id"])


def render_created(p: Payment) -> tuple[int, dict[str, Any]]:
    """201 with the payment and, this once, its `client_secret` (SPEC 8)."""
    view = p.view()
    if p.client_secret is not None:
        view["client_secret"] = p.client_secret
    return 201, view


def render_payment(p: Payment) -> tuple[int, dict[str, Any]]:
    return 200, p.view()


def render_refund(r: Refund) -> tuple[int, dict[str, Any]]:
    return 200, r.view()


def render_error(error: DomainError) -> tuple[int, dict[str, Any]]:
    return error.status, error.as_dict()


def render_confirmation(c: Confirmation) -> tuple[int, dict[str, Any]]:
    return render_error(c.error) if c.error else render_payment(c.payment)


def _respond(rendered: tuple[int, dict[str, Any]]) -> web.Response:
    status, body = rendered
    return json_response(body, status=status)


def parse_new_payment(body: dict[str, Any]) -> NewPayment:
    validation.check_unknown(body, validation.CREATE_FIELDS)
    gateway = body.get("gateway")
    if gateway is not None and not isinstance(gateway, str):
        raise validation.bad("gateway", "gateway must be a string", "gateway_invalid")
    return NewPayment(
        amount=validation.amount(body.get("amount")),
        currency=validation.currency(body.get("currency")),
        gateway="sandbox" if gateway is None else gateway,
        routed=gateway is None,  # the routing rules choose, when configured (SPEC 5)
        user_id=validation.optional_ref(body, "user_id"),
        order_ref=validation.optional_ref(body, "order_ref"),
        payment_method=validation.payment_method(body.get("payment_method")),
        metadata=validation.metadata(body.get("metadata")),
        payee=validation.ledger_id(body, "payee") or DEFAULT_PAYEE,
        commission_type=validation.ledger_id(body, "commission_type"),
        locale=validation.locale(body.get("locale")),
    )


async def create_payment(request: web.Request) -> web.Response:
    new = parse_new_payment(await read_json_object(request))
    key = idempotency.context(request, render_created)
    return _respond(render_created(await operations.create(request.app[PAYMENTS], new, key)))


async def list_payments(request: web.Request) -> web.Response:
    return json_response(await listing.list_payments(request.app[PAYMENTS].store, request.query))


async def get_payment(request: web.Request) -> web.Response:
    return json_response(await request.app[PAYMENTS].get(_payment_id(request), history=True))


async def confirm_payment(request: web.Request) -> web.Response:
    payment_id = _payment_id(request)
    body = await read_json_object(request)
    validation.check_unknown(body, CONFIRM_FIELDS)
    payment_method = validation.payment_method(body.get("payment_method"))
    key = idempotency.context(request, render_confirmation)
    done = await operations.confirm(request.app[PAYMENTS], payment_id, payment_method, key)
    return _respond(render_confirmation(done))


async def cancel_payment(request: web.Request) -> web.Response:
    payment_id = _payment_id(request)
    validation.check_unknown(await read_json_object(request), frozenset())
    key = idempotency.context(request, render_payment)
    return _respond(render_payment(await operations.cancel(request.app[PAYMENTS], payment_id, key)))


async def refund_payment(request: web.Request) -> web.Response:
    payment_id = _payment_id(request)
    body = await read_json_object(request)
    validation.check_unknown(body, REFUND_FIELDS)
    amount = validation.amount(body["amount"]) if body.get("amount") is not None else None
    key = idempotency.context(request, render_refund)
    return _respond(render_refund(await refunds.refund(request.app[PAYMENTS], payment_id, amount, key)))


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
