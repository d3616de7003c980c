"""The Orange Money fake as an integrator meets it: OAuth, webpayment, hosted page, notif_token, status."""

from __future__ import annotations

import hmac
import json
import uuid
from typing import Any

import aiohttp
import pytest

from tests.fakes.support import Fakes, Receiver, basic, json_of


class OrangeClient:
    def __init__(self, http: aiohttp.ClientSession, fakes: Fakes) -> None:
        self.http, self.env, self.base = http, fakes.env, fakes.orange
        self.token = ""

    async def login(self, secret: str | None = None) -> tuple[int, Any]:
        auth = basic(
            self.env["PAYEDGE_ORANGE_MONEY_CLIENT_ID"],
            secret or self.env["PAYEDGE_ORANGE_MONEY_CLIENT_SECRET"],
        )
        url = f"{self.base}/oauth/v3/token"
        async with self.http.post(
            url, data={"grant_type": "client_credentials"}, headers={"Authorization": auth}
        ) as r:
            body = await json_of(r)
        if r.status == 200:
            self.token = body["access_token"]
        return r.status, body

    def url(self, operation: str, country: str | None = None) -> str:
        country = country or self.env["PAYEDGE_ORANGE_MONEY_COUNTRY"]
        return f"{self.base}/orange-money-webpay/{country}/v1/{operation}"

    async def post(self, url: str, body: Any) -> tuple[int, Any]:
        async with self.http.post(url, json=body, headers={"Authorization": f"Bearer {self.token}"}) as r:
            return r.status, await json_of(r)

    async def webpayment(self, notif: str = "http://127.0.0.1:9/notif", **fields: Any) -> tuple[int, Any]:
        body = {
            "merchant_key": self.env["PAYEDGE_ORANGE_MONEY_MERCHANT_KEY"],
            "currency": "OUV",
            "order_id": "o-" + uuid.uuid4().hex[:12],
            "amount": 1500,
            "return_url": "http://127.0.0.1:9/return",
            "cancel_url": "http://127.0.0.1:9/cancel",
            "notif_url": notif,
            "lang": "fr",
            "reference": "pay_123",
            **fields,
        }
        return await self.post(self.url("webpayment"), {k: v for k, v in body.items() if v is not None})

    async def status(self, order_id: str, amount: Any, pay_token: str) -> tuple[int, Any]:
        return await self.post(
            self.url("transactionstatus"), {"order_id": order_id, "amount": amount, "pay_token": pay_token}
        )


@pytest.fixture
async def orange(http: aiohttp.ClientSession, fakes: Fakes) -> OrangeClient:
    client = OrangeClient(http, fakes)
    status, body = await client.login()
    assert status == 200 and body["token_type"] == "Bearer"
    return client


async def test_webpayment_pay_and_status(
    orange: OrangeClient, http: aiohttp.ClientSession, fakes: Fakes
) -> None:
    status, body = await orange.webpayment(order_id="order-1")
    assert (status, body["status"], body["message"]) == (201, 201, "OK")
    pay_token, notif_token = body["pay_token"], body["notif_token"]
    assert body["payment_url"].endswith(pay_token) and notif_token
    status, answer = await orange.status("order-1", 1500, pay_token)
    assert (status, answer["status"]) == (201, "INITIATED")
    async with http.get(body["payment_url"]) as r:
        assert "Pay" in await r.text()
    async with http.post(body["payment_url"] + "/pay", allow_redirects=False) as r:
        assert r.status == 303 and r.headers["Location"] == "http://127.0.0.1:9/return"
    _, answer = await orange.status("order-1", 1500, pay_token)
    assert answer["status"] == "SUCCESS" and answer["txnid"].startswith("MP")
    status, answer = await orange.status("order-1", 1505, pay_token)  # the three must match
    assert (status, answer["code"]) == (404, 60)
    async with http.get(f"{fakes.orange}/_fake/stats") as r:
        assert (await r.json())["payments"]["order-1"]["reference"] == "pay_123"


async def test_cancel_goes_to_cancel_url_and_fails(orange: OrangeClient, http: aiohttp.ClientSession) -> None:
    _, body = await orange.webpayment(order_id="order-2")
    async with http.post(body["payment_url"] + "/cancel", allow_redirects=False) as r:
        assert r.headers["Location"] == "http://127.0.0.1:9/cancel"
    assert (await orange.status("order-2", 1500, body["pay_token"]))[1]["status"] == "FAILED"


# fields -> (HTTP status, Orange code); amounts are integers, currency the country's, order_id unique.
BAD: list[tuple[dict[str, Any], tuple[int, int]]] = [
    ({"amount": "1500"}, (400, 22)),
    ({"amount": 1500.0}, (400, 22)),
    ({"amount": 0}, (400, 22)),
    ({"amount": True}, (400, 22)),
    ({"currency": "XOF"}, (400, 22)),
    ({"lang": "de"}, (400, 22)),
    ({"order_id": "x" * 31}, (400, 22)),
    ({"notif_url": "ftp://x"}, (400, 22)),
    ({"notif_url": None}, (400, 21)),
    ({"merchant_key": "nope"}, (401, 41)),
]


async def test_bad_bodies_get_orange_errors(orange: OrangeClient) -> None:
    for fields, expected in BAD:
        status, body = await orange.webpayment(**fields)
        assert (status, body["code"]) == expected, (fields, body)
        assert set(body) == {"code", "message", "description"}
    assert (await orange.webpayment(order_id="same"))[0] == 201
    status, body = await orange.webpayment(order_id="same")
    assert (status, body["code"]) == (400, 22) and "already used" in body["description"]


async def test_auth_errors(orange: OrangeClient, http: aiohttp.ClientSession) -> None:
    status, body = await orange.login(secret="wrong")
    assert (status, body["error"]) == (401, "invalid_client")
    async with http.post(orange.url("webpayment"), json={}) as r:
        assert (r.status, (await r.json())["code"]) == (401, 40)
    async with http.post(orange.url("webpayment"), json={}, headers={"Authorization": "Bearer nope"}) as r:
        assert (r.status, (await r.json())["code"]) == (401, 41)
    async with http.post(
        orange.url("webpayment", "zz"), json={}, headers={"Authorization": f"Bearer {orange.token}"}
    ) as r:
        assert (r.status, (await r.json())["code"]) == (404, 60)
    status, body = await orange.webpayment(**{"currency": "XOF"})
    assert status == 400  # the sandbox ("dev") takes OUV only
    status, body = await orange.post(orange.url("webpayment", "ci"), {})
    assert (status, body["code"]) == (400, 21)


async def test_notification_is_authenticated_by_notif_token(
    orange: OrangeClient, http: aiohttp.ClientSession, fakes: Fakes, listener: Receiver
) -> None:
    _, body = await orange.webpayment(notif=listener.url + "/orange", order_id="order-3")
    async with http.post(f"{fakes.orange}/_fake/payments/order-3/pay") as r:
        assert (await r.json())["status"] == "SUCCESS"
    (notification,) = await listener.wait_for(1)
    sent = json.loads(notification.body)
    assert notification.method == "POST" and sent["status"] == "SUCCESS"
    assert hmac.compare_digest(sent["notif_token"], body["notif_token"])  # the only authentication
    _, answer = await orange.status("order-3", 1500, body["pay_token"])  # then confirm
    assert answer["txnid"] == sent["txnid"]
    async with http.get(f"{fakes.orange}/_fake/callbacks") as r:
        (delivery,) = (await r.json())["callbacks"]
    async with http.post(f"{fakes.orange}/_fake/callbacks/{delivery['id']}/replay"):
        pass
    assert (await listener.wait_for(2))[1].body == notification.body
