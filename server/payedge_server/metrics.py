"""Prometheus metrics (prometheus-client) and the GET /metrics handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

from payedge_server.contracts import Store, Tx

REQUESTS = Counter("payedge_http_requests_total", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram(
    "payedge_http_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBHOOKS = Counter(
    "payedge_webhooks_total", "Webhook deliveries by provider and outcome", ["provider", "outcome"]
)
PAYMENT_TRANSITIONS = Counter(
    "payedge_payment_transitions_total", "Payments entering each status", ["status"]
)
STORE_BATCH = Histogram(
    "payedge_store_commit_batch_size",
    "Writes committed together by one group commit",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048),
)

PAYMENTS = Gauge("payedge_payments", "Payments in the store by current status", ["status"])


def _count_by_status(tx: Tx) -> list[tuple[str, int]]:
    return [(str(s), int(n)) for s, n in tx.fetchall("SELECT status, COUNT(*) FROM payments GROUP BY status")]


def handler(store: Store) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /metrics; payments by status are counted in the store at scrape time."""

    async def handle_metrics(request: web.Request) -> web.Response:
        from payedge_server.payments.states import STATUSES

        counts = dict(await store.read(_count_by_status))
        for status in STATUSES:
            PAYMENTS.labels(status).set(counts.get(status, 0))
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return handle_metrics
