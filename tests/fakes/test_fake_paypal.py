"""The PayPal fake as an integrator meets it: OAuth2, Orders v2, refunds, idempotency, webhooks."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import zlib
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes.support import Fakes, Receiver, basic, json_of


class PayPalClient:
    def __init__(self, http: aiohttp.ClientSession, fakes: Fakes) -> None:
        self.http, self.env, self.base = http, fakes.env, fakes.paypal
        self.token = ""

    async def login(self) -> None:
        auth = basic(self.env["PAYEDGE_PAYPAL_CLIENT_ID"], self.env["PAYEDGE_PAYPAL_CLIENT_SECRET"])
        async with self.http.post(
            f"{self.base}/v1/oauth2/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": auth},
        ) as r:
            assert r.status == 200
            body = await r.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] > 0
        self.token = body["access_token"]

    async def call(
        self, method: str, path: str, body: Any = None, request_id: str | None = None, **headers: str
    ) -> tuple[int, Any]:
        sent = {"Authorization": f"Bearer {self.token}", **headers}
        if request_id is not None:
            sent["PayPal-Request-Id"] = request_id
        async with self.http.request(method, self.base + path, json=body, headers=sent) as r:
            return r.status, await json_of(r)

    async def order(self, value: str = "10.00", currency: str = "USD", **unit: Any) -> dict[str, Any]:
        purchase = {"amount": {"currency_code": currency, "value": value}, **unit}
        status, body = await self.call(
            "POST", "/v2/checkout/orders", {"intent": "CAPTURE", "purchase_units": [purchase]}
        )
        assert status == 201, body
        return dict(body)

    async def approve(self, order: dict[str, Any]) -> None:
        approve = next(link["href"] for link in order["links"] if link["rel"] == "approve")
        async with self.http.get(approve, allow_redirects=False) as r:
            assert r.status in (200, 302)

    async def captured_order(self, value: str = "10.00", currency: str = "USD") -> dict[str, Any]:
        order = await self.order(value, currency)
        await self.approve(order)
        status, body = await self.call("POST", f"/v2/checkout/orders/{order['id']}/capture", {})
        assert status == 201, body
        return dict(body)


@pytest.fixture
async def paypal(http: aiohttp.ClientSession, fakes: Fakes) -> PayPalClient:
    client = PayPalClient(http, fakes)
    await client.login()
    return client


def capture_of(order: dict[str, Any]) -> dict[str, Any]:
    return dict(order["purchase_units"][0]["payments"]["captures"][0])


async def stats(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    async with http.get(f"{base}/_fake/stats") as r:
        return dict(await r.json())


async def test_oauth_refuses_bad_credentials_and_bad_tokens(
    http: aiohttp.ClientSession, fakes: Fakes
) -> None:
    url = f"{fakes.paypal}/v1/oauth2/token"
    bad = {"Authorization": basic("fake-paypal-client-id", "wrong")}
    async with http.post(url, data={"grant_type": "client_credentials"}, headers=bad) as r:
        assert r.status == 401 and (await r.json())["error"] == "invalid_client"
    client = PayPalClient(http, fakes)
    status, body = await client.call("GET", "/v2/checkout/orders/X", Authorization="")
    assert status == 401 and body["name"] == "AUTHENTICATION_FAILURE"
    client.token = "not-a-token"
    status, body = await client.call("GET", "/v2/checkout/orders/X")
    assert status == 401 and body["error"] == "invalid_token"


async def test_order_approve_capture_refund(
    paypal: PayPalClient, http: aiohttp.ClientSession, fakes: Fakes
) -> None:
    order = await paypal.order("25.50", custom_id="pay_123")
    assert order["status"] == "CREATED" and {link["rel"] for link in order["links"]} >= {"approve", "capture"}
    status, body = await paypal.call("POST", f"/v2/checkout/orders/{order['id']}/capture", {})
    assert (status, body["details"][0]["issue"]) == (422, "ORDER_NOT_APPROVED")
    await paypal.approve(order)
    status, body = await paypal.call("GET", f"/v2/checkout/orders/{order['id']}")
    assert body["status"] == "APPROVED"
    status, body = await paypal.call("POST", f"/v2/checkout/orders/{order['id']}/capture", {})
    assert status == 201 and body["status"] == "COMPLETED"
    capture = capture_of(body)
    assert capture["status"] == "COMPLETED" and capture["amount"] == {
        "currency_code": "USD",
        "value": "25.50",
    }
    status, body = await paypal.call("POST", f"/v2/checkout/orders/{order['id']}/capture", {})
    assert (status, body["details"][0]["issue"]) == (422, "ORDER_ALREADY_CAPTURED")

    refund_path = f"/v2/payments/captures/{capture['id']}/refund"
    status, body = await paypal.call(
        "POST", refund_path, {"amount": {"currency_code": "USD", "value": "5.50"}}
    )
    assert status == 201 and body["status"] == "COMPLETED" and body["amount"]["value"] == "5.50"
    status, body = await paypal.call(
        "POST", refund_path, {"amount": {"currency_code": "EUR", "value": "1.00"}}
    )
    assert (status, body["details"][0]["issue"]) == (422, "REFUND_CAPTURE_CURRENCY_MISMATCH")
    status, body = await paypal.call(
        "POST", refund_path, {"amount": {"currency_code": "USD", "value": "20.01"}}
    )
    assert (status, body["details"][0]["issue"]) == (422, "REFUND_AMOUNT_EXCEEDED")
    status, body = await paypal.call("POST", refund_path)  # no body: the rest
    assert status == 201 and body["amount"]["value"] == "20.00"
    status, body = await paypal.call("GET", f"/v2/payments/captures/{capture['id']}")
    assert body["status"] == "REFUNDED"
    status, body = await paypal.call("POST", refund_path, {})
    assert (status, body["details"][0]["issue"]) == (422, "CAPTURE_FULLY_REFUNDED")

    counted = (await stats(http, fakes.paypal))["payments"][order["id"]]
    assert counted["captures"] == 1 and counted["refunds"] == 2
    assert (counted["captured_amount"], counted["refunded_amount"], counted["reference"]) == (
        "25.50",
        "25.50",
        "pay_123",
    )


# (value, currency) -> (HTTP status, PayPal issue); None: accepted.
AMOUNTS: list[tuple[Any, str, tuple[int, str] | None]] = [
    ("10.00", "USD", None),
    ("10", "USD", None),
    ("10.5", "EUR", None),
    ("1500", "JPY", None),
    ("100", "HUF", None),
    ("30", "TWD", None),
    ("1500.00", "JPY", (422, "DECIMALS_NOT_SUPPORTED")),
    ("100.5", "HUF", (422, "DECIMALS_NOT_SUPPORTED")),
    ("30.0", "TWD", (422, "DECIMALS_NOT_SUPPORTED")),
    ("10.001", "USD", (422, "DECIMAL_PRECISION")),
    ("0.00", "USD", (422, "CANNOT_BE_ZERO_OR_NEGATIVE")),
    ("-1.00", "USD", (422, "CANNOT_BE_ZERO_OR_NEGATIVE")),
    ("1000000000000000.00", "USD", (422, "MAX_VALUE_EXCEEDED")),
    ("100", "XOF", (422, "INVALID_CURRENCY_CODE")),
    (10, "USD", (400, "INVALID_PARAMETER_SYNTAX")),
    ("10,00", "USD", (400, "INVALID_PARAMETER_SYNTAX")),
    ("1e3", "USD", (400, "INVALID_PARAMETER_SYNTAX")),
    ("1" * 33, "USD", (400, "INVALID_STRING_LENGTH")),
]


async def test_amounts_are_checked_as_paypal_does(paypal: PayPalClient) -> None:
    for value, currency, expected in AMOUNTS:
        body = {
            "intent": "CAPTURE",
            "purchase_units": [{"amount": {"currency_code": currency, "value": value}}],
        }
        status, answer = await paypal.call("POST", "/v2/checkout/orders", body)
        if expected is None:
            assert status == 201, (value, currency, answer)
        else:
            got = (status, answer["details"][0]["issue"])
            assert got == expected, (value, currency, answer)
            assert answer["name"] == ("INVALID_REQUEST" if status == 400 else "UNPROCESSABLE_ENTITY")


async def test_amounts_come_back_in_paypals_format(paypal: PayPalClient) -> None:
    for sent, currency, shown in (("10", "USD", "10.00"), ("10.5", "EUR", "10.50"), ("1500", "JPY", "1500")):
        body = {
            "intent": "CAPTURE",
            "purchase_units": [{"amount": {"currency_code": currency, "value": sent}}],
        }
        _, order = await paypal.call("POST", "/v2/checkout/orders", body, Prefer="return=representation")
        assert order["purchase_units"][0]["amount"] == {"currency_code": currency, "value": shown}


async def test_refund_amounts_follow_the_same_rules(paypal: PayPalClient) -> None:
    capture = capture_of(await paypal.captured_order("1500", "JPY"))
    path = f"/v2/payments/captures/{capture['id']}/refund"
    status, body = await paypal.call("POST", path, {"amount": {"currency_code": "JPY", "value": "100.00"}})
    assert (status, body["details"][0]["issue"]) == (422, "DECIMALS_NOT_SUPPORTED")
    status, body = await paypal.call("POST", path, {"amount": {"currency_code": "JPY", "value": "100"}})
    assert status == 201 and body["amount"] == {"currency_code": "JPY", "value": "100"}


async def test_request_id_replays_the_first_answer(
    paypal: PayPalClient, http: aiohttp.ClientSession, fakes: Fakes
) -> None:
    body = {"intent": "CAPTURE", "purchase_units": [{"amount": {"currency_code": "USD", "value": "3.00"}}]}
    first = await paypal.call("POST", "/v2/checkout/orders", body, request_id="create-1")
    again = await paypal.call("POST", "/v2/checkout/orders", body, request_id="create-1")
    assert first[0] == 201 and again == (200, first[1])
    other = await paypal.call("POST", "/v2/checkout/orders", body, request_id="create-2")
    assert other[1]["id"] != first[1]["id"]

    order = first[1]
    await paypal.approve(order)
    path = f"/v2/checkout/orders/{order['id']}/capture"
    captured = await paypal.call("POST", path, {}, request_id="capture-1")
    replayed = await paypal.call("POST", path, {}, request_id="capture-1")
    assert captured[0] == 201 and replayed == (200, captured[1])
    assert (await stats(http, fakes.paypal))["totals"]["captures"] == 1


async def test_same_request_id_while_the_first_runs_is_a_conflict(paypal: PayPalClient) -> None:
    order = await paypal.order("9110.00")  # its capture hangs (the fakes run with --hang-seconds 3)
    await paypal.approve(order)
    path = f"/v2/checkout/orders/{order['id']}/capture"
    first = asyncio.ensure_future(paypal.call("POST", path, {}, request_id="slow-1"))
    await asyncio.sleep(0.3)
    status, body = await paypal.call("POST", path, {}, request_id="slow-1")
    assert (status, body["name"], body["details"][0]["issue"]) == (
        409,
        "RESOURCE_CONFLICT",
        "PREVIOUS_REQUEST_IN_PROGRESS",
    )
    first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first


async def test_bad_input_gets_paypal_errors(
    paypal: PayPalClient, http: aiohttp.ClientSession, fakes: Fakes
) -> None:
    headers = {"Authorization": f"Bearer {paypal.token}", "Content-Type": "application/json"}
    async with http.post(f"{fakes.paypal}/v2/checkout/orders", data=b"{not json", headers=headers) as r:
        body = await r.json()
        assert r.status == 400 and body["details"][0]["issue"] == "MALFORMED_REQUEST_JSON"
    for bad in (
        {},
        {"intent": "CAPTURE"},
        {"intent": "SALE", "purchase_units": []},
        {"intent": "CAPTURE", "purchase_units": [1]},
    ):
        status, body = await paypal.call("POST", "/v2/checkout/orders", bad)
        assert status == 400 and body["name"] == "INVALID_REQUEST" and body["details"][0]["issue"], bad
    status, body = await paypal.call("GET", "/v2/checkout/orders/NOPE")
    assert (status, body["name"], body["details"][0]["issue"]) == (
        404,
        "RESOURCE_NOT_FOUND",
        "INVALID_RESOURCE_ID",
    )
    status, body = await paypal.call("GET", "/v2/no/such/path")
    assert status == 404 and body["name"] == "RESOURCE_NOT_FOUND"


def verify_offline(headers: dict[str, str], body: bytes, webhook_id: str, cert_pem: bytes) -> None:
    """What the team's gateway does: RSA PKCS#1 v1.5 SHA-256 over id|time|webhook_id|crc32(body)."""
    key = x509.load_pem_x509_certificate(cert_pem).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    message = "|".join(
        [
            headers["PAYPAL-TRANSMISSION-ID"],
            headers["PAYPAL-TRANSMISSION-TIME"],
            webhook_id,
            str(zlib.crc32(body)),
        ]
    ).encode()
    key.verify(
        base64.b64decode(headers["PAYPAL-TRANSMISSION-SIG"]), message, padding.PKCS1v15(), hashes.SHA256()
    )


async def test_webhooks_are_signed_and_verifiable(
    paypal: PayPalClient, http: aiohttp.ClientSession, fakes: Fakes, listener: Receiver
) -> None:
    order = await paypal.captured_order("42.00")
    approved, completed = await listener.wait_for(2)
    webhook_id = fakes.env["PAYEDGE_PAYPAL_WEBHOOK_ID"]
    for delivery, event_type in (
        (approved, "CHECKOUT.ORDER.APPROVED"),
        (completed, "PAYMENT.CAPTURE.COMPLETED"),
    ):
        headers = delivery.headers
        assert headers["PAYPAL-AUTH-ALGO"] == "SHA256withRSA"
        cert_url = headers["PAYPAL-CERT-URL"]
        assert cert_url == fakes.env["PAYEDGE_PAYPAL_CERT_URL"]
        assert (
            urlsplit(cert_url).netloc == urlsplit(fakes.paypal).netloc
        )  # an allow-list of the fake's host works
        async with http.get(cert_url) as r:
            cert_pem = await r.read()
        verify_offline(headers, delivery.body, webhook_id, cert_pem)
        with pytest.raises(InvalidSignature):
            verify_offline(headers, delivery.body + b" ", webhook_id, cert_pem)
        event = json.loads(delivery.body)
        assert event["event_type"] == event_type
    assert (
        json.loads(completed.body)["resource"]["supplementary_data"]["related_ids"]["order_id"] == order["id"]
    )

    # PayPal's postback check agrees, and refuses a tampered event.
    event = json.loads(completed.body)
    h = completed.headers
    check = {
        "auth_algo": h["PAYPAL-AUTH-ALGO"],
        "cert_url": h["PAYPAL-CERT-URL"],
        "transmission_id": h["PAYPAL-TRANSMISSION-ID"],
        "transmission_sig": h["PAYPAL-TRANSMISSION-SIG"],
        "transmission_time": h["PAYPAL-TRANSMISSION-TIME"],
        "webhook_id": webhook_id,
        "webhook_event": event,
    }
    status, body = await paypal.call("POST", "/v1/notifications/verify-webhook-signature", check)
    assert (status, body) == (200, {"verification_status": "SUCCESS"})
    event["resource"]["amount"]["value"] = "4200.00"
    status, body = await paypal.call("POST", "/v1/notifications/verify-webhook-signature", check)
    assert body == {"verification_status": "FAILURE"}


async def test_refunds_send_capture_refunded_events(paypal: PayPalClient, listener: Receiver) -> None:
    capture = capture_of(await paypal.captured_order("9.00"))
    path = f"/v2/payments/captures/{capture['id']}/refund"
    status, refund = await paypal.call("POST", path, {"amount": {"currency_code": "USD", "value": "4.00"}})
    assert status == 201
    # Deliveries are concurrent (PayPal promises no order either): compare as a set.
    events = {json.loads(r.body)["event_type"]: json.loads(r.body) for r in await listener.wait_for(3)}
    assert sorted(events) == [
        "CHECKOUT.ORDER.APPROVED",
        "PAYMENT.CAPTURE.COMPLETED",
        "PAYMENT.CAPTURE.REFUNDED",
    ]
    refunded = events["PAYMENT.CAPTURE.REFUNDED"]["resource"]
    assert refunded["id"] == refund["id"] and refunded["amount"]["value"] == "4.00"


async def test_webhook_replay_duplicates_and_reorders(
    paypal: PayPalClient, http: aiohttp.ClientSession, fakes: Fakes, listener: Receiver
) -> None:
    await paypal.captured_order("7.00")
    await listener.wait_for(2)
    async with http.get(f"{fakes.paypal}/_fake/callbacks") as r:
        sent = (await r.json())["callbacks"]
    assert [c["event"] for c in sent] == ["CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.COMPLETED"]
    assert all(c["state"] == "delivered" for c in sent)
    # Replay the older event after the newer one: out of order, byte for byte the original.
    async with http.post(f"{fakes.paypal}/_fake/callbacks/{sent[0]['id']}/replay") as r:
        assert r.status == 201
    first, _, replayed = await listener.wait_for(3)
    assert replayed.body == first.body
    assert replayed.headers["PAYPAL-TRANSMISSION-SIG"] == first.headers["PAYPAL-TRANSMISSION-SIG"]


async def test_webhook_retried_until_the_listener_answers(
    paypal: PayPalClient, listener: Receiver, http: aiohttp.ClientSession, fakes: Fakes
) -> None:
    listener.statuses = [500, 503]
    order = await paypal.order("1.00")
    await paypal.approve(order)
    deliveries = await listener.wait_for(3, within=10)
    assert len({d.body for d in deliveries}) == 1
    async with http.get(f"{fakes.paypal}/_fake/callbacks") as r:
        (sent,) = (await r.json())["callbacks"]
    assert [a["status"] for a in sent["attempts"]] == [500, 503, 200] and sent["state"] == "delivered"


async def test_decline_magic_amount(paypal: PayPalClient, http: aiohttp.ClientSession, fakes: Fakes) -> None:
    order = await paypal.order("9100.00")
    await paypal.approve(order)
    status, body = await paypal.call("POST", f"/v2/checkout/orders/{order['id']}/capture", {})
    assert (status, body["details"][0]["issue"]) == (422, "INSTRUMENT_DECLINED")
    status, body = await paypal.call("GET", f"/v2/checkout/orders/{order['id']}")
    assert body["status"] == "CREATED"  # back to the payer for another funding source
    assert (await stats(http, fakes.paypal))["totals"]["captures"] == 0
