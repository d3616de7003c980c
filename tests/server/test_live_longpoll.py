"""Long-poll `GET /v1/payments/{id}/status?wait=&since=` and `LiveHub.wait` over the real hub."""

from __future__ import annotations

import asyncio
import time

import pytest
from payedge_server.live import LiveHub

from tests.server.live_support import AUTH, Payments, live_client

STATUS = "/v1/payments/{}/status"


async def test_answers_at_once_when_the_current_version_is_newer() -> None:
    payments = Payments()
    async with live_client(payments) as (client, hub):
        payments.set(hub, "pay_1", "processing")
        payments.set(hub, "pay_1", "succeeded")
        started = time.monotonic()
        resp = await client.get(STATUS.format("pay_1"), params={"wait": "30", "since": "1"}, headers=AUTH)
        assert resp.status == 200
        assert await resp.json() == payments.by_id["pay_1"]
        # without `since` the current status comes back at once too
        resp = await client.get(STATUS.format("pay_1"), params={"wait": "30"}, headers=AUTH)
        assert (await resp.json())["version"] == 2
        assert time.monotonic() - started < 2


async def test_waits_for_the_next_change_and_wakes_on_publish() -> None:
    payments = Payments()
    async with live_client(payments) as (client, hub):
        payments.set(hub, "pay_1", "processing")
        polls = [
            asyncio.create_task(
                client.get(STATUS.format("pay_1"), params={"wait": "20", "since": "1"}, headers=AUTH)
            )
            for _ in range(20)
        ]
        await asyncio.sleep(0.3)
        assert not any(p.done() for p in polls)
        assert hub.waiter_count == 20
        started = time.monotonic()
        payments.set(hub, "pay_1", "succeeded")
        answers = await asyncio.wait_for(asyncio.gather(*polls), 5)
        assert time.monotonic() - started < 2
        for answer in answers:
            assert answer.status == 200
            body = await answer.json()
            assert (body["status"], body["version"]) == ("succeeded", 2)
        assert hub.waiter_count == 0  # nothing left behind


async def test_times_out_with_the_current_status() -> None:
    payments = Payments()
    async with live_client(payments) as (client, hub):
        payments.set(hub, "pay_1", "processing")
        started = time.monotonic()
        resp = await client.get(STATUS.format("pay_1"), params={"wait": "0.4", "since": "1"}, headers=AUTH)
        elapsed = time.monotonic() - started
        assert resp.status == 200
        assert (await resp.json())["version"] == 1
        assert 0.35 <= elapsed < 3
        assert hub.waiter_count == 0


async def test_a_change_on_another_payment_does_not_answer() -> None:
    payments = Payments()
    async with live_client(payments) as (client, hub):
        payments.set(hub, "pay_1", "processing")
        payments.set(hub, "pay_2", "processing")
        poll = asyncio.create_task(
            client.get(STATUS.format("pay_1"), params={"wait": "0.5", "since": "1"}, headers=AUTH)
        )
        await asyncio.sleep(0.1)
        payments.set(hub, "pay_2", "succeeded")
        await asyncio.sleep(0.1)
        assert not poll.done()
        assert (await (await poll).json())["version"] == 1


async def test_recheck_sees_a_change_made_by_another_process() -> None:
    """With workers > 1 and no Redis, a change may be committed elsewhere without a publish here."""
    payments = Payments()
    async with live_client(payments, recheck_interval=0.1) as (client, hub):
        payments.set(hub, "pay_1", "processing")
        poll = asyncio.create_task(
            client.get(STATUS.format("pay_1"), params={"wait": "10", "since": "1"}, headers=AUTH)
        )
        await asyncio.sleep(0.2)
        payments.by_id["pay_1"] = {**payments.by_id["pay_1"], "status": "succeeded", "version": 2}
        answer = await asyncio.wait_for(poll, 3)
        assert (await answer.json())["status"] == "succeeded"


async def test_unknown_payment_is_404_and_bad_parameters_are_400() -> None:
    payments = Payments()
    async with live_client(payments) as (client, hub):
        payments.set(hub, "pay_1", "processing")
        resp = await client.get(STATUS.format("pay_missing"), params={"wait": "5"}, headers=AUTH)
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "payment_not_found"
        for params, param in [
            ({"wait": "abc"}, "wait"),
            ({"wait": "61"}, "wait"),
            ({"wait": "-1"}, "wait"),
            ({"wait": "nan"}, "wait"),
            ({"since": "-1"}, "since"),
            ({"since": "1.5"}, "since"),
            ({"since": "x"}, "since"),
        ]:
            resp = await client.get(STATUS.format("pay_1"), params=params, headers=AUTH)
            assert resp.status == 400, params
            error = (await resp.json())["error"]
            assert (error["code"], error["param"]) == ("parameter_invalid", param)
        resp = await client.get(STATUS.format("pay_1"))
        assert resp.status == 401


async def test_hub_wait() -> None:
    hub = LiveHub()
    hub.publish("session:s1", {"version": 3, "state": "open"})
    assert await hub.wait("session:s1", since=2, timeout=5) == {"version": 3, "state": "open"}
    assert await hub.wait("session:s1", since=3, timeout=0.05) is None

    async def later() -> None:
        await asyncio.sleep(0.05)
        hub.publish("session:s1", {"version": 3, "state": "stale duplicate"})
        hub.publish("session:s1", {"version": 4, "state": "paid"})

    task = asyncio.create_task(later())
    assert await hub.wait("session:s1", since=3, timeout=5) == {"version": 4, "state": "paid"}
    await task
    assert hub.latest("session:s1") == {"version": 4, "state": "paid"}
    assert hub.waiter_count == 0


async def test_hub_numbers_events_without_a_version_and_keeps_the_newest() -> None:
    hub = LiveHub()
    hub.publish("system", {"message": "a"})
    hub.publish("system", {"message": "b"})
    assert hub.latest("system") == {"message": "b", "version": 2}
    hub.publish("payment:p", {"version": 5})
    hub.publish("payment:p", {"version": 4})  # late, out of order: not the latest
    assert hub.latest("payment:p") == {"version": 5}


@pytest.mark.parametrize("kept", [3])
async def test_hub_keeps_a_bounded_number_of_latest_events(kept: int) -> None:
    hub = LiveHub(latest_kept=kept)
    for i in range(10):
        hub.publish(f"payment:p{i}", {"version": 1})
    assert [hub.latest(f"payment:p{i}") is not None for i in range(10)] == [False] * 7 + [True] * 3
