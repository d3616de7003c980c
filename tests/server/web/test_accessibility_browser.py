"""Accessibility of the staff dashboard and the hosted checkout, in real headless Chromium.

Every view of the dashboard (each tab, with live content in it: terminals, a queue, payments
with a Refund button, a parking session opened, the degraded mode on) and every state of the
checkout (its form, a decline, the receipt) is audited as the browser built it:

- every form control (input other than hidden, select, textarea) has an accessible label:
  a `<label for>` with text, a `<label>` around it, `aria-label` or `aria-labelledby`;
- every button and link has a non-empty accessible name;
- images have `alt`;
- the tabs are `role=tab` in a `role=tablist`, each controlling a `role=tabpanel` labelled by
  it, and exactly one is `aria-selected="true"`, the one whose panel shows (kept after the
  view's live updates);
- the announcements are live regions that stay in the page: the degraded-mode banner
  (assertive) and the outcome of one's own actions (polite).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.parking.harness import Site as Lane
from tests.server.browser import Page, chromium_page
from tests.server.support import API_KEY, Server
from tests.server.web.test_checkout_browser import _checkout_url, _order, _pay_with_card
from tests.server.web.test_dashboard_browser import HEIGHT, LIVE, WIDTH, _enqueue_in, _show, _sign_in

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(180)]

# The audit, run in the page: a list of problems (empty when the document passes).
AUDIT = r"""
(() => {
  const problems = [];
  const text = (node) => (node ? node.textContent.replace(/\s+/g, ' ').trim() : '');
  const byIds = (ids) => (ids || '').split(/\s+/).filter(Boolean).map(id => document.getElementById(id));
  const labelledBy = (node) => byIds(node.getAttribute('aria-labelledby')).map(text).join(' ').trim();
  const describe = (node) => node.tagName.toLowerCase() + (node.id ? '#' + node.id : '')
    + (node.className && typeof node.className === 'string' ? '.' + node.className.split(' ').join('.') : '');
  document.querySelectorAll('input, select, textarea').forEach(node => {
    if (node.type === 'hidden') return;
    const forLabel = node.id ? Array.from(document.querySelectorAll('label'))
      .filter(l => l.htmlFor === node.id).map(text).join(' ') : '';
    const name = (node.getAttribute('aria-label') || '').trim() || labelledBy(node) || forLabel
      || text(node.closest('label'));
    if (!name) problems.push('control without a label: ' + describe(node));
  });
  const pressable = 'button, a[href], [role=button], input[type=submit], input[type=button]';
  document.querySelectorAll(pressable).forEach(node => {
    const images = Array.from(node.querySelectorAll('img[alt]')).map(i => i.alt).join(' ');
    const name = (node.getAttribute('aria-label') || '').trim() || labelledBy(node) || text(node)
      || (node.value || '').trim() || images.trim() || (node.getAttribute('title') || '').trim();
    if (!name) problems.push('button or link without a name: ' + describe(node));
  });
  document.querySelectorAll('img').forEach(node => {
    if (!node.hasAttribute('alt')) problems.push('image without alt: ' + (node.src || describe(node)));
  });
  document.querySelectorAll('[aria-labelledby], [aria-controls], [aria-describedby]').forEach(node => {
    ['aria-labelledby', 'aria-controls', 'aria-describedby'].forEach(attr => {
      byIds(node.getAttribute(attr)).forEach((target, i) => {
        if (!target) problems.push(attr + ' names a missing element on ' + describe(node));
      });
    });
  });
  if (!document.documentElement.lang) problems.push('the document has no lang');
  return problems;
})()
"""

TABS = r"""
(() => {
  const problems = [];
  const tabs = Array.from(document.querySelectorAll('[role=tab]'));
  if (!tabs.length) problems.push('no tabs');
  tabs.forEach(tab => {
    if (!tab.closest('[role=tablist]')) problems.push(tab.id + ' outside a tablist');
    const panel = document.getElementById(tab.getAttribute('aria-controls'));
    if (!panel || panel.getAttribute('role') !== 'tabpanel') problems.push(tab.id + ' controls no tabpanel');
    else if (panel.getAttribute('aria-labelledby') !== tab.id) {
      problems.push(panel.id + ' not labelled by its tab');
    }
    const selected = tab.getAttribute('aria-selected');
    if (selected !== 'true' && selected !== 'false') problems.push(tab.id + ' aria-selected=' + selected);
    if (panel && (selected === 'true') === panel.hidden) {
      problems.push(tab.id + ' selected but its panel hidden, or not');
    }
  });
  const on = tabs.filter(t => t.getAttribute('aria-selected') === 'true').map(t => t.dataset.view);
  return {problems: problems, selected: on};
})()
"""

LIVE_REGIONS = r"""
(() => Array.from(document.querySelectorAll('[aria-live], [role=alert], [role=status]'))
  .filter(n => !n.closest('[hidden]'))
  .map(n => n.id + ':' + (n.getAttribute('aria-live')
    || (n.getAttribute('role') === 'alert' ? 'assertive' : 'polite'))))()
"""


async def _audit(page: Page, where: str) -> None:
    problems = await page.evaluate(AUDIT)
    assert problems == [], f"{where}: {problems}"


async def _select(page: Page, view: str) -> None:
    await _show(page, view)
    tabs = await page.evaluate(TABS)
    assert tabs == {"problems": [], "selected": [view]}, tabs


@pytest.fixture
async def api(site: Server) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(site.url, headers={"Authorization": f"Bearer {API_KEY}"}) as session:
        yield session


async def _post(api: aiohttp.ClientSession, path: str, body: object) -> dict[str, object]:
    async with api.post(path, json=body) as resp:
        data: dict[str, object] = await resp.json()
        assert resp.status < 300, (path, resp.status, data)
        return data


async def test_every_dashboard_view_is_accessible(
    site: Server, api: aiohttp.ClientSession, mosquitto_port: int
) -> None:
    async with chromium_page() as page:
        await page.viewport(WIDTH, HEIGHT)
        await page.navigate(f"{site.url}/dashboard")
        await _audit(page, "sign-in page")
        # The audit sees what it is for: an unlabelled field, a nameless button, an image without alt.
        planted = await page.evaluate(
            "(() => { const box = document.createElement('div'); box.id = 'planted';"
            ' box.innerHTML = \'<input id="x"><button></button><img src="data:,">\';'
            f" document.body.appendChild(box); const found = {AUDIT.strip()};"
            " box.remove(); return found; })()"
        )
        assert planted == [
            "control without a label: input#x",
            "button or link without a name: button",
            "image without alt: data:,",
        ], planted
        await _sign_in(page, site.url)
        assert await page.evaluate(LIVE) == "live"
        regions = await page.evaluate(LIVE_REGIONS)
        assert "fallback-banner:assertive" in regions and "announce:polite" in regions, regions

        # Terminals: a queue with a Remove button, a busy terminal with "Payment done".
        await _select(page, "terminals")
        for i, who in enumerate(("Ada", "Bob")):
            await _enqueue_in(page, f"pay_a11y_{uuid.uuid4().hex[:6]}_{i}", who)
        await page.wait_for("document.querySelectorAll('#queue-list li').length >= 2", True, within=5)
        await page.evaluate("document.querySelector('#terminal-list button[data-action=allocate]').click()")
        await page.wait_for(
            "!!document.querySelector('#terminal-list button[data-action=complete]')", True, 5
        )
        await _audit(page, "terminals view")

        # Payments: a succeeded one (a Refund button) and a declined one (its reason).
        await _select(page, "payments")
        paid = await _post(api, "/v1/payments", {"amount": 700, "currency": "EUR"})
        await _post(api, f"/v1/payments/{paid['id']}/confirm", {"payment_method": "pm_sandbox_ok"})
        refund = f'#payment-rows tr[data-payment-id="{paid["id"]}"] button[data-action=refund]'
        await page.wait_for(f"!!document.querySelector({json.dumps(refund)})", True, within=5)
        await _audit(page, "payments view")
        assert (await page.evaluate(TABS))["selected"] == ["payments"]  # kept after live rows came

        # Parking: a car in, its session opened (audit trail, override form).
        await _select(page, "parking")
        plate = f"AC-{uuid.uuid4().hex[:3].upper()}-CS"
        lane = Lane(mosquitto_port)
        await lane.connect()
        try:
            lane.publish("parking/entry", plate=plate, ts=int(time.time()) - 600)
            find = (
                "Array.from(document.querySelectorAll('#session-list button'))"
                f".find(b => b.textContent.includes({json.dumps(plate)}))"
            )
            await page.wait_for(f"!!{find}", True, within=10)
            await page.evaluate(f"{find}.click()")
            await page.wait_for("document.getElementById('session-detail').hidden", False, within=5)
        finally:
            await lane.disconnect()
        await _audit(page, "parking view")

        # Degraded mode on: the banner is filled inside its live region, then off again.
        await _select(page, "fallback")
        await _audit(page, "degraded-mode view")
        await _post(api, "/v1/admin/fallback-mode", {"enabled": True, "who": "Ada", "why": "a11y check"})
        await page.wait_for("document.body.dataset.fallback", "on", within=5)
        banner = "document.getElementById('fallback-banner')"
        assert await page.evaluate(f"{banner}.getAttribute('aria-live')") == "assertive"
        assert "a11y check" in await page.evaluate(f"{banner}.textContent")
        assert await page.evaluate(f"{banner}.offsetHeight > 0") is True
        await _post(api, "/v1/admin/fallback-mode", {"enabled": False, "who": "Ada", "why": "done"})
        await page.wait_for("document.body.dataset.fallback", "off", within=5)
        assert await page.evaluate(f"{banner}.isConnected && {banner}.textContent") == ""
        assert (await page.evaluate(TABS))["selected"] == ["fallback"]

        await _select(page, "gateways")
        await page.wait_for("document.querySelectorAll('#gateway-list li').length", 2, within=10)
        await _audit(page, "gateways view")


async def test_the_hosted_checkout_is_accessible(shop: Server) -> None:
    async with aiohttp.ClientSession(shop.url, headers={"Authorization": f"Bearer {API_KEY}"}) as api:
        declined = await _order(api)
        paid = await _order(api)
    async with chromium_page() as page:
        await page.viewport(420, 900)
        await page.navigate(_checkout_url(shop, declined))
        await _audit(page, "checkout form")
        await _pay_with_card(page, "4000 0000 0000 0002")
        await page.wait_for("!!document.getElementById('canceled')", True, within=10)
        assert "declined" in await page.evaluate("document.getElementById('message').textContent")
        await _audit(page, "checkout after a decline")

        await page.navigate(_checkout_url(shop, paid))
        await _pay_with_card(page, "4242 4242 4242 4242")
        await page.wait_for("!!document.getElementById('receipt')", True, within=10)
        await _audit(page, "receipt")
