"""Parking exit end to end: real Mosquitto, the real `payedge serve` process, a simulated lane."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import payedge
import pytest

from tests.parking.harness import TARIFF_RULES, Api, Broker, Server, Site, connected, site_services

pytestmark = pytest.mark.timeout(60)

ENTRY = "parking/entry"
EXIT = "parking/exit/detected"
BARRIER = "parking/barrier/status"


@pytest.fixture(scope="module")
def site_env(store_backend: str) -> Iterator[tuple[Broker, Server]]:
    with site_services() as env:
        yield env


@pytest.fixture
async def lane(site_env: tuple[Broker, Server]) -> AsyncIterator[tuple[Site, Api]]:
    async with connected(*site_env) as pair:
        yield pair


def actions(trail: list[dict[str, Any]]) -> list[str]:
    return [entry["action"] for entry in trail]


async def enter_and_exit(
    site: Site, plate: str, stay: int = 2 * 3600 + 5 * 60
) -> tuple[int, int, dict[str, Any]]:
    """A vehicle enters `stay` seconds ago and is detected at the exit; returns its payment request."""
    exit_ts = int(time.time())
    entry_ts = exit_ts - stay
    site.publish(ENTRY, plate=plate, ts=entry_ts)
    site.publish(EXIT, plate=plate, ts=exit_ts)
    await site.wait_for(lambda: any(r.get("plate") == plate for r in site.requests))
    request = next(r for r in site.requests if r.get("plate") == plate)
    return entry_ts, exit_ts, request


async def test_exit_priced_paid_authorised_once_and_closed(lane: tuple[Site, Api]) -> None:
    site, api = lane
    exit_ts = int(time.time())
    entry_ts = exit_ts - (3 * 3600 + 20 * 60)
    site.publish(ENTRY, plate="AB-123-CD", ts=entry_ts)
    exit_id = site.publish(EXIT, plate="AB-123-CD", ts=exit_ts)
    # The same detection delivered twice (QoS 1 redelivery), then a second detection.
    site.publish(EXIT, plate="AB-123-CD", ts=exit_ts, msg_id=exit_id)
    site.publish(EXIT, plate="AB-123-CD", ts=exit_ts + 3)
    await site.wait_for(lambda: len(site.requests) >= 3)
    requests = [r for r in site.requests if r.get("plate") == "AB-123-CD"]
    assert len(requests) == 3
    assert len({r["payment_id"] for r in requests}) == 1, (
        "a duplicate exit must never create a second payment"
    )
    assert len({r["msg_id"] for r in requests}) == 1, "a duplicate re-publishes the same request"
    request = requests[0]
    quote = payedge.Tariff(TARIFF_RULES).quote(entry_ts, exit_ts)
    assert (request["amount"], request["currency"]) == (quote.amount, quote.currency)
    assert request["duration"] == exit_ts - entry_ts
    assert request["src"] and request["ts"] and request["session_id"]
    session_id = request["session_id"]

    assert (await api.session(session_id))["session"]["payment_state"] == "requested"
    status, payment = await api.call("GET", f"/v1/payments/{request['payment_id']}")
    assert status == 200
    assert payment["amount"] == quote.amount
    assert payment["metadata"]["session_id"] == session_id

    status, body = await api.confirm(request["payment_id"])
    assert status == 200, body
    assert body["status"] == "succeeded"
    await site.wait_for(lambda: bool(site.successes_for(session_id)))
    await asyncio.sleep(0.5)  # any second authorisation would arrive by now
    [success] = site.successes_for(session_id)
    assert success["amount"] == quote.amount and success["currency"] == "EUR"
    assert success["provider_ref"] and success["reason"] == "payment"
    assert success["msg_id"] and success["ts"] and success["src"]

    view = await api.session(session_id)
    assert view["session"]["state"] == "paid"
    site.publish(BARRIER, session_id=session_id, result="opened", ts=exit_ts + 40)
    deadline = time.monotonic() + 5
    while view["session"]["state"] != "closed" and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        view = await api.session(session_id)
    session = view["session"]
    assert (session["state"], session["exit_ts"], session["entry_ts"]) == ("closed", exit_ts + 40, entry_ts)
    assert view["payment"]["status"] == "succeeded" and session["payment_state"] == "paid"
    trail = actions(view["timeline"])
    assert trail.count("session.payment_requested") == 1
    assert trail.count("session.exit_authorised") == 1
    assert trail[-1] == "session.closed"
    status, audit = await api.call("GET", "/v1/audit", session_id=session_id)
    assert status == 200 and actions(audit["data"]) == trail
    why = next(e for e in audit["data"] if e["action"] == "session.exit_authorised")
    assert why["payment_id"] == request["payment_id"] and why["data"]["authorisation"] == "payment"


async def test_declined_payment_publishes_nothing_and_shows_why(lane: tuple[Site, Api]) -> None:
    site, api = lane
    _, _, request = await enter_and_exit(site, "DECLINE-1")
    session_id = request["session_id"]
    status, body = await api.confirm(request["payment_id"], "pm_sandbox_decline")
    assert status in (200, 402), body
    await asyncio.sleep(1.0)
    assert site.successes_for(session_id) == []
    view = await api.session(session_id)
    assert view["session"]["state"] == "pending_payment"
    assert view["payment"]["status"] == "failed" and view["session"]["payment_state"] == "failed"
    failed = next(e for e in view["timeline"] if e["action"] == "payment.failed")
    assert "card_declined" in (failed["reason"] or "")
    # The driver tries again at the exit: a new payment attempt, same amount.
    site.publish(EXIT, plate="DECLINE-1", ts=int(time.time()))
    await site.wait_for(lambda: len(site.requests_for(session_id)) >= 2)
    retry = site.requests_for(session_id)[-1]
    assert retry["payment_id"] != request["payment_id"] and retry["amount"] == request["amount"]


async def test_operator_override_is_audited_and_announced(lane: tuple[Site, Api]) -> None:
    site, api = lane
    _, _, request = await enter_and_exit(site, "OVR-42")
    session_id = request["session_id"]
    async with api.http.ws_connect(api.base + "/v1/stream") as ws:
        await ws.send_json({"op": "subscribe", "channels": [f"session:{session_id}"]})
        status, body = await api.call(
            "POST",
            f"/v1/parking/sessions/{session_id}/override",
            {"operator": "alice", "reason": "card reader broken"},
        )
        assert status == 200, body
        # The session's live channel shows the change (a snapshot first, if this process saw one).
        event = await ws.receive_json(timeout=5)
        while not (event["type"] in ("event", "snapshot") and event["data"]["state"] == "paid"):
            event = await ws.receive_json(timeout=5)
        assert event["data"]["type"] == "parking.session" and event["data"]["session_id"] == session_id
    await site.wait_for(lambda: bool(site.successes_for(session_id)))
    [success] = site.successes_for(session_id)
    assert success["reason"] == "operator_override"
    status, audit = await api.call("GET", "/v1/audit", session_id=session_id)
    entry = next(e for e in audit["data"] if e["action"] == "session.exit_authorised")
    assert entry["actor"] == "operator:alice" and entry["reason"] == "card reader broken"
    assert entry["at"] > 0
    status, body = await api.call(
        "POST", f"/v1/parking/sessions/{session_id}/override", {"operator": "alice"}
    )
    assert status == 400 and body["error"]["param"] == "reason"


async def test_duplicates_of_every_inbound_message_have_one_effect(lane: tuple[Site, Api]) -> None:
    site, api = lane
    now = int(time.time())
    entry = site.publish(ENTRY, plate="DUP-7", ts=now - 3600)
    site.publish(ENTRY, plate="DUP-7", ts=now - 3600, msg_id=entry)
    site.publish(EXIT, plate="DUP-7", ts=now)
    await site.wait_for(lambda: any(r.get("plate") == "DUP-7" for r in site.requests))
    session_id = next(r for r in site.requests if r.get("plate") == "DUP-7")["session_id"]
    await api.call(
        "POST", f"/v1/parking/sessions/{session_id}/override", {"operator": "bob", "reason": "test"}
    )
    await site.wait_for(lambda: bool(site.successes_for(session_id)))
    opened = site.publish(BARRIER, session_id=session_id, result="opened", ts=now + 30)
    site.publish(BARRIER, session_id=session_id, result="opened", ts=now + 30, msg_id=opened)
    # A late fault report for the same passage changes nothing once closed.
    site.publish(BARRIER, session_id=session_id, result="fault", ts=now + 31)
    await asyncio.sleep(0.8)
    view = await api.session(session_id)
    assert view["session"]["state"] == "closed" and view["session"]["exit_ts"] == now + 30
    trail = actions(view["timeline"])
    assert trail.count("session.opened") == 1
    assert trail.count("barrier.opened") == 1
    assert trail.count("session.closed") == 1
    # A malformed message is acknowledged and audited, with no effect.
    site.publish_raw(EXIT, b"not json")
    site.publish(BARRIER, session_id=session_id, result="exploded")
    await asyncio.sleep(0.5)
    assert (await api.session(session_id))["session"]["state"] == "closed"


async def test_barrier_timeout_flags_the_session(lane: tuple[Site, Api]) -> None:
    site, api = lane
    _, _, request = await enter_and_exit(site, "TMO-1")
    session_id = request["session_id"]
    site.publish(BARRIER, session_id=session_id, result="timeout")
    await asyncio.sleep(0.5)
    view = await api.session(session_id)
    assert view["session"]["state"] == "flagged" and view["session"]["flag_reason"] == "barrier_timeout"


async def test_fallback_mode_trusted_badge_and_pin(lane: tuple[Site, Api]) -> None:
    site, api = lane
    status, _ = await api.call(
        "POST",
        "/v1/admin/parking/trusted",
        {"kind": "badge", "badge": "B-STAFF-1", "label": "night guard", "who": "admin"},
    )
    assert status == 201
    status, _ = await api.call(
        "POST",
        "/v1/admin/parking/trusted",
        {"kind": "pin", "pin": "483921", "label": "manager", "who": "admin"},
    )
    assert status == 201
    status, listed = await api.call("GET", "/v1/admin/parking/trusted")
    assert all("pin" not in entry and "pin_hash" not in entry for entry in listed["data"])
    async with api.http.ws_connect(api.base + "/v1/stream") as ws:
        await ws.send_json({"op": "subscribe", "channels": ["system"]})
        assert (await ws.receive_json(timeout=5))["type"] == "subscribed"
        status, mode = await api.call(
            "POST", "/v1/admin/fallback-mode", {"enabled": True, "who": "carol", "why": "internet link down"}
        )
        assert status == 200 and mode["enabled"] is True
        event = await ws.receive_json(timeout=5)
        while event["type"] != "event":
            event = await ws.receive_json(timeout=5)
        assert event["channel"] == "system"
        assert event["data"]["type"] == "parking.fallback_mode" and event["data"]["enabled"] is True
        assert event["data"]["who"] == "carol"
    ready = await api.wait_ready()
    assert "internet link down" in str(ready)

    now = int(time.time())
    site.publish(ENTRY, badge="B-STAFF-1", ts=now - 600 * 6)
    site.publish(EXIT, badge="B-STAFF-1", ts=now)
    site.publish(EXIT, pin="483921", plate="PIN-CAR", ts=now)
    await site.wait_for(
        lambda: len([s for s in site.successes if s["reason"] in ("trusted_badge", "pin")]) >= 2
    )
    by_reason = {s["reason"]: s for s in site.successes}
    badge_session = by_reason["trusted_badge"]["session_id"]
    assert site.requests_for(badge_session) == []
    status, audit = await api.call("GET", "/v1/audit", session_id=by_reason["pin"]["session_id"])
    entry = next(e for e in audit["data"] if e["action"] == "session.exit_authorised")
    assert entry["actor"].startswith("pin:") and "483921" not in str(audit)

    status, mode = await api.call(
        "POST", "/v1/admin/fallback-mode", {"enabled": False, "who": "carol", "why": "link back"}
    )
    assert mode["enabled"] is False
    # Out of fallback mode a wrong or right PIN opens nothing by itself.
    site.publish(EXIT, pin="483921", plate="PIN-CAR-2", ts=now)
    await asyncio.sleep(0.5)
    assert not any(
        s.get("reason") == "pin" and s["session_id"] != by_reason["pin"]["session_id"] for s in site.successes
    )


def test_mqtt_without_tariff_is_a_clear_error(tmp_path: Path) -> None:
    server = Server(tmp_path, 1, tmp_path / "x.json")
    index = server.args.index("--tariff")
    del server.args[index : index + 2]
    import subprocess

    done = subprocess.run(server.args, capture_output=True, timeout=30, check=False)
    assert done.returncode != 0
    assert b"--tariff" in done.stderr + done.stdout


async def test_edge_cases_are_flagged_or_refused(lane: tuple[Site, Api]) -> None:
    site, api = lane
    now = int(time.time())
    # Within the grace period: nothing to pay, the exit is authorised at once (no request).
    site.publish(ENTRY, plate="GRACE-1", ts=now - 300)
    site.publish(EXIT, plate="GRACE-1", ts=now)
    await site.wait_for(lambda: any(s["reason"] == "no_charge" for s in site.successes))
    free = next(s for s in site.successes if s["reason"] == "no_charge")
    assert free["amount"] == 0 and site.requests_for(free["session_id"]) == []
    # A second entry for a vehicle already inside opens nothing new.
    site.publish(ENTRY, plate="TWICE-1", ts=now - 7200)
    site.publish(ENTRY, plate="TWICE-1", ts=now - 7100)
    # An exit time before the entry time is flagged, not priced.
    site.publish(ENTRY, plate="CLOCK-1", ts=now)
    site.publish(EXIT, plate="CLOCK-1", ts=now - 60)
    # A vehicle with no entry on record is flagged for an operator.
    site.publish(EXIT, plate="GHOST-1", ts=now)
    site.publish(EXIT, plate="TWICE-1", ts=now)
    await site.wait_for(lambda: any(r.get("plate") == "TWICE-1" for r in site.requests))
    twice = next(r for r in site.requests if r.get("plate") == "TWICE-1")
    view = await api.session(twice["session_id"])
    assert view["session"]["entry_ts"] == now - 7200
    assert actions(view["timeline"]).count("session.entry_repeated") == 1
    for plate, reason in (("CLOCK-1", "exit_before_entry"), ("GHOST-1", "no_entry_on_record")):
        status, found = await api.call("GET", "/v1/parking/sessions", plate=plate)
        assert status == 200 and len(found["data"]) == 1, found
        assert (found["data"][0]["state"], found["data"][0]["flag_reason"]) == ("flagged", reason)
    status, found = await api.call("GET", "/v1/parking/sessions", plate="TWICE-1", state="pending_payment")
    assert [f["id"] for f in found["data"]] == [twice["session_id"]]
    # The barrier opening for a session nobody authorised is flagged.
    site.publish(BARRIER, session_id=twice["session_id"], result="opened", ts=now + 5)
    await asyncio.sleep(0.5)
    view = await api.session(twice["session_id"])
    assert (view["session"]["state"], view["session"]["flag_reason"]) == (
        "flagged",
        "opened_without_authorisation",
    )
    # Closed sessions cannot be overridden; unknown ones are 404.
    site.publish(BARRIER, session_id=free["session_id"], result="opened", ts=now + 5)
    await asyncio.sleep(0.5)
    status, body = await api.call(
        "POST", f"/v1/parking/sessions/{free['session_id']}/override", {"operator": "a", "reason": "b"}
    )
    assert status == 409 and body["error"]["code"] == "session_closed"
    status, body = await api.call("GET", "/v1/parking/sessions/ps_nosuchsession")
    assert status == 404 and body["error"]["code"] == "session_not_found"
    status, body = await api.call("GET", "/v1/audit")
    assert status == 400 and body["error"]["param"] == "session_id"
    status, body = await api.call(
        "POST", "/v1/admin/fallback-mode", {"enabled": "yes", "who": "a", "why": "b"}
    )
    assert status == 400 and body["error"]["param"] == "enabled"
    # A bad or misplaced field is refused (never ignored) and nothing is added.
    for bad, param in (
        ({"kind": "pin", "pin": "12"}, "pin"),
        ({"kind": "badge", "badge": "B-1", "pin": ["1234"]}, "pin"),
        ({"kind": "badge", "badge": "B-1", "pin": "1234"}, "pin"),
        ({"kind": "pin", "pin": "1234", "badge": "B-1"}, "badge"),
        ({"kind": "card", "badge": "B-1"}, "kind"),
    ):
        status, body = await api.call("POST", "/v1/admin/parking/trusted", {**bad, "label": "x", "who": "a"})
        assert status == 400 and body["error"]["param"] == param, (bad, body)
    status, body = await api.call("GET", "/v1/admin/parking/trusted")
    assert status == 200 and not any(e.get("badge") == "B-1" for e in body["data"]), body


async def test_openapi_documents_parking_routes(lane: tuple[Site, Api]) -> None:
    _, api = lane
    status, doc = await api.call("GET", "/openapi.json")
    assert status == 200
    for path, method in (
        ("/v1/parking/sessions", "get"),
        ("/v1/parking/sessions/{session_id}", "get"),
        ("/v1/parking/sessions/{session_id}/override", "post"),
        ("/v1/audit", "get"),
        ("/v1/admin/fallback-mode", "post"),
        ("/v1/admin/parking/trusted", "post"),
        ("/v1/admin/parking/trusted/{entry_id}", "delete"),
    ):
        assert doc["paths"][path][method]["summary"], (path, method)


async def test_async_payment_authorises_only_after_the_signed_webhook(lane: tuple[Site, Api]) -> None:
    site, api = lane
    _, _, request = await enter_and_exit(site, "ASYNC-1")
    session_id = request["session_id"]
    status, body = await api.confirm(request["payment_id"], "pm_sandbox_async")
    assert status in (200, 202), body
    assert body["status"] == "processing"
    assert site.successes_for(session_id) == []
    pending = (await api.session(session_id))["session"]
    assert (pending["state"], pending["payment_state"]) == ("pending_payment", "pending")
    # The sandbox later proves the payment with a signed webhook to the server itself.
    await site.wait_for(lambda: bool(site.successes_for(session_id)), timeout=15)
    [success] = site.successes_for(session_id)
    assert success["reason"] == "payment" and success["amount"] == request["amount"]
    view = await api.session(session_id)
    assert view["session"]["state"] == "paid" and view["payment"]["status"] == "succeeded"
    # A duplicate detection at the exit now re-announces the same authorisation.
    site.publish(EXIT, plate="ASYNC-1", ts=int(time.time()))
    await site.wait_for(lambda: len(site.successes_for(session_id)) >= 2)
    assert {s["msg_id"] for s in site.successes_for(session_id)} == {success["msg_id"]}
