"""The staff dashboard in real headless Chromium (seed 000): two tills on one view, all live.

Two browsers (two tills, each signed in with the API key) open /dashboard. A queue
change made in one appears in the other (positions, terminal leases) within 1 s; a
payment confirmed through the API turns its row to succeeded in both; the degraded
mode switched in one is announced in both; a write without the CSRF token is refused.
Screenshots of every view go to test-artifacts/ (a till-sized 600 px wide screen).

It also measures, in the same run, the time from a change made in the first browser
(a click's fetch) to its appearance in the second (a MutationObserver's clock), over
50 changes: p50 and p99 go to test-artifacts/figures-dashboard.json and the output.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.parking.harness import Site as Lane
from tests.server.browser import Page, chromium_page
from tests.server.support import API_KEY, Server
from tests.server.web.conftest import ARTIFACTS

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(180)]

WIDTH, HEIGHT = 600, 960
LIVE = "document.getElementById('live') ? document.getElementById('live').dataset.state : ''"
QUEUE = (
    "Array.from(document.querySelectorAll('#queue-list li'))"
    ".map(li => li.dataset.paymentId + '@' + li.dataset.position).join(',')"
)


def _terminal(terminal: str) -> str:
    return f"document.querySelector('#terminal-list li[data-terminal=\"{terminal}\"]').dataset.state"


def _row_status(payment_id: str) -> str:
    row = f"document.querySelector('#payment-rows tr[data-payment-id=\"{payment_id}\"]')"
    return f"({row} || {{dataset: {{}}}}).dataset.status || ''"


async def _sign_in(page: Page, url: str) -> None:
    await page.navigate(f"{url}/dashboard")
    # Before sign-in the page is the form alone: nothing from the store.
    assert await page.evaluate("!!document.getElementById('sign-in') && !document.getElementById('live')")
    await page.evaluate(
        f"document.getElementById('api_key').value = {json.dumps(API_KEY)};"
        "document.getElementById('sign-in').submit();"
    )
    await page.wait_for(LIVE, "live", within=20)


async def _show(page: Page, view: str) -> None:
    await page.evaluate(f"document.getElementById('tab-{view}').click()")
    await page.wait_for(f"document.getElementById('view-{view}').hidden", False, within=5)


@pytest.fixture
async def api(site: Server) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with aiohttp.ClientSession(site.url, headers=headers) as session:
        yield session


async def _post(api: aiohttp.ClientSession, path: str, body: object | None = None) -> dict[str, object]:
    async with api.post(path, json=body) as resp:
        data: dict[str, object] = await resp.json()
        assert resp.status < 300, (path, resp.status, data)
        return data


async def _enqueue_in(page: Page, payment_id: str, customer: str) -> None:
    await page.evaluate(
        "(() => { const f = document.getElementById('enqueue-form');"
        f" f.payment_id.value = {json.dumps(payment_id)}; f.user_id.value = {json.dumps(customer)};"
        " window.__sent = window.__sent || {};"
        f" window.__sent[{json.dumps(payment_id)}] = performance.timeOrigin + performance.now();"
        " f.requestSubmit(); })()"
    )


async def _latency(first: Page, second: Page) -> dict[str, float]:
    """50 queue changes made in `first`; when each appeared in `second`, in ms."""
    await second.evaluate(
        "window.__seen = {}; new MutationObserver(() => {"
        " const t = performance.timeOrigin + performance.now();"
        " document.querySelectorAll('#queue-list li').forEach(li => {"
        " if (!(li.dataset.paymentId in window.__seen)) window.__seen[li.dataset.paymentId] = t; }); })"
        ".observe(document.getElementById('queue-list'), {childList: true});"
    )
    delays = []
    for i in range(50):
        pid = f"pay_lat_{i:02d}"
        await _enqueue_in(first, pid, f"customer {i}")
        seen = await second.wait_for(f"window.__seen[{json.dumps(pid)}] !== undefined", True, within=5)
        assert seen
        sent = await first.evaluate(f"window.__sent[{json.dumps(pid)}]")
        delays.append(await second.evaluate(f"window.__seen[{json.dumps(pid)}]") - sent)
    delays.sort()
    return {
        "changes": len(delays),
        "p50_ms": round(statistics.median(delays), 2),
        "p99_ms": round(delays[min(len(delays) - 1, int(len(delays) * 0.99))], 2),
        "max_ms": round(delays[-1], 2),
    }


async def test_two_tills_share_one_live_dashboard(
    site: Server, api: aiohttp.ClientSession, mosquitto_port: int
) -> None:
    async with chromium_page() as till_a, chromium_page() as till_b:
        for page in (till_a, till_b):
            await page.viewport(WIDTH, HEIGHT)
        await till_a.navigate(f"{site.url}/dashboard")
        await till_a.screenshot(ARTIFACTS / "dashboard-sign-in.png")
        await asyncio.gather(_sign_in(till_a, site.url), _sign_in(till_b, site.url))

        # Queue and terminals: enqueue and allocate in A, B shows the new positions within 1 s.
        await _enqueue_in(till_a, "pay_queue_ada", "Ada")
        await _enqueue_in(till_a, "pay_queue_bob", "Bob")
        started = time.monotonic()
        await till_b.wait_for(QUEUE, "pay_queue_ada@1,pay_queue_bob@2", within=1.0)
        await till_a.evaluate(
            "document.querySelector('#terminal-list li[data-terminal=\"T1\"] button[data-action=allocate]')"
            ".click()"
        )
        await till_b.wait_for(_terminal("T1"), "busy", within=1.0)
        await till_b.wait_for(QUEUE, "pay_queue_bob@1", within=1.0)
        assert time.monotonic() - started < 5
        await till_b.screenshot(ARTIFACTS / "dashboard-terminals.png")
        await _complete_and_remove(till_a, till_b)

        # A payment confirmed through the API turns its row to succeeded in both.
        await _show(till_a, "payments")
        await _show(till_b, "payments")
        made = await _post(api, "/v1/payments", {"amount": 1250, "currency": "EUR"})
        pid = str(made["id"])
        for page in (till_a, till_b):
            await page.wait_for(_row_status(pid), "requires_payment_method", within=2)
        await _post(api, f"/v1/payments/{pid}/confirm", {"payment_method": "pm_sandbox_ok"})
        for page in (till_a, till_b):
            await page.wait_for(_row_status(pid), "succeeded", within=2)
        declined = await _post(api, "/v1/payments", {"amount": 990, "currency": "EUR"})
        async with api.post(
            f"/v1/payments/{declined['id']}/confirm", json={"payment_method": "pm_sandbox_decline"}
        ):
            pass
        await till_b.wait_for(_row_status(str(declined["id"])), "failed", within=2)
        await till_b.screenshot(ARTIFACTS / "dashboard-payments.png")
        await _refund(api, till_a, till_b, pid)

        # The degraded mode, switched in A, is announced in both.
        await _show(till_a, "fallback")
        await till_a.evaluate(
            "(() => { const f = document.getElementById('fallback-form'); f.who.value = 'Alice';"
            " f.why.value = 'card terminals offline'; f.requestSubmit(); })()"
        )
        for page in (till_a, till_b):
            await page.wait_for("document.body.dataset.fallback", "on", within=2)
        banner = await till_b.evaluate("document.getElementById('fallback-banner').textContent")
        assert "Alice" in banner and "card terminals offline" in banner
        await till_a.screenshot(ARTIFACTS / "dashboard-degraded-mode.png")

        # Without the CSRF token, a write with the session cookie is refused.
        refused = await till_a.evaluate(
            "fetch('/v1/terminals/queue', {method: 'POST', credentials: 'same-origin',"
            " headers: {'Content-Type': 'application/json'},"
            " body: JSON.stringify({payment_id: 'pay_csrf', user_id: 'mallory'})})"
            ".then(r => r.json().then(b => r.status + ' ' + b.error.code))"
        )
        assert refused == "403 csrf_failed"
        assert "pay_csrf" not in await till_b.evaluate(QUEUE)

        # Parking: a car enters; its session shows live, with its audit trail and an override.
        await _parking(mosquitto_port, till_a)

        # Gateways: two of them, the stripe one down.
        await _show(till_b, "gateways")
        await till_b.wait_for("document.querySelectorAll('#gateway-list li').length", 2, within=10)
        assert (
            await till_b.evaluate(
                "document.querySelector('#gateway-list li[data-gateway=\"stripe\"]').dataset.ok"
            )
            == "false"
        )
        await till_b.screenshot(ARTIFACTS / "dashboard-gateways.png")

        # Back to normal, then the figures: change in A -> seen in B.
        await _post(
            api, "/v1/admin/fallback-mode", {"enabled": False, "who": "Alice", "why": "terminals back"}
        )
        await till_b.wait_for("document.body.dataset.fallback", "off", within=2)
        await _show(till_a, "terminals")
        await _show(till_b, "terminals")
        figures = await _latency(till_a, till_b)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "figures-dashboard.json").write_text(json.dumps(figures, indent=2))
        print(f"\nchange in one browser -> seen in the other: {figures}")

        # Sign out: the session is over, the page is the form again.
        await till_a.evaluate("document.querySelector('form.sign-out').submit()")
        await till_a.wait_for("!!document.getElementById('sign-in')", True, within=10)
        again = await till_a.evaluate("fetch('/v1/terminals').then(r => r.status)")
        assert again == 401


def _text(selector: str) -> str:
    return f"(document.querySelector({json.dumps(selector)}) || {{textContent: ''}}).textContent.trim()"


async def _complete_and_remove(till_a: Page, till_b: Page) -> None:
    """ "Payment done" on T1 and "Remove" on a queued entry, clicked in A, seen in B within 1 s."""
    t1 = '#terminal-list li[data-terminal="T1"]'
    assert "Ada" in await till_b.evaluate(_text(t1))
    await till_a.evaluate(
        f"document.querySelector({json.dumps(t1 + ' button[data-action=complete]')}).click()"
    )
    await till_b.wait_for(_terminal("T1"), "free", within=1.0)
    seen = await till_b.evaluate(_text(t1))
    assert "Ada" not in seen and "Free" in seen and "Waiting for the next customer" in seen
    await till_b.wait_for(f"document.querySelector('{t1} button').textContent", "Serve next", within=1.0)
    await till_b.screenshot(ARTIFACTS / "dashboard-payment-done.png")

    # Bob, Cara, Dan wait; Bob is removed in A: B renumbers Cara 1 and Dan 2.
    await _enqueue_in(till_a, "pay_queue_cara", "Cara")
    await _enqueue_in(till_a, "pay_queue_dan", "Dan")
    await till_b.wait_for(QUEUE, "pay_queue_bob@1,pay_queue_cara@2,pay_queue_dan@3", within=1.0)
    await till_a.evaluate(
        "document.querySelector('#queue-list li[data-payment-id=\"pay_queue_bob\"] button').click()"
    )
    await till_b.wait_for(QUEUE, "pay_queue_cara@1,pay_queue_dan@2", within=1.0)
    shown = await till_b.evaluate(
        "Array.from(document.querySelectorAll('#queue-list li')).map(li =>"
        " li.querySelector('.position').textContent + ' ' + li.querySelector('code').textContent)"
    )
    assert shown == ["1 pay_queue_cara", "2 pay_queue_dan"]
    assert await till_b.evaluate(_text("#queue-count")) == "2"
    await till_b.screenshot(ARTIFACTS / "dashboard-queue-removed.png")


async def _refund(api: aiohttp.ClientSession, till_a: Page, till_b: Page, pid: str) -> None:
    """ "Refund" on a succeeded payment in A (all of it: the prompt left empty): both show it refunded."""
    button = (
        f"document.querySelector('#payment-rows tr[data-payment-id=\"{pid}\"] button[data-action=refund]')"
    )
    assert await till_a.evaluate(f"{button}.textContent") == "Refund"
    await till_a.answer_dialog(f"{button}.click()", "")
    row = f'#payment-rows tr[data-payment-id="{pid}"]'
    for page in (till_a, till_b):
        await page.wait_for(_row_status(pid), "refunded", within=2)
        assert await page.evaluate(_text(row + " .badge")) == "Refunded"
        assert "12.50" in await page.evaluate(_text(row + " td.amount"))
        assert "refunded" in await page.evaluate(_text(row + " td.amount"))
        assert await page.evaluate(f"!!document.querySelector('{row} button[data-action=refund]')") is False
    await till_a.wait_for(_text("#announce"), "Refunded €12.50", within=2)
    async with api.get(f"/v1/payments/{pid}") as resp:
        payment = await resp.json()
    assert (payment["status"], payment["amount_refunded"]) == ("refunded", 1250)
    await till_b.screenshot(ARTIFACTS / "dashboard-refunded.png")


async def _parking(mosquitto_port: int, page: Page) -> None:
    plate = f"AB-{uuid.uuid4().hex[:3].upper()}-CD"
    lane = Lane(mosquitto_port)
    await lane.connect()
    try:
        lane.publish("parking/entry", plate=plate, ts=int(time.time()) - 3600)
        await _show(page, "parking")
        plates = "Array.from(document.querySelectorAll('#session-list .plate'))"
        await page.wait_for(f"{plates}.some(p => p.textContent === {json.dumps(plate)})", True, within=10)
        await page.evaluate(
            "Array.from(document.querySelectorAll('#session-list button'))"
            f".find(b => b.textContent.includes({json.dumps(plate)})).click()"
        )
        await page.wait_for("document.getElementById('session-detail').hidden", False, within=5)
        await page.evaluate(
            "(() => { const f = document.getElementById('override-form'); f.operator.value = 'Alice';"
            " f.reason.value = 'ticket machine jammed'; f.requestSubmit(); })()"
        )
        await page.wait_for(
            "document.getElementById('detail-timeline').textContent.includes('ticket machine jammed')",
            True,
            within=5,
        )
        await page.screenshot(ARTIFACTS / "dashboard-parking.png")
    finally:
        await lane.disconnect()
