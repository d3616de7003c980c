"""The PayPal fake: OAuth2 client credentials, Orders v2, Payments v2 refunds, signed webhooks.

Shapes follow PayPal's published OpenAPI documents (paypal-rest-api-specifications:
checkout_orders_v2, payments_payment_v2, notifications_webhooks_v1): error bodies
``{name, message, debug_id, details[{field, value, location, issue, description}], links}``,
201 on a first create/capture/refund and 200 with the stored answer when the same
``PayPal-Request-Id`` comes again (409 PREVIOUS_REQUEST_IN_PROGRESS while the first is
still running). The payer approves through the order's ``approve`` link.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

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
from payedge_server.fakes.paypal_errors import error
from payedge_server.fakes.paypal_money import Money
from payedge_server.fakes.paypal_orders import (
    Capture,
    Order,
    Refund,
    State,
    Stored,
    order_from,
    refund_amount,
    timestamp,
)
from payedge_server.fakes.paypal_signing import AUTH_ALGO, Signer, signed_string

CLIENT_ID = "fake-paypal-client-id"
CLIENT_SECRET = "fake-paypal-client-secret"
WEBHOOK_ID = "8PT597110X687430LKGECATA"
TOKEN_LIFETIME = 32400
PAYER_ID = "FAKEPAYER0001"
PAYER: JSON = {
    "name": {"given_name": "Fake", "surname": "Buyer"},
    "email_address": "buyer@example.com",
    "payer_id": PAYER_ID,
    "address": {"country_code": "US"},
}


class PayPal:
    """The PayPal fake's state, signer and behaviour; `routes()` are its HTTP surface."""

    def __init__(self, fake: Fake) -> None:
        self.fake = fake
        self.state = State()
        self.signer = Signer()
        self.cert_url = f"{fake.base_url}/v1/notifications/certs/{self.signer.cert_name}"
        fake.resets.append(self.state.clear)

    # ------------------------------------------------------------------ representations

    def links(self, order: Order) -> list[JSON]:
        base = f"{self.fake.base_url}/v2/checkout/orders/{order.id}"
        links: list[JSON] = [{"href": base, "rel": "self", "method": "GET"}]
        if order.status == "CREATED":
            links.append(
                {
                    "href": f"{self.fake.base_url}/checkoutnow?token={order.id}",
                    "rel": "approve",
                    "method": "GET",
                }
            )
        if order.status in ("CREATED", "APPROVED"):
            links.append({"href": base, "rel": "update", "method": "PATCH"})
            links.append({"href": base + "/capture", "rel": "capture", "method": "POST"})
        return links

    def capture_json(self, capture: Capture) -> JSON:
        base = f"{self.fake.base_url}/v2/payments/captures/{capture.id}"
        body: JSON = {
            "id": capture.id,
            "status": capture.status,
            "amount": capture.amount.as_json(),
            "final_capture": True,
            "seller_protection": {"status": "ELIGIBLE", "dispute_categories": ["ITEM_NOT_RECEIVED"]},
            "create_time": capture.create_time,
            "update_time": capture.update_time,
            "supplementary_data": {"related_ids": {"order_id": capture.order_id}},
            "links": [
                {"href": base, "rel": "self", "method": "GET"},
                {"href": base + "/refund", "rel": "refund", "method": "POST"},
                {
                    "href": f"{self.fake.base_url}/v2/checkout/orders/{capture.order_id}",
                    "rel": "up",
                    "method": "GET",
                },
            ],
        }
        body.update(
            {k: v for k, v in (("custom_id", capture.custom_id), ("invoice_id", capture.invoice_id)) if v}
        )
        return body

    def order_json(self, order: Order) -> JSON:
        unit: JSON = {
            "reference_id": order.reference_id,
            "amount": order.amount.as_json(),
            "payee": {"email_address": "merchant@example.com", "merchant_id": "FAKEMERCHANT01"},
        }
        unit.update(
            {k: v for k, v in (("custom_id", order.custom_id), ("invoice_id", order.invoice_id)) if v}
        )
        if order.capture_id is not None:
            unit["payments"] = {"captures": [self.capture_json(self.state.captures[order.capture_id])]}
        body: JSON = {
            "id": order.id,
            "intent": "CAPTURE",
            "status": order.status,
            "purchase_units": [unit],
            "create_time": order.create_time,
            "update_time": order.update_time,
            "links": self.links(order),
        }
        if order.status != "CREATED":
            body["payer"] = PAYER
        return body

    def refund_json(self, refund: Refund) -> JSON:
        base = self.fake.base_url
        return {
            "id": refund.id,
            "status": refund.status,
            "amount": refund.amount.as_json(),
            "note_to_payer": refund.note_to_payer,
            "create_time": refund.create_time,
            "update_time": refund.create_time,
            "links": [
                {"href": f"{base}/v2/payments/refunds/{refund.id}", "rel": "self", "method": "GET"},
                {"href": f"{base}/v2/payments/captures/{refund.capture_id}", "rel": "up", "method": "GET"},
            ],
        }

    # ------------------------------------------------------------------ webhooks

    def emit(self, event_type: str, resource_type: str, resource: JSON, payment_id: str) -> Delivery | None:
        """Sign and send one webhook event to the configured listener (none configured: not sent)."""
        url = self.fake.callback_url
        if url is None:
            return None
        event_id = f"WH-{new_id(17)}-{new_id(17)}"
        event = {
            "id": event_id,
            "event_version": "1.0",
            "create_time": timestamp(),
            "resource_type": resource_type,
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": f"{event_type} for {payment_id}",
            "resource": resource,
            "links": [
                {
                    "href": f"{self.fake.base_url}/v1/notifications/webhooks-events/{event_id}",
                    "rel": "self",
                    "method": "GET",
                }
            ],
        }
        body = json.dumps(event).encode()
        transmission_id, transmission_time = str(uuid.uuid4()), timestamp()
        self.state.transmissions[transmission_id] = body
        headers = (
            ("Content-Type", "application/json"),
            ("PAYPAL-TRANSMISSION-ID", transmission_id),
            ("PAYPAL-TRANSMISSION-TIME", transmission_time),
            (
                "PAYPAL-TRANSMISSION-SIG",
                self.signer.sign(transmission_id, transmission_time, WEBHOOK_ID, body),
            ),
            ("PAYPAL-CERT-URL", self.cert_url),
            ("PAYPAL-AUTH-ALGO", AUTH_ALGO),
            ("PAYPAL-AUTH-VERSION", "v2"),
        )
        callbacks = self.fake.callbacks
        return callbacks.send(
            Delivery(callbacks.next_id(), payment_id, event_type, "POST", url, headers, body)
        )

    # ------------------------------------------------------------------ auth and idempotency

    def check_bearer(self, request: web.Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Reject(error(401))
        expiry = self.state.tokens.get(token)
        if expiry is None or expiry < time.monotonic():
            raise Reject(
                json_response(
                    {"error": "invalid_token", "error_description": "Access Token not found in cache"}, 401
                )
            )

    def replay(self, request: web.Request) -> tuple[tuple[str, str] | None, web.Response | None]:
        request_id = request.headers.get("PayPal-Request-Id")
        if not request_id:
            return None, None
        if len(request_id) > 108:
            raise Reject(error(400, "INVALID_STRING_LENGTH", field="PayPal-Request-Id", location="header"))
        key = (request.path, request_id)
        stored = self.state.replies.get(key)
        if stored is not None:  # done, even if its first answer is still on its way (or lost)
            return key, json_response(stored.body, status=200)
        if key in self.state.in_flight:
            raise Reject(
                error(409, "PREVIOUS_REQUEST_IN_PROGRESS", location="header", field="PayPal-Request-Id")
            )
        return key, None

    @contextlib.contextmanager
    def running(self, key: tuple[str, str] | None) -> Iterator[None]:
        if key is None:
            yield
            return
        self.state.in_flight.add(key)
        try:
            yield
        finally:
            self.state.in_flight.discard(key)

    def remember(self, key: tuple[str, str] | None, body: JSON) -> None:
        if key is not None:
            self.state.replies[key] = Stored(body)

    # ------------------------------------------------------------------ handlers

    async def token(self, request: web.Request) -> web.Response:
        if _basic(request) != (CLIENT_ID, CLIENT_SECRET):
            return json_response(
                {"error": "invalid_client", "error_description": "Client Authentication failed"}, 401
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
                    "error_description": "Grant Type is NULL or not supported",
                },
                400,
            )
        token = "A21AA" + secrets.token_urlsafe(48)
        self.state.tokens[token] = time.monotonic() + TOKEN_LIFETIME
        return json_response(
            {
                "scope": "https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-80W284485P519543T",
                "expires_in": TOKEN_LIFETIME,
                "nonce": f"{timestamp()}{secrets.token_urlsafe(16)}",
            }
        )

    async def create_order(self, request: web.Request) -> web.Response:
        self.check_bearer(request)
        key, replayed = self.replay(request)
        if replayed is not None:
            return replayed
        with self.running(key):
            body = await read_json(request, lambda _: error(400, "MALFORMED_REQUEST_JSON"))
            order = order_from(body)
            injection = self.fake.faults.pick(Operation.CREATE, order.amount.amount)
            await self.fake.strike(injection, Phase.BEFORE)
            if injection is not None and injection.fault is Fault.DECLINE:
                raise Reject(error(422, "PAYEE_ACCOUNT_RESTRICTED"))
            self.state.orders[order.id] = order
            full = self.order_json(order)
            answer = (
                full
                if "return=representation" in request.headers.get("Prefer", "")
                else {
                    "id": order.id,
                    "status": order.status,
                    "links": full["links"],
                }
            )
            self.remember(key, answer)
            await self.fake.strike(injection, Phase.AFTER)
            return json_response(answer, status=201)

    def order_or_404(self, order_id: str) -> Order:
        order = self.state.orders.get(order_id)
        if order is None:
            raise Reject(error(404, "INVALID_RESOURCE_ID", field="order_id", value=order_id, location="path"))
        return order

    async def get_order(self, request: web.Request) -> web.Response:
        self.check_bearer(request)
        return json_response(self.order_json(self.order_or_404(request.match_info["order_id"])))

    async def capture(self, request: web.Request) -> web.Response:
        self.check_bearer(request)
        key, replayed = self.replay(request)
        if replayed is not None:
            return replayed
        with self.running(key):
            await _optional_json(request)
            order = self.order_or_404(request.match_info["order_id"])
            if order.status == "COMPLETED":
                raise Reject(error(422, "ORDER_ALREADY_CAPTURED"))
            if order.status != "APPROVED":
                raise Reject(error(422, "ORDER_NOT_APPROVED"))
            injection = self.fake.faults.pick(Operation.PAY, order.amount.amount)
            await self.fake.strike(injection, Phase.BEFORE)
            if injection is not None and injection.fault is Fault.DECLINE:
                # PayPal sends the payer back to choose another funding source: approve again.
                self.state.orders[order.id] = replace(order, status="CREATED", update_time=timestamp())
                raise Reject(error(422, "INSTRUMENT_DECLINED"))
            answer = self.apply_capture(order)
            self.remember(key, answer)
            await self.fake.strike(injection, Phase.AFTER)
            return json_response(answer, status=201)

    def apply_capture(self, order: Order) -> JSON:
        now = timestamp()
        capture = Capture(
            new_id(17),
            order.id,
            "COMPLETED",
            order.amount,
            Decimal(0),
            order.custom_id,
            order.invoice_id,
            now,
            now,
        )
        self.state.captures[capture.id] = capture
        completed = replace(order, status="COMPLETED", capture_id=capture.id, update_time=now)
        self.state.orders[order.id] = completed
        reference = order.custom_id or order.invoice_id or order.reference_id
        self.fake.ledger.capture(order.id, order.amount.amount, order.amount.currency, reference)
        self.emit("PAYMENT.CAPTURE.COMPLETED", "capture", self.capture_json(capture), order.id)
        return self.order_json(completed)

    async def get_capture(self, request: web.Request) -> web.Response:
        self.check_bearer(request)
        return json_response(self.capture_json(self.capture_or_404(request.match_info["capture_id"])))

    def capture_or_404(self, capture_id: str) -> Capture:
        capture = self.state.captures.get(capture_id)
        if capture is None:
            raise Reject(
                error(404, "INVALID_RESOURCE_ID", field="capture_id", value=capture_id, location="path")
            )
        return capture

    async def refund(self, request: web.Request) -> web.Response:
        self.check_bearer(request)
        key, replayed = self.replay(request)
        if replayed is not None:
            return replayed
        with self.running(key):
            body = await _optional_json(request)
            capture = self.capture_or_404(request.match_info["capture_id"])
            amount = refund_amount(body, capture)
            injection = self.fake.faults.pick(Operation.REFUND, capture.amount.amount)
            await self.fake.strike(injection, Phase.BEFORE)
            if injection is not None and injection.fault is Fault.DECLINE:
                raise Reject(error(422, "REFUND_FAILED_INSUFFICIENT_FUNDS"))
            note = body.get("note_to_payer") if isinstance(body.get("note_to_payer"), str) else None
            answer = self.apply_refund(capture, amount, note)
            self.remember(key, answer)
            await self.fake.strike(injection, Phase.AFTER)
            return json_response(answer, status=201)

    def apply_refund(self, capture: Capture, amount: Money, note: str | None) -> JSON:
        now = timestamp()
        refund = Refund(new_id(17), capture.id, "COMPLETED", amount, note, now)
        self.state.refunds[refund.id] = refund
        refunded = capture.refunded + amount.amount
        status = "REFUNDED" if refunded >= capture.amount.amount else "PARTIALLY_REFUNDED"
        self.state.captures[capture.id] = replace(capture, refunded=refunded, status=status, update_time=now)
        self.fake.ledger.refund(capture.order_id, amount.amount, amount.currency)
        self.emit("PAYMENT.CAPTURE.REFUNDED", "refund", self.refund_json(refund), capture.order_id)
        return self.refund_json(refund)

    async def get_refund(self, request: web.Request) -> web.Response:
        self.check_bearer(request)
        refund = self.state.refunds.get(request.match_info["refund_id"])
        if refund is None:
            raise Reject(error(404, "INVALID_RESOURCE_ID", field="refund_id", location="path"))
        return json_response(self.refund_json(refund))

    async def certificate(self, request: web.Request) -> web.Response:
        if request.match_info["name"] != self.signer.cert_name:
            raise Reject(error(404, "INVALID_RESOURCE_ID", location="path"))
        return web.Response(body=self.signer.cert_pem, content_type="application/x-pem-file")

    async def verify_signature(self, request: web.Request) -> web.Response:
        """PayPal's postback check; compares the event with the raw bytes that were signed."""
        self.check_bearer(request)
        body = await read_json(request, lambda _: error(400, "MALFORMED_REQUEST_JSON"))
        names = (
            "auth_algo",
            "cert_url",
            "transmission_id",
            "transmission_sig",
            "transmission_time",
            "webhook_id",
        )
        for name in (*names, "webhook_event"):
            if body.get(name) in (None, ""):
                raise Reject(error(400, "MISSING_REQUIRED_PARAMETER", field=f"/{name}"))
        fields = {name: str(body[name]) for name in names}
        raw = self.state.transmissions.get(fields["transmission_id"])
        ok = (
            raw is not None
            and fields["auth_algo"] == AUTH_ALGO
            and fields["cert_url"] == self.cert_url
            and json.loads(raw) == body["webhook_event"]
            and self.signer.verify(
                fields["transmission_sig"],
                signed_string(
                    fields["transmission_id"], fields["transmission_time"], fields["webhook_id"], raw
                ),
            )
        )
        return json_response({"verification_status": "SUCCESS" if ok else "FAILURE"})

    async def approve_page(self, request: web.Request) -> web.Response:
        """The approve link: a GET approves the order (the payer logged in and agreed)."""
        order = self.state.orders.get(request.query.get("token", ""))
        if order is None:
            return hosted_page("PayPal (fake)", ["This checkout session does not exist."], [])
        self.approve(order)
        if order.return_url:
            raise web.HTTPFound(_with_query(order.return_url, token=order.id, PayerID=PAYER_ID))
        return hosted_page(
            "PayPal (fake)", [f"Order {order.id} approved. The merchant may capture it now."], []
        )

    def approve(self, order: Order) -> Order:
        if order.status != "CREATED":
            return order
        approved = replace(order, status="APPROVED", update_time=timestamp())
        self.state.orders[order.id] = approved
        self.emit("CHECKOUT.ORDER.APPROVED", "checkout-order", self.order_json(approved), order.id)
        return approved

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/oauth2/token", self.token),
            web.post("/v2/checkout/orders", self.create_order),
            web.get("/v2/checkout/orders/{order_id}", self.get_order),
            web.post("/v2/checkout/orders/{order_id}/capture", self.capture),
            web.get("/v2/payments/captures/{capture_id}", self.get_capture),
            web.post("/v2/payments/captures/{capture_id}/refund", self.refund),
            web.get("/v2/payments/refunds/{refund_id}", self.get_refund),
            web.get("/v1/notifications/certs/{name}", self.certificate),
            web.post("/v1/notifications/verify-webhook-signature", self.verify_signature),
            web.get("/checkoutnow", self.approve_page),
        ]


# ----------------------------------------------------------------------------- request parsing


def _basic(request: web.Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


async def _optional_json(request: web.Request) -> JSON:
    """Capture and refund take an empty body or a JSON object (sent as application/json)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    if request.content_type != "application/json":
        raise Reject(error(415))
    return await read_json(request, lambda _: error(400, "MALFORMED_REQUEST_JSON"))


def _with_query(url: str, **params: str) -> str:
    from urllib.parse import urlencode

    return url + ("&" if "?" in url else "?") + urlencode(params)


# ----------------------------------------------------------------------------- payer side and app


class PayPalPayer:
    """The payer side for tests: approve (pay), cancel at PayPal (decline), webhook again (callback)."""

    def __init__(self, paypal: PayPal) -> None:
        self.paypal = paypal

    def describe(self, payment_id: str) -> JSON | None:
        order = self.paypal.state.orders.get(payment_id)
        return self.paypal.order_json(order) if order is not None else None

    async def pay(self, payment_id: str) -> JSON | None:
        order = self.paypal.state.orders.get(payment_id)
        return self.paypal.order_json(self.paypal.approve(order)) if order is not None else None

    async def decline(self, payment_id: str) -> JSON | None:
        # At PayPal a payer who cancels just leaves: the order stays CREATED and never captures.
        return self.describe(payment_id)

    def notify(self, payment_id: str) -> JSON | None:
        order = self.paypal.state.orders.get(payment_id)
        if order is None:
            return None
        if order.capture_id is not None:
            capture = self.paypal.capture_json(self.paypal.state.captures[order.capture_id])
            delivery = self.paypal.emit("PAYMENT.CAPTURE.COMPLETED", "capture", capture, order.id)
        elif order.status == "APPROVED":
            delivery = self.paypal.emit(
                "CHECKOUT.ORDER.APPROVED", "checkout-order", self.paypal.order_json(order), order.id
            )
        else:
            return {"error": "the order has no event to send yet (approve it first)"}
        if delivery is None:
            return {"error": "no webhook listener configured (--callback-url or POST /_fake/callback-url)"}
        return {"id": delivery.id, "event": delivery.event}


def _shapes() -> ErrorShapes:
    return ErrorShapes(
        not_found=lambda: error(404, "INVALID_RESOURCE_ID", location="path"),
        method_not_allowed=lambda: error(405),
        server_error=lambda: error(500),
        client_error=lambda status, _: error(status),
    )


def create(settings: Settings, base_url: str) -> tuple[Fake, web.Application]:
    fake = Fake("paypal", settings, base_url, _shapes())
    paypal = PayPal(fake)
    fake.payer = PayPalPayer(paypal)
    fake.credentials = {
        "PAYPAL_API_BASE": base_url,
        "PAYPAL_CLIENT_ID": CLIENT_ID,
        "PAYPAL_CLIENT_SECRET": CLIENT_SECRET,
        "PAYPAL_WEBHOOK_ID": WEBHOOK_ID,
        "PAYPAL_CERT_URL": paypal.cert_url,
    }
    app = make_app(fake)
    app.add_routes(paypal.routes())
    return fake, app
