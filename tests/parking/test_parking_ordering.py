"""Messages about one vehicle are applied in arrival order; different vehicles in parallel.

A model test of `KeyedOrder` (random keys, random work durations, random
cancellations), and the rule on a real `payedge serve` on both stores: a site that
publishes entry then exit for many vehicles at once gets a payment request for
every one, never a `no_entry_on_record` flag (on PostgreSQL the exit used to be
committed first now and then).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from payedge_server.parking.messages import Inbound
from payedge_server.parking.ordering import KeyedOrder, vehicle_key

from tests.parking.harness import connected, site_services

jobs = st.lists(
    st.tuples(st.sampled_from("abc"), st.integers(0, 3), st.booleans()),  # key, ticks of work, cancelled
    min_size=1,
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(jobs)
@pytest.mark.sqlite_only
def test_same_key_runs_in_arrival_order_one_at_a_time(plan: list[tuple[str, int, bool]]) -> None:
    async def main() -> None:
        order = KeyedOrder()
        running: dict[str, int] = {}
        started: dict[str, list[int]] = {}

        async def job(i: int, key: str, ticks: int) -> None:
            async with order.turn(key):
                if running.get(key):
                    raise AssertionError(f"two jobs of {key} at once")
                running[key] = 1
                started.setdefault(key, []).append(i)
                try:
                    for _ in range(ticks):
                        await asyncio.sleep(0)
                finally:
                    running[key] = 0

        tasks = [asyncio.create_task(job(i, key, ticks)) for i, (key, ticks, _) in enumerate(plan)]
        await asyncio.sleep(0)  # every task has taken its turn
        for task, (_, _, cancel) in zip(tasks, plan, strict=True):
            if cancel:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for key, seen in started.items():
            assert seen == sorted(seen), (key, seen)  # arrival order, skipping the cancelled
        # Every job not cancelled ran (a cancelled one may have started before its cancel).
        kept = {i for i, (_, _, cancel) in enumerate(plan) if not cancel}
        assert kept <= {i for seen in started.values() for i in seen}
        assert len(order) == 0  # nothing left behind

    asyncio.run(main())


@pytest.mark.sqlite_only
def test_vehicle_key_prefers_plate_then_badge_then_session() -> None:
    base = Inbound("parking/exit/detected", "m", 0, "lane")
    assert vehicle_key(replace(base, plate="AB-1", badge="B")) == "plate:AB-1"
    assert vehicle_key(replace(base, badge="B")) == "badge:B"
    assert vehicle_key(replace(base, session_id="ps_1")) == "session:ps_1"
    assert vehicle_key(replace(base, pin="1234")) == "anonymous"  # never keyed by the PIN


async def test_entry_then_exit_for_many_vehicles_at_once_is_never_reordered() -> None:
    with site_services("--workers", "2") as (broker, server):
        async with connected(broker, server, "site-order") as (site, api):
            now = int(time.time())
            plates = [f"ORD-{i}" for i in range(60)]
            for plate in plates:
                site.publish("parking/entry", plate=plate, ts=now - 4000)
                site.publish("parking/exit/detected", plate=plate, ts=now)
            await site.wait_for(lambda: len(site.requests) >= len(plates), timeout=30)
            assert sorted(str(r["plate"]) for r in site.requests) == sorted(plates)
            status, body = await api.call("GET", "/v1/parking/sessions?limit=100")
            assert status == 200
            flagged = [s for s in body["data"] if s.get("flag_reason")]
            assert flagged == []
