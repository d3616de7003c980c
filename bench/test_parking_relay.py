"""Load test of the parking relay, end to end and bounded.

Through a real Mosquitto and the real `payedge serve` process: vehicles enter,
are detected at the exit, the server prices each exit with the site tariff and
publishes a payment request; the simulated lane confirms each payment through
the API (sandbox `pm_sandbox_ok`, one payer per request, all concurrent); the
server publishes one authorisation per exit.

- burst: 1,000 exits published at once: exits/s end to end (first exit published
  -> last authorisation received), MQTT messages/s through the relay (3 per exit in the timed window:
  detection in, request out, authorisation out);
- paced: 500 more exits offered at a steady rate below saturation: exit latency
  (exit published -> authorisation received) p50/p99 without queueing.

Every exit must be priced exactly as `Tariff.quote` prices it and authorised.
Target: >= 1,000 exits/s on this machine (`make bench` asserts it). `BENCH_QUICK`
asserts the server's CPU per exit is within twice the target's budget (1 ms) and
that the burst completes, since wall-clock rates on 2 shared cores swing 4x.
Knobs: PARKING_BENCH_VEHICLES, PARKING_BENCH_PACED_RATE, PARKING_BENCH_SERVER_ARGS
(e.g. "--workers 2").
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import payedge
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from bench.conftest import QUICK
from bench.http.run import group_cpu_seconds
from tests.parking.harness import TARIFF_RULES, Api, Broker, Server, Site, connected, site_services

VEHICLES = int(os.environ.get("PARKING_BENCH_VEHICLES", "1000"))
PACED = VEHICLES // 2
PACED_RATE = float(os.environ.get("PARKING_BENCH_PACED_RATE", "150"))
TARGET_EXITS_PER_S = 1000.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


class Lane:
    """The site plus its payers: every payment request is confirmed once through the API."""

    def __init__(self, site: Site, api: Api) -> None:
        self.site, self.api = site, api
        self.asked: set[str] = set()
        self.tasks: list[asyncio.Task[None]] = []
        self.failures: list[Any] = []
        site.on_request = self._on_request

    def _on_request(self, request: dict[str, Any]) -> None:
        if request["payment_id"] not in self.asked:  # a re-published request is the same payment
            self.asked.add(request["payment_id"])
            self.tasks.append(asyncio.ensure_future(self._pay(request["payment_id"])))

    async def _pay(self, payment_id: str) -> None:
        status, body = await self.api.confirm(payment_id)
        if status != 200 or body.get("status") != "succeeded":
            self.failures.append(body)

    async def run(
        self, plates: dict[str, int], now: int, rate: float | None
    ) -> tuple[float, dict[str, float]]:
        """Entries, then exits (all at once, or at `rate` per second); waits for every authorisation."""
        for plate, stay in plates.items():
            await self.site.send("parking/entry", plate=plate, ts=now - stay)
        await asyncio.sleep(0.5)
        expected = len(self.site.successes) + len(plates)
        sent: dict[str, float] = {}
        start = time.perf_counter()
        for index, plate in enumerate(plates):
            if rate is not None:
                await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
            sent[plate] = time.perf_counter()
            await self.site.send("parking/exit/detected", plate=plate, ts=now)
        await self.site.wait_for(lambda: len(self.site.successes) >= expected, timeout=60)
        elapsed = time.perf_counter() - start
        await asyncio.gather(*self.tasks)
        return elapsed, sent


def _check_and_measure(site: Site, plates: dict[str, int], sent: dict[str, float], now: int) -> list[float]:
    tariff = payedge.Tariff(TARIFF_RULES)
    sessions = {r["session_id"]: r for r in site.requests if r.get("plate") in plates}
    assert {r["plate"] for r in sessions.values()} == set(plates), "every exit priced"
    for request in sessions.values():
        assert request["amount"] == tariff.quote(now - plates[request["plate"]], now).amount
    authorised = {s["session_id"] for s in site.successes if s["session_id"] in sessions}
    assert authorised == set(sessions), "every exit authorised"
    return [
        site.received_at[f"parking/payment/success:{sid}"] - sent[request["plate"]]
        for sid, request in sessions.items()
    ]


async def _scenario(broker: Broker, server: Server) -> dict[str, Any]:
    assert server.proc is not None
    async with connected(broker, server) as (site, api):
        assert broker.proc is not None
        return await _measure(server.proc.pid, broker.proc.pid, Lane(site, api))


async def _measure(server_pid: int, broker_pid: int, lane: Lane) -> dict[str, Any]:
    site, now = lane.site, int(time.time())
    burst = {f"BURST-{i:05d}": 1200 + (i * 137) % (30 * 3600) for i in range(VEHICLES)}
    server_cpu, client_cpu = group_cpu_seconds(server_pid), time.process_time()
    broker_cpu = group_cpu_seconds(broker_pid)
    elapsed, sent = await lane.run(burst, now, None)
    server_cpu = group_cpu_seconds(server_pid) - server_cpu
    broker_cpu = group_cpu_seconds(broker_pid) - broker_cpu
    client_cpu = time.process_time() - client_cpu
    burst_latency = _check_and_measure(site, burst, sent, now)
    paced = {f"PACED-{i:05d}": 1800 + (i * 211) % (8 * 3600) for i in range(PACED)}
    _, paced_sent = await lane.run(paced, now, PACED_RATE)
    paced_latency = _check_and_measure(site, paced, paced_sent, now)
    assert lane.failures == []
    per_session: dict[str, int] = {}
    for success in site.successes:
        per_session[success["session_id"]] = per_session.get(success["session_id"], 0) + 1
    return {
        "exits_per_s": VEHICLES / elapsed,
        "messages_per_s": 3 * VEHICLES / elapsed,
        "burst_elapsed_s": elapsed,
        "burst_p50_ms": _percentile(burst_latency, 0.5) * 1000,
        "burst_p99_ms": _percentile(burst_latency, 0.99) * 1000,
        "paced_rate": PACED_RATE,
        "paced_p50_ms": _percentile(paced_latency, 0.5) * 1000,
        "paced_p99_ms": _percentile(paced_latency, 0.99) * 1000,
        "server_cpu_ms_per_exit": server_cpu / VEHICLES * 1000,
        "broker_cpu_ms_per_exit": broker_cpu / VEHICLES * 1000,
        "client_cpu_ms_per_exit": client_cpu / VEHICLES * 1000,
        "repeated_authorisations": sum(per_session.values()) - len(per_session),
    }


@pytest.mark.timeout(300)
def test_parking_exits_end_to_end(benchmark: BenchmarkFixture) -> None:
    results: list[dict[str, Any]] = []
    with site_services(*os.environ.get("PARKING_BENCH_SERVER_ARGS", "").split()) as (broker, server):
        benchmark.pedantic(lambda: results.append(asyncio.run(_scenario(broker, server))), rounds=1)
    [f] = results
    print(
        f"\nparking relay, burst of {VEHICLES} exits: {f['burst_elapsed_s']:.2f}s"
        f" = {f['exits_per_s']:.0f} exits/s"
        f" ({f['messages_per_s']:.0f} MQTT messages/s through the relay), latency under the burst"
        f" p50 {f['burst_p50_ms']:.0f} ms p99 {f['burst_p99_ms']:.0f} ms;"
        f"\n  paced {PACED} exits at {PACED_RATE:.0f}/s: exit latency p50 {f['paced_p50_ms']:.1f} ms,"
        f" p99 {f['paced_p99_ms']:.1f} ms; CPU per exit: server {f['server_cpu_ms_per_exit']:.2f} ms,"
        f" Mosquitto {f['broker_cpu_ms_per_exit']:.2f} ms,"
        f" lane simulator {f['client_cpu_ms_per_exit']:.2f} ms;"
        f" repeated authorisations (QoS 1)"
        f" {f['repeated_authorisations']}"
    )
    benchmark.extra_info.update(f)
    if QUICK:
        # Wall-clock throughput on 2 cores shared with compilers swings 4x between runs; the
        # server's CPU per exit does not. The target (1,000 exits/s on one core) is 1 ms of
        # server CPU per exit: the floor is half that efficiency, plus plain liveness.
        assert f["server_cpu_ms_per_exit"] <= 2 * 1000 / TARGET_EXITS_PER_S
        assert f["exits_per_s"] >= 50
    else:
        assert f["exits_per_s"] >= TARGET_EXITS_PER_S
