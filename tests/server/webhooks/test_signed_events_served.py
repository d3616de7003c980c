"""Issue 16 against the real `payedge serve` (once per store): what a signature proves is acknowledged.

A correctly signed delivery payedge cannot interpret is answered 200, recorded (`unparsed`,
or `flagged` when it is of a type payedge acts on) and listed by `GET /v1/webhook-events`;
it is never refused as `invalid_signature` and never applied half-read.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import aiohttp
import orjson
import payedge
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from payedge_server.webhooks.listing import OUTCOMES

from tests.server.support import Server, stripe_headers

pytestmark = pytest.mark.timeout(180)


async def _post(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> dict[str, Any]:
    async with http.post(url, data=body, headers=headers) as resp:
        text = await resp.text()
        assert resp.status == 200, text
        return dict(orjson.loads(text))


async def _recorded(http: aiohttp.ClientSession, srv: Server, provider: str, event_id: str) -> dict[str, Any]:
    """The event's row in GET /v1/webhook-events (newest first: it is on the first page)."""
    query = f"/v1/webhook-events?provider={provider}&limit=5"
    async with http.get(srv.url + query, headers=srv.headers()) as resp:
        assert resp.status == 200, await resp.text()
        listed = await resp.json()
    found = [e for e in listed["data"] if e["event_id"] == event_id]
    assert len(found) == 1, (event_id, listed["data"])
    return dict(found[0])


# --- the sandbox route (Standard Webhooks) ----------------------------------------------------


def _sandbox_headers(srv: Server, body: bytes, event_id: str) -> dict[str, str]:
    secret = (srv.data_dir / "sandbox_webhook_secret").read_text().strip()
    ts = int(time.time())
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": payedge.sign_standard(event_id, ts, body, secret),
    }


def _sandbox_cases(payment_id: str) -> list[tuple[str, bytes, str]]:
    """(case, signed body, outcome); the ones naming `payment_id` must leave that payment alone."""

    def event(event_type: Any, data: Any, **more: Any) -> bytes:
        return orjson.dumps({"type": event_type, "created": int(time.time()), "data": data, **more})

    return [
        ("not_json", b"signed, but not JSON", "unparsed"),
        ("json_array", b"[1, 2, 3]", "unparsed"),
        ("type_not_text", event(5, {"payment_id": payment_id}), "unparsed"),
        ("type_missing", orjson.dumps({"data": {"payment_id": payment_id, "amount": 1234}}), "unparsed"),
        ("data_a_list", event("payment.succeeded", [payment_id]), "flagged"),
        ("payment_id_number", event("payment.succeeded", {"payment_id": 42, "amount": 1234}), "flagged"),
        (
            "amount_object",
            event("payment.succeeded", {"payment_id": payment_id, "amount": {"v": 1}}),
            "flagged",
        ),
        ("amount_text", event("payment.succeeded", {"payment_id": payment_id, "amount": "1234"}), "flagged"),
        ("amount_bool", event("payment.succeeded", {"payment_id": payment_id, "amount": True}), "flagged"),
        ("amount_float", event("payment.succeeded", {"payment_id": payment_id, "amount": 12.34}), "flagged"),
        (
            "created_text",
            event("payment.failed", {"payment_id": payment_id}, created="yesterday"),
            "flagged",
        ),
        ("payment_id_nul", event("payment.failed", {"payment_id": payment_id + "\x00"}), "flagged"),
        (
            "unknown_type_odd_fields",
            event("thing.happened", {"payment_id": [1], "amount": "x"}),
            "unhandled_type",
        ),
    ]


async def _payment(http: aiohttp.ClientSession, srv: Server, payment_id: str) -> dict[str, Any]:
    async with http.get(srv.url + f"/v1/payments/{payment_id}", headers=srv.headers()) as resp:
        assert resp.status == 200, await resp.text()
        return dict(await resp.json())


async def test_signed_sandbox_events_payedge_cannot_read_are_acknowledged_and_listed(
    server: Server, http: aiohttp.ClientSession
) -> None:
    body = {"amount": 1234, "currency": "EUR", "payment_method": "pm_sandbox_ok"}
    async with http.post(server.url + "/v1/payments", json=body, headers=server.headers()) as resp:
        assert resp.status == 201, await resp.text()
        payment = await resp.json()
    url = server.url + "/v1/webhooks/sandbox"
    for case, signed, outcome in _sandbox_cases(payment["id"]):
        event_id = f"msg_{case}_{uuid.uuid4().hex[:8]}"
        headers = _sandbox_headers(server, signed, event_id)
        assert await _post(http, url, signed, headers) == {"received": True, "duplicate": False}, case
        row = await _recorded(http, server, "sandbox", event_id)
        assert row["outcome"] == outcome, (case, row)
        if outcome != "unhandled_type":
            assert row["problem"], (case, row)
        # The same delivery again: acknowledged as a duplicate, not recorded twice.
        assert await _post(http, url, signed, headers) == {"received": True, "duplicate": True}, case
    # Nothing was applied half-read: the payment is as created, with no history from a webhook.
    now = await _payment(http, server, payment["id"])
    keys = ("status", "version", "amount_captured", "gateway_ref")
    assert {k: now[k] for k in keys} == {k: payment[k] for k in keys}
    history = "SELECT source FROM payment_status_history WHERE payment_id = ?"
    assert not [s for (s,) in server.rows(history, (payment["id"],)) if str(s).startswith("webhook:")]
    # A readable event after them is still applied.
    good = orjson.dumps({"type": "payment.succeeded", "data": {"payment_id": payment["id"], "amount": 1234}})
    event_id = f"msg_good_{uuid.uuid4().hex[:8]}"
    assert await _post(http, url, good, _sandbox_headers(server, good, event_id)) == {
        "received": True,
        "duplicate": False,
    }
    assert (await _recorded(http, server, "sandbox", event_id))["outcome"] == "applied"
    now = await _payment(http, server, payment["id"])
    assert (now["status"], now["amount_captured"]) == ("succeeded", 1234)


# --- Stripe: signed events with random JSON in data.object (hypothesis) -----------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too: json.dumps writes any integer
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
objects = st.fixed_dictionaries(
    {},
    optional={
        name: json_values
        for name in (
            "id",
            "object",
            "amount",
            "amount_received",
            "amount_refunded",
            "status",
            "currency",
            "metadata",
            "payment_intent",
            "latest_charge",
            "last_payment_error",
            "charges",
            "created",
        )
    },
)
EVENT_TYPES = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.processing",
    "payment_intent.canceled",
    "payment_intent.amount_capturable_updated",
    "charge.succeeded",
    "charge.refunded",
    "charge.refund.updated",
    "customer.created",
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(event_type=st.sampled_from(EVENT_TYPES), obj=objects, ascii_only=st.booleans())
async def test_signed_stripe_events_with_any_json_in_the_object_are_acknowledged_and_recorded(
    server: Server, http: aiohttp.ClientSession, event_type: str, obj: dict[str, Any], ascii_only: bool
) -> None:
    event_id = f"evt_prop_{uuid.uuid4().hex}"
    event = {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }
    body = json.dumps(event, ensure_ascii=ascii_only).encode()
    url = server.url + "/v1/webhooks/stripe"
    assert await _post(http, url, body, stripe_headers(body)) == {"received": True, "duplicate": False}
    row = await _recorded(http, server, "stripe", event_id)
    assert row["outcome"] in OUTCOMES, row
    assert row["type"] == event_type
