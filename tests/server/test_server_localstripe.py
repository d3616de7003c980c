"""The stripe gateway against localstripe (a local Stripe-compatible server, started by the fixture).

localstripe sends real signed webhooks (`Stripe-Signature`) about 1 s after an
event, once; they reach the server's /v1/webhooks/stripe.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import stripe

from tests.server.support import Server, running_server, stripe_event, stripe_headers

STRIPE_KEY = "sk_test_payedge_localstripe"


@pytest.fixture(scope="module")
def stripe_server(
    store_backend: str, localstripe_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("payedge-stripe") / "data"
    with running_server(data, "--stripe-api-key", STRIPE_KEY, "--stripe-api-base", localstripe_url) as srv:
        yield srv


@pytest.fixture
async def sdk(localstripe_url: str, stripe_server: Server) -> stripe.StripeClient:
    """The stripe SDK on localstripe, with localstripe's webhooks pointed at our server."""
    client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": localstripe_url})
    from tests.server.support import STRIPE_SECRET

    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{localstripe_url}/_config/webhooks/payedge",
            data={"url": stripe_server.url + "/v1/webhooks/stripe", "secret": STRIPE_SECRET},
        ) as resp,
    ):
        assert resp.status == 200, await resp.text()
    return client


def card_method(client: stripe.StripeClient) -> str:
    pm = client.v1.payment_methods.create(
        {
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    return str(pm.id)


async def call(
    http: aiohttp.ClientSession, server: Server, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, Any]]:
    async with http.request(method, server.url + path, json=body, headers=server.headers()) as resp:
        return resp.status, await resp.json()


async def stripe_payment(
    http: aiohttp.ClientSession, server: Server, sdk: stripe.StripeClient, **fields: Any
) -> dict[str, Any]:
    """A payment through our API on the stripe gateway, with a card method made by the SDK."""
    pm = await asyncio.to_thread(card_method, sdk)
    body = {"gateway": "stripe", "payment_method": pm, **fields}
    status, payment = await call(http, server, "POST", "/v1/payments", body)
    assert status == 201, payment
    return payment


async def wait_for(
    http: aiohttp.ClientSession, server: Server, payment_id: str, predicate: Any, within: float = 10.0
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        _, payment = await call(http, server, "GET", f"/v1/payments/{payment_id}")
        if predicate(payment) or time.monotonic() > deadline:
            return payment
        await asyncio.sleep(0.1)


async def test_client_confirmed_payment_succeeds_through_localstripe_webhook(
    stripe_server: Server, sdk: stripe.StripeClient, http: aiohttp.ClientSession
) -> None:
    p = await stripe_payment(http, stripe_server, sdk, amount=2500, currency="eur")
    assert p["gateway_ref"].startswith("pi_") and p["status"] == "requires_confirmation"
    # The browser confirms with Stripe directly (Stripe.js); payedge learns it from the webhook.
    await asyncio.to_thread(sdk.v1.payment_intents.confirm, p["gateway_ref"])
    done = await wait_for(http, stripe_server, p["id"], lambda x: x["status"] == "succeeded")
    assert done["status"] == "succeeded"
    assert done["amount_captured"] == 2500
    assert done["history"][-1]["source"].startswith("webhook:stripe:evt_")


async def test_api_confirmed_payment_refunds_and_late_failure(
    stripe_server: Server, sdk: stripe.StripeClient, http: aiohttp.ClientSession
) -> None:
    p = await stripe_payment(http, stripe_server, sdk, amount=1000, currency="EUR", metadata={"k": "v"})
    status, done = await call(http, stripe_server, "POST", f"/v1/payments/{p['id']}/confirm")
    assert status == 200, done
    assert done["status"] == "succeeded"
    intent = await asyncio.to_thread(sdk.v1.payment_intents.retrieve, p["gateway_ref"])
    assert intent.status == "succeeded" and intent.metadata["payedge_payment_id"] == p["id"]

    # A late, correctly signed payment_failed for the same intent changes nothing.
    late = stripe_event("payment_intent.payment_failed", p["gateway_ref"], status="requires_payment_method")
    async with http.post(
        stripe_server.url + "/v1/webhooks/stripe", data=late, headers=stripe_headers(late)
    ) as r:
        assert r.status == 200 and await r.json() == {"received": True, "duplicate": False}
    async with http.post(
        stripe_server.url + "/v1/webhooks/stripe", data=late, headers=stripe_headers(late)
    ) as r:
        assert await r.json() == {"received": True, "duplicate": True}
    after = await wait_for(http, stripe_server, p["id"], lambda x: False, within=0)
    assert after["status"] == "succeeded" and after["version"] == done["version"]

    # Partial refunds through Stripe, never more than captured.
    refunds = f"/v1/payments/{p['id']}/refunds"
    status, r1 = await call(http, stripe_server, "POST", refunds, {"amount": 400})
    assert status == 200, r1
    assert r1["gateway_ref"].startswith("re_") and r1["payment"]["status"] == "partially_refunded"
    status, err = await call(http, stripe_server, "POST", refunds, {"amount": 601})
    assert status == 400 and err["error"]["code"] == "refund_exceeds_captured"
    status, r2 = await call(http, stripe_server, "POST", refunds, {"amount": 600})
    assert status == 200 and r2["payment"]["status"] == "refunded"
    stripe_refunds = await asyncio.to_thread(sdk.v1.refunds.list, {"payment_intent": p["gateway_ref"]})
    assert sorted(r.amount for r in stripe_refunds.data) == [400, 600]


def charge_refunded(intent_id: str, charge_id: str, amount: int, refunded: int, refund_id: str) -> bytes:
    """A `charge.refunded` event as Stripe sends it (localstripe does not send this type)."""
    charge = {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": refunded,
        "currency": "eur",
        "payment_intent": intent_id,
        "refunded": refunded >= amount,
        "refunds": {"object": "list", "data": [{"id": refund_id, "object": "refund"}]},
        "status": "succeeded",
    }
    event = {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": "charge.refunded",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": charge},
    }
    return orjson.dumps(event)


async def test_refunds_made_at_stripe_reach_the_payment_once(
    stripe_server: Server, sdk: stripe.StripeClient, http: aiohttp.ClientSession
) -> None:
    """A refund made outside payedge (the Stripe dashboard) shows on the payment; the
    `charge.refunded` of a refund payedge made itself, or a redelivery, is not counted twice."""
    p = await stripe_payment(http, stripe_server, sdk, amount=1000, currency="EUR")
    status, done = await call(http, stripe_server, "POST", f"/v1/payments/{p['id']}/confirm")
    assert status == 200 and done["status"] == "succeeded", done
    intent_id = p["gateway_ref"]
    intent = await asyncio.to_thread(sdk.v1.payment_intents.retrieve, intent_id)
    charge_id = str(
        intent.latest_charge
        if isinstance(intent.latest_charge, str)
        else getattr(intent.latest_charge, "id", None)
    )

    async def deliver(body: bytes) -> dict[str, Any]:
        async with http.post(
            stripe_server.url + "/v1/webhooks/stripe", data=body, headers=stripe_headers(body)
        ) as resp:
            assert resp.status == 200, await resp.text()
            answer: dict[str, Any] = await resp.json()
            return answer

    # 1. 300 refunded in the dashboard (at Stripe, not through payedge).
    outside = await asyncio.to_thread(sdk.v1.refunds.create, {"payment_intent": intent_id, "amount": 300})
    event = charge_refunded(intent_id, charge_id, 1000, 300, outside.id)
    assert await deliver(event) == {"received": True, "duplicate": False}
    _, after = await call(http, stripe_server, "GET", f"/v1/payments/{p['id']}")
    assert (after["status"], after["amount_refunded"]) == ("partially_refunded", 300)
    assert await deliver(event) == {"received": True, "duplicate": True}

    # 2. 400 through payedge; Stripe then reports 700 in all: nothing more to add.
    status, mine = await call(http, stripe_server, "POST", f"/v1/payments/{p['id']}/refunds", {"amount": 400})
    assert status == 200, mine
    await deliver(charge_refunded(intent_id, charge_id, 1000, 700, mine["gateway_ref"]))
    _, after = await call(http, stripe_server, "GET", f"/v1/payments/{p['id']}")
    assert (after["status"], after["amount_refunded"]) == ("partially_refunded", 700)

    # 3. Only 300 are left: payedge refuses more, the dashboard refunds the rest.
    status, err = await call(http, stripe_server, "POST", f"/v1/payments/{p['id']}/refunds", {"amount": 301})
    assert status == 400 and err["error"]["code"] == "refund_exceeds_captured"
    rest = await asyncio.to_thread(sdk.v1.refunds.create, {"payment_intent": intent_id, "amount": 300})
    await deliver(charge_refunded(intent_id, charge_id, 1000, 1000, rest.id))
    _, after = await call(http, stripe_server, "GET", f"/v1/payments/{p['id']}")
    assert (after["status"], after["amount_refunded"]) == ("refunded", 1000)


async def test_cancel_through_stripe(
    stripe_server: Server, sdk: stripe.StripeClient, http: aiohttp.ClientSession
) -> None:
    p = await stripe_payment(http, stripe_server, sdk, amount=300, currency="usd")
    status, canceled = await call(http, stripe_server, "POST", f"/v1/payments/{p['id']}/cancel")
    assert status == 200 and canceled["status"] == "canceled"
    intent = await asyncio.to_thread(sdk.v1.payment_intents.retrieve, p["gateway_ref"])
    assert intent.status == "canceled"


async def test_stripe_unreachable_is_503(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    from tests.support.services import closed_port

    dead = f"http://127.0.0.1:{closed_port()}"
    with running_server(tmp_path / "data", "--stripe-api-key", STRIPE_KEY, "--stripe-api-base", dead) as srv:
        status, err = await call(
            http,
            srv,
            "POST",
            "/v1/payments",
            {"amount": 300, "currency": "usd", "gateway": "stripe", "payment_method": "pm_x"},
        )
        assert status == 503 and err["error"]["code"] == "gateway_unavailable"
        async with http.get(srv.url + "/health/ready") as resp:
            assert resp.status == 503
            assert (await resp.json())["checks"]["gateway:stripe"] is False


async def test_amounts_cross_to_stripe_in_stripes_units_both_ways(
    stripe_server: Server, sdk: stripe.StripeClient, http: aiohttp.ClientSession
) -> None:
    """ISK has 0 decimals in ISO 4217 and 2 at Stripe: 5,000 kr is sent as 500000, refunds too."""
    p = await stripe_payment(http, stripe_server, sdk, amount=5000, currency="ISK")
    intent = await asyncio.to_thread(sdk.v1.payment_intents.retrieve, p["gateway_ref"])
    assert (intent.amount, intent.currency) == (500_000, "isk")
    status, done = await call(http, stripe_server, "POST", f"/v1/payments/{p['id']}/confirm")
    assert status == 200 and done["amount_captured"] == 5000, done
    status, refund = await call(
        http, stripe_server, "POST", f"/v1/payments/{p['id']}/refunds", {"amount": 1000}
    )
    assert status == 200, refund
    stripe_refunds = await asyncio.to_thread(sdk.v1.refunds.list, {"payment_intent": p["gateway_ref"]})
    assert [r.amount for r in stripe_refunds.data] == [100_000]


@pytest.mark.parametrize(("currency", "amount"), [("MGA", 150), ("KWD", 1005), ("BHD", 1)])
async def test_an_amount_stripe_cannot_carry_exactly_is_refused(
    stripe_server: Server, http: aiohttp.ClientSession, currency: str, amount: int
) -> None:
    body = {"gateway": "stripe", "amount": amount, "currency": currency}
    status, err = await call(http, stripe_server, "POST", "/v1/payments", body)
    assert status == 400, err
    assert (err["error"]["code"], err["error"]["param"]) == ("amount_not_representable", "amount")
    assert "stripe" in err["error"]["message"]


async def test_a_gateway_refusing_a_cancel_is_a_400_with_its_code(
    stripe_server: Server, sdk: stripe.StripeClient, http: aiohttp.ClientSession
) -> None:
    """As confirm and refund do: the provider's refusal is the client's 400, not a 503."""
    p = await stripe_payment(http, stripe_server, sdk, amount=700, currency="EUR")
    # Confirmed at Stripe directly (no webhook reaches this server for it): Stripe refuses to cancel.
    await asyncio.to_thread(sdk.v1.payment_intents.confirm, p["gateway_ref"])
    status, err = await call(http, stripe_server, "POST", f"/v1/payments/{p['id']}/cancel")
    assert status == 400, err
    assert err["error"]["code"] == "gateway_rejected" and err["error"]["gateway_code"]
    status, again = await call(http, stripe_server, "GET", f"/v1/payments/{p['id']}")
    assert again["status"] == "requires_confirmation"  # the lock is released, nothing changed
