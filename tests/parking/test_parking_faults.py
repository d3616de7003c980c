"""Fault tests: the broker goes away, the server dies; authorisations are delayed, never lost."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.parking.harness import Site, connected, site_services

pytestmark = pytest.mark.timeout(90)


async def _paid_request(site: Site, plate: str) -> dict[str, object]:
    now = int(time.time())
    site.publish("parking/entry", plate=plate, ts=now - 5400)
    site.publish("parking/exit/detected", plate=plate, ts=now)
    await site.wait_for(lambda: any(r.get("plate") == plate for r in site.requests))
    return next(r for r in site.requests if r.get("plate") == plate)


async def test_broker_restart_between_payment_and_authorisation() -> None:
    with site_services() as (broker, server):
        async with connected(broker, server, "site-restart") as (site, api):
            request = await _paid_request(site, "RST-1")
            broker.stop()
            status, body = await api.confirm(str(request["payment_id"]))
            assert status == 200 and body["status"] == "succeeded", body
            ready = await api.call("GET", "/health/ready")
            assert ready[0] == 503, "readiness reports the broker outage"
            await asyncio.sleep(1.0)
            assert site.successes == []
            broker.start()
            await site.wait_for(lambda: bool(site.successes), timeout=20)
            [success] = {s["msg_id"]: s for s in site.successes}.values()
            assert success["session_id"] == request["session_id"] and success["reason"] == "payment"


async def test_server_killed_after_commit_publishes_after_restart() -> None:
    with site_services() as (broker, server):
        async with connected(broker, server, "site-kill") as (site, api):
            request = await _paid_request(site, "KILL-1")
            # The payment is committed while the broker is away, then the server dies before publishing.
            broker.stop()
            status, body = await api.confirm(str(request["payment_id"]))
            assert status == 200 and body["status"] == "succeeded", body
            server.kill()
            # It comes back before the broker does: the relay keeps trying, with backoff.
            server.start()
            await asyncio.sleep(1.0)
            _, ready = await api.call("GET", "/health/ready")
            assert ready["checks"]["mqtt"] is False
            broker.start()
            await site.wait_for(lambda: bool(site.successes), timeout=20)
            success = site.successes[0]
            assert success["session_id"] == request["session_id"]
            assert all(s["msg_id"] == success["msg_id"] for s in site.successes)
            view = await api.session(str(request["session_id"]))
            assert view["session"]["state"] == "paid"


async def test_messages_sent_while_the_server_is_down_are_processed_after_restart() -> None:
    with site_services() as (broker, server):
        async with connected(broker, server, "site-down") as (site, _):
            server.kill()
            now = int(time.time())
            site.publish("parking/entry", plate="DOWN-1", ts=now - 5400)
            site.publish("parking/exit/detected", plate="DOWN-1", ts=now)
            await asyncio.sleep(0.3)
            server.start()
            # The broker kept them in the relay's persistent session.
            await site.wait_for(lambda: any(r.get("plate") == "DOWN-1" for r in site.requests), timeout=20)
            [request] = [r for r in site.requests if r.get("plate") == "DOWN-1"]
            assert request["amount"] > 0


async def test_two_workers_share_one_relay() -> None:
    """With --workers 2 one worker holds the relay; confirmations served by either are published."""
    with site_services("--workers", "2") as (broker, server):
        async with connected(broker, server, "site-workers") as (site, api):
            now = int(time.time())
            plates = [f"WRK-{i}" for i in range(20)]
            for plate in plates:
                site.publish("parking/entry", plate=plate, ts=now - 4000)
                site.publish("parking/exit/detected", plate=plate, ts=now)
            await site.wait_for(lambda: len(site.requests) >= len(plates), timeout=20)
            for request in site.requests:
                status, body = await api.confirm(str(request["payment_id"]))
                assert status == 200, body
            await site.wait_for(
                lambda: len({s["session_id"] for s in site.successes}) >= len(plates), timeout=20
            )
            _, ready = await api.call("GET", "/health/ready")
            assert ready["checks"]["mqtt"] is True
