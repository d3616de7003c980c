"""The hosted checkout (SPEC 8, seeds 001 and 002): `/checkout/{order_id}?client_secret=...`.

- `GET /checkout/{order_id}?client_secret=`: the order and the payment form its
  payment's gateway needs (forms.py); live status through payedge.js (with the client
  secret: it reads that one payment); a wrong or missing secret, or an unknown order,
  is the same 404 page, which tells nothing about any order;
- `POST /checkout/{order_id}/pay` (JSON `{client_secret, payment_method?}`): confirms
  the order's payment with a method of the form shown, answers what the page does next
  (the receipt, a provider's page, a message in the customer's language);
- `GET /checkout/{order_id}/receipt?client_secret=`: the receipt once paid;
- `GET /checkout/payments/{payment_id}`: where a provider (PayPal, CinetPay, Orange Money)
  sends the payer back (the connectors' default `return_url`): it shows nothing itself and
  takes the tab back to the checkout it came from (remembered in the tab's sessionStorage,
  so the client secret never goes through the provider);
- `GET /checkout/static/{name}`: checkout.js, checkout.css.

The client secret is the page's credential and its CSRF token at once (a page of
another site does not know it); a pay request naming another origin is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from payedge_server import keys, openapi
from payedge_server.checkout import views
from payedge_server.checkout.forms import PAYABLE, allowed, form_for
from payedge_server.checkout.i18n import page_locale
from payedge_server.contracts import Tx
from payedge_server.dashboard.sessions import csrf_failed, same_origin
from payedge_server.errors import DomainError, RequestError, json_response, read_json_object
from payedge_server.openapi.builder import error_responses
from payedge_server.orders import client_secrets
from payedge_server.orders.routes import ORDER_ID, ORDERS
from payedge_server.pages import page, redirect, static_file
from payedge_server.payments import operations
from payedge_server.payments import repository as payments_repository
from payedge_server.payments.declines import customer_message, negotiate
from payedge_server.payments.model import CONFIRMABLE
from payedge_server.payments.validation import PAYMENT_ID
from payedge_server.payments.validation import payment_method as check_payment_method

STATIC: Final = Path(__file__).with_name("static")
FILES: Final = frozenset({"checkout.js", "checkout.css"})
PAID: Final = frozenset({"paid", "fulfilled", "refunded"})
DEFAULT_SELLER: Final = "payedge"


def _seller(request: web.Request) -> str:
    invoices = request.app[keys.CONFIG].invoices
    name = json.loads(invoices).get("seller_name") if invoices else None
    return name if isinstance(name, str) and name else DEFAULT_SELLER


async def _context(request: web.Request, secret: Any) -> views.Context | None:
    """The order and payment this secret opens, or None (unknown order, wrong or missing secret)."""
    order_id = request.match_info["order_id"]
    if not isinstance(secret, str) or not ORDER_ID.fullmatch(order_id):
        return None
    payment_id = await client_secrets.verify(request.app[keys.STORE], secret)
    if payment_id is None:
        return None
    service = request.app[ORDERS]

    def read(tx: Tx) -> tuple[dict[str, Any], dict[str, Any]] | None:
        order = service.require_in_tx(tx, order_id)
        payment = payments_repository.load(tx, order.payment_id)
        if order.payment_id != payment_id or payment is None:
            return None
        return service.view_in_tx(tx, order_id), payment.view()

    try:
        found = await service.store.read(read)
    except DomainError:
        return None
    if found is None:
        return None
    order, payment = found
    locale = page_locale(order["locale"], request.headers.get("Accept-Language"))
    return views.Context(order, payment, locale, secret, _seller(request))


def _not_found(request: web.Request) -> web.Response:
    locale = negotiate(request.headers.get("Accept-Language")) or "en"
    return page(views.not_found_page(locale), status=404)


async def checkout(request: web.Request) -> web.Response:
    ctx = await _context(request, request.query.get(client_secrets.PARAM))
    if ctx is None:
        return _not_found(request)
    if ctx.order["status"] in PAID:
        return redirect(ctx.url("/receipt"))  # paid already: the link now opens the receipt
    return page(views.checkout_page(ctx, form_for(ctx.payment)))


async def receipt(request: web.Request) -> web.Response:
    ctx = await _context(request, request.query.get(client_secrets.PARAM))
    if ctx is None:
        return _not_found(request)
    if ctx.order["status"] not in PAID:
        return redirect(ctx.url())
    return page(views.receipt_page(ctx))


def _outcome(ctx: views.Context, payment: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
    action = payment.get("next_action") or {}
    error = payment.get("last_error")
    return {
        "payment_status": payment["status"],
        "order_status": order["status"],
        "version": payment["version"],
        "message": (
            customer_message(
                error["code"], error.get("gateway_code"), ctx.locale, payment.get("payment_method")
            )
            if error
            else None
        ),
        "redirect_url": action.get("url") if action.get("type") == "redirect" else None,
        "receipt_url": ctx.url("/receipt") if order["status"] in PAID else None,
    }


async def pay(request: web.Request) -> web.Response:
    if not same_origin(request):
        raise csrf_failed("pay from this server's own checkout page")
    body = await read_json_object(request)
    ctx = await _context(request, body.get(client_secrets.PARAM))
    if ctx is None:
        raise DomainError("order_not_found", "no such order", "order_id")
    method = check_payment_method(body.get("payment_method"))
    form = form_for(ctx.payment)
    if form.kind not in PAYABLE:  # paid, failed, canceled, or waiting for its provider: nothing to confirm
        status = ctx.payment["status"]
        raise DomainError("payment_unexpected_state", f"cannot pay a payment in status {status}", "status")
    if not allowed(form, method):
        raise RequestError(
            "payment_method_invalid", "not a payment method of this checkout's form", "payment_method"
        )
    services = request.app[keys.PAYMENTS], request.app[ORDERS]
    paid_with = method or ctx.payment.get("payment_method")
    try:
        done = await operations.confirm(services[0], ctx.payment["id"], method, None)
        if done.error is not None and done.error.status != 402 and done.payment.status in CONFIRMABLE:
            # Nothing happened (every gateway unavailable): say why here. A decline is on the payment's
            # last_error and a timeout leaves it processing; the outcome below shows both.
            raise done.error
    except DomainError as exc:
        message = customer_message(exc.code, None, ctx.locale, paid_with)
        return json_response({**exc.as_dict(), "message": message}, status=exc.status)
    order = await services[1].get(ctx.order["id"])
    return json_response(_outcome(ctx, done.payment.view(), order))


async def returned(request: web.Request) -> web.Response:
    payment_id = request.match_info["payment_id"]
    if not PAYMENT_ID.fullmatch(payment_id):
        return _not_found(request)
    locale = negotiate(request.headers.get("Accept-Language")) or "en"
    return page(views.return_page(locale, payment_id))


async def static(request: web.Request) -> web.Response:
    return static_file(STATIC, request.match_info["name"], FILES)


def setup_checkout(app: web.Application) -> None:
    app.router.add_get("/checkout/static/{name}", static)
    app.router.add_get("/checkout/payments/{payment_id}", returned)
    app.router.add_get("/checkout/{order_id}", checkout)
    app.router.add_post("/checkout/{order_id}/pay", pay)
    app.router.add_get("/checkout/{order_id}/receipt", receipt)
    openapi.register(app, PATHS)


_HTML: Final = {"text/html": {"schema": {"type": "string"}}}
_PAGE_PARAMS: Final = [
    openapi.path_param("order_id", {"type": "string"}),
    openapi.query_param("client_secret", {"type": "string"}),
]
_PAGE_RESPONSES: Final = {
    "200": {"description": "the page", "content": _HTML},
    "404": {
        "description": "no such order, or a wrong or missing client secret (the same page)",
        "content": _HTML,
    },
    **error_responses(("rate_limited",)),
}
PATHS: Final[dict[str, dict[str, Any]]] = {
    "/checkout/{order_id}": {
        "get": {
            "summary": "The hosted checkout page of an order (HTML)",
            "security": [],
            "parameters": _PAGE_PARAMS,
            "responses": _PAGE_RESPONSES,
        }
    },
    "/checkout/{order_id}/receipt": {
        "get": {
            "summary": "The receipt of a paid order (HTML; 303 to the checkout page before payment)",
            "security": [],
            "parameters": _PAGE_PARAMS,
            "responses": {**_PAGE_RESPONSES, "303": {"description": "not paid yet: to the checkout page"}},
        }
    },
    "/checkout/{order_id}/pay": {
        "post": {
            "summary": "Confirm the order's payment from its checkout page (the client secret authorises)",
            "security": [],
            "parameters": [openapi.path_param("order_id", {"type": "string"})],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["client_secret"],
                            "properties": {
                                "client_secret": {"type": "string"},
                                "payment_method": {"type": ["string", "null"]},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "what the page does next", "content": {"application/json": {}}},
                **error_responses(
                    (
                        "order_not_found",
                        "payment_method_invalid",
                        "parameter_invalid",
                        "card_data_refused",
                        "invalid_json",
                        "body_too_large",
                        "csrf_failed",
                        "payment_unexpected_state",
                        "payment_busy",
                        "parameter_missing",
                        "card_declined",
                        "payment_failed",
                        "gateway_rejected",
                        "gateway_unavailable",
                        "rate_limited",
                    )
                ),
            },
        }
    },
    "/checkout/payments/{payment_id}": {
        "get": {
            "summary": "Where a provider sends the payer back: takes the tab back to its checkout (HTML)",
            "security": [],
            "parameters": [openapi.path_param("payment_id", {"type": "string"})],
            "responses": {
                "200": {"description": "the page (it shows nothing of the payment)", "content": _HTML},
                "404": {"description": "not a payment id", "content": _HTML},
                **error_responses(("rate_limited",)),
            },
        }
    },
    "/checkout/static/{name}": {
        "get": {
            "summary": "The checkout's script and style sheet",
            "security": [],
            "parameters": [openapi.path_param("name", {"type": "string", "enum": sorted(FILES)})],
            "responses": {
                "200": {"description": "the file", "content": {"text/javascript": {}, "text/css": {}}},
                **error_responses(("not_found", "rate_limited")),
            },
        }
    },
}
