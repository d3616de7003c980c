"""The example Mosquitto ACL in docs/mosquitto/ does what docs/parking.md says, on a real broker."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import gmqtt
import orjson
import pytest
from gmqtt.mqtt.constants import MQTTv50

from tests.support import services

DOCS = Path(__file__).resolve().parents[2] / "docs" / "mosquitto"
PARKING_TOPICS = {
    "parking/entry",
    "parking/exit/detected",
    "parking/barrier/status",
    "parking/payment/req",
    "parking/payment/success",
}

pytestmark = pytest.mark.timeout(30)


def test_bridge_carries_only_the_parking_topics() -> None:
    lines = [line.split() for line in (DOCS / "mosquitto-site.conf").read_text().splitlines()]
    topics = [words for words in lines if words and words[0] == "topic"]
    assert {words[1] for words in topics} == PARKING_TOPICS
    for words in topics:
        assert "#" not in words[1] and "+" not in words[1]
        assert words[2] in ("in", "out") and words[3] == "1"


async def _client(port: int, user: str, received: list[tuple[str, Any]] | None = None) -> gmqtt.Client:
    client = gmqtt.Client(f"{user}-acl-test")
    client.set_auth_credentials(user, "pw-" + user)
    if received is not None:
        client.on_message = lambda c, topic, payload, qos, props: received.append(
            (topic, orjson.loads(payload))
        )
    await client.connect("127.0.0.1", port, version=MQTTv50)
    return client


def _credentials(tmp: str) -> str:
    """A password file for the ACL's users, and the config lines that use it and the docs' ACL.

    Mosquitto started as root reads them after dropping to its own user: world-readable.
    """
    binary = services.find_binary("mosquitto_passwd")
    Path(tmp).chmod(0o755)
    passwd, acl = Path(tmp) / "passwd", Path(tmp) / "acl"
    shutil.copyfile(DOCS / "acl", acl)
    for index, user in enumerate(("payedge", "lane-exit", "lane-entry")):
        flags = ["-b", "-c"] if index == 0 else ["-b"]
        subprocess.run([binary, *flags, str(passwd), user, "pw-" + user], check=True, timeout=10)
    for path in (passwd, acl):
        path.chmod(0o644)
    return f"allow_anonymous false\npassword_file {passwd}\nacl_file {acl}\n"


async def test_only_payedge_may_authorise_an_exit() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await _check_acl(_credentials(tmp))


async def _check_acl(config: str) -> None:
    with services.mosquitto(extra_config=config) as port:
        seen: list[tuple[str, Any]] = []
        lane = await _client(port, "lane-exit", seen)
        lane.subscribe("parking/payment/#", qos=1)
        payedge = await _client(port, "payedge")
        entry_lane = await _client(port, "lane-entry")
        await asyncio.sleep(0.3)
        lane.publish("parking/payment/success", orjson.dumps({"msg_id": "forged-by-lane"}), qos=1)
        entry_lane.publish("parking/payment/success", orjson.dumps({"msg_id": "forged-by-entry"}), qos=1)
        payedge.publish("parking/payment/success", orjson.dumps({"msg_id": "real"}), qos=1)
        payedge.publish("parking/payment/req", orjson.dumps({"msg_id": "req"}), qos=1)
        for _ in range(40):
            if len(seen) >= 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert sorted(body["msg_id"] for _, body in seen) == ["real", "req"]
        for client in (lane, payedge, entry_lane):
            await client.disconnect()
