"""Inbound message validation and MQTT URL parsing (pure functions)."""

from __future__ import annotations

import orjson
import pytest
from payedge_server.mqtt_relay import MqttTarget
from payedge_server.parking.messages import BadMessage, parse


def body(**fields: object) -> bytes:
    return orjson.dumps({"msg_id": "m1", "ts": 1_700_000_000, "src": "lane-1", **fields})


def test_entry_exit_barrier_parse() -> None:
    entry = parse("parking/entry", body(plate=" AB-123-CD "))
    assert (entry.plate, entry.ts, entry.msg_id, entry.src) == ("AB-123-CD", 1_700_000_000, "m1", "lane-1")
    exit_ = parse("parking/exit/detected", body(session_id="ps_1", pin="1234"))
    assert exit_.session_id == "ps_1" and exit_.pin == "1234"
    assert "1234" not in str(exit_.identity())
    barrier = parse("parking/barrier/status", body(session_id="ps_1", result="opened"))
    assert barrier.result == "opened"
    assert parse("parking/entry", body(badge="B1", ts=1_700_000_000.9)).ts == 1_700_000_000


@pytest.mark.parametrize(
    ("topic", "payload", "param"),
    [
        ("parking/entry", b"{", "payload"),
        ("parking/entry", b"[1]", "payload"),
        ("parking/entry", orjson.dumps({"ts": 1, "plate": "A"}), "msg_id"),
        ("parking/entry", body(ts="yesterday", plate="A"), "ts"),
        ("parking/entry", body(ts=True, plate="A"), "ts"),
        ("parking/entry", body(ts=-1, plate="A"), "ts"),
        ("parking/entry", body(), "plate"),
        ("parking/entry", body(plate=""), "plate"),
        ("parking/entry", body(plate="x" * 200), "plate"),
        ("parking/exit/detected", body(), "plate"),
        ("parking/exit/detected", body(plate="A", pin="12ab"), "pin"),
        ("parking/barrier/status", body(result="opened"), "session_id"),
        ("parking/barrier/status", body(session_id="ps_1", result="melted"), "result"),
        ("parking/other", body(), "topic"),
        # Control characters: U+0000 cannot be stored in PostgreSQL text (a poison loop otherwise).
        ("parking/entry", body(msg_id="m\x00", plate="A"), "msg_id"),
        ("parking/entry", body(msg_id="   ", plate="A"), "msg_id"),
        ("parking/entry", body(plate="A\x00B"), "plate"),
        ("parking/entry", body(badge="B\x1b[2J"), "badge"),
        ("parking/exit/detected", body(plate="A", pin="\u0661\u0662\u0663\u0664"), "pin"),
    ],
)
def test_bad_messages_name_the_field(topic: str, payload: bytes, param: str) -> None:
    with pytest.raises(BadMessage) as info:
        parse(topic, payload)
    assert info.value.param == param


def test_mqtt_url() -> None:
    target = MqttTarget.parse("mqtt://user:p%40ss@broker.local:1884?client_id=site-42")
    assert (target.host, target.port, target.ssl, target.username, target.password, target.client_id) == (
        "broker.local",
        1884,
        False,
        "user",
        "p@ss",
        "site-42",
    )
    assert MqttTarget.parse("mqtts://h").port == 8883
    assert MqttTarget.parse("mqtt://h").client_id == "payedge-edge"
    with pytest.raises(ValueError, match="mqtt_url"):
        MqttTarget.parse("http://h")
