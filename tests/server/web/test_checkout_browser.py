"""The hosted checkout end to end in real headless Chromium (seeds 001 and 002).

An order made through the API opens at /checkout/{order}?client_secret=...; the
sandbox's card form turns a test card into a payment method in the browser; the
payment succeeds and the page goes to the receipt. A declined card on a French order
shows the French customer message. A card confirmed later (the sandbox's async
webhook) is followed live by payedge.js until the receipt. Screenshots go to
test-artifacts/. The checkout page's time to first byte is measured in the same run.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.server.browser import Page, chromium_page
from tests.server.support import API_KEY, Server
from tests.server.web.conftest import ARTIFACTS

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(180)]

WIDTH, HEIGHT = 420, 900  # a phone


@pytest.fixture
async def api(shop: Server) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(shop.url, headers={"Authorization": f"Bearer {API_KEY}"}) as session:
        yield session


async def _order(api: aiohttp.ClientSession, **extra: Any) -> dict[str, Any]:
    body = {
        "items": [{"product_id": "espresso", "quantity": 2}, {"product_id": "croissant", "quantity": 1}],
        "currency": "EUR",
        "customer": {"email": "ada@example.com", "name": "Ada"},
        **extra,
    }
    async with api.post("/v1/orders", json=body) as resp:
        order: dict[str, Any] = await resp.json()
        assert resp.status == 201, order
    assert order["amount"] == 2 * 250 + 180
    return order


def _checkout_url(shop: Server, order: dict[str, Any]) -> str:
    return f"{shop.url}/checkout/{order['id']}?client_secret={order['client_secret']}"


async def _pay_with_card(page: Page, number: str) -> None:
    await page.evaluate(
        f"document.getElementById('card-number').value = {json.dumps(number)};"
        "document.getElementById('card-expiry').value = '12/34';"
        "document.getElementById('card-cvc').value = '123';"
        "document.getElementById('pay-form').requestSubmit();"
    )


async def _order_status(api: aiohttp.ClientSession, order_id: str) -> tuple[str, str]:
    async with api.get(f"/v1/orders/{order_id}") as resp:
        view = await resp.json()
    return view["status"], view["payment_status"]


async def test_order_checkout_card_receipt(shop: Server, api: aiohttp.ClientSession) -> None:
    order = await _order(api)
    async with chromium_page() as page:
        await page.viewport(WIDTH, HEIGHT)
        await page.navigate(_checkout_url(shop, order))
        assert await page.evaluate("document.documentElement.lang") == "en"
        assert await page.evaluate("document.getElementById('checkout').dataset.form") == "card"
        assert await page.evaluate("document.getElementById('total').textContent") == "6.80\u00a0EUR"
        await page.screenshot(ARTIFACTS / "checkout-card-form.png")
        await _pay_with_card(page, "4242 4242 4242 4242")
        await page.wait_for("!!document.getElementById('receipt')", True, within=10)
        assert await page.evaluate("document.getElementById('receipt').dataset.orderStatus") == "paid"
        text = await page.evaluate("document.body.innerText")
        assert "Espresso" in text and "R-" in text and "ada@example.com" in text
        await page.screenshot(ARTIFACTS / "checkout-receipt.png")
    assert await _order_status(api, order["id"]) == ("paid", "succeeded")


async def test_a_declined_card_shows_the_french_message(shop: Server, api: aiohttp.ClientSession) -> None:
    order = await _order(api, locale="fr")
    async with chromium_page() as page:
        await page.viewport(WIDTH, HEIGHT)
        await page.navigate(_checkout_url(shop, order))
        assert await page.evaluate("document.documentElement.lang") == "fr"
        await _pay_with_card(page, "4000 0000 0000 0002")
        french = "Votre carte a été refusée. Utilisez une autre carte ou contactez votre banque."
        await page.wait_for("document.getElementById('message').textContent", french, within=10)
        await page.wait_for("!!document.getElementById('canceled')", True, within=10)
        assert await page.evaluate("document.getElementById('message').textContent") == french
        await page.screenshot(ARTIFACTS / "checkout-declined-fr.png")
    assert await _order_status(api, order["id"]) == ("canceled", "failed")


async def test_a_payment_confirmed_later_is_followed_live_to_the_receipt(
    shop: Server, api: aiohttp.ClientSession
) -> None:
    order = await _order(api)
    async with chromium_page() as page:
        await page.navigate(_checkout_url(shop, order))
        await _pay_with_card(page, "4000 0000 0000 3220")  # the sandbox's async card: a webhook later
        await page.wait_for("!!document.getElementById('receipt')", True, within=15)
    assert await _order_status(api, order["id"]) == ("paid", "succeeded")


async def test_checkout_time_to_first_byte(shop: Server, api: aiohttp.ClientSession) -> None:
    """Figures (not a pass/fail bound): GET of the checkout page, 50 times, to the first byte."""
    order = await _order(api)
    url = _checkout_url(shop, order)
    samples = []
    async with aiohttp.ClientSession() as browser:
        for _ in range(50):
            started = time.perf_counter()
            async with browser.get(url) as resp:  # returns once the status line and headers are in
                samples.append((time.perf_counter() - started) * 1000)
                assert resp.status == 200
                await resp.read()
    samples.sort()
    figures = {
        "requests": len(samples),
        "ttfb_p50_ms": round(statistics.median(samples), 2),
        "ttfb_p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 2),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "figures-checkout.json").write_text(json.dumps(figures, indent=2))
    print(f"\ncheckout page time to first byte: {figures}")
