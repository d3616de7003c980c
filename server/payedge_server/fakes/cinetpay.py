"""The CinetPay fake: Checkout API v2 (payment init, hosted page, notification, status check).

Shapes follow CinetPay's documentation (docs.cinetpay.com, checkout: initialisation,
notification, HMAC, verification): credentials (``apikey``, ``site_id``) in the JSON body,
answers ``{code, message, description, data, api_response_id}`` whose ``code`` is
CinetPay's own ("201" CREATED, "00" SUCCES, "608" MINIMUM_REQUIRED_FIELDS, ...). The
notification is a form POST to ``notify_url`` with the ``x-token`` header: hex
HMAC-SHA256 with the merchant's secret key over the 16 ``cpm_*`` fields concatenated in
the documented order; it carries no status, the merchant reads it from ``/v2/payment/check``.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

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
    post_back_page,
    read_json,
)
from payedge_server.fakes.callbacks import Delivery
from payedge_server.fakes.magic import Fault, Operation, Phase

APIKEY = "fake-cinetpay-apikey-0123456789"
SITE_ID = "105900001"
SECRET_KEY = "fake-cinetpay-secret-key-0123456789"

#: Integer amounts only; every currency but USD in multiples of 5 (CinetPay's rule; integrators
#: exempt USD). Bounds per currency as integrators report them (CinetPay documents 100 XOF/XAF).
LIMITS = {
    "XOF": (100, 2_000_000),
    "XAF": (100, 1_500_000),
    "CDF": (100, 2_000_000),
    "GNF": (1_000, 15_000_000),
    "USD": (1, 3_000),
}
CHANNELS = frozenset({"ALL", "MOBILE_MONEY", "CREDIT_CARD", "WALLET"})
REQUIRED = (
    "apikey",
    "site_id",
    "transaction_id",
    "amount",
    "currency",
    "description",
    "notify_url",
    "return_url",
)
#: The HMAC's field order (docs.cinetpay.com, checkout/hmac).
TOKEN_FIELDS = (
    "cpm_site_id",
    "cpm_trans_id",
    "cpm_trans_date",
    "cpm_amount",
    "cpm_currency",
    "signature",
    "payment_method",
    "cel_phone_num",
    "cpm_phone_prefixe",
    "cpm_language",
    "cpm_version",
    "cpm_payment_config",
    "cpm_page_action",
    "cpm_custom",
    "cpm_designation",
    "cpm_error_message",
)
#: data.status and (code, message) of a check, by the payment's state.
OUTCOMES = {
    "WAITING_FOR_CUSTOMER": ("662", "WAITING_CUSTOMER_PAYMENT"),
    "ACCEPTED": ("00", "SUCCES"),
    "REFUSED": ("600", "PAYMENT_FAILED"),
    "CANCELLED": ("627", "TRANSACTION_CANCEL"),
    "INSUFFICIENT_BALANCE": ("602", "INSUFFICIENT_BALANCE"),
}


def x_token(fields: dict[str, str], secret_key: str) -> str:
    """CinetPay's x-token: hex HMAC-SHA256 over the 16 fields concatenated without separators."""
    data = "".join(fields.get(name, "") for name in TOKEN_FIELDS)
    return hmac.new(secret_key.encode(), data.encode(), hashlib.sha256).hexdigest()


def answer(
    code: str, message: str, description: str, status: int = 200, data: JSON | None = None
) -> web.Response:
    body: JSON = {"code": code, "message": message, "description": description}
    if data is not None:
        body["data"] = data
    body["api_response_id"] = f"{time.time():.4f}"
    return json_response(body, status=status)


def _required(description: str) -> Reject:
    return Reject(answer("608", "MINIMUM_REQUIRED_FIELDS", description, status=400))


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Payment:
    transaction_id: str
    token: str
    amount: int
    currency: str
    description: str
    notify_url: str
    return_url: str
    metadata: str
    channels: str
    created: str
    state: str = "WAITING_FOR_CUSTOMER"  # a key of OUTCOMES
    decline_on_pay: bool = False
    paid_at: str | None = None
    operator_id: str | None = None
    pinged: bool = False


@dataclass
class State:
    payments: dict[str, Payment] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # payment_token -> transaction_id

    def clear(self) -> None:
        self.payments.clear()
        self.tokens.clear()

    def find(self, key: str) -> Payment | None:
        return self.payments.get(key) or self.payments.get(self.tokens.get(key, ""))


def _amount(raw: Any, currency: str) -> int:
    """The integer amount (a JSON integer or a string of digits), within CinetPay's rules."""
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise _required("amount must be an integer")
    if isinstance(raw, str) and not re.fullmatch(r"[0-9]+", raw):
        raise _required("amount must be an integer")
    amount = int(raw)
    low, high = LIMITS[currency]
    if currency != "USD" and amount % 5:
        raise _required("amount must be a multiple of 5")
    if amount < low:
        raise Reject(answer("641", "ERROR_AMOUNT_TOO_LOW", f"minimum amount is {low} {currency}", status=400))
    if amount > high:
        raise Reject(
            answer("642", "ERROR_AMOUNT_TOO_HIGH", f"maximum amount is {high} {currency}", status=400)
        )
    return amount


def _check_credentials(body: JSON) -> None:
    if body.get("apikey") != APIKEY:
        raise Reject(answer("609", "AUTH_NOT_FOUND", "the apikey is not valid", status=403))
    if str(body.get("site_id")) != SITE_ID:
        raise Reject(answer("613", "ERROR_SITE_ID_NOTVALID", "the site_id is not valid", status=403))


def _channels(raw: Any) -> str:
    channels = "ALL" if raw in (None, "") else raw
    if not isinstance(channels, str) or not set(channels.split(",")) <= CHANNELS:
        raise _required("channels must be ALL, MOBILE_MONEY, CREDIT_CARD or WALLET")
    return channels


def _url(body: JSON, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise _required(f"{name} must be an http(s) URL")
    return value


def _payment_from(body: JSON) -> Payment:
    missing = [name for name in REQUIRED if body.get(name) in (None, "")]
    if missing:
        raise _required("missing: " + ", ".join(missing))
    _check_credentials(body)
    currency = body.get("currency")
    if not isinstance(currency, str) or currency not in LIMITS:
        raise _required("currency must be one of " + ", ".join(LIMITS))
    transaction_id, description = body.get("transaction_id"), body.get("description")
    if not isinstance(transaction_id, str | int) or not isinstance(description, str):
        raise _required("transaction_id and description must be strings")
    metadata = body.get("metadata")
    return Payment(
        transaction_id=str(transaction_id),
        token=secrets.token_hex(32),
        amount=_amount(body.get("amount"), str(currency)),
        currency=str(currency),
        description=description,
        notify_url=_url(body, "notify_url"),
        return_url=_url(body, "return_url"),
        metadata=metadata if isinstance(metadata, str) else "",
        channels=_channels(body.get("channels")),
        created=_now(),
    )


class CinetPay:
    def __init__(self, fake: Fake) -> None:
        self.fake = fake
        self.state = State()
        fake.resets.append(self.state.clear)

    def payment_url(self, payment: Payment) -> str:
        return f"{self.fake.base_url}/payment/{payment.token}"

    async def init(self, request: web.Request) -> web.Response:
        body = await read_json(request, lambda why: _required(why).response)
        payment = _payment_from(body)
        if payment.transaction_id in self.state.payments:
            raise Reject(
                answer(
                    "805",
                    "CLIENT_TRANSACTION_ID_EXIST",
                    "Your transaction ID already exists on CinetPay",
                    400,
                )
            )
        injection = self.fake.faults.pick(Operation.PAY, Decimal(payment.amount))
        await self.fake.strike(injection, Phase.BEFORE)
        declined = injection is not None and injection.fault is Fault.DECLINE
        payment = replace(payment, decline_on_pay=declined)
        self.state.payments[payment.transaction_id] = payment
        self.state.tokens[payment.token] = payment.transaction_id
        reply = answer(
            "201",
            "CREATED",
            "Transaction created with success",
            data={"payment_token": payment.token, "payment_url": self.payment_url(payment)},
        )
        await self.fake.strike(injection, Phase.AFTER)
        return reply

    async def check(self, request: web.Request) -> web.Response:
        body = await read_json(request, lambda why: _required(why).response)
        _check_credentials(body)
        # The check takes transaction_id, or the token (named "token" or "payment_token" in CinetPay's docs).
        key = body.get("transaction_id") or body.get("token") or body.get("payment_token")
        if not isinstance(key, str | int):
            raise _required("transaction_id or token is required")
        payment = self.state.find(str(key))
        if payment is None:
            raise Reject(answer("404", "TRANSACTION_NOT_FOUND", "no transaction with that id", status=404))
        return self.check_answer(payment)

    def check_answer(self, payment: Payment) -> web.Response:
        code, message = OUTCOMES[payment.state]
        status = payment.state if payment.state in ("WAITING_FOR_CUSTOMER", "ACCEPTED") else "REFUSED"
        data = {
            "amount": str(payment.amount),
            "currency": payment.currency,
            "status": status,
            "payment_method": "OM" if payment.paid_at else None,
            "description": payment.description,
            "metadata": payment.metadata or None,
            "operator_id": payment.operator_id,
            "payment_date": payment.paid_at,
            "fund_availability_date": payment.paid_at,
        }
        return answer(code, message, "", data=data)

    async def page(self, request: web.Request) -> web.Response:
        payment = self.state.find(request.match_info["token"])
        if payment is None:
            return hosted_page("CinetPay (fake)", ["This payment link does not exist."], [])
        lines = [
            f"{payment.description}",
            f"Amount: {payment.amount} {payment.currency}",
            f"State: {payment.state}",
        ]
        if payment.state != "WAITING_FOR_CUSTOMER":
            return hosted_page("CinetPay (fake)", lines, [])
        base = f"/payment/{payment.token}"
        return hosted_page("CinetPay (fake)", lines, [("Pay", base + "/pay"), ("Cancel", base + "/cancel")])

    async def page_action(self, request: web.Request) -> web.Response:
        payment = self.state.find(request.match_info["token"])
        if payment is None:
            return hosted_page("CinetPay (fake)", ["This payment link does not exist."], [])
        settled = self.settle(payment, pay=request.match_info["action"] == "pay")
        # CinetPay sends the payer back to return_url with a POST of transaction_id and token.
        fields = {"transaction_id": settled.transaction_id, "token": settled.token}
        return post_back_page(f"CinetPay (fake): {settled.state}", settled.return_url, fields)

    def settle(self, payment: Payment, *, pay: bool) -> Payment:
        """The payer pays or cancels (once: a settled payment stays as it is)."""
        if payment.state != "WAITING_FOR_CUSTOMER":
            return payment
        if not pay:
            settled = replace(payment, state="CANCELLED")
        elif payment.decline_on_pay:
            settled = replace(payment, state="INSUFFICIENT_BALANCE")
        else:
            settled = replace(
                payment, state="ACCEPTED", paid_at=_now(), operator_id="MP" + new_id(12, "0123456789")
            )
            self.fake.ledger.capture(
                payment.transaction_id, Decimal(payment.amount), payment.currency, payment.metadata or None
            )
        self.state.payments[payment.transaction_id] = settled
        self.notify(settled)
        return settled

    def notification_fields(self, payment: Payment) -> dict[str, str]:
        _, message = OUTCOMES[payment.state]
        return {
            "cpm_site_id": SITE_ID,
            "cpm_trans_id": payment.transaction_id,
            "cpm_trans_date": payment.paid_at or payment.created,
            "cpm_amount": str(payment.amount),
            "cpm_currency": payment.currency,
            "signature": payment.token,
            "payment_method": "OM",
            "cel_phone_num": "0700000000",
            "cpm_phone_prefixe": "225",
            "cpm_language": "fr",
            "cpm_version": "V4",
            "cpm_payment_config": "Single",
            "cpm_page_action": "Payment",
            "cpm_custom": payment.metadata,
            "cpm_designation": payment.description,
            "cpm_error_message": message,
        }

    def notify(self, payment: Payment) -> Delivery:
        """Form POST with x-token to notify_url; the first one is preceded by CinetPay's GET ping."""
        callbacks = self.fake.callbacks
        if not payment.pinged:
            self.state.payments[payment.transaction_id] = replace(payment, pinged=True)
            callbacks.send(
                Delivery(
                    callbacks.next_id(), payment.transaction_id, "ping", "GET", payment.notify_url, (), b""
                )
            )
        fields = self.notification_fields(payment)
        headers = (
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("x-token", x_token(fields, SECRET_KEY)),
        )
        body = urlencode(fields).encode()
        event = f"notification:{payment.state}"
        return callbacks.send(
            Delivery(
                callbacks.next_id(), payment.transaction_id, event, "POST", payment.notify_url, headers, body
            )
        )

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v2/payment", self.init),
            web.post("/v2/payment/check", self.check),
            web.get("/payment/{token}", self.page),
            web.post("/payment/{token}/{action:pay|cancel}", self.page_action),
        ]


class CinetPayPayer:
    def __init__(self, cinetpay: CinetPay) -> None:
        self.cinetpay = cinetpay

    def describe(self, payment_id: str) -> JSON | None:
        payment = self.cinetpay.state.find(payment_id)
        if payment is None:
            return None
        return {
            "transaction_id": payment.transaction_id,
            "payment_token": payment.token,
            "payment_url": self.cinetpay.payment_url(payment),
            "state": payment.state,
            "amount": payment.amount,
            "currency": payment.currency,
        }

    async def pay(self, payment_id: str) -> JSON | None:
        return self._settle(payment_id, pay=True)

    async def decline(self, payment_id: str) -> JSON | None:
        return self._settle(payment_id, pay=False)

    def _settle(self, payment_id: str, *, pay: bool) -> JSON | None:
        payment = self.cinetpay.state.find(payment_id)
        if payment is None:
            return None
        self.cinetpay.settle(payment, pay=pay)
        return self.describe(payment_id)

    def notify(self, payment_id: str) -> JSON | None:
        payment = self.cinetpay.state.find(payment_id)
        if payment is None:
            return None
        delivery = self.cinetpay.notify(payment)
        return {"id": delivery.id, "event": delivery.event}


def _shapes() -> ErrorShapes:
    return ErrorShapes(
        not_found=lambda: answer("404", "NOT_FOUND", "unknown endpoint", status=404),
        method_not_allowed=lambda: answer("405", "METHOD_NOT_ALLOWED", "use POST", status=405),
        server_error=lambda: answer(
            "603", "SERVICE_UNAVAILABLE", "service unavailable, try again", status=500
        ),
        client_error=lambda status, why: answer(
            str(status), why.upper().replace(" ", "_"), why, status=status
        ),
    )


def create(settings: Settings, base_url: str) -> tuple[Fake, web.Application]:
    fake = Fake("cinetpay", settings, base_url, _shapes())
    cinetpay = CinetPay(fake)
    fake.payer = CinetPayPayer(cinetpay)
    fake.credentials = {
        "CINETPAY_API_BASE": base_url,
        "CINETPAY_APIKEY": APIKEY,
        "CINETPAY_SITE_ID": SITE_ID,
        "CINETPAY_SECRET_KEY": SECRET_KEY,
    }
    app = make_app(fake)
    app.add_routes(cinetpay.routes())
    return fake, app
