"""Payments API against the real server process: sandbox flows, refunds, validation, auth, pagination."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.server.support import API_KEY, Server


async def post(
    http: aiohttp.ClientSession, server: Server, path: str, body: Any = None, **headers: str
) -> tuple[int, dict[str, Any]]:
    async with http.post(server.url + path, json=body, headers=server.headers(**headers)) as resp:
        return resp.status, await resp.json()


async def get(http: aiohttp.ClientSession, server: Server, path: str) -> tuple[int, dict[str, Any]]:
    async with http.get(server.url + path, headers=server.headers()) as resp:
        return resp.status, await resp.json()


async def create(http: aiohttp.ClientSession, server: Server, **fields: Any) -> dict[str, Any]:
    status, body = await post(http, server, "/v1/payments", {"amount": 1000, "currency": "EUR", **fields})
    assert status == 201, body
    return body


async def test_create_confirm_succeeds(server: Server, http: aiohttp.ClientSession) -> None:
    p = await create(http, server, payment_method="pm_sandbox_ok", order_ref="order-1", metadata={"a": "b"})
    assert p["status"] == "requires_confirmation" and p["version"] == 1
    assert p["metadata"] == {"a": "b"} and p["order_ref"] == "order-1"
    status, done = await post(http, server, f"/v1/payments/{p['id']}/confirm")
    assert status == 200
    assert done["status"] == "succeeded" and done["amount_captured"] == 1000 and done["version"] == 2
    status, again = await post(http, server, f"/v1/payments/{p['id']}/confirm")
    assert status == 400 and again["error"]["code"] == "payment_unexpected_state"
    status, shown = await get(http, server, f"/v1/payments/{p['id']}")
    assert [h["status"] for h in shown["history"]] == ["requires_confirmation", "succeeded"]


async def test_payment_method_given_at_confirm(server: Server, http: aiohttp.ClientSession) -> None:
    p = await create(http, server)
    assert p["status"] == "requires_payment_method"
    status, body = await post(http, server, f"/v1/payments/{p['id']}/confirm")
    assert status == 400 and body["error"]["param"] == "payment_method"
    status, done = await post(
        http, server, f"/v1/payments/{p['id']}/confirm", {"payment_method": "pm_sandbox_ok"}
    )
    assert status == 200 and done["status"] == "succeeded" and done["version"] == 3


async def test_decline_fails_with_card_declined(server: Server, http: aiohttp.ClientSession) -> None:
    p = await create(http, server, payment_method="pm_sandbox_decline")
    status, body = await post(http, server, f"/v1/payments/{p['id']}/confirm")
    assert status == 402
    assert body["error"]["code"] == "card_declined"
    assert body["payment"]["status"] == "failed"
    assert body["payment"]["last_error"]["code"] == "card_declined"


async def test_unavailable_gateway_is_retryable(server: Server, http: aiohttp.ClientSession) -> None:
    p = await create(http, server, payment_method="pm_sandbox_unavailable")
    status, body = await post(http, server, f"/v1/payments/{p['id']}/confirm")
    assert status == 503 and body["error"]["code"] == "gateway_unavailable"
    _, shown = await get(http, server, f"/v1/payments/{p['id']}")
    assert shown["status"] == "requires_confirmation"
    # Still retryable: confirm again with a working method.
    status, done = await post(
        http, server, f"/v1/payments/{p['id']}/confirm", {"payment_method": "pm_sandbox_ok"}
    )
    assert status == 200 and done["status"] == "succeeded"


async def test_async_payment_succeeds_through_signed_webhook(
    server: Server, http: aiohttp.ClientSession
) -> None:
    p = await create(http, server, payment_method="pm_sandbox_async")
    status, body = await post(http, server, f"/v1/payments/{p['id']}/confirm")
    assert status == 200 and body["status"] == "processing"
    for _ in range(100):
        _, shown = await get(http, server, f"/v1/payments/{p['id']}")
        if shown["status"] == "succeeded":
            break
        await asyncio.sleep(0.05)
    assert shown["status"] == "succeeded"
    assert shown["history"][-1]["source"].startswith("webhook:sandbox:evt_sb_")


async def test_cancel(server: Server, http: aiohttp.ClientSession) -> None:
    p = await create(http, server, payment_method="pm_sandbox_ok")
    status, body = await post(http, server, f"/v1/payments/{p['id']}/cancel")
    assert status == 200 and body["status"] == "canceled"
    status, body = await post(http, server, f"/v1/payments/{p['id']}/confirm")
    assert status == 400 and body["error"]["code"] == "payment_unexpected_state"


async def test_partial_refunds_never_exceed_captured(server: Server, http: aiohttp.ClientSession) -> None:
    p = await create(http, server, payment_method="pm_sandbox_ok", amount=1000)
    refund_path = f"/v1/payments/{p['id']}/refunds"
    status, body = await post(http, server, refund_path, {"amount": 100})
    assert status == 400 and body["error"]["code"] == "payment_unexpected_state"
    await post(http, server, f"/v1/payments/{p['id']}/confirm")
    status, r1 = await post(http, server, refund_path, {"amount": 300})
    assert status == 200 and r1["payment"]["status"] == "partially_refunded"
    status, body = await post(http, server, refund_path, {"amount": 701})
    assert status == 400 and body["error"]["code"] == "refund_exceeds_captured"
    assert body["error"]["message"] == (
        "refund of 7.01 EUR exceeds what is left to refund (7.00 EUR of 10.00 EUR captured)"
    )
    # Concurrent refunds racing for the remaining 700: never more than captured.
    results = await asyncio.gather(*(post(http, server, refund_path, {"amount": 400}) for _ in range(3)))
    assert sorted(s for s, _ in results) == [200, 400, 400]
    status, r3 = await post(http, server, refund_path, {"amount": 300})
    assert status == 200 and r3["payment"]["status"] == "refunded"
    assert r3["payment"]["amount_refunded"] == 1000
    status, body = await post(http, server, refund_path, {})
    assert status == 400


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"currency": "EUR"}, "parameter_missing", "amount"),
        ({"amount": -5, "currency": "EUR"}, "amount_invalid", "amount"),
        ({"amount": 0, "currency": "EUR"}, "amount_invalid", "amount"),
        ({"amount": 10.5, "currency": "EUR"}, "amount_invalid", "amount"),
        ({"amount": True, "currency": "EUR"}, "amount_invalid", "amount"),
        ({"amount": "100", "currency": "EUR"}, "amount_invalid", "amount"),
        ({"amount": 10**15, "currency": "EUR"}, "amount_invalid", "amount"),
        ({"amount": 100}, "parameter_missing", "currency"),
        ({"amount": 100, "currency": "XYZ"}, "currency_invalid", "currency"),
        ({"amount": 100, "currency": 978}, "currency_invalid", "currency"),
        ({"amount": 100, "currency": "EUR", "gateway": "paypal"}, "gateway_invalid", "gateway"),
        ({"amount": 100, "currency": "EUR", "gateway": 3}, "gateway_invalid", "gateway"),
        ({"amount": 100, "currency": "EUR", "metadata": {"k": 1}}, "parameter_invalid", "metadata[k]"),
        ({"amount": 100, "currency": "EUR", "metadata": ["x"]}, "parameter_invalid", "metadata"),
        (
            {"amount": 100, "currency": "EUR", "metadata": {"k": "x" * 501}},
            "parameter_invalid",
            "metadata[k]",
        ),
        ({"amount": 100, "currency": "EUR", "user_id": 42}, "parameter_invalid", "user_id"),
        (
            {"amount": 100, "currency": "EUR", "payment_method": "pm_nope"},
            "payment_method_invalid",
            "payment_method",
        ),
        (
            {"amount": 100, "currency": "EUR", "payment_method": "4242 4242 4242 4242"},
            "card_data_refused",
            "payment_method",
        ),
        ({"amount": 100, "currency": "EUR", "card": "x"}, "parameter_unknown", "card"),
    ],
)
async def test_validation_errors(
    server: Server, http: aiohttp.ClientSession, body: dict[str, Any], code: str, param: str
) -> None:
    status, answer = await post(http, server, "/v1/payments", body)
    assert status == 400, answer
    assert answer["error"]["code"] == code
    assert answer["error"]["param"] == param
    assert answer["error"]["message"]


async def test_malformed_bodies_ids_and_routes(server: Server, http: aiohttp.ClientSession) -> None:
    async with http.post(server.url + "/v1/payments", data=b"{nope", headers=server.headers()) as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_json"
    async with http.post(server.url + "/v1/payments", data=b"[1]", headers=server.headers()) as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_json"
    status, body = await get(http, server, "/v1/payments/not-an-id")
    assert status == 400 and body["error"]["code"] == "invalid_id"
    status, body = await get(http, server, "/v1/payments/pay_" + "0" * 24)
    assert status == 404 and body["error"]["code"] == "payment_not_found"
    status, body = await get(http, server, "/v1/nothing-here")
    assert status == 404 and body["error"]["code"] == "not_found"
    big = b'{"amount": 1, "currency": "EUR", "metadata": {"k": "' + b"x" * (1024 * 1024) + b'"}}'
    async with http.post(server.url + "/v1/payments", data=big, headers=server.headers()) as resp:
        assert resp.status == 413 and (await resp.json())["error"]["code"] == "body_too_large"
    async with http.delete(server.url + "/v1/payments", headers=server.headers()) as resp:
        assert resp.status == 405 and (await resp.json())["error"]["code"] == "method_not_allowed"


async def test_auth(server: Server, http: aiohttp.ClientSession) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": API_KEY}):
        async with http.get(server.url + "/v1/payments", headers=headers) as resp:
            assert resp.status == 401
            assert (await resp.json())["error"]["code"] == "unauthorized"
    for path in ("/health", "/health/ready", "/metrics", "/openapi.json"):
        async with http.get(server.url + path) as resp:
            assert resp.status == 200, path
    # Webhooks authenticate by signature, not API key: no key -> 400 (bad signature), never 401.
    async with http.post(server.url + "/v1/webhooks/stripe", data=b"{}") as resp:
        assert resp.status == 400


async def test_pagination_and_filters(server: Server, http: aiohttp.ClientSession) -> None:
    user = "user-pagination"
    ids = [(await create(http, server, user_id=user, amount=100 + i))["id"] for i in range(7)]
    seen: list[str] = []
    after = None
    for _ in range(5):
        query = f"/v1/payments?user_id={user}&limit=3" + (f"&starting_after={after}" if after else "")
        status, page = await get(http, server, query)
        assert status == 200
        seen += [p["id"] for p in page["data"]]
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]
    assert seen == list(reversed(ids))
    status, page = await get(http, server, f"/v1/payments?user_id={user}&ending_before={ids[2]}&limit=2")
    assert [p["id"] for p in page["data"]] == [ids[4], ids[3]] and page["has_more"]
    status, page = await get(http, server, f"/v1/payments?user_id={user}&status=succeeded")
    assert page["data"] == []
    status, page = await get(http, server, f"/v1/payments?user_id={user}&created[gte]=0&limit=100")
    assert len(page["data"]) == 7
    for bad in ("limit=0", "limit=101", "limit=x", "status=nope", "starting_after=zzz", "color=red"):
        status, body = await get(http, server, f"/v1/payments?{bad}")
        assert status == 400, bad
        assert body["error"]["param"]


async def test_long_poll_sees_the_confirmation(server: Server, http: aiohttp.ClientSession) -> None:
    p = await create(http, server, payment_method="pm_sandbox_async")
    url = f"/v1/payments/{p['id']}/status?wait=10&since=1"
    poll = asyncio.create_task(get(http, server, url))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await post(http, server, f"/v1/payments/{p['id']}/confirm")
    status, seen = await asyncio.wait_for(poll, 5)
    assert status == 200 and seen["status"] == "processing" and seen["version"] == 2
    # The sandbox's webhook then moves it on: the next poll sees `succeeded`.
    status, seen = await get(http, server, f"/v1/payments/{p['id']}/status?wait=10&since=2")
    assert seen["status"] == "succeeded" and seen["version"] == 3
