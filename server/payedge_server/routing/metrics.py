"""Prometheus metrics per gateway (SPEC 5): attempts by outcome, their latency, and health.

- `payedge_gateway_attempts_total{gateway, outcome}`: every call to a gateway on confirm
  (outcome: succeeded, processing, declined, rejected, unavailable, timeout);
- `payedge_gateway_attempt_seconds{gateway}`: their latency (a histogram);
- at scrape time, from the router: `payedge_gateway_circuit{gateway}` (0 closed, 1
  half-open, 2 open), `payedge_gateway_success_rate{gateway, currency,
  payment_method_type}` (over the last outcomes, this instance's and its peers'), and
  `payedge_gateway_latency_p50_seconds` / `_p99_seconds{gateway}` (this instance's).

Updated on the event loop only, without locks (as metrics.LoopCounter).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

import payedge
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from payedge_server.metrics import LATENCY_BUCKETS, LoopCounter
from payedge_server.routing.plan import Tried

ATTEMPTS = LoopCounter(
    "payedge_gateway_attempts", "Calls to a gateway on confirm, by outcome", ["gateway", "outcome"]
)
_CIRCUIT = {"closed": 0, "half_open": 1, "open": 2}


class AttemptLatency(Collector):
    def __init__(self) -> None:
        self.by_gateway: dict[str, tuple[list[int], list[float]]] = {}

    def observe(self, gateway: str, seconds: float) -> None:
        entry = self.by_gateway.get(gateway)
        if entry is None:
            entry = self.by_gateway[gateway] = ([0] * (len(LATENCY_BUCKETS) + 1), [0.0])
        entry[0][bisect_left(LATENCY_BUCKETS, seconds)] += 1
        entry[1][0] += seconds

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "payedge_gateway_attempt_seconds", "Latency of calls to a gateway on confirm", labels=["gateway"]
        )
        for gateway, (counts, total) in sorted(self.by_gateway.items()):
            cumulative, buckets = 0, []
            for bound, n in zip((*LATENCY_BUCKETS, float("inf")), counts, strict=True):
                cumulative += n
                buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
            family.add_metric([gateway], buckets, total[0])
        yield family


class RouterHealth(Collector):
    """The router's view at scrape time (the app sets `router` when it starts)."""

    def __init__(self) -> None:
        self.router: payedge.Router | None = None

    def collect(self) -> Iterator[Metric]:
        circuit = GaugeMetricFamily(
            "payedge_gateway_circuit",
            "Circuit of a gateway: 0 closed, 1 half-open, 2 open",
            labels=["gateway"],
        )
        rate = GaugeMetricFamily(
            "payedge_gateway_success_rate",
            "Successes over the last outcomes (this instance and its peers)",
            labels=["gateway", "currency", "payment_method_type"],
        )
        p50 = GaugeMetricFamily(
            "payedge_gateway_latency_p50_seconds", "Median attempt latency", labels=["gateway"]
        )
        p99 = GaugeMetricFamily(
            "payedge_gateway_latency_p99_seconds", "p99 attempt latency", labels=["gateway"]
        )
        health = self.router.health() if self.router is not None else {}
        for gateway, h in sorted(health.items()):
            circuit.add_metric([gateway], _CIRCUIT[h["circuit"]])
            for window in h["success_rate"]:
                if window["total"]:
                    labels = [gateway, window["currency"], window["payment_method_type"] or ""]
                    rate.add_metric(labels, window["successes"] / window["total"])
            latency = h["latency_ms"]
            if latency["p50"] is not None:
                p50.add_metric([gateway], latency["p50"] / 1000)
            if latency["p99"] is not None:
                p99.add_metric([gateway], latency["p99"] / 1000)
        yield from (circuit, rate, p50, p99)


LATENCY = AttemptLatency()
HEALTH = RouterHealth()
for _collector in (ATTEMPTS, LATENCY, HEALTH):
    REGISTRY.register(_collector)


def observe(tried: Tried) -> None:
    ATTEMPTS.inc(tried.gateway, tried.outcome.value)
    LATENCY.observe(tried.gateway, tried.latency_ms / 1000)
