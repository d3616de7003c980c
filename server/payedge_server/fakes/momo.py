"""The MTN MoMo fake: Collection (token, requesttopay, status) and the sandbox's API-user provisioning.

Shapes follow MTN's MoMo Open API (momodeveloper.mtn.com): every call carries
``Ocp-Apim-Subscription-Key`` (401 from the API gateway without a valid one);
``POST /collection/token/`` takes ``Basic apiUser:apiKey``; ``POST
/collection/v1_0/requesttopay`` takes a client-made UUIDv4 ``X-Reference-Id`` (reused:
409 RESOURCE_ALREADY_EXIST; not a UUIDv4: 400), ``X-Target-Environment`` and an optional
``X-Callback-Url``, and answers 202 with no body; ``GET .../requesttopay/{id}`` gives the
status (PENDING, SUCCESSFUL, FAILED; the sandbox also answers REJECTED and TIMEOUT).
The callback is an unsigned PUT of the same body to ``X-Callback-Url``: a hint to read
the status. The sandbox's test MSISDNs decide the payer's answer (see PAYER_NUMBERS).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from payedge_server.fakes.base import (
    JSON,
    ErrorShapes,
    Fake,
    Reject,
    Settings,
    json_response,
    make_app,
    new_id,
    read_json,
)
from payedge_server.fakes.callbacks import Delivery
from payedge_server.fakes.magic import Fault, Operation, Phase

SUBSCRIPTION_KEY = "fakemomosubscriptionkey000000001"
API_USER = "0b5c6c0e-3a2b-4f4e-9d7c-6f1e2d3c4b5a"
API_KEY = "fakemomoapikey00000000000000001"
TOKEN_LIFETIME = 3600

#: X-Target-Environment -> the only currency it takes (the sandbox takes EUR).
ENVIRONMENTS = {
    "sandbox": "EUR",
    "mtnuganda": "UGX",
    "mtnghana": "GHS",
    "mtnivorycoast": "XOF",
    "mtnbenin": "XOF",
    "mtncameroon": "XAF",
    "mtncongo": "XAF",
    "mtnzambia": "ZMW",
    "mtnguineaconakry": "GNF",
    "mtnliberia": "LRD",
    "mtnswaziland": "SZL",
    "mtnsouthafrica": "ZAR",
}
#: ISO 4217 minor-unit digits: the fake refuses more decimals than the currency has.
DECIMALS = {
    "EUR": 2,
    "UGX": 0,
    "GHS": 2,
    "XOF": 0,
    "XAF": 0,
    "ZMW": 2,
    "GNF": 0,
    "LRD": 2,
    "SZL": 2,
    "ZAR": 2,
}

#: The sandbox's test numbers (momodeveloper "testing" page; copies disagree on details):
#: (status the payer's answer gives, reason) or None for "stays PENDING until told".
FAILED = ("FAILED", "INTERNAL_PROCESSING_ERROR")
REJECTED = ("REJECTED", "APPROVAL_REJECTED")
TIMED_OUT = ("TIMEOUT", "EXPIRED")
ONGOING = "ongoing"  # PENDING, then SUCCESSFUL after --momo-ongoing-seconds
DELAYED = "delayed"  # PENDING until the admin API (or payer) settles it
PAYER_NUMBERS: dict[str, tuple[str, str] | str] = {
    "46733123450": FAILED,
    "46733123451": REJECTED,
    "46733123452": TIMED_OUT,
    "46733123453": ONGOING,
    "46733123454": DELAYED,
}
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)


def reason(code: str, message: str, status: int) -> web.Response:
    """MoMo's ErrorReason body."""
    return json_response({"code": code, "message": message}, status=status)


def _bad(message: str) -> Reject:
    return Reject(reason("BAD_REQUEST", message, 400))


def gateway_denied(message: str) -> web.Response:
    """What MTN's API gateway answers before the API sees the call."""
    return json_response({"statusCode": 401, "message": message}, status=401)


@dataclass(frozen=True)
class RequestToPay:
    reference_id: str
    amount: str
    currency: str
    external_id: str
    party_id_type: str
    party_id: str
    payer_message: str
    payee_note: str
    callback_url: str | None
    status: str = "PENDING"
    reason: str | None = None
    financial_transaction_id: str | None = None
    decline: bool = False

    def as_json(self) -> JSON:
        body: JSON = {
            "amount": self.amount,
            "currency": self.currency,
            "externalId": self.external_id,
            "payer": {"partyIdType": self.party_id_type, "partyId": self.party_id},
            "payerMessage": self.payer_message,
            "payeeNote": self.payee_note,
            "status": self.status,
        }
        if self.financial_transaction_id is not None:
            body["financialTransactionId"] = self.financial_transaction_id
        if self.reason is not None:
            body["reason"] = self.reason
        return body


@dataclass(frozen=True)
class ApiUser:
    api_key: str | None
    callback_host: str | None  # None: any host (the pre-provisioned user)


@dataclass
class State:
    payments: dict[str, RequestToPay] = field(default_factory=dict)
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> (api user, expiry)
    users: dict[str, ApiUser] = field(default_factory=dict)
    timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)

    def clear(self) -> None:
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        self.payments.clear()
        self.users.clear()
        self.users[API_USER] = ApiUser(API_KEY, None)


def _text(body: JSON, name: str, limit: int | None = None) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise _bad(f"{name} must be a string")
    if limit is not None and len(value) > limit:
        raise _bad(f"{name} is longer than {limit} characters")
    return value


def _amount(raw: Any, currency: str) -> str:
    """MoMo takes the amount as a string of a positive decimal number."""
    if not isinstance(raw, str):
        raise _bad("amount must be a string")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise _bad("amount must be a decimal number") from None
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", raw) or value <= 0:
        raise _bad("amount must be a positive decimal number")
    if len(raw.partition(".")[2]) > DECIMALS.get(currency, 2):
        raise _bad(f"{currency} takes at most {DECIMALS.get(currency, 2)} decimals")
    return raw


def _payer(body: JSON) -> tuple[str, str]:
    payer = body.get("payer")
    if not isinstance(payer, dict):
        raise _bad("payer is required")
    kind, party = payer.get("partyIdType"), payer.get("partyId")
    if kind not in ("MSISDN", "EMAIL", "PARTY_CODE") or not isinstance(party, str) or not party:
        raise _bad("payer needs partyIdType (MSISDN, EMAIL, PARTY_CODE) and partyId")
    return str(kind), party


class Momo:
    def __init__(self, fake: Fake) -> None:
        self.fake = fake
        self.state = State()
        self.state.clear()
        fake.resets.append(self.state.clear)

    # ------------------------------------------------------------------ auth

    def check_subscription(self, request: web.Request) -> None:
        key = request.headers.get("Ocp-Apim-Subscription-Key")
        if not key:
            raise Reject(
                gateway_denied(
                    "Access denied due to missing subscription key. Make sure to include subscription key "
                    "when making requests to an API."
                )
            )
        if key != SUBSCRIPTION_KEY:
            raise Reject(
                gateway_denied(
                    "Access denied due to invalid subscription key. Make sure to provide a valid key for an "
                    "active subscription."
                )
            )

    def check_bearer(self, request: web.Request) -> ApiUser:
        self.check_subscription(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        found = self.state.tokens.get(token) if scheme.lower() == "bearer" else None
        if found is None or found[1] < time.monotonic():
            raise Reject(gateway_denied("Access denied due to invalid or expired access token."))
        return self.state.users.get(found[0], ApiUser(None, None))

    async def token(self, request: web.Request) -> web.Response:
        self.check_subscription(request)
        user, _, key = _basic(request.headers.get("Authorization", ""))
        api_user = self.state.users.get(user)
        if api_user is None or api_user.api_key is None or not secrets.compare_digest(api_user.api_key, key):
            return json_response({"error": "login_failed"}, status=401)
        token = _jwt(user)
        self.state.tokens[token] = (user, time.monotonic() + TOKEN_LIFETIME)
        return json_response(
            {"access_token": token, "token_type": "access_token", "expires_in": TOKEN_LIFETIME}
        )

    # ------------------------------------------------------------------ provisioning (sandbox)

    async def create_user(self, request: web.Request) -> web.Response:
        self.check_subscription(request)
        reference = _reference(request)
        body = await read_json(request, lambda why: reason("BAD_REQUEST", why, 400))
        host = body.get("providerCallbackHost")
        if not isinstance(host, str) or not host:
            raise _bad("providerCallbackHost is required")
        if reference in self.state.users:
            raise Reject(
                reason("RESOURCE_ALREADY_EXIST", "Duplicated reference id. Creation of resource failed.", 409)
            )
        self.state.users[reference] = ApiUser(None, host)
        return web.Response(status=201)

    async def create_api_key(self, request: web.Request) -> web.Response:
        self.check_subscription(request)
        user_id = request.match_info["user_id"]
        user = self.state.users.get(user_id)
        if user is None:
            raise Reject(reason("RESOURCE_NOT_FOUND", "Requested resource was not found.", 404))
        key = secrets.token_hex(16)
        self.state.users[user_id] = replace(user, api_key=key)
        return json_response({"apiKey": key}, status=201)

    async def get_user(self, request: web.Request) -> web.Response:
        self.check_subscription(request)
        user = self.state.users.get(request.match_info["user_id"])
        if user is None:
            raise Reject(reason("RESOURCE_NOT_FOUND", "Requested resource was not found.", 404))
        return json_response(
            {"providerCallbackHost": user.callback_host or "", "targetEnvironment": "sandbox"}
        )

    # ------------------------------------------------------------------ collection

    async def request_to_pay(self, request: web.Request) -> web.Response:
        user = self.check_bearer(request)
        reference = _reference(request)
        currency = _environment_currency(request)
        callback_url = _callback_url(request, user)
        body = await read_json(request, lambda why: reason("BAD_REQUEST", why, 400))
        payment = _payment_from(body, reference, currency, callback_url)
        if reference in self.state.payments:
            raise Reject(
                reason("RESOURCE_ALREADY_EXIST", "Duplicated reference id. Creation of resource failed.", 409)
            )
        injection = self.fake.faults.pick(Operation.PAY, Decimal(payment.amount))
        await self.fake.strike(injection, Phase.BEFORE)
        self.start(replace(payment, decline=injection is not None and injection.fault is Fault.DECLINE))
        await self.fake.strike(injection, Phase.AFTER)
        return web.Response(status=202)

    def start(self, payment: RequestToPay) -> None:
        """Record the request and let the payer answer as the sandbox's numbers say."""
        self.state.payments[payment.reference_id] = payment
        behaviour = PAYER_NUMBERS.get(payment.party_id) if payment.party_id_type == "MSISDN" else None
        if payment.decline:
            self.settle(payment.reference_id, ("FAILED", "NOT_ENOUGH_FUNDS"))
        elif isinstance(behaviour, tuple):
            self.settle(payment.reference_id, behaviour)
        elif behaviour == ONGOING:
            loop = asyncio.get_running_loop()
            self.state.timers[payment.reference_id] = loop.call_later(
                self.fake.settings.momo_ongoing_seconds,
                self.settle,
                payment.reference_id,
                ("SUCCESSFUL", None),
            )
        elif behaviour != DELAYED:
            self.settle(payment.reference_id, ("SUCCESSFUL", None))

    def settle(self, reference_id: str, outcome: tuple[str, str | None]) -> RequestToPay | None:
        """Move a PENDING request to its final status (once), count the money, call back."""
        payment = self.state.payments.get(reference_id)
        if payment is None or payment.status != "PENDING":
            return payment
        timer = self.state.timers.pop(reference_id, None)
        if timer is not None:
            timer.cancel()
        status, why = outcome
        settled = replace(payment, status=status, reason=why)
        if status == "SUCCESSFUL":
            settled = replace(settled, financial_transaction_id=new_id(9, "0123456789"))
            self.fake.ledger.capture(
                reference_id, Decimal(payment.amount), payment.currency, payment.external_id
            )
        self.state.payments[reference_id] = settled
        self.call_back(settled)
        return settled

    def call_back(self, payment: RequestToPay) -> Delivery | None:
        if payment.callback_url is None:
            return None  # MTN calls back only where X-Callback-Url said
        callbacks = self.fake.callbacks
        body = json.dumps({"referenceId": payment.reference_id, **payment.as_json()}).encode()
        headers = (("Content-Type", "application/json"),)
        return callbacks.send(
            Delivery(
                callbacks.next_id(),
                payment.reference_id,
                payment.status,
                "PUT",
                payment.callback_url,
                headers,
                body,
            )
        )

    async def status(self, request: web.Request) -> web.Response:
        self.check_bearer(request)
        _environment_currency(request)
        payment = self.state.payments.get(request.match_info["reference_id"])
        if payment is None:
            raise Reject(reason("RESOURCE_NOT_FOUND", "Requested resource was not found.", 404))
        return json_response(payment.as_json())

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1_0/apiuser", self.create_user),
            web.post("/v1_0/apiuser/{user_id}/apikey", self.create_api_key),
            web.get("/v1_0/apiuser/{user_id}", self.get_user),
            web.post("/collection/token/", self.token),
            web.post("/collection/v1_0/requesttopay", self.request_to_pay),
            web.get("/collection/v1_0/requesttopay/{reference_id}", self.status),
        ]


def _basic(header: str) -> tuple[str, str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return "", "", ""
    try:
        return base64.b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return "", "", ""


def _jwt(user: str) -> str:
    """A JWT-looking bearer token (MoMo's are JWTs; clients must treat them as opaque)."""

    def part(data: JSON) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {"clientId": user, "expires": int(time.time()) + TOKEN_LIFETIME, "sessionId": str(uuid.uuid4())}
    return f"{part({'typ': 'JWT', 'alg': 'R256'})}.{part(claims)}.{secrets.token_urlsafe(32)}"


def _reference(request: web.Request) -> str:
    reference = request.headers.get("X-Reference-Id", "")
    if not UUID4.match(reference):
        raise _bad("X-Reference-Id must be a UUID version 4")
    return reference.lower()


def _environment_currency(request: web.Request) -> str:
    currency = ENVIRONMENTS.get(request.headers.get("X-Target-Environment", ""))
    if currency is None:
        raise Reject(
            reason("NOT_ALLOWED_TARGET_ENVIRONMENT", "Access to target environment is forbidden.", 500)
        )
    return currency


def _callback_url(request: web.Request, user: ApiUser) -> str | None:
    url = request.headers.get("X-Callback-Url")
    if not url:
        return None
    host = urlsplit(url).hostname
    if not url.startswith(("http://", "https://")) or not host:
        raise _bad("X-Callback-Url must be an http(s) URL")
    if user.callback_host is not None and host != user.callback_host:
        raise Reject(
            reason("INVALID_CALLBACK_URL_HOST", "Callback URL with different host name to configured.", 500)
        )
    return url


def _payment_from(body: JSON, reference: str, currency: str, callback_url: str | None) -> RequestToPay:
    if body.get("currency") != currency:
        raise Reject(reason("INVALID_CURRENCY", "Currency not supported.", 500))
    kind, party = _payer(body)
    return RequestToPay(
        reference_id=reference,
        amount=_amount(body.get("amount"), currency),
        currency=currency,
        external_id=_text(body, "externalId"),
        party_id_type=kind,
        party_id=party,
        payer_message=_text(body, "payerMessage", 160),
        payee_note=_text(body, "payeeNote", 160),
        callback_url=callback_url,
    )


class MomoPayer:
    """The payer approves (pay) or rejects (decline) on the phone; callback sends the status again."""

    def __init__(self, momo: Momo) -> None:
        self.momo = momo

    def describe(self, payment_id: str) -> JSON | None:
        payment = self.momo.state.payments.get(payment_id.lower())
        return {"referenceId": payment.reference_id, **payment.as_json()} if payment is not None else None

    async def pay(self, payment_id: str) -> JSON | None:
        return self._settle(payment_id, ("SUCCESSFUL", None))

    async def decline(self, payment_id: str) -> JSON | None:
        return self._settle(payment_id, ("FAILED", "APPROVAL_REJECTED"))

    def _settle(self, payment_id: str, outcome: tuple[str, str | None]) -> JSON | None:
        payment = self.momo.state.payments.get(payment_id.lower())
        if payment is None:
            return None
        if payment.decline and outcome[0] == "SUCCESSFUL":
            outcome = ("FAILED", "NOT_ENOUGH_FUNDS")
        self.momo.settle(payment.reference_id, outcome)
        return self.describe(payment_id)

    def notify(self, payment_id: str) -> JSON | None:
        payment = self.momo.state.payments.get(payment_id.lower())
        if payment is None:
            return None
        delivery = self.momo.call_back(payment)
        if delivery is None:
            return {"error": "this request had no X-Callback-Url"}
        return {"id": delivery.id, "event": delivery.event}


def _shapes() -> ErrorShapes:
    return ErrorShapes(
        not_found=lambda: json_response({"statusCode": 404, "message": "Resource not found"}, status=404),
        method_not_allowed=lambda: json_response(
            {"statusCode": 405, "message": "Method not allowed"}, status=405
        ),
        server_error=lambda: reason(
            "INTERNAL_PROCESSING_ERROR", "An internal error occurred while processing.", 500
        ),
        client_error=lambda status, why: json_response({"statusCode": status, "message": why}, status=status),
    )


def create(settings: Settings, base_url: str) -> tuple[Fake, web.Application]:
    fake = Fake("momo", settings, base_url, _shapes())
    momo = Momo(fake)
    fake.payer = MomoPayer(momo)
    fake.credentials = {
        "MTN_MOMO_API_BASE": base_url,
        "MTN_MOMO_SUBSCRIPTION_KEY": SUBSCRIPTION_KEY,
        "MTN_MOMO_API_USER": API_USER,
        "MTN_MOMO_API_KEY": API_KEY,
        "MTN_MOMO_TARGET_ENVIRONMENT": "sandbox",
    }
    app = make_app(fake)
    app.add_routes(momo.routes())
    return fake, app
