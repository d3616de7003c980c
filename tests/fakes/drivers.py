"""One driver per fake for the cross-provider tests: take money with an amount, then ask what happened.

`pay(amount)` makes the call that takes the money (PayPal: create, approve, capture;
CinetPay and Orange: payment init; MoMo: requesttopay) and returns the HTTP status of
that last call, or raises the client error (timeout, disconnection). `settled()` reads
the provider's own status endpoint, as a gateway resolving an unknown outcome would.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp

from tests.fakes.support import Fakes, basic, json_of

CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=0.5)


class Driver(Protocol):
    payment_id: str

    async def pay(self, amount: int) -> int: ...

    async def settled(self) -> str | None: ...

    async def complete(self) -> None: ...


class PayPalDriver:
    def __init__(self, http: aiohttp.ClientSession, fakes: Fakes) -> None:
        self.http, self.env, self.base = http, fakes.env, fakes.paypal
        self.payment_id = ""
        self.headers: dict[str, str] = {}

    async def login(self) -> None:
        auth = basic(self.env["PAYEDGE_PAYPAL_CLIENT_ID"], self.env["PAYEDGE_PAYPAL_CLIENT_SECRET"])
        url = f"{self.base}/v1/oauth2/token"
        async with self.http.post(
            url, data={"grant_type": "client_credentials"}, headers={"Authorization": auth}
        ) as r:
            self.headers = {"Authorization": f"Bearer {(await r.json())['access_token']}"}

    async def pay(self, amount: int) -> int:
        await self.login()
        order = {
            "intent": "CAPTURE",
            "purchase_units": [{"amount": {"currency_code": "USD", "value": f"{amount}.00"}}],
        }
        async with self.http.post(f"{self.base}/v2/checkout/orders", json=order, headers=self.headers) as r:
            created = await r.json()
        self.payment_id = created["id"]
        async with self.http.get(f"{self.base}/checkoutnow?token={self.payment_id}"):
            pass
        url = f"{self.base}/v2/checkout/orders/{self.payment_id}/capture"
        headers = {**self.headers, "PayPal-Request-Id": f"capture-{self.payment_id}"}
        async with self.http.post(url, json={}, headers=headers, timeout=CLIENT_TIMEOUT) as r:
            return r.status

    async def settled(self) -> str | None:
        async with self.http.get(
            f"{self.base}/v2/checkout/orders/{self.payment_id}", headers=self.headers
        ) as r:
            return str((await r.json())["status"])

    async def complete(self) -> None:
        """Retry the capture with the same PayPal-Request-Id (the idempotent way)."""
        url = f"{self.base}/v2/checkout/orders/{self.payment_id}/capture"
        headers = {**self.headers, "PayPal-Request-Id": f"capture-{self.payment_id}"}
        async with self.http.post(url, json={}, headers=headers) as r:
            assert r.status in (200, 201), await r.text()


class CinetPayDriver:
    def __init__(self, http: aiohttp.ClientSession, fakes: Fakes) -> None:
        self.http, self.env, self.base = http, fakes.env, fakes.cinetpay
        self.payment_id = "tx-" + uuid.uuid4().hex[:12]

    def credentials(self) -> dict[str, str]:
        return {
            "apikey": self.env["PAYEDGE_CINETPAY_APIKEY"],
            "site_id": self.env["PAYEDGE_CINETPAY_SITE_ID"],
        }

    async def pay(self, amount: int) -> int:
        body = {
            **self.credentials(),
            "transaction_id": self.payment_id,
            "amount": amount,
            "currency": "XOF",
            "description": "Parking 42",
            "notify_url": "http://127.0.0.1:9/notify",
            "return_url": "http://127.0.0.1:9/return",
            "channels": "ALL",
        }
        async with self.http.post(f"{self.base}/v2/payment", json=body, timeout=CLIENT_TIMEOUT) as r:
            return r.status

    async def settled(self) -> str | None:
        body = {**self.credentials(), "transaction_id": self.payment_id}
        async with self.http.post(f"{self.base}/v2/payment/check", json=body) as r:
            answer: Any = await json_of(r)
        return str(answer["data"]["status"]) if r.status == 200 else None

    async def complete(self) -> None:
        async with self.http.post(f"{self.base}/_fake/payments/{self.payment_id}/pay") as r:
            assert r.status == 200


class MomoDriver:
    def __init__(self, http: aiohttp.ClientSession, fakes: Fakes) -> None:
        self.http, self.env, self.base = http, fakes.env, fakes.momo
        self.payment_id = str(uuid.uuid4())
        self.headers: dict[str, str] = {}

    async def login(self) -> None:
        key = self.env["PAYEDGE_MTN_MOMO_SUBSCRIPTION_KEY"]
        auth = basic(self.env["PAYEDGE_MTN_MOMO_API_USER"], self.env["PAYEDGE_MTN_MOMO_API_KEY"])
        url = f"{self.base}/collection/token/"
        async with self.http.post(
            url, headers={"Authorization": auth, "Ocp-Apim-Subscription-Key": key}
        ) as r:
            token = (await r.json())["access_token"]
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Ocp-Apim-Subscription-Key": key,
            "X-Target-Environment": "sandbox",
        }

    async def pay(self, amount: int) -> int:
        await self.login()
        body = {
            "amount": str(amount),
            "currency": "EUR",
            "externalId": "pay_1",
            "payer": {"partyIdType": "MSISDN", "partyId": "46733123454"},  # stays PENDING: we settle it
            "payerMessage": "parking",
            "payeeNote": "exit 3",
        }
        headers = {**self.headers, "X-Reference-Id": self.payment_id}
        async with self.http.post(
            f"{self.base}/collection/v1_0/requesttopay", json=body, headers=headers, timeout=CLIENT_TIMEOUT
        ) as r:
            return r.status

    async def settled(self) -> str | None:
        url = f"{self.base}/collection/v1_0/requesttopay/{self.payment_id}"
        async with self.http.get(url, headers=self.headers) as r:
            return str((await r.json())["status"]) if r.status == 200 else None

    async def complete(self) -> None:
        async with self.http.post(f"{self.base}/_fake/payments/{self.payment_id}/pay") as r:
            assert r.status == 200


class OrangeDriver:
    def __init__(self, http: aiohttp.ClientSession, fakes: Fakes) -> None:
        self.http, self.env, self.base = http, fakes.env, fakes.orange
        self.payment_id = "ord-" + uuid.uuid4().hex[:12]
        self.headers: dict[str, str] = {}
        self.amount = 0

    async def login(self) -> None:
        auth = basic(
            self.env["PAYEDGE_ORANGE_MONEY_CLIENT_ID"], self.env["PAYEDGE_ORANGE_MONEY_CLIENT_SECRET"]
        )
        url = f"{self.base}/oauth/v3/token"
        async with self.http.post(
            url, data={"grant_type": "client_credentials"}, headers={"Authorization": auth}
        ) as r:
            self.headers = {"Authorization": f"Bearer {(await r.json())['access_token']}"}

    def url(self, operation: str) -> str:
        return f"{self.base}/orange-money-webpay/{self.env['PAYEDGE_ORANGE_MONEY_COUNTRY']}/v1/{operation}"

    async def pay(self, amount: int) -> int:
        await self.login()
        self.amount = amount
        body = {
            "merchant_key": self.env["PAYEDGE_ORANGE_MONEY_MERCHANT_KEY"],
            "currency": "OUV",
            "order_id": self.payment_id,
            "amount": amount,
            "return_url": "http://127.0.0.1:9/return",
            "cancel_url": "http://127.0.0.1:9/cancel",
            "notif_url": "http://127.0.0.1:9/notif",
            "lang": "fr",
            "reference": "parking",
        }
        async with self.http.post(
            self.url("webpayment"), json=body, headers=self.headers, timeout=CLIENT_TIMEOUT
        ) as r:
            return r.status

    async def settled(self) -> str | None:
        async with self.http.get(f"{self.base}/_fake/payments/{self.payment_id}") as r:
            if r.status != 200:
                return None
            token = (await r.json())["pay_token"]
        body = {"order_id": self.payment_id, "amount": self.amount, "pay_token": token}
        async with self.http.post(self.url("transactionstatus"), json=body, headers=self.headers) as r:
            return str((await r.json())["status"])

    async def complete(self) -> None:
        async with self.http.post(f"{self.base}/_fake/payments/{self.payment_id}/pay") as r:
            assert r.status == 200


DRIVERS: dict[str, Callable[[aiohttp.ClientSession, Fakes], Driver]] = {
    "paypal": PayPalDriver,
    "cinetpay": CinetPayDriver,
    "momo": MomoDriver,
    "orange": OrangeDriver,
}
#: What `settled()` says once the money moved, and right after the pay call applied (not yet paid).
PAID = {"paypal": "COMPLETED", "cinetpay": "ACCEPTED", "momo": "SUCCESSFUL", "orange": "SUCCESS"}
APPLIED = {
    "paypal": "COMPLETED",
    "cinetpay": "WAITING_FOR_CUSTOMER",
    "momo": "PENDING",
    "orange": "INITIATED",
}
#: Where the pay call applied but no money moved yet, before the payer acts (async providers).
NOT_APPLIED = {"paypal": "APPROVED", "cinetpay": None, "momo": None, "orange": None}


def base_of(fakes: Fakes, provider: str) -> str:
    return {"paypal": fakes.paypal, "cinetpay": fakes.cinetpay, "momo": fakes.momo, "orange": fakes.orange}[
        provider
    ]
