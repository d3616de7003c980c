"""Webhook ingest against the real server: signatures, dedupe, state machine, sandbox events."""

from __future__ import annotations

import re
import time
from typing import Any

import aiohttp
import orjson
import payedge

from tests.server.support import STRIPE_SECRET, Server, stripe_event, stripe_headers


async def deliver(
    http: aiohttp.ClientSession, server: Server, body: bytes, headers: dict[str, str]
) -> tuple[int, Any]:
    async with http.post(server.url + "/v1/webhooks/stripe", data=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_first_delivery_then_duplicates(server: Server, http: aiohttp.ClientSession) -> None:
    body = stripe_event("payment_intent.succeeded", "pi_unknown_object_1")
    assert await deliver(http, server, body, stripe_headers(body)) == (
        200,
        {"received": True, "duplicate": False},
    )
    for _ in range(3):
        # Redelivery: same event, fresh signature (as Stripe does).
        status, answer = await deliver(http, server, body, stripe_headers(body))
        assert (status, answer) == (200, {"received": True, "duplicate": True})


async def test_bad_signatures_are_400(server: Server, http: aiohttp.ClientSession) -> None:
    body = stripe_event("payment_intent.succeeded", "pi_x")
    forged = stripe_headers(body, secret="whsec_not_ours")
    status, answer = await deliver(http, server, body, forged)
    assert status == 400 and answer["error"]["code"] == "invalid_signature"
    tampered = stripe_headers(body)
    status, answer = await deliver(http, server, body.replace(b"pi_x", b"pi_y"), tampered)
    assert status == 400 and answer["error"]["code"] == "invalid_signature"
    old = {"Stripe-Signature": payedge.sign_stripe(body, STRIPE_SECRET, int(time.time()) - 3600)}
    status, answer = await deliver(http, server, body, old)
    assert status == 400 and answer["error"]["code"] == "invalid_signature"
    status, answer = await deliver(http, server, body, {})
    assert status == 400 and answer["error"]["code"] == "invalid_signature"
    # A forged event is not recorded: the genuine one is still a first delivery.
    assert await deliver(http, server, body, stripe_headers(body)) == (
        200,
        {"received": True, "duplicate": False},
    )


async def test_unknown_provider_and_types(server: Server, http: aiohttp.ClientSession) -> None:
    async with http.post(server.url + "/v1/webhooks/adyen", data=b"{}") as resp:
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "unknown_provider"
    for provider in ("paypal", "cinetpay", "mtn_momo", "orange_money"):  # known, not configured here
        async with http.post(server.url + f"/v1/webhooks/{provider}", data=b"{}") as resp:
            assert resp.status == 400 and (await resp.json())["error"]["code"] == "webhook_not_configured"
    body = stripe_event("customer.created", "cus_1")
    assert await deliver(http, server, body, stripe_headers(body)) == (
        200,
        {"received": True, "duplicate": False},
    )
    assert await deliver(http, server, body, stripe_headers(body)) == (
        200,
        {"received": True, "duplicate": True},
    )


async def test_sandbox_webhook_signature_checked(server: Server, http: aiohttp.ClientSession) -> None:
    body = orjson.dumps({"id": "evt_x", "type": "payment.succeeded", "data": {"payment_id": "pay_x"}})
    headers = {
        "webhook-id": "evt_x",
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": payedge.sign_standard("evt_x", int(time.time()), body, "whsec_" + "A" * 32),
    }
    async with http.post(server.url + "/v1/webhooks/sandbox", data=body, headers=headers) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "invalid_signature"


async def test_metrics_count_webhook_outcomes(server: Server, http: aiohttp.ClientSession) -> None:
    async with http.get(server.url + "/metrics") as resp:
        text = await resp.text()
    text = re.sub(r'payedge_instance="[^"]*",?', "", text)  # every sample carries its instance
    assert 'payedge_webhooks_total{outcome="duplicate",provider="stripe"}' in text
    assert "payedge_store_commit_batch_size_count" in text
    assert "payedge_http_request_seconds_bucket" in text
    assert 'payedge_payments{status="' in text
