"""The hosted checkout follows the payment's gateway, not a hard-coded one (real Chromium, `payedge fakes`).

The same page, for orders whose payments go to other gateways: a PayPal order shows
"Continue to PayPal", confirms with PayPal's method and sends the customer to the
provider's approval page (the `next_action` redirect); an MTN MoMo order asks for the
payer's number, then shows "approve on your phone" and follows the payment live to the
receipt once the provider says it succeeded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.support import running_fakes
from tests.server.browser import chromium_page
from tests.server.gateways.support import FAKES_FLAGS, Site, running_site, wait_until
from tests.server.web.conftest import ARTIFACTS

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(180)]

PRODUCT: dict[str, Any] = {"id": "tea", "name": "Thé à la menthe", "prices": {"USD": 500, "EUR": 450}}


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with (
        running_fakes(FAKES_FLAGS) as env,
        running_site(tmp_path_factory.mktemp("hosted-web") / "data", env) as site,
    ):
        assert site.http.post(f"{site.url}/v1/products", json=PRODUCT).status_code in (200, 201)
        yield site
        site.log_has_no_internal_errors()


def _order(site: Site, gateway: str, currency: str) -> dict[str, Any]:
    body: dict[str, Any] = {"items": [{"product_id": "tea", "quantity": 2}], "currency": currency,
                            "gateway": gateway, "customer": {"email": "amina@example.com"}}  # fmt: skip
    resp = site.http.post(f"{site.url}/v1/orders", json=body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def _url(site: Site, order: dict[str, Any]) -> str:
    return f"{site.url}/checkout/{order['id']}?client_secret={order['client_secret']}"


async def test_a_paypal_order_goes_to_the_provider_and_comes_back_to_its_receipt(hosted: Site) -> None:
    """PayPal's fake approves as soon as its page opens and sends the payer back to the default
    return URL, /checkout/payments/{id}: the tab finds its checkout again, which shows the receipt
    once payedge has captured the approved order."""
    order = _order(hosted, "paypal", "USD")
    async with chromium_page() as page:
        await page.navigate(_url(hosted, order))
        assert await page.evaluate("document.getElementById('checkout').dataset.form") == "hosted"
        assert (
            await page.evaluate("document.getElementById('pay-button').textContent") == "Continue to PayPal"
        )
        await page.evaluate("document.getElementById('pay-form').requestSubmit()")
        await page.wait_for("!!document.getElementById('receipt')", True, within=20)
        assert "client_secret=" in await page.evaluate("location.search")
    payment = hosted.get(order["payment_id"])
    assert (payment["status"], payment["payment_method"]) == ("succeeded", "paypal")
    assert payment["history"][2]["status"] == "processing"  # it went through PayPal's page


async def test_the_return_page_tells_nothing_to_another_tab(hosted: Site) -> None:
    order = _order(hosted, "paypal", "USD")
    async with chromium_page() as page:
        await page.navigate(f"{hosted.url}/checkout/payments/{order['payment_id']}")
        await page.wait_for("document.getElementById('returned-text').hidden", False, within=5)
        text = await page.evaluate("document.body.innerText")
        assert order["id"] not in text and "10.00" not in text and "Thé" not in text


async def test_a_momo_order_asks_the_number_then_waits_for_the_phone(hosted: Site) -> None:
    order = _order(hosted, "mtn_momo", "EUR")
    async with chromium_page() as page:
        await page.viewport(420, 900)
        await page.navigate(_url(hosted, order))
        assert await page.evaluate("document.getElementById('checkout').dataset.form") == "phone"
        # "Ongoing": PENDING at the provider, SUCCESSFUL a second later (payedge polls it).
        await page.evaluate(
            "document.getElementById('phone').value = '46733123453';"
            "document.getElementById('pay-form').requestSubmit();"
        )
        await page.wait_for(
            "(document.getElementById('checkout') || {dataset: {}}).dataset.form", "phone_wait", 10
        )
        await page.screenshot(ARTIFACTS / "checkout-momo-approve-on-phone.png")
        await page.wait_for("!!document.getElementById('receipt')", True, within=20)
    assert wait_until(lambda: hosted.status(order["payment_id"]) == "succeeded")
