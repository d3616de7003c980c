"""The MQTT relay: a gmqtt client with a persistent session, and the outbox publisher.

Inbound: MQTT 5, QoS 1, `clean_session=False` with a fixed client id and a session
expiry, and `optimistic_acknowledgement=False`. gmqtt 0.8 then runs an async
`on_message` as a task and sends the PUBACK from that task's done-callback with
the reason code the coroutine returned (handler.py `__handle_publish_callback`);
so the handler returns only once its effect is committed. If it raises, no PUBACK
is sent: the relay reconnects so the broker redelivers the message (same session).
gmqtt forces optimistic acks under MQTT 3.1.1, so the relay insists on MQTT 5.

Outbound: rows of the `outbox` table, written in the same transaction as the state
change that caused them, are published in `id` order at QoS 1, not retained,
and marked sent once the broker's PUBACK arrives. A broker outage delays them;
a reconnect may publish some twice (QoS 1 allows it; receivers dedupe on msg_id).

Reconnects back off exponentially (with jitter) from 0.1 s to `max_backoff`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import gmqtt
from gmqtt.mqtt.constants import MQTTv50
from gmqtt.storage import PersistentStorage

from payedge_server.contracts import Store, Tx

log = logging.getLogger("payedge.mqtt")

MessageHandler = Callable[[str, bytes], Awaitable[int]]
SESSION_EXPIRY = 7 * 24 * 3600


@dataclass(frozen=True)
class MqttTarget:
    host: str
    port: int
    ssl: bool
    username: str | None
    password: str | None
    client_id: str

    @classmethod
    def parse(cls, url: str, default_client_id: str = "payedge-edge") -> MqttTarget:
        """`mqtt://[user[:password]@]host[:port][?client_id=ID]` (`mqtts://` for TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"mqtt_url: expected mqtt://host[:port] or mqtts://host[:port], got {url!r}")
        query = parse_qs(parts.query)
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if parts.scheme == "mqtts" else 1883),
            ssl=parts.scheme == "mqtts",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            client_id=query.get("client_id", [default_client_id])[0],
        )


class _AckStorage(PersistentStorage):  # type: ignore[misc]
    """gmqtt's in-flight store, told which outbox row each packet id carries.

    gmqtt calls `push_message(mid, packet)` right after sending a QoS 1 PUBLISH and
    `remove_message_by_mid(mid)` when its PUBACK arrives; `clear()` when the broker
    has no session for us (nothing in flight survives).
    """

    def __init__(self, on_ack: Callable[[int], None], on_clear: Callable[[], None]) -> None:
        super().__init__()
        self.tag: int | None = None
        self._tags: dict[int, int] = {}
        self._on_ack = on_ack
        self._on_clear = on_clear

    def push_message(self, mid: int, raw_package: bytes) -> None:
        super().push_message(mid, raw_package)
        if self.tag is not None:
            self._tags[mid] = self.tag
            self.tag = None

    def remove_message_by_mid(self, mid: int) -> None:
        super().remove_message_by_mid(mid)
        seq = self._tags.pop(mid, None)
        if seq is not None:
            self._on_ack(seq)

    def clear(self) -> None:
        super().clear()
        self._tags.clear()
        self._on_clear()


class _BackoffClient(gmqtt.Client):  # type: ignore[misc]
    """gmqtt's client with exponential backoff between reconnect attempts.

    gmqtt sleeps `config["reconnect_delay"]` before each attempt and counts failures
    in its connection state; the delay is recomputed from that count.
    """

    base_delay = 0.1
    max_delay = 5.0
    closing = False  # set by the relay's stop: a reconnect cancelled then is the shutdown, not a failure

    async def reconnect(self, delay: bool = False) -> None:
        failures = int(self._connection_state.failed_connections)
        backoff = min(self.max_delay, self.base_delay * 2 ** min(failures, 16))
        self.set_config({"reconnect_delay": backoff * random.uniform(0.8, 1.2)})
        try:
            await super().reconnect(delay)
        except asyncio.CancelledError:
            # gmqtt runs reconnects as futures whose done-callback reads their exception: a
            # cancellation at shutdown was logged at ERROR with a traceback after a clean stop.
            if self.closing:
                return
            raise


def _fetch_unsent(tx: Tx, after: int, limit: int) -> list[tuple[int, str, bytes]]:
    rows = tx.fetchall(
        "SELECT id, topic, payload FROM outbox WHERE sent_at IS NULL AND id > ? ORDER BY id LIMIT ?",
        (after, limit),
    )
    return [(int(row[0]), str(row[1]), _as_bytes(row[2])) for row in rows]


def _as_bytes(payload: Any) -> bytes:
    return payload.encode() if isinstance(payload, str) else bytes(payload)


def _mark_sent(tx: Tx, ids: Sequence[int], now_ms: int) -> None:
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        tx.execute(f"UPDATE outbox SET sent_at = ? WHERE id IN ({marks})", (now_ms, *chunk))


class MqttRelay:
    def __init__(
        self,
        url: str,
        store: Store,
        handler: MessageHandler,
        topics: Sequence[str],
        *,
        client_id: str | None = None,
        window: int = 1000,
        max_backoff: float = 5.0,
        poll_interval: float = 1.0,
    ) -> None:
        self.target = MqttTarget.parse(url)
        if client_id is not None:
            self.target = MqttTarget(**{**self.target.__dict__, "client_id": client_id})
        self.store = store
        self.handler = handler
        self.topics = tuple(topics)
        self.window = window
        self.max_backoff = max_backoff
        # Outbox rows written by another process are found by polling at this interval.
        self.poll_interval = poll_interval
        self.connected = asyncio.Event()
        self.published = 0
        self.acked = 0
        self.received = 0
        self.last_error: str | None = None
        self._wake = asyncio.Event()
        self._acks: list[int] = []
        self._inflight: set[int] = set()
        self._high = 0
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._reconnecting: asyncio.TimerHandle | None = None
        self._reconnect_task: asyncio.Future[None] | None = None
        self._marking: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._storage = _AckStorage(self._on_ack, self._on_clear)
        self.client = _BackoffClient(
            self.target.client_id,
            clean_session=False,
            optimistic_acknowledgement=False,
            persistent_storage=self._storage,
            session_expiry_interval=SESSION_EXPIRY,
            receive_maximum=window,
        )
        self.client.max_delay = max_backoff
        if self.target.username:
            self.client.set_auth_credentials(self.target.username, self.target.password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._tasks = [
            asyncio.create_task(self._connect_loop(), name="mqtt-connect"),
            asyncio.create_task(self._outbox_loop(), name="mqtt-outbox"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        self.client.closing = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            if self.client._connection is not None:
                await asyncio.wait_for(self.client.disconnect(), 2)

    def wake(self) -> None:
        """Tell the outbox publisher there may be new rows (safe from any thread)."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if self._loop is None or loop is self._loop:
            self._wake.set()
        else:
            self._loop.call_soon_threadsafe(self._wake.set)

    def status(self) -> dict[str, Any]:
        return {
            "leader": bool(self._tasks),
            "connected": self.connected.is_set(),
            "client_id": self.target.client_id,
            "received": self.received,
            "published": self.published,
            "acknowledged": self.acked,
            "in_flight": len(self._inflight),
            "last_error": self.last_error,
        }

    async def _connect_loop(self) -> None:
        """The first connection (gmqtt reconnects by itself once it has connected once)."""
        attempt = 0
        while not self._stopping:
            try:
                await self.client.connect(
                    self.target.host, self.target.port, ssl=self.target.ssl, keepalive=30, version=MQTTv50
                )
                return
            except (OSError, gmqtt.mqtt.handler.MQTTConnectError) as exc:
                self.last_error = f"connect: {exc}"
                attempt += 1
                delay = min(self.max_backoff, 0.1 * 2 ** min(attempt, 16)) * random.uniform(0.8, 1.2)
                log.warning(
                    "MQTT broker %s:%s unreachable (%s); retry in %.1fs",
                    self.target.host,
                    self.target.port,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)

    # --- gmqtt callbacks ---------------------------------------------------------------------

    def _on_connect(self, client: gmqtt.Client, flags: int, rc: int, properties: dict[str, Any]) -> None:
        client.subscribe([gmqtt.Subscription(topic, qos=1) for topic in self.topics])
        # `properties` merges ours over the broker's: read the broker's own CONNACK values.
        receive_max = client._package_handler._connack_properties.get("receive_maximum")
        broker_window = int(receive_max[0]) if receive_max else 65535
        self._window = max(1, min(self.window, broker_window - 2))
        self.last_error = None
        self.connected.set()
        self._wake.set()
        log.info("MQTT connected to %s:%s (session present: %s)", self.target.host, self.target.port, flags)

    def _on_disconnect(self, client: gmqtt.Client, packet: Any, exc: BaseException | None = None) -> None:
        self.connected.clear()
        if not self._stopping:
            self.last_error = "disconnected"
            log.warning("MQTT connection to %s:%s lost", self.target.host, self.target.port)

    async def _on_message(
        self, client: gmqtt.Client, topic: str, payload: bytes, qos: int, properties: dict[str, Any]
    ) -> int:
        self.received += 1
        try:
            code = await self.handler(topic, payload)
        except Exception as exc:
            # Not acknowledged: reconnect so that the broker delivers it again.
            log.exception("MQTT message on %s not processed; it will be redelivered", topic)
            self.last_error = f"handler: {exc!r}"
            if not self._stopping and self._reconnecting is None:
                self._reconnecting = asyncio.get_running_loop().call_later(1.0, self._force_reconnect)
            raise
        self._wake.set()
        return code

    def _force_reconnect(self) -> None:
        """One reconnect for however many failed handlers: the broker redelivers what is unacked."""
        self._reconnecting = None
        if not self._stopping:
            self._reconnect_task = asyncio.ensure_future(self.client.reconnect(delay=False))

    def _on_ack(self, seq: int) -> None:
        self._inflight.discard(seq)
        self._acks.append(seq)
        self.acked += 1
        self._wake.set()

    def _on_clear(self) -> None:
        # The broker lost our session: whatever was in flight is unsent again.
        self._inflight.clear()
        self._high = 0
        self._wake.set()

    # --- outbox ------------------------------------------------------------------------------

    async def _outbox_loop(self) -> None:
        self._window = self.window
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            self._wake.clear()
            try:
                self._flush_acks()
                await self._publish_unsent()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"outbox: {exc!r}"
                log.exception("outbox relay step failed; retrying")
                await asyncio.sleep(0.5)

    def _flush_acks(self) -> None:
        """Mark acknowledged rows sent, in the background (one write at a time)."""
        if self._acks and (self._marking is None or self._marking.done()):
            acks, self._acks = self._acks, []
            self._marking = asyncio.create_task(self._mark(acks))

    async def _mark(self, acks: list[int]) -> None:
        now = int(time.time() * 1000)
        try:
            await self.store.write(lambda tx: _mark_sent(tx, acks, now))
        except Exception:
            # Unmarked rows are published again later: a duplicate, never a loss.
            self._acks[:0] = acks
            log.exception("could not mark %d outbox rows sent", len(acks))
        self._wake.set()

    async def _publish_unsent(self) -> None:
        connected = self.client._connection is not None and self.client.is_connected
        room = self._window - len(self._inflight) if connected else 0
        if room <= 0:
            return
        after = self._high
        # Every wake-up comes after a commit (a handler's write returned, a hook's
        # after_commit ran); the read connection sees exactly what is committed.
        rows = await self.store.read(lambda tx: _fetch_unsent(tx, after, room))
        for seq, topic, payload in rows:
            if seq <= self._high or not self.client.is_connected:
                continue
            self._storage.tag = seq
            self.client.publish(topic, payload, qos=1, retain=False)
            self._storage.tag = None
            self._inflight.add(seq)
            self._high = seq
            self.published += 1
        if len(rows) == room:
            self._wake.set()
