"""SPEC 8: a Stripe Checkout Session's events move the order's payment, and the order with it.

A real `payedge serve` with the stripe gateway at localstripe: an order with
`gateway: stripe` registers its PaymentIntent; signed `checkout.session.*` events that
name it (by `payment_intent`, or by `client_reference_id` = the payedge payment id)
make the payment succeed or fail as the session says, and the order follows.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import orjson
import payedge
import pytest

from tests.server.orders.conftest import CATALOG, call, order_body
from tests.server.support import API_KEY, STRIPE_SECRET, Server, running_server

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def stripe_shop(
    store_backend: str, localstripe_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("sessions")
    (work / "payedge.toml").write_text(CATALOG)
    args = ("--config", str(work / "payedge.toml"), "--stripe-api-key", "sk_test_sessions")
    with running_server(work / "data", *args, "--stripe-api-base", localstripe_url) as srv:
        yield srv


@pytest.fixture
async def api(stripe_shop: Server) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(stripe_shop.url, headers={"Authorization": f"Bearer {API_KEY}"}) as s:
        yield s


async def _deliver(
    api: aiohttp.ClientSession, event_type: str, session: dict[str, Any], created: int
) -> None:
    event = {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": event_type, "created": created,
             "livemode": False, "data": {"object": session}}  # fmt: skip
    body = orjson.dumps(event)
    headers = {"Stripe-Signature": payedge.sign_stripe(body, STRIPE_SECRET, int(time.time()))}
    async with api.post("/v1/webhooks/stripe", data=body, headers=headers) as resp:
        assert resp.status == 200, await resp.text()


def _session(order: dict[str, Any], payment: dict[str, Any], paid: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"cs_test_{uuid.uuid4().hex[:10]}",
        "object": "checkout.session",
        "status": "complete",
        "payment_status": paid,
        "payment_intent": payment["gateway_ref"],
        "client_reference_id": payment["id"],
        "amount_total": order["amount"],
        "currency": "eur",
        "metadata": {},
        **extra,
    }


async def _stripe_order(api: aiohttp.ClientSession) -> tuple[dict[str, Any], dict[str, Any]]:
    status, order = await call(api, "POST", "/v1/orders", order_body(gateway="stripe"))
    assert status == 201, order
    _, payment = await call(api, "GET", f"/v1/payments/{order['payment_id']}")
    assert payment["gateway"] == "stripe" and payment["gateway_ref"].startswith("pi_")
    return order, payment


async def _states(api: aiohttp.ClientSession, order_id: str) -> tuple[str, str]:
    _, view = await call(api, "GET", f"/v1/orders/{order_id}")
    return view["status"], view["payment_status"]


async def test_a_completed_paid_session_pays_the_order(api: aiohttp.ClientSession) -> None:
    order, payment = await _stripe_order(api)
    await _deliver(api, "checkout.session.completed", _session(order, payment, "paid"), int(time.time()))
    assert await _states(api, order["id"]) == ("paid", "succeeded")


async def test_a_delayed_payment_is_processing_then_succeeds_or_fails(api: aiohttp.ClientSession) -> None:
    now = int(time.time())
    order, payment = await _stripe_order(api)
    await _deliver(api, "checkout.session.completed", _session(order, payment, "unpaid"), now)
    assert await _states(api, order["id"]) == ("pending", "processing")
    await _deliver(api, "checkout.session.async_payment_succeeded", _session(order, payment, "paid"), now + 1)
    assert await _states(api, order["id"]) == ("paid", "succeeded")
    # Found by client_reference_id alone (no payment_intent in the session), failing this time.
    order, payment = await _stripe_order(api)
    await _deliver(
        api, "checkout.session.completed", _session(order, payment, "unpaid", payment_intent=None), now
    )
    failed = _session(order, payment, "unpaid", payment_intent=None)
    await _deliver(api, "checkout.session.async_payment_failed", failed, now + 1)
    _, view = await call(api, "GET", f"/v1/orders/{order['id']}")
    assert (view["status"], view["payment_status"]) == ("pending", "requires_payment_method")
    assert view["last_error"]["customer_message"].startswith("The payment could not be completed")
