"""Prometheus metrics (prometheus-client) and the GET /metrics handler."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterator, Sequence

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from payedge_server.contracts import Store, Tx

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpStats(Collector):
    """Requests by route/method/status and latency by route, for the event-loop thread.

    Plain integer counters updated without locks (only the event loop touches
    them) and exported at scrape time: prometheus-client's own Counter and
    Histogram take a lock per update, several microseconds on the hot path.
    """

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = {}
        self.latency: dict[str, tuple[list[int], list[float]]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        requests = self.requests
        requests[key] = requests.get(key, 0) + 1
        entry = self.latency.get(route)
        if entry is None:
            entry = self.latency[route] = ([0] * (len(LATENCY_BUCKETS) + 1), [0.0])
        entry[0][bisect_left(LATENCY_BUCKETS, seconds)] += 1
        entry[1][0] += seconds

    def collect(self) -> Iterator[Metric]:
        counter = CounterMetricFamily(
            "payedge_http_requests", "HTTP requests answered", labels=["route", "method", "status"]
        )
        for (route, method, status), n in sorted(self.requests.items()):
            counter.add_metric([route, method, str(status)], n)
        yield counter
        histogram = HistogramMetricFamily(
            "payedge_http_request_seconds", "HTTP request latency", labels=["route"]
        )
        for route, (counts, total) in sorted(self.latency.items()):
            cumulative = 0
            buckets = []
            for bound, n in zip((*LATENCY_BUCKETS, float("inf")), counts, strict=True):
                cumulative += n
                buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
            histogram.add_metric([route], buckets, total[0])
        yield histogram


HTTP = HttpStats()
REGISTRY.register(HTTP)


class LoopCounter(Collector):
    """A labelled counter for the event-loop thread: a plain dict, exported at scrape time.

    prometheus-client's Counter takes a lock and checks per `inc` (measured here:
    ~8 us per webhook); only the event loop updates these, so no lock is needed.
    """

    def __init__(self, name: str, documentation: str, labels: Sequence[str]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = list(labels)
        self.counts: dict[tuple[str, ...], int] = {}

    def inc(self, *values: str) -> None:
        self.counts[values] = self.counts.get(values, 0) + 1

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for values, n in sorted(self.counts.items()):
            family.add_metric(list(values), n)
        yield family


WEBHOOKS = LoopCounter(
    "payedge_webhooks", "Webhook deliveries by provider and outcome", ["provider", "outcome"]
)
PAYMENT_TRANSITIONS = LoopCounter(
    "payedge_payment_transitions", "Payments entering each status (committed)", ["status"]
)
STORE_RETRIES = LoopCounter(
    "payedge_store_conflict_retries", "Writes run again after a PostgreSQL serialization conflict", []
)
REGISTRY.register(WEBHOOKS)
REGISTRY.register(PAYMENT_TRANSITIONS)
REGISTRY.register(STORE_RETRIES)
STORE_BATCH = Histogram(
    "payedge_store_commit_batch_size",
    "Writes committed together by one group commit",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048),
)

PURGED = Counter("payedge_purged_rows", "Rows deleted by the housekeeping, past their retention", ["table"])

PAYMENTS = Gauge("payedge_payments", "Payments in the store by current status", ["status"])


def _count_by_status(tx: Tx) -> list[tuple[str, int]]:
    return [(str(s), int(n)) for s, n in tx.fetchall("SELECT status, COUNT(*) FROM payments GROUP BY status")]


def instance_name(port: int, configured: str | None = None) -> str:
    """This process's `payedge_instance` label: `server.instance` (--instance, PAYEDGE_INSTANCE),
    else host:port (/pid with workers)."""
    import os
    import socket

    if configured:
        return configured
    base = f"{socket.gethostname()}:{port}"
    return f"{base}/{os.getpid()}" if os.environ.get("PAYEDGE_WORKER") == "1" else base


class _Labelled(Collector):
    """Every sample of `registry` with the label `payedge_instance` added (several instances behind
    one load balancer: their series stay apart even where the scraper sees one target)."""

    def __init__(self, registry: CollectorRegistry, instance: str) -> None:
        self.registry = registry
        self.instance = instance

    def collect(self) -> Iterator[Metric]:
        for metric in self.registry.collect():
            labelled = Metric(metric.name, metric.documentation, metric.type, metric.unit)
            labelled.samples = [
                s._replace(labels={"payedge_instance": self.instance, **s.labels}) for s in metric.samples
            ]
            yield labelled


def handler(store: Store, instance: str = "") -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /metrics; payments by status are counted in the store at scrape time."""
    exposed = CollectorRegistry(auto_describe=False)
    exposed.register(_Labelled(REGISTRY, instance or instance_name(0)))

    async def handle_metrics(request: web.Request) -> web.Response:
        from payedge_server.payments.model import STATUSES

        counts = dict(await store.read(_count_by_status))
        for status in STATUSES:
            PAYMENTS.labels(status).set(counts.get(status, 0))
        return web.Response(body=generate_latest(exposed), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return handle_metrics
