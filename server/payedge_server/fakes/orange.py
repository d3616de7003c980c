"""The Orange Money fake: Web Payment (WebPay) with Orange's OAuth, hosted page and notification.

Shapes follow Orange's WebPay API as integrators document it: ``POST /oauth/v3/token``
(Basic ``client_id:client_secret``, ``grant_type=client_credentials``); ``POST
/orange-money-webpay/{country}/v1/webpayment`` with a Bearer token and a JSON body
(``merchant_key, currency, order_id, amount, return_url, cancel_url, notif_url, lang,
reference``; ``amount`` an integer; ``order_id`` unique) answered 201 with ``pay_token``,
``payment_url`` and ``notif_token``; ``POST .../transactionstatus`` with ``order_id,
amount, pay_token``. Orange's API errors are ``{code, message, description}``. The
notification to ``notif_url`` is authenticated only by echoing the ``notif_token``.
``{country}`` is ``dev`` for the sandbox (currency ``OUV``) or a country code.
"""

from __future__ import annotations

import base64
import datetime
import json
import secrets
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from aiohttp import web

from payedge_server.fakes.base import (
    JSON,
    ErrorShapes,
    Fake,
    Reject,
    Settings,
    hosted_page,
    json_response,
    make_app,
    new_id,
    read_form_field,
    read_json,
)
from payedge_server.fakes.callbacks import Delivery
from payedge_server.fakes.magic import Fault, Operation, Phase

CLIENT_ID = "fake-orange-client-id"
CLIENT_SECRET = "fake-orange-client-secret"
MERCHANT_KEY = "fakeorangemerchantkey0001"
TOKEN_LIFETIME = 7_776_000
PAY_TOKEN_LIFETIME = 600.0  # Orange's payment links expire after about ten minutes
#: The path's {country} -> its currency ("dev" is the sandbox and its test currency OUV).
COUNTRIES = {
    "dev": "OUV",
    "ci": "XOF",
    "sn": "XOF",
    "ml": "XOF",
    "bf": "XOF",
    "cm": "XAF",
    "gn": "GNF",
    "cd": "CDF",
}
REQUIRED = ("merchant_key", "currency", "order_id", "amount", "return_url", "cancel_url", "notif_url", "lang")


def error(status: int, code: int, message: str, description: str) -> web.Response:
    return json_response({"code": code, "message": message, "description": description}, status=status)


def _missing(name: str) -> Reject:
    return Reject(error(400, 21, "Missing body field", f"The field {name} is missing."))


def _invalid(name: str, why: str) -> Reject:
    return Reject(error(400, 22, "Invalid body field", f"The field {name} is invalid: {why}."))


@dataclass(frozen=True)
class WebPayment:
    order_id: str
    pay_token: str
    notif_token: str
    country: str
    currency: str
    amount: int
    reference: str
    return_url: str
    cancel_url: str
    notif_url: str
    created: float
    status: str = "INITIATED"  # INITIATED, PENDING, EXPIRED, SUCCESS, FAILED
    txnid: str | None = None
    decline: bool = False

    def current(self) -> WebPayment:
        """EXPIRED once the payment link has lived its ten minutes unpaid."""
        if self.status in ("INITIATED", "PENDING") and time.monotonic() - self.created > PAY_TOKEN_LIFETIME:
            return replace(self, status="EXPIRED")
        return self


@dataclass
class State:
    payments: dict[str, WebPayment] = field(default_factory=dict)  # order_id -> payment
    pay_tokens: dict[str, str] = field(default_factory=dict)  # pay_token -> order_id
    tokens: dict[str, float] = field(default_factory=dict)

    def clear(self) -> None:
        self.payments.clear()
        self.pay_tokens.clear()

    def find(self, key: str) -> WebPayment | None:
        payment = self.payments.get(key) or self.payments.get(self.pay_tokens.get(key, ""))
        return payment.current() if payment is not None else None


def _text(body: JSON, name: str, limit: int | None = None) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise _invalid(name, "a string is expected")
    if limit is not None and len(value) > limit:
        raise _invalid(name, f"at most {limit} characters")
    return value


def _url(body: JSON, name: str) -> str:
    value = _text(body, name)
    if not value.startswith(("http://", "https://")):
        raise _invalid(name, "an http(s) URL is expected")
    return value


def _amount(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _invalid("amount", "an integer is expected")
    if raw <= 0:
        raise _invalid("amount", "must be positive")
    return raw


def _payment_from(body: JSON, country: str) -> WebPayment:
    for name in REQUIRED:
        if body.get(name) in (None, ""):
            raise _missing(name)
    if body.get("merchant_key") != MERCHANT_KEY:
        raise Reject(error(401, 41, "Invalid credentials", "The merchant_key is not valid."))
    if body.get("currency") != COUNTRIES[country]:
        raise _invalid("currency", f"{COUNTRIES[country]} is expected here")
    if body.get("lang") not in ("fr", "en"):
        raise _invalid("lang", "fr or en is expected")
    return WebPayment(
        order_id=_text(body, "order_id", 30),
        pay_token="v1" + secrets.token_hex(24),
        notif_token=secrets.token_hex(16),
        country=country,
        currency=COUNTRIES[country],
        amount=_amount(body.get("amount")),
        reference=_text(body, "reference", 30) if body.get("reference") is not None else "",
        return_url=_url(body, "return_url"),
        cancel_url=_url(body, "cancel_url"),
        notif_url=_url(body, "notif_url"),
        created=time.monotonic(),
    )


class Orange:
    def __init__(self, fake: Fake) -> None:
        self.fake = fake
        self.state = State()
        fake.resets.append(self.state.clear)

    def payment_url(self, payment: WebPayment) -> str:
        return f"{self.fake.base_url}/payment/pay_token/{payment.pay_token}"

    async def token(self, request: web.Request) -> web.Response:
        if _basic(request.headers.get("Authorization", "")) != (CLIENT_ID, CLIENT_SECRET):
            return json_response(
                {
                    "error": "invalid_client",
                    "error_description": "The requested service needs credentials, but the ones provided "
                    "were invalid.",
                },
                status=401,
            )
        grant_type = await read_form_field(
            request,
            "grant_type",
            lambda why: json_response({"error": "invalid_request", "error_description": why}, 400),
        )
        if grant_type != "client_credentials":
            return json_response(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant_type must be client_credentials",
                },
                400,
            )
        token = secrets.token_urlsafe(24)
        self.state.tokens[token] = time.monotonic() + TOKEN_LIFETIME
        return json_response({"token_type": "Bearer", "access_token": token, "expires_in": TOKEN_LIFETIME})

    def check_bearer(self, request: web.Request) -> str:
        """The path's country, once the Bearer token is good."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Reject(error(401, 40, "Missing credentials", "The requested service needs credentials."))
        expiry = self.state.tokens.get(token)
        if expiry is None:
            raise Reject(error(401, 41, "Invalid credentials", "The credentials provided are not valid."))
        if expiry < time.monotonic():
            raise Reject(error(401, 42, "Expired credentials", "The credentials provided are out-of-date."))
        country = request.match_info["country"]
        if country not in COUNTRIES:
            raise Reject(
                error(404, 60, "Resource not found", "The requested URI or resource does not exist.")
            )
        return country

    async def webpayment(self, request: web.Request) -> web.Response:
        country = self.check_bearer(request)
        body = await read_json(request, lambda why: error(400, 20, "Invalid body", why))
        payment = _payment_from(body, country)
        if payment.order_id in self.state.payments:
            raise _invalid("order_id", "it was already used")
        injection = self.fake.faults.pick(Operation.PAY, Decimal(payment.amount))
        await self.fake.strike(injection, Phase.BEFORE)
        payment = replace(payment, decline=injection is not None and injection.fault is Fault.DECLINE)
        self.state.payments[payment.order_id] = payment
        self.state.pay_tokens[payment.pay_token] = payment.order_id
        reply = json_response(
            {
                "status": 201,
                "message": "OK",
                "pay_token": payment.pay_token,
                "payment_url": self.payment_url(payment),
                "notif_token": payment.notif_token,
            },
            status=201,
        )
        await self.fake.strike(injection, Phase.AFTER)
        return reply

    async def transaction_status(self, request: web.Request) -> web.Response:
        self.check_bearer(request)
        body = await read_json(request, lambda why: error(400, 20, "Invalid body", why))
        for name in ("order_id", "amount", "pay_token"):
            if body.get(name) in (None, ""):
                raise _missing(name)
        payment = self.state.find(str(body.get("order_id")))
        if (
            payment is None
            or payment.pay_token != body.get("pay_token")
            or payment.amount != body.get("amount")
        ):
            raise Reject(
                error(404, 60, "Resource not found", "No transaction matches order_id, amount and pay_token.")
            )
        answer: JSON = {"status": payment.status, "order_id": payment.order_id}
        if payment.txnid is not None:
            answer["txnid"] = payment.txnid
        return json_response(answer, status=201)

    async def page(self, request: web.Request) -> web.Response:
        payment = self.state.find(request.match_info["pay_token"])
        if payment is None:
            return hosted_page("Orange Money (fake)", ["This payment link does not exist."], [])
        lines = [
            f"Order {payment.order_id}",
            f"Amount: {payment.amount} {payment.currency}",
            f"Status: {payment.status}",
        ]
        if payment.status not in ("INITIATED", "PENDING"):
            return hosted_page("Orange Money (fake)", lines, [])
        base = f"/payment/pay_token/{payment.pay_token}"
        return hosted_page(
            "Orange Money (fake)", lines, [("Pay", base + "/pay"), ("Cancel", base + "/cancel")]
        )

    async def page_action(self, request: web.Request) -> web.Response:
        payment = self.state.find(request.match_info["pay_token"])
        if payment is None:
            return hosted_page("Orange Money (fake)", ["This payment link does not exist."], [])
        settled = self.settle(payment, pay=request.match_info["action"] == "pay")
        target = settled.return_url if settled.status == "SUCCESS" else settled.cancel_url
        raise web.HTTPSeeOther(target)

    def settle(self, payment: WebPayment, *, pay: bool) -> WebPayment:
        """The payer pays or cancels (once; an expired link can no longer be paid)."""
        if payment.status not in ("INITIATED", "PENDING"):
            return payment
        if pay and not payment.decline:
            now = datetime.datetime.now(datetime.UTC)
            settled = replace(payment, status="SUCCESS", txnid=f"MP{now:%y%m%d.%H%M}.{new_id(6)}")
            self.fake.ledger.capture(
                payment.order_id, Decimal(payment.amount), payment.currency, payment.reference or None
            )
        else:
            settled = replace(payment, status="FAILED")
        self.state.payments[payment.order_id] = settled
        self.notify(settled)
        return settled

    def notify(self, payment: WebPayment) -> Delivery:
        notification: JSON = {"status": payment.status, "notif_token": payment.notif_token}
        if payment.txnid is not None:
            notification["txnid"] = payment.txnid
        callbacks = self.fake.callbacks
        headers = (("Content-Type", "application/json"),)
        body = json.dumps(notification).encode()
        return callbacks.send(
            Delivery(
                callbacks.next_id(),
                payment.order_id,
                payment.status,
                "POST",
                payment.notif_url,
                headers,
                body,
            )
        )

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/oauth/v3/token", self.token),
            web.post("/oauth/v2/token", self.token),
            web.post("/orange-money-webpay/{country}/v1/webpayment", self.webpayment),
            web.post("/orange-money-webpay/{country}/v1/transactionstatus", self.transaction_status),
            web.get("/payment/pay_token/{pay_token}", self.page),
            web.post("/payment/pay_token/{pay_token}/{action:pay|cancel}", self.page_action),
        ]


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


class OrangePayer:
    def __init__(self, orange: Orange) -> None:
        self.orange = orange

    def describe(self, payment_id: str) -> JSON | None:
        payment = self.orange.state.find(payment_id)
        if payment is None:
            return None
        return {
            "order_id": payment.order_id,
            "pay_token": payment.pay_token,
            "payment_url": self.orange.payment_url(payment),
            "status": payment.status,
            "txnid": payment.txnid,
            "amount": payment.amount,
            "currency": payment.currency,
        }

    async def pay(self, payment_id: str) -> JSON | None:
        return self._settle(payment_id, pay=True)

    async def decline(self, payment_id: str) -> JSON | None:
        return self._settle(payment_id, pay=False)

    def _settle(self, payment_id: str, *, pay: bool) -> JSON | None:
        payment = self.orange.state.find(payment_id)
        if payment is None:
            return None
        self.orange.settle(payment, pay=pay)
        return self.describe(payment_id)

    def notify(self, payment_id: str) -> JSON | None:
        payment = self.orange.state.find(payment_id)
        if payment is None:
            return None
        if payment.status not in ("SUCCESS", "FAILED"):
            return {"error": "Orange notifies only a paid or failed payment"}
        delivery = self.orange.notify(payment)
        return {"id": delivery.id, "event": delivery.event}


def _shapes() -> ErrorShapes:
    return ErrorShapes(
        not_found=lambda: error(
            404, 60, "Resource not found", "The requested URI or resource does not exist."
        ),
        method_not_allowed=lambda: error(
            405, 61, "Method not allowed", "The requested method is not allowed."
        ),
        server_error=lambda: error(503, 5, "Service unavailable", "The service is temporarily unavailable."),
        client_error=lambda status, why: error(status, 20, why, "The request cannot be processed."),
    )


def create(settings: Settings, base_url: str) -> tuple[Fake, web.Application]:
    fake = Fake("orange", settings, base_url, _shapes())
    orange = Orange(fake)
    fake.payer = OrangePayer(orange)
    fake.credentials = {
        "ORANGE_MONEY_API_BASE": base_url,
        "ORANGE_MONEY_CLIENT_ID": CLIENT_ID,
        "ORANGE_MONEY_CLIENT_SECRET": CLIENT_SECRET,
        "ORANGE_MONEY_MERCHANT_KEY": MERCHANT_KEY,
        "ORANGE_MONEY_COUNTRY": "dev",
    }
    app = make_app(fake)
    app.add_routes(orange.routes())
    return fake, app
