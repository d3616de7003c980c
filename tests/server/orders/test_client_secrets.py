"""SPEC 8 client secrets: what a browser may do with one, and everything it may not.

A payment's client secret (shown once, in its create response or its order's) reads
that one payment live (WebSocket, long-poll) and its order, nothing else: not another
payment, not a list, no confirm, refund or cancel through /v1. The store keeps its
hash only. The checkout pages answer the same 404 to a wrong or missing secret as to
an unknown order, telling nothing about it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import aiohttp
import pytest

from tests.server.orders.conftest import call, order_body
from tests.server.support import Server
from tests.support import stores

pytestmark = pytest.mark.timeout(120)


async def _two_orders(api: aiohttp.ClientSession) -> tuple[dict[str, Any], dict[str, Any]]:
    made = []
    for _ in range(2):
        status, order = await call(api, "POST", "/v1/orders", order_body())
        assert status == 201
        made.append(order)
    return made[0], made[1]


async def test_a_client_secret_reads_its_payment_and_order_only(
    api: aiohttp.ClientSession, anonymous: aiohttp.ClientSession
) -> None:
    mine, other = await _two_orders(api)
    pid, secret = mine["payment_id"], mine["client_secret"]
    q = f"client_secret={secret}"
    status, seen = await call(anonymous, "GET", f"/v1/payments/{pid}/status?{q}")
    assert (status, seen["id"], seen["status"]) == (200, pid, "requires_payment_method")
    status, order = await call(anonymous, "GET", f"/v1/orders/{mine['id']}?{q}")
    assert (status, order["id"], order["amount"]) == (200, mine["id"], 20700)
    # Another payment, another order: refused (the order as if it did not exist).
    status, refused = await call(anonymous, "GET", f"/v1/payments/{other['payment_id']}/status?{q}")
    assert (status, refused["error"]["code"]) == (403, "forbidden")
    status, hidden = await call(anonymous, "GET", f"/v1/orders/{other['id']}?{q}")
    assert (status, hidden["error"]["code"]) == (404, "order_not_found")
    # Nothing else of /v1: reads of the full payment, lists, writes.
    for method, path, body in (
        ("GET", f"/v1/payments/{pid}", None),
        ("GET", "/v1/payments", None),
        ("GET", "/v1/orders", None),
        ("POST", f"/v1/payments/{pid}/confirm", {"payment_method": "pm_sandbox_ok"}),
        ("POST", f"/v1/payments/{pid}/cancel", {}),
        ("POST", f"/v1/payments/{pid}/refunds", {}),
        ("POST", f"/v1/orders/{mine['id']}/cancel", {}),
    ):
        status, answer = await call(anonymous, method, f"{path}?{q}", body)
        assert (status, answer["error"]["code"]) == (401, "unauthorized"), (method, path)
    _, still = await call(api, "GET", f"/v1/payments/{pid}")
    assert still["status"] == "requires_payment_method"


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "pay_0123456789abcdef01234567_secret_x",
        "not a secret",
        "{pid}_secret_wrong",
        "{pid}_secret_{rest}x",
        "{pid}",
        "{pid}_secret_",
    ],
)
async def test_a_wrong_client_secret_reads_nothing(
    api: aiohttp.ClientSession, anonymous: aiohttp.ClientSession, secret: str
) -> None:
    mine, _ = await _two_orders(api)
    pid = mine["payment_id"]
    rest = mine["client_secret"].split("_secret_", 1)[1]
    given = secret.format(pid=pid, rest=rest)
    status, answer = (
        await call(anonymous, "GET", f"/v1/payments/{pid}/status", None)
        if not given
        else await call(anonymous, "GET", f"/v1/payments/{pid}/status?client_secret={given}")
    )
    assert (status, answer["error"]["code"]) == (401, "unauthorized")


async def test_the_stream_with_a_client_secret_subscribes_to_its_payment_only(
    shop: Server, api: aiohttp.ClientSession
) -> None:
    mine, other = await _two_orders(api)
    url = f"{shop.url.replace('http', 'ws')}/v1/stream?client_secret={mine['client_secret']}"
    async with aiohttp.ClientSession() as browser, browser.ws_connect(url) as ws:
        for channels in (["*"], [f"payment:{other['payment_id']}"], ["system"], ["terminals"]):
            await ws.send_json({"op": "subscribe", "channels": channels})
            refused = await asyncio.wait_for(ws.receive_json(), 5)
            assert (refused["type"], refused["code"]) == ("error", "forbidden"), channels
        await ws.send_json({"op": "subscribe", "channels": [f"payment:{mine['payment_id']}"]})
        assert (await asyncio.wait_for(ws.receive_json(), 5))["type"] == "subscribed"
        snapshot = await asyncio.wait_for(ws.receive_json(), 5)
        assert (snapshot["type"], snapshot["data"]["payment"]["id"]) == ("snapshot", mine["payment_id"])
        await call(
            api, "POST", f"/v1/payments/{other['payment_id']}/confirm", {"payment_method": "pm_sandbox_ok"}
        )
        await call(
            api, "POST", f"/v1/payments/{mine['payment_id']}/confirm", {"payment_method": "pm_sandbox_ok"}
        )
        seen: list[str] = []
        while not seen or seen[-1] != "succeeded":
            event = await asyncio.wait_for(ws.receive_json(), 5)
            assert event["channel"] == f"payment:{mine['payment_id']}"  # never the other payment
            seen.append(event["data"]["payment"]["status"])
            assert "client_secret" not in event["data"]["payment"]
    async with aiohttp.ClientSession() as browser:
        bad = f"{shop.url.replace('http', 'ws')}/v1/stream?client_secret={mine['payment_id']}_secret_nope"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused_handshake:
            await browser.ws_connect(bad)
        assert refused_handshake.value.status == 401


async def test_the_payment_create_response_shows_the_secret_once(api: aiohttp.ClientSession) -> None:
    status, made = await call(api, "POST", "/v1/payments", {"amount": 500, "currency": "EUR"})
    assert status == 201 and made["client_secret"].startswith(made["id"] + "_secret_")
    _, again = await call(api, "GET", f"/v1/payments/{made['id']}")
    assert "client_secret" not in again
    _, listed = await call(api, "GET", "/v1/payments?limit=5")
    assert all("client_secret" not in p for p in listed["data"])


@pytest.mark.sqlite_only
async def test_the_store_keeps_only_the_hash(shop: Server, api: aiohttp.ClientSession) -> None:
    _, order = await call(api, "POST", "/v1/orders", order_body())
    secret = order["client_secret"]
    database = stores.current().database_url(shop.data_dir).removeprefix("sqlite:///")

    def dump() -> str:
        with sqlite3.connect(database) as db:
            return "\n".join(db.iterdump())

    text = await asyncio.to_thread(dump)
    assert secret.split("_secret_")[1] not in text
    import hashlib

    assert hashlib.sha256(secret.encode()).hexdigest() in text


async def test_checkout_pages_tell_nothing_without_the_right_secret(
    api: aiohttp.ClientSession, anonymous: aiohttp.ClientSession
) -> None:
    mine, other = await _two_orders(api)
    bodies = set()
    for path in (
        f"/checkout/{mine['id']}",
        f"/checkout/{mine['id']}?client_secret=",
        f"/checkout/{mine['id']}?client_secret={other['client_secret']}",
        f"/checkout/{mine['id']}?client_secret={mine['payment_id']}_secret_guess",
        "/checkout/ord_0123456789abcdef01234567?client_secret=x",
        f"/checkout/{mine['id']}/receipt?client_secret={other['client_secret']}",
    ):
        async with anonymous.get(path) as resp:
            text = await resp.text()
            assert resp.status == 404, path
            assert resp.headers["Content-Security-Policy"].endswith("frame-ancestors 'none'")
        assert mine["id"] not in text and "207" not in text and "Consultation" not in text
        bodies.add(text)
    assert len(bodies) == 1  # the same page whatever was wrong
    async with anonymous.get(f"/checkout/{mine['id']}?client_secret={mine['client_secret']}") as resp:
        assert resp.status == 200 and "Consultation basique" in await resp.text()
    status, refused = await call(
        anonymous, "POST", f"/checkout/{mine['id']}/pay", {"client_secret": other["client_secret"]}
    )
    assert (status, refused["error"]["code"]) == (404, "order_not_found")
    # The checkout confirms only with a method of its form (the sandbox's card methods).
    status, refused = await call(
        anonymous,
        "POST",
        f"/checkout/{mine['id']}/pay",
        {"client_secret": mine["client_secret"], "payment_method": "pm_card_visa"},
    )
    assert (status, refused["error"]["code"]) == (400, "payment_method_invalid")


async def test_the_pay_call_says_why_in_the_customers_language(
    api: aiohttp.ClientSession, anonymous: aiohttp.ClientSession
) -> None:
    """orders.md: the pay call answers the receipt, the provider's page, or a message in the
    customer's language. Every gateway down: the message says so (it was null). Once the payment
    failed, paying again is refused for the payment's state, not for the card."""
    status, order = await call(api, "POST", "/v1/orders", order_body(locale="fr"))
    assert status == 201
    pay, secret = f"/checkout/{order['id']}/pay", order["client_secret"]
    status, down = await call(
        anonymous, "POST", pay, {"client_secret": secret, "payment_method": "pm_sandbox_unavailable"}
    )
    assert (status, down["error"]["code"]) == (503, "gateway_unavailable"), down
    assert (
        down["message"]
        == "Le service de paiement est indisponible pour le moment. Réessayez dans quelques minutes."
    )
    status, declined = await call(
        anonymous, "POST", pay, {"client_secret": secret, "payment_method": "pm_sandbox_decline"}
    )
    assert status == 200 and declined["payment_status"] == "failed", declined
    assert declined["message"].startswith("Votre carte a été refusée")
    status, again = await call(
        anonymous, "POST", pay, {"client_secret": secret, "payment_method": "pm_sandbox_ok"}
    )
    assert (status, again["error"]["code"], again["error"]["param"]) == (
        400,
        "payment_unexpected_state",
        "status",
    )
    status, seen = await call(api, "GET", f"/v1/payments/{order['payment_id']}")
    assert seen["status"] == "failed" and len(seen["attempts"]) == 2
