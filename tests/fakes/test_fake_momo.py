"""The MTN MoMo fake as an integrator meets it: token, requesttopay, 409 on reuse, test numbers, callbacks."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiohttp
import pytest

from tests.fakes.support import Fakes, Receiver, basic, json_of


class MomoClient:
    def __init__(self, http: aiohttp.ClientSession, fakes: Fakes) -> None:
        self.http, self.env, self.base = http, fakes.env, fakes.momo
        self.key = self.env["PAYEDGE_MTN_MOMO_SUBSCRIPTION_KEY"]
        self.token = ""

    async def login(self, user: str | None = None, api_key: str | None = None) -> tuple[int, Any]:
        auth = basic(
            user or self.env["PAYEDGE_MTN_MOMO_API_USER"], api_key or self.env["PAYEDGE_MTN_MOMO_API_KEY"]
        )
        headers = {"Authorization": auth, "Ocp-Apim-Subscription-Key": self.key}
        async with self.http.post(f"{self.base}/collection/token/", headers=headers) as r:
            body = await json_of(r)
        if r.status == 200:
            self.token = body["access_token"]
        return r.status, body

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "Ocp-Apim-Subscription-Key": self.key,
            "X-Target-Environment": "sandbox",
            **extra,
        }

    async def request_to_pay(
        self,
        msisdn: str = "46733000001",
        reference: str | None = None,
        callback: str | None = None,
        **body: Any,
    ) -> tuple[int, bytes, str]:
        reference = str(uuid.uuid4()) if reference is None else reference
        payload = {
            "amount": "15",
            "currency": "EUR",
            "externalId": "pay_123",
            "payer": {"partyIdType": "MSISDN", "partyId": msisdn},
            "payerMessage": "Parking",
            "payeeNote": "Exit 3",
            **body,
        }
        headers = self.headers(**{"X-Reference-Id": reference})
        if callback is not None:
            headers["X-Callback-Url"] = callback
        async with self.http.post(
            f"{self.base}/collection/v1_0/requesttopay", json=payload, headers=headers
        ) as r:
            return r.status, await r.read(), reference

    async def status(self, reference: str) -> tuple[int, Any]:
        url = f"{self.base}/collection/v1_0/requesttopay/{reference}"
        async with self.http.get(url, headers=self.headers()) as r:
            return r.status, await json_of(r)


@pytest.fixture
async def momo(http: aiohttp.ClientSession, fakes: Fakes) -> MomoClient:
    client = MomoClient(http, fakes)
    status, body = await client.login()
    assert status == 200 and body["token_type"] == "access_token" and body["expires_in"] == 3600
    return client


async def test_request_to_pay_then_status(momo: MomoClient) -> None:
    status, body, reference = await momo.request_to_pay()
    assert (status, body) == (202, b"")
    status, answer = await momo.status(reference)
    assert status == 200 and answer["status"] == "SUCCESSFUL" and answer["financialTransactionId"]
    assert (answer["amount"], answer["currency"], answer["externalId"]) == ("15", "EUR", "pay_123")
    assert answer["payer"] == {"partyIdType": "MSISDN", "partyId": "46733000001"}


async def test_reference_ids_are_uuid4_and_single_use(momo: MomoClient) -> None:
    status, _, reference = await momo.request_to_pay()
    assert status == 202
    status, body, _ = await momo.request_to_pay(reference=reference)
    assert (status, json.loads(body)["code"]) == (409, "RESOURCE_ALREADY_EXIST")
    for bad in (str(uuid.uuid1()), "not-a-uuid", ""):
        status, body, _ = await momo.request_to_pay(reference=bad)
        assert status == 400, bad
    status, body = await momo.status(str(uuid.uuid4()))
    assert (status, body["code"]) == (404, "RESOURCE_NOT_FOUND")


@pytest.mark.parametrize(
    ("msisdn", "status", "reason"),
    [
        ("46733123450", "FAILED", "INTERNAL_PROCESSING_ERROR"),
        ("46733123451", "REJECTED", "APPROVAL_REJECTED"),
        ("46733123452", "TIMEOUT", "EXPIRED"),
    ],
)
async def test_sandbox_test_numbers_that_fail(
    momo: MomoClient, msisdn: str, status: str, reason: str
) -> None:
    _, _, reference = await momo.request_to_pay(msisdn)
    _, answer = await momo.status(reference)
    assert (answer["status"], answer["reason"]) == (status, reason)
    assert "financialTransactionId" not in answer


async def test_ongoing_number_turns_successful_and_delayed_waits(
    momo: MomoClient, http: aiohttp.ClientSession
) -> None:
    _, _, ongoing = await momo.request_to_pay("46733123453")
    _, _, delayed = await momo.request_to_pay("46733123454")
    assert (await momo.status(ongoing))[1]["status"] == "PENDING"
    for _ in range(40):  # the fakes run with --momo-ongoing-seconds 1
        if (await momo.status(ongoing))[1]["status"] != "PENDING":
            break
        await asyncio.sleep(0.1)
    assert (await momo.status(ongoing))[1]["status"] == "SUCCESSFUL"
    assert (await momo.status(delayed))[1]["status"] == "PENDING"
    async with http.post(f"{momo.base}/_fake/payments/{delayed}/decline") as r:
        assert (await r.json())["status"] == "FAILED"
    assert (await momo.status(delayed))[1]["reason"] == "APPROVAL_REJECTED"


# body fields -> (HTTP status, code or None for 400's)
BAD_BODIES: list[tuple[dict[str, Any], int, str]] = [
    ({"amount": 15}, 400, "BAD_REQUEST"),
    ({"amount": "15.001"}, 400, "BAD_REQUEST"),
    ({"amount": "-5"}, 400, "BAD_REQUEST"),
    ({"amount": "1e3"}, 400, "BAD_REQUEST"),
    ({"amount": "0"}, 400, "BAD_REQUEST"),
    ({"payerMessage": "x" * 161}, 400, "BAD_REQUEST"),
    ({"payer": {"partyIdType": "PHONE", "partyId": "1"}}, 400, "BAD_REQUEST"),
    ({"currency": "XOF"}, 500, "INVALID_CURRENCY"),
]


async def test_amounts_are_strings_in_the_environments_currency(momo: MomoClient) -> None:
    assert (await momo.request_to_pay(amount="15.50"))[0] == 202
    for fields, status, code in BAD_BODIES:
        got, body, _ = await momo.request_to_pay(**fields)
        assert (got, json.loads(body)["code"]) == (status, code), fields


async def test_gateway_auth(momo: MomoClient, http: aiohttp.ClientSession) -> None:
    status, body = await momo.login(api_key="wrong")
    assert (status, body) == (401, {"error": "login_failed"})
    url = f"{momo.base}/collection/v1_0/requesttopay/{uuid.uuid4()}"
    async with http.get(url, headers={**momo.headers(), "Ocp-Apim-Subscription-Key": ""}) as r:
        assert r.status == 401 and "missing subscription key" in (await r.json())["message"]
    async with http.get(url, headers={**momo.headers(), "Ocp-Apim-Subscription-Key": "nope"}) as r:
        assert r.status == 401 and "invalid subscription key" in (await r.json())["message"]
    async with http.get(url, headers={**momo.headers(), "Authorization": "Bearer nope"}) as r:
        assert r.status == 401
    async with http.get(url, headers={**momo.headers(), "X-Target-Environment": "mtnmars"}) as r:
        assert (r.status, (await r.json())["code"]) == (500, "NOT_ALLOWED_TARGET_ENVIRONMENT")


async def test_sandbox_provisioning_and_callback_host(momo: MomoClient, http: aiohttp.ClientSession) -> None:
    user = str(uuid.uuid4())
    headers = {"Ocp-Apim-Subscription-Key": momo.key, "X-Reference-Id": user}
    async with http.post(
        f"{momo.base}/v1_0/apiuser", json={"providerCallbackHost": "localhost"}, headers=headers
    ) as r:
        assert r.status == 201
    async with http.post(
        f"{momo.base}/v1_0/apiuser", json={"providerCallbackHost": "localhost"}, headers=headers
    ) as r:
        assert r.status == 409
    async with http.post(f"{momo.base}/v1_0/apiuser/{user}/apikey", headers=headers) as r:
        api_key = (await r.json())["apiKey"]
    async with http.get(f"{momo.base}/v1_0/apiuser/{user}", headers=headers) as r:
        assert await r.json() == {"providerCallbackHost": "localhost", "targetEnvironment": "sandbox"}
    assert (await momo.login(user, api_key))[0] == 200
    status, body, _ = await momo.request_to_pay(callback="http://127.0.0.1:9/cb")
    assert (status, json.loads(body)["code"]) == (500, "INVALID_CALLBACK_URL_HOST")
    assert (await momo.request_to_pay(callback="http://localhost:9/cb"))[0] == 202


async def test_callback_is_a_hint_then_status_read(
    momo: MomoClient, http: aiohttp.ClientSession, fakes: Fakes, listener: Receiver
) -> None:
    _, _, reference = await momo.request_to_pay("46733123454", callback=listener.url + "/momo")
    assert listener.received == []  # nothing until the payer answers
    async with http.post(f"{momo.base}/_fake/payments/{reference}/pay"):
        pass
    (callback,) = await listener.wait_for(1)
    assert callback.method == "PUT" and callback.path == "/momo"
    assert not any(h.lower().startswith("x-signature") for h in callback.headers)  # MTN signs nothing
    hinted = json.loads(callback.body)
    assert (hinted["referenceId"], hinted["status"]) == (reference, "SUCCESSFUL")
    _, answer = await momo.status(hinted["referenceId"])
    assert (
        answer["status"] == "SUCCESSFUL"
        and answer["financialTransactionId"] == hinted["financialTransactionId"]
    )
    async with http.post(f"{momo.base}/_fake/payments/{reference}/callback") as r:
        assert r.status == 200
    again = (await listener.wait_for(2))[1]
    assert again.body == callback.body  # a duplicate callback, same news
    async with http.get(f"{fakes.momo}/_fake/stats") as r:
        assert (await r.json())["payments"][reference]["captures"] == 1
