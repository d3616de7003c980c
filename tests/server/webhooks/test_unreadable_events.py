"""Issue 16: a signed event payedge cannot read is recorded, acknowledged and listed for operators.

What the signature proves, payedge acknowledges (Stripe disables an endpoint that keeps
refusing): an event of a type payedge acts on but with a field it cannot read is
`flagged` (never applied half-read), one it cannot read at all is `unparsed`; both are
answered 200, counted in the metrics and listed by `GET /v1/webhook-events`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import payedge
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from payedge_server.app import create_app
from payedge_server.config import Config
from payedge_server.config.sections.auth import AuthConfig
from payedge_server.config.sections.gateways import GatewaysConfig
from payedge_server.config.sections.server import ServerConfig
from payedge_server.config.sections.store import StoreConfig
from payedge_server.config.sections.stripe import StripeConfig

SECRET = "whsec_unreadable"
AUTH = {"Authorization": "Bearer k"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    config = Config(
        auth=AuthConfig(api_keys=("k",)),
        store=StoreConfig(database_url=f"sqlite:///{tmp_path}/db.sqlite3"),
        server=ServerConfig(data_dir=tmp_path),
        gateways=GatewaysConfig(stripe=StripeConfig(webhook_secrets=(SECRET,))),
    )
    async with TestClient(TestServer(create_app(config))) as c:
        yield c


def _event(event_id: str, event_type: str, obj: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {"id": event_id, "object": "event", "type": event_type, "created": 1, "data": {"object": obj}}
    )


async def _deliver(client: TestClient[web.Request, web.Application], body: bytes) -> dict[str, Any]:
    header = payedge.sign_stripe(body, SECRET, int(time.time()))
    resp = await client.post("/v1/webhooks/stripe", data=body, headers={"Stripe-Signature": header})
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


# Signed events of the shapes the issue names (and siblings), with the outcome each gets.
CASES: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "evt_meta",
        "payment_intent.succeeded",
        {
            "id": "pi_1",
            "amount_received": 100,
            "currency": "eur",
            "status": "succeeded",
            "metadata": {"a": 1},
        },
        "unknown_object",
    ),
    (
        "evt_amount_obj",
        "payment_intent.succeeded",
        {
            "id": "pi_2",
            "status": "succeeded",
            "currency": "usd",
            "amount_received": {"value": 100, "currency": "usd"},
        },
        "flagged",
    ),
    ("evt_status_obj", "payment_intent.processing", {"id": "pi_3", "status": {"code": "x"}}, "flagged"),
    (
        "evt_other_odd",
        "customer.created",
        {"id": "cus_1", "amount": {"value": 1}, "status": []},
        "unhandled_type",
    ),
]


def _flagged_count(metrics: str) -> float:
    """payedge_webhooks_total for flagged stripe events (the counters are per process, not per app)."""
    labels = ("payedge_webhooks_total{", 'outcome="flagged"', 'provider="stripe"')
    counted = [line for line in metrics.splitlines() if all(label in line for label in labels)]
    return float(counted[0].rsplit(" ", 1)[1]) if counted else 0.0


async def test_signed_events_with_odd_fields_are_acknowledged_and_listed(
    client: TestClient[web.Request, web.Application],
) -> None:
    flagged_before = _flagged_count(await (await client.get("/metrics")).text())
    for event_id, event_type, obj, _ in CASES:
        assert await _deliver(client, _event(event_id, event_type, obj)) == {
            "received": True,
            "duplicate": False,
        }
    assert await _deliver(client, b"signed, but not JSON") == {"received": True, "duplicate": False}
    assert await _deliver(client, b"signed, but not JSON") == {"received": True, "duplicate": True}
    listed = await (await client.get("/v1/webhook-events", headers=AUTH)).json()
    outcomes = {e["event_id"]: e["outcome"] for e in listed["data"]}
    for event_id, _, _, outcome in CASES:
        assert outcomes[event_id] == outcome, event_id
    unparsed = [e for e in listed["data"] if e["outcome"] == "unparsed"]
    assert len(unparsed) == 1 and unparsed[0]["problem"]
    flagged = await (await client.get("/v1/webhook-events?outcome=flagged", headers=AUTH)).json()
    assert {e["event_id"] for e in flagged["data"]} == {"evt_amount_obj", "evt_status_obj"}
    assert all("data.object" in e["problem"] for e in flagged["data"])
    metrics = await (await client.get("/metrics")).text()
    assert _flagged_count(metrics) - flagged_before == 2


async def test_the_listing_needs_a_key_and_pages(client: TestClient[web.Request, web.Application]) -> None:
    assert (await client.get("/v1/webhook-events")).status == 401
    for i in range(5):
        await _deliver(client, _event(f"evt_page_{i}", "customer.created", {"id": f"cus_{i}"}))
    first = await (await client.get("/v1/webhook-events?limit=3", headers=AUTH)).json()
    assert len(first["data"]) == 3 and first["has_more"]
    last = first["data"][-1]
    cursor = f"{last['provider']}:{last['event_id']}"
    rest = await (
        await client.get(f"/v1/webhook-events?limit=3&starting_after={cursor}", headers=AUTH)
    ).json()
    seen = [e["event_id"] for e in first["data"] + rest["data"]]
    assert sorted(seen) == sorted(f"evt_page_{i}" for i in range(5))
    assert (await client.get("/v1/webhook-events?outcome=bogus", headers=AUTH)).status == 400
