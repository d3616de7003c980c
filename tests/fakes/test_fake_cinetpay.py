"""The CinetPay fake as an integrator meets it: init, hosted page, x-token notification, check."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest

from tests.fakes.support import Fakes, Receiver, json_of

#: The documented concatenation order of the x-token HMAC (docs.cinetpay.com, checkout/hmac).
HMAC_ORDER = (
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


class CinetPayClient:
    def __init__(self, http: aiohttp.ClientSession, fakes: Fakes) -> None:
        self.http, self.env, self.base = http, fakes.env, fakes.cinetpay

    def credentials(self) -> dict[str, str]:
        return {
            "apikey": self.env["PAYEDGE_CINETPAY_APIKEY"],
            "site_id": self.env["PAYEDGE_CINETPAY_SITE_ID"],
        }

    async def init(self, notify: str = "http://127.0.0.1:9/notify", **fields: Any) -> tuple[int, Any]:
        body = {
            **self.credentials(),
            "transaction_id": "tx-" + uuid.uuid4().hex[:10],
            "amount": 2500,
            "currency": "XOF",
            "description": "Parking 42",
            "notify_url": notify,
            "return_url": "http://127.0.0.1:9/return",
            "channels": "ALL",
            "metadata": "pay_123",
            **fields,
        }
        async with self.http.post(f"{self.base}/v2/payment", json=body) as r:
            return r.status, await json_of(r)

    async def check(self, **fields: Any) -> tuple[int, Any]:
        async with self.http.post(
            f"{self.base}/v2/payment/check", json={**self.credentials(), **fields}
        ) as r:
            return r.status, await json_of(r)


@pytest.fixture
def cinetpay(http: aiohttp.ClientSession, fakes: Fakes) -> CinetPayClient:
    return CinetPayClient(http, fakes)


async def test_init_pay_on_the_hosted_page_then_check(
    cinetpay: CinetPayClient, http: aiohttp.ClientSession
) -> None:
    status, body = await cinetpay.init(transaction_id="order-1")
    assert (status, body["code"], body["message"]) == (200, "201", "CREATED")
    token, page_url = body["data"]["payment_token"], body["data"]["payment_url"]
    status, body = await cinetpay.check(transaction_id="order-1")
    assert (body["code"], body["data"]["status"]) == ("662", "WAITING_FOR_CUSTOMER")

    async with http.get(page_url) as r:
        page = await r.text()
    assert r.status == 200 and "Pay" in page and "2500 XOF" in page
    async with http.post(page_url + "/pay") as r:
        back = await r.text()
    assert "http://127.0.0.1:9/return" in back and token in back  # POSTed back to return_url
    for key in ({"transaction_id": "order-1"}, {"token": token}, {"payment_token": token}):
        status, body = await cinetpay.check(**key)
        assert (status, body["code"], body["message"]) == (200, "00", "SUCCES")
        assert body["data"]["status"] == "ACCEPTED" and body["data"]["amount"] == "2500"


async def test_payer_cancel_is_refused(
    cinetpay: CinetPayClient, http: aiohttp.ClientSession, fakes: Fakes
) -> None:
    _, body = await cinetpay.init(transaction_id="order-2")
    async with http.post(body["data"]["payment_url"] + "/cancel"):
        pass
    _, body = await cinetpay.check(transaction_id="order-2")
    assert (body["code"], body["message"], body["data"]["status"]) == ("627", "TRANSACTION_CANCEL", "REFUSED")
    async with http.get(f"{fakes.cinetpay}/_fake/stats") as r:
        assert (await r.json())["totals"]["captures"] == 0


# amount -> (code, message); None: accepted. XOF's rules: an integer, a multiple of 5, 100 to 2,000,000.
AMOUNTS: list[tuple[Any, str, tuple[str, str] | None]] = [
    (2500, "XOF", None),
    ("2500", "XOF", None),
    (100, "XOF", None),
    (101, "USD", None),
    (2502, "XOF", ("608", "MINIMUM_REQUIRED_FIELDS")),
    (2502, "XAF", ("608", "MINIMUM_REQUIRED_FIELDS")),
    (2500.5, "XOF", ("608", "MINIMUM_REQUIRED_FIELDS")),
    (2500.0, "XOF", ("608", "MINIMUM_REQUIRED_FIELDS")),
    ("25.00", "XOF", ("608", "MINIMUM_REQUIRED_FIELDS")),
    (True, "XOF", ("608", "MINIMUM_REQUIRED_FIELDS")),
    (95, "XOF", ("641", "ERROR_AMOUNT_TOO_LOW")),
    (2_000_005, "XOF", ("642", "ERROR_AMOUNT_TOO_HIGH")),
    (2500, "EUR", ("608", "MINIMUM_REQUIRED_FIELDS")),
]


async def test_amounts_are_integers_in_multiples_of_five(cinetpay: CinetPayClient) -> None:
    for amount, currency, expected in AMOUNTS:
        status, body = await cinetpay.init(amount=amount, currency=currency)
        if expected is None:
            assert (status, body["code"]) == (200, "201"), (amount, currency, body)
        else:
            assert status == 400 and (body["code"], body["message"]) == expected, (amount, currency, body)


async def test_credentials_and_reused_transaction_ids_are_refused(cinetpay: CinetPayClient) -> None:
    status, body = await cinetpay.init(apikey="wrong")
    assert (status, body["code"], body["message"]) == (403, "609", "AUTH_NOT_FOUND")
    status, body = await cinetpay.init(site_id="1")
    assert (status, body["code"]) == (403, "613")
    assert (await cinetpay.init(transaction_id="same"))[0] == 200
    status, body = await cinetpay.init(transaction_id="same")
    assert (status, body["code"], body["message"]) == (400, "805", "CLIENT_TRANSACTION_ID_EXIST")
    status, body = await cinetpay.init(notify_url=None)
    assert (status, body["code"]) == (400, "608") and "notify_url" in body["description"]
    status, body = await cinetpay.check(transaction_id="unknown")
    assert status == 404 and body["code"] == "404"


def expected_x_token(fields: dict[str, str], secret: str) -> str:
    data = "".join(fields[name] for name in HMAC_ORDER)
    return hmac.new(secret.encode(), data.encode(), hashlib.sha256).hexdigest()


async def test_notification_carries_a_verifiable_x_token(
    cinetpay: CinetPayClient, http: aiohttp.ClientSession, fakes: Fakes, listener: Receiver
) -> None:
    _, body = await cinetpay.init(notify=listener.url + "/notify", transaction_id="order-3")
    async with http.post(f"{fakes.cinetpay}/_fake/payments/order-3/pay") as r:
        assert (await r.json())["state"] == "ACCEPTED"
    ping, notification = await listener.wait_for(2)
    assert (ping.method, ping.body) == ("GET", b"")  # CinetPay checks the URL answers GET first
    assert notification.method == "POST"
    assert notification.headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = dict(parse_qsl(notification.body.decode(), keep_blank_values=True))
    assert set(fields) == set(HMAC_ORDER)
    assert (fields["cpm_trans_id"], fields["cpm_amount"], fields["cpm_currency"]) == (
        "order-3",
        "2500",
        "XOF",
    )
    assert fields["cpm_custom"] == "pay_123"
    secret = fakes.env["PAYEDGE_CINETPAY_SECRET_KEY"]
    assert hmac.compare_digest(notification.headers["x-token"], expected_x_token(fields, secret))
    tampered = {**fields, "cpm_amount": "25000"}
    assert notification.headers["x-token"] != expected_x_token(tampered, secret)
    # The notification is a hint: the check endpoint is the truth.
    _, body = await cinetpay.check(transaction_id=fields["cpm_trans_id"])
    assert body["data"]["status"] == "ACCEPTED"

    async with http.get(f"{fakes.cinetpay}/_fake/callbacks") as r:
        sent = (await r.json())["callbacks"]
    async with http.post(f"{fakes.cinetpay}/_fake/callbacks/{sent[-1]['id']}/replay"):
        pass
    duplicate = (await listener.wait_for(3))[2]
    assert (duplicate.body, duplicate.headers["x-token"]) == (
        notification.body,
        notification.headers["x-token"],
    )


async def test_no_refund_api(cinetpay: CinetPayClient, http: aiohttp.ClientSession, fakes: Fakes) -> None:
    async with http.post(f"{fakes.cinetpay}/v2/payment/refund", json=cinetpay.credentials()) as r:
        assert r.status == 404 and (await r.json())["code"] == "404"
