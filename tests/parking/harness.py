"""End-to-end harness for parking: a restartable Mosquitto, the real `payedge serve`
process (SIGTERM or SIGKILL, restart on the same database), and a simulated site
(exit lane and barrier) speaking MQTT 5 with gmqtt.

Everything binds 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import gmqtt
import orjson
from gmqtt.mqtt.constants import MQTTv50

from tests.support import services, stores

API_KEY = "sk_test_parking_e2e_key"
# The SPEC's example site tariff (shared with the tariff tests and benches).
TARIFF_FILE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "paris.json"
TARIFF_RULES: dict[str, Any] = orjson.loads(TARIFF_FILE.read_bytes())
PAYMENT_TOPICS = ("parking/payment/req", "parking/payment/success")


class Broker:
    """Mosquitto on a fixed port with a persistence directory that survives restarts."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.binary = services.find_binary("mosquitto")
        self.port = port or services.free_port()
        self.data = workdir / f"mosquitto-{self.port}"
        self.data.mkdir(parents=True, exist_ok=True)
        self.conf = self.data / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {self.data}/\nmax_queued_messages 100000\n"
            "max_inflight_messages 1000\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.data / "mosquitto.log"

    def start(self) -> None:
        self.proc = services.spawn([self.binary, "-c", str(self.conf)], self.port, self.log)

    def stop(self) -> None:
        if self.proc is not None:
            services.stop(self.proc)
            self.proc = None


class Server:
    """The real `payedge serve` with MQTT and a tariff, restartable on the same database."""

    def __init__(self, workdir: Path, broker_port: int, tariff: Path) -> None:
        self.port = services.free_port()
        self.db = workdir / "payedge.sqlite3"
        # The store the test runs on (tests/support/stores.py): this file, or a PostgreSQL database.
        self.database_url = stores.current().database_url(workdir)
        self.log = workdir / f"server-{self.port}.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [
            str(Path(sys.executable).with_name("payedge")),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--database-url",
            self.database_url,
            "--mqtt-url",
            f"mqtt://127.0.0.1:{broker_port}?client_id=payedge-test-{uuid.uuid4().hex[:8]}",
            "--tariff",
            str(tariff),
            "--api-key",
            API_KEY,
        ]
        self.proc: subprocess.Popen[bytes] | None = None
        if os.environ.get("PK_PROFILE"):
            self.args[:2] = [sys.executable, os.environ["PK_PROFILE"]]

    def start(self) -> None:
        self.proc = services.spawn(self.args, self.port, self.log, timeout=30)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None:
            services.stop(self.proc, sig)
            self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="payedge-parking-") as tmp:
        yield Path(tmp)


def write_tariff(workdir: Path, rules: dict[str, Any] | None = None) -> Path:
    path = workdir / "tariff.json"
    path.write_bytes(orjson.dumps(rules or TARIFF_RULES))
    return path


@contextlib.contextmanager
def site_services(*server_args: str) -> Iterator[tuple[Broker, Server]]:
    """A broker and `payedge serve` wired to it, in a throwaway directory; both stopped after."""
    with workspace() as work:
        broker = Broker(work)
        broker.start()
        server = Server(work, broker.port, write_tariff(work))
        server.args += server_args
        try:
            server.start()
            yield broker, server
        finally:
            server.stop()
            broker.stop()


@contextlib.asynccontextmanager
async def connected(
    broker: Broker, server: Server, client_id: str | None = None
) -> AsyncIterator[tuple[Site, Api]]:
    """The site's MQTT client and an API client, once the server is ready."""
    site, api = Site(broker.port, client_id), Api(server.url)
    try:
        await api.wait_ready()
        await site.connect()
        yield site, api
    finally:
        await site.disconnect()
        await api.close()


class Site:
    """The parking site's devices: publishes inbound messages, collects payment messages."""

    def __init__(self, port: int, client_id: str | None = None) -> None:
        self.port = port
        self.client = gmqtt.Client(
            client_id or f"site-{uuid.uuid4().hex[:8]}",
            clean_session=False,
            session_expiry_interval=3600,
            receive_maximum=10000,
        )
        self.client.set_config({"reconnect_delay": 0.2})
        self.requests: list[dict[str, Any]] = []
        self.successes: list[dict[str, Any]] = []
        self.received_at: dict[str, float] = {}
        self._changed = asyncio.Event()
        self.on_request: Any = None
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect

    def _on_connect(self, client: Any, flags: int, rc: int, properties: Any) -> None:
        client.subscribe([gmqtt.Subscription(topic, qos=1) for topic in PAYMENT_TOPICS])

    def _on_message(self, client: Any, topic: str, payload: bytes, qos: int, properties: Any) -> int:
        body = orjson.loads(payload)
        (self.requests if topic.endswith("/req") else self.successes).append(body)
        self.received_at.setdefault(f"{topic}:{body.get('session_id')}", time.perf_counter())
        if self.on_request is not None and topic.endswith("/req"):
            self.on_request(body)
        self._changed.set()
        return 0

    async def connect(self) -> None:
        await self.client.connect("127.0.0.1", self.port, version=MQTTv50, keepalive=10)
        await asyncio.sleep(0.1)

    async def disconnect(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.disconnect(), 2)

    def publish(self, topic: str, **fields: Any) -> str:
        msg_id = fields.pop("msg_id", None) or uuid.uuid4().hex
        body = {"msg_id": msg_id, "ts": fields.pop("ts", int(time.time())), "src": "lane-1", **fields}
        self.client.publish(topic, orjson.dumps(body), qos=1)
        return msg_id

    async def send(self, topic: str, **fields: Any) -> str:
        """`publish`, waiting while the broker's receive-maximum window is full."""
        deadline = time.monotonic() + 10
        while True:
            try:
                return self.publish(topic, **dict(fields))
            except OverflowError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.001)

    def publish_raw(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1)

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"site waited {timeout}s: {len(self.requests)} requests, {len(self.successes)} successes"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.2))

    def requests_for(self, session_id: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["session_id"] == session_id]

    def successes_for(self, session_id: str) -> list[dict[str, Any]]:
        return [r for r in self.successes if r["session_id"] == session_id]


class Api:
    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"})

    async def close(self) -> None:
        await self.http.close()

    async def call(self, method: str, path: str, body: Any = None, **params: str) -> tuple[int, Any]:
        async with self.http.request(method, self.base + path, json=body, params=params or None) as resp:
            return resp.status, await resp.json(content_type=None)

    async def confirm(self, payment_id: str, method: str = "pm_sandbox_ok") -> tuple[int, Any]:
        return await self.call("POST", f"/v1/payments/{payment_id}/confirm", {"payment_method": method})

    async def session(self, session_id: str) -> dict[str, Any]:
        status, body = await self.call("GET", f"/v1/parking/sessions/{session_id}")
        assert status == 200, body
        return dict(body)

    async def wait_ready(self, timeout: float = 15.0) -> dict[str, Any]:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        body: Any = None
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with self.http.get(self.base + "/health/ready") as resp:
                    body = await resp.json(content_type=None)
                    if resp.status == 200:
                        return dict(body)
            await asyncio.sleep(0.1)
        raise TimeoutError(f"server not ready after {timeout}s: {body}")


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")
