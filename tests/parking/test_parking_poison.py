"""Poison MQTT messages: recorded, audited, acknowledged, with no effect; the next message still applies.

A site's devices are a trusted channel: what they deliver is acknowledged (PUBACK 0x99, payload
format invalid) and recorded for operators, never redelivered forever and never applied
half-read. Real Mosquitto, the real `payedge serve`, once per store.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import payedge
import pytest
from payedge_server.contracts import Tx
from payedge_server.parking.service import ACK_PAYLOAD_INVALID, ParkingService

from tests.parking.harness import TARIFF_RULES, Api, Broker, Server, Site, connected, site_services
from tests.parking.test_parking_relay import store_at
from tests.support import stores

pytestmark = pytest.mark.timeout(90)

ENTRY = "parking/entry"
EXIT = "parking/exit/detected"
BARRIER = "parking/barrier/status"
NOW = int(time.time())


def fields(msg_id: Any = "", **more: Any) -> bytes:
    """A message body; msg_id "" means a fresh unique one."""
    return orjson.dumps(
        {"msg_id": msg_id or f"poison-{uuid.uuid4().hex}", "ts": NOW, "src": "lane-1", **more}
    )


# (case, topic, payload maker, the field the rejection names)
POISON: list[tuple[str, str, Callable[[], bytes], str]] = [
    ("not_json", EXIT, lambda: b"not json \xff", "payload"),
    ("json_array", ENTRY, lambda: b"[1, 2]", "payload"),
    ("json_scalar", ENTRY, lambda: b"42", "payload"),
    ("no_msg_id", ENTRY, lambda: orjson.dumps({"ts": NOW, "plate": "NOID-1"}), "msg_id"),
    ("msg_id_number", ENTRY, lambda: orjson.dumps({"msg_id": 7, "ts": NOW, "plate": "P-7"}), "msg_id"),
    ("msg_id_nul", ENTRY, lambda: fields(msg_id=f"m\x00{uuid.uuid4().hex}", plate="NUL-ID"), "msg_id"),
    ("ts_text", ENTRY, lambda: fields(ts="yesterday", plate="TS-1"), "ts"),
    ("ts_object", ENTRY, lambda: fields(ts={"s": NOW}, plate="TS-2"), "ts"),
    ("plate_number", ENTRY, lambda: fields(plate=123), "plate"),
    ("plate_object", ENTRY, lambda: fields(plate={"text": "AB-1"}), "plate"),
    ("plate_nul", ENTRY, lambda: fields(plate="AB\x00CD"), "plate"),
    ("badge_control", ENTRY, lambda: fields(badge="B\x07\x1b[2J"), "badge"),
    ("pin_number", EXIT, lambda: fields(plate="PIN-1", pin=1234), "pin"),
    ("pin_unicode_digits", EXIT, lambda: fields(plate="PIN-2", pin="١٢٣٤"), "pin"),
    ("barrier_shape_on_entry", ENTRY, lambda: fields(session_id="ps_x", result="opened"), "plate"),
    ("barrier_result_unknown", BARRIER, lambda: fields(session_id="ps_x", result="exploded"), "result"),
    ("barrier_result_list", BARRIER, lambda: fields(session_id="ps_x", result=["opened"]), "result"),
    ("barrier_session_number", BARRIER, lambda: fields(session_id=5, result="opened"), "session_id"),
]

# What a rejected message must leave untouched (the poison's own audit row and its
# processed_messages row aside).
COUNTED = {
    "sessions": "SELECT count(*) FROM parking_sessions",
    "payments": "SELECT count(*) FROM payments",
    "outbox": "SELECT count(*) FROM outbox",
    "applied_messages": "SELECT count(*) FROM processed_messages WHERE outcome <> 'rejected'",
    "other_audit": "SELECT count(*) FROM audit_log WHERE action <> 'mqtt.message_rejected'",
}


@pytest.fixture(scope="module")
def site_env(store_backend: str) -> Iterator[tuple[Broker, Server]]:
    with site_services() as env:
        yield env


@pytest.fixture
async def lane(site_env: tuple[Broker, Server]) -> AsyncIterator[tuple[Site, Api]]:
    async with connected(*site_env) as pair:
        yield pair


def counts(server: Server) -> dict[str, int]:
    return {name: int(stores.rows(server.database_url, sql)[0][0]) for name, sql in COUNTED.items()}


def rejections(server: Server) -> list[dict[str, Any]]:
    found = stores.rows(
        server.database_url,
        "SELECT actor, data FROM audit_log WHERE action = 'mqtt.message_rejected' ORDER BY id",
    )
    return [{"actor": actor, **orjson.loads(data)} for actor, data in found]


async def relay_status(api: Api) -> dict[str, Any]:
    body = await api.wait_ready()
    return dict(body["parking"]["mqtt"])


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("topic", "make", "param"), [row[1:] for row in POISON], ids=[row[0] for row in POISON]
)
async def test_poison_message_is_recorded_acknowledged_and_changes_nothing(
    lane: tuple[Site, Api], site_env: tuple[Broker, Server], topic: str, make: Callable[[], bytes], param: str
) -> None:
    site, api = lane
    server = site_env[1]
    before, audited, relay = counts(server), len(rejections(server)), await relay_status(api)
    site.publish_raw(topic, make())
    plate = f"GOOD-{uuid.uuid4().hex[:8]}"
    good_id = site.publish(ENTRY, plate=plate, ts=NOW)
    applied = f"SELECT count(*) FROM parking_sessions WHERE plate = '{plate}'"
    await until(
        lambda: len(rejections(server)) > audited and stores.rows(server.database_url, applied)[0][0] == 1
    )
    # Recorded once for operators: the topic and the field that was wrong.
    new = rejections(server)[audited:]
    assert [(r["actor"], r["topic"], r["param"]) for r in new] == [(f"mqtt:{topic}", topic, param)]
    # Nothing else changed but the good entry that followed it (a session and its processed id).
    session_id = stores.rows(server.database_url, f"SELECT id FROM parking_sessions WHERE plate = '{plate}'")
    own = "SELECT count(*) FROM audit_log WHERE subject = ?"
    good_audit = int(stores.rows(server.database_url, own, (session_id[0][0],))[0][0])
    assert good_audit >= 1
    assert counts(server) == {
        **before,
        "sessions": before["sessions"] + 1,
        "applied_messages": before["applied_messages"] + 1,
        "other_audit": before["other_audit"] + good_audit,
    }
    assert stores.rows(server.database_url, "SELECT 1 FROM processed_messages WHERE msg_id = ?", (good_id,))
    # Acknowledged: the handler answered (no failure, so no forced redelivery); each message seen once.
    now = await relay_status(api)
    assert now["last_error"] == relay["last_error"] is None
    assert now["received"] == relay["received"] + 2


async def test_a_message_on_a_topic_it_does_not_know_is_rejected_and_recorded(tmp_path: Path) -> None:
    """The relay subscribes to the inbound topics only; a kind it does not know is still refused."""
    async with store_at(tmp_path / "kinds.sqlite3") as store:

        def no_payments(tx: Tx, amount: int, currency: str, metadata: dict[str, Any]) -> dict[str, Any]:
            raise AssertionError("no payment expected")

        service = ParkingService(store, payedge.Tariff(TARIFF_RULES), no_payments)
        code = await service.handle_message("parking/teleport", fields(msg_id="k1", plate="T-1"))
        assert code == ACK_PAYLOAD_INVALID

        def read(tx: Tx) -> tuple[list[Any], list[Any]]:
            seen = tx.fetchall("SELECT msg_id, outcome FROM processed_messages")
            audit = tx.fetchall("SELECT action, data FROM audit_log")
            return seen, audit

        seen, audit = await store.read(read)
        assert [tuple(row) for row in seen] == [("k1", "rejected")]
        assert [(row[0], orjson.loads(row[1])["param"]) for row in audit] == [
            ("mqtt.message_rejected", "topic")
        ]
        # The same message again (a redelivery) is acknowledged and not recorded twice.
        assert await service.handle_message("parking/teleport", fields(msg_id="k1", plate="T-1")) == 0x99
        assert len((await store.read(read))[1]) == 1
