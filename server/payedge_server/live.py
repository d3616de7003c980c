"""Live payment status: an in-process hub, a WebSocket stream and a long-poll fallback.

`LiveHub` fans events out to subscribers without ever waiting on them: every
WebSocket client has a bounded queue drained by its own writer task; a client
whose queue is full is dropped (closed with code 4008) instead of slowing
`publish` or the other clients. Long-pollers wait on per-channel futures.

Routes added by `setup_live` (all behind the server's auth: an API key, a dashboard
session, or on these two routes a payment's `client_secret` (orders/client_secrets.py),
which limits a connection to that payment's channel (`SCOPE`); the `token` query
parameter with an API key is deprecated):

- `GET /v1/stream` WebSocket, protocol in docs/live.md;
- `GET /v1/payments/{id}/status?wait=<0..60>&since=<version>` long-poll;
- `GET /static/payedge.js`, `GET /static/status.html` (the JS client and a demo page, which
  follows a payment with its client secret: browsers never hold an API key, SPEC 8).

The hub is per process; with `--workers N` each hub also shares its events with
the other workers through the store (live_feed.py), and `recheck_interval`
makes long-pollers re-read the store as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any, Final

import orjson
from aiohttp import WSCloseCode, WSMsgType, web

from payedge_server import keys
from payedge_server.contracts import StatusLookup
from payedge_server.errors import NotFoundError, RequestError, json_response
from payedge_server.pages import static_file

log = logging.getLogger("payedge.live")

STATIC_DIR: Final = Path(__file__).with_name("static")
HEARTBEAT_SECONDS: Final = 15.0
SEND_QUEUE_SIZE: Final = 256
MAX_WAIT_SECONDS: Final = 60.0
MAX_CHANNELS_PER_CLIENT: Final = 1000
MAX_CLIENT_MESSAGE: Final = 64 * 1024
LATEST_CHANNELS_KEPT: Final = 10_000

REPLY_WAIT_SECONDS: Final = 5.0
CLOSE_SLOW_CONSUMER: Final = 4008
"""WebSocket close code sent to a client dropped because its send queue was full."""

_CHANNEL_RE: Final = re.compile(r"(?:payment|session|terminal):[A-Za-z0-9_\-.]{1,255}|system|terminals")
SCOPE: Final = "payedge.live_scope"
"""Request key: the channels a connection may subscribe to (a client secret's payment), absent: any."""
_LIVE_PATH_RE: Final = re.compile(r"/v1/stream|/v1/payments/[^/]+/status")

Frame = tuple[str, int, bytes]
"""What a client's writer sends: (channel, version, UTF-8 JSON of a text frame)."""


def _frame(kind: str, channel: str, version: int, data: Any) -> bytes:
    """Serialised once per publish, the same bytes for every subscriber."""
    return orjson.dumps({"type": kind, "channel": channel, "version": version, "data": data})


def payment_event(payment: dict[str, Any]) -> dict[str, Any]:
    """What is published on `payment:<id>` when a payment changes (and sent as its snapshot):
    `{"type": "payment.updated", "version": <payment version>, "payment": <public payment>}`."""
    return {"type": "payment.updated", "version": payment.get("version", 0), "payment": payment}


def _version_of(event: dict[str, Any]) -> int | None:
    version = event.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        return version
    return None


class LiveClient:
    """One WebSocket subscriber: its channels, its bounded queue and its writer task."""

    __slots__ = ("all", "channels", "closed", "dropped", "last_sent", "queue", "scope", "transport", "ws")

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport | None,
        queue_size: int,
        scope: frozenset[str] | None = None,
    ) -> None:
        self.ws = ws
        self.scope = scope
        self.transport = transport
        self.queue: asyncio.Queue[Frame] = asyncio.Queue(queue_size)
        self.channels: set[str] = set()
        self.all = False
        self.dropped = False
        self.closed = False
        # Highest version sent per explicitly subscribed channel: a snapshot read
        # before a concurrent event never overtakes it, and nothing goes backwards.
        self.last_sent: dict[str, int] = {}


class LiveHub:
    """In-process fan-out of live events (implements contracts.LivePublisher).

    `publish` is synchronous and never blocks; from another thread it hands the
    event to the loop with `call_soon_threadsafe`.
    """

    def __init__(
        self,
        *,
        queue_size: int = SEND_QUEUE_SIZE,
        heartbeat: float = HEARTBEAT_SECONDS,
        latest_kept: int = LATEST_CHANNELS_KEPT,
    ) -> None:
        self.queue_size = queue_size
        self.heartbeat = heartbeat
        self._latest_kept = latest_kept
        self._latest: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._subscribers: dict[str, set[LiveClient]] = {}
        self._all: set[LiveClient] = set()
        self._clients: set[LiveClient] = set()
        self._waiters: dict[str, set[asyncio.Future[dict[str, Any]]]] = {}
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        # Set by live_feed with --workers N: every event published here is also handed
        # to it (on the loop thread), to reach the other workers' subscribers.
        self.forward: Callable[[str, dict[str, Any]], None] | None = None
        self.published = 0
        self.dropped = 0

    # -- publishing -------------------------------------------------------------------

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        """Record `event` as the channel's latest and hand it to every subscriber and waiter.

        `event["version"]` (int) orders events per channel; without one the hub
        numbers it after the latest it knows. Never awaits, never raises on a
        slow or closed client.
        """
        if (
            self._loop is not None
            and self._loop_thread is not None
            and threading.get_ident() != self._loop_thread
        ):
            self._loop.call_soon_threadsafe(self._publish, channel, event)
            return
        self._publish(channel, event)

    def deliver(self, channel: str, event: dict[str, Any]) -> None:
        """An event another worker published: to this worker's subscribers, not forwarded again."""
        self._publish(channel, event, forward=False)

    def _publish(self, channel: str, event: dict[str, Any], *, forward: bool = True) -> None:
        event, version = self._remember(channel, event)
        self.published += 1
        if forward and self.forward is not None:
            self.forward(channel, event)
        waiters = self._waiters.pop(channel, None)
        if waiters:
            for fut in waiters:
                if not fut.done():
                    fut.set_result(event)
        self._fan_out(channel, version, event)

    def _remember(self, channel: str, event: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """Version the event (the channel's next one when it carries none) and keep it as the latest."""
        version = _version_of(event)
        previous = self._latest.get(channel)
        if version is None:
            version = (_version_of(previous) or 0) + 1 if previous is not None else 1
            event = {**event, "version": version}
        if previous is None or (_version_of(previous) or 0) <= version:
            self._latest[channel] = event
            self._latest.move_to_end(channel)
            if len(self._latest) > self._latest_kept:
                self._latest.popitem(last=False)
        return event, version

    def _fan_out(self, channel: str, version: int, event: dict[str, Any]) -> None:
        """To the channel's subscribers, and to those of every channel (once each)."""
        subscribers = self._subscribers.get(channel)
        if not subscribers and not self._all:
            return
        frame: Frame = (channel, version, _frame("event", channel, version, event))
        if subscribers:
            for client in tuple(subscribers):
                self._offer(client, frame)
        for client in tuple(self._all):
            if subscribers is None or client not in subscribers:
                self._offer(client, frame)

    def _offer(self, client: LiveClient, frame: Frame) -> None:
        if client.dropped or client.closed:
            return
        try:
            client.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.drop(client)

    async def reply(self, client: LiveClient, frame: Frame) -> None:
        """Queue an answer to the client's own message (ack, error, snapshot).

        Unlike `publish`, this may wait for room in the client's queue (its reader
        task is the only one waiting): subscribing to many channels at once is
        not mistaken for a slow client. A client that does not read for
        REPLY_WAIT_SECONDS is dropped all the same.
        """
        if client.dropped or client.closed:
            return
        try:
            client.queue.put_nowait(frame)
        except asyncio.QueueFull:
            try:
                await asyncio.wait_for(client.queue.put(frame), REPLY_WAIT_SECONDS)
            except TimeoutError:
                self.drop(client)

    def latest(self, channel: str) -> dict[str, Any] | None:
        """The last event published on `channel` in this process (None if none is kept)."""
        return self._latest.get(channel)

    async def wait(self, channel: str, since: int, timeout: float) -> dict[str, Any] | None:  # noqa: ASYNC109
        """Long-poll: the latest event if its version > `since`, else the next one within `timeout`.

        Returns None on timeout (or when the hub shuts down).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        while True:
            latest = self._latest.get(channel)
            if latest is not None and (_version_of(latest) or 0) > since:
                return latest
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing:
                return None
            fut = self.waiter(channel)
            try:
                event = await asyncio.wait_for(asyncio.shield(fut), remaining)
            except TimeoutError:
                return None
            except asyncio.CancelledError:
                if fut.cancelled():  # the hub is shutting down
                    return None
                raise
            finally:
                self.forget_waiter(channel, fut)
            if (_version_of(event) or 0) > since:
                return event

    def waiter(self, channel: str) -> asyncio.Future[dict[str, Any]]:
        """A future resolved with the next event on `channel` (or cancelled at shutdown)."""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        if self._closing:
            fut.cancel()
            return fut
        self._waiters.setdefault(channel, set()).add(fut)
        return fut

    def forget_waiter(self, channel: str, fut: asyncio.Future[dict[str, Any]]) -> None:
        waiters = self._waiters.get(channel)
        if waiters is not None:
            waiters.discard(fut)
            if not waiters:
                del self._waiters[channel]
        if not fut.done():
            fut.cancel()

    # -- subscribers ------------------------------------------------------------------

    def add_client(self, client: LiveClient) -> None:
        self._clients.add(client)

    def remove_client(self, client: LiveClient) -> None:
        client.closed = True
        self._clients.discard(client)
        self._all.discard(client)
        for channel in client.channels:
            subs = self._subscribers.get(channel)
            if subs is not None:
                subs.discard(client)
                if not subs:
                    del self._subscribers[channel]
        client.channels.clear()

    def subscribe(self, client: LiveClient, channel: str) -> None:
        if channel == "*":
            client.all = True
            self._all.add(client)
            return
        client.channels.add(channel)
        self._subscribers.setdefault(channel, set()).add(client)

    def unsubscribe(self, client: LiveClient, channel: str) -> None:
        if channel == "*":
            client.all = False
            self._all.discard(client)
            return
        client.channels.discard(channel)
        client.last_sent.pop(channel, None)
        subs = self._subscribers.get(channel)
        if subs is not None:
            subs.discard(client)
            if not subs:
                del self._subscribers[channel]

    def drop(self, client: LiveClient) -> None:
        """Disconnect a client that does not keep up (close code 4008), without waiting on it."""
        if client.dropped or client.closed:
            return
        client.dropped = True
        self.dropped += 1
        self.remove_client(client)
        log.warning("live: dropped a slow WebSocket client (send queue full)")
        asyncio.get_running_loop().create_task(_close_quickly(client, CLOSE_SLOW_CONSUMER, b"slow consumer"))

    @property
    def client_count(self) -> int:
        """WebSocket clients connected now."""
        return len(self._clients)

    def subscriber_count(self, channel: str) -> int:
        """WebSocket clients subscribed to `channel` by name (not counting `*`)."""
        return len(self._subscribers.get(channel, ()))

    @property
    def waiter_count(self) -> int:
        """Long-pollers waiting now."""
        return sum(len(w) for w in self._waiters.values())

    async def shutdown(self) -> None:
        """Wake every long-poller and close every WebSocket (1001 going away)."""
        self._closing = True
        for waiters in self._waiters.values():
            for fut in waiters:
                if not fut.done():
                    fut.cancel()
        self._waiters.clear()
        clients = tuple(self._clients)
        for client in clients:
            self.remove_client(client)
        await asyncio.gather(
            *(_close_quickly(c, WSCloseCode.GOING_AWAY, b"server shutdown") for c in clients),
            return_exceptions=True,
        )


async def _close_quickly(client: LiveClient, code: int, message: bytes) -> None:
    """Close the client's socket; if the peer does not read (full TCP buffers), abort it."""
    done = False
    try:
        await asyncio.wait_for(client.ws.close(code=code, message=message), 1.0)
        done = True
    except (TimeoutError, ConnectionError, RuntimeError):
        pass
    finally:
        transport = client.transport
        if not done and transport is not None and not transport.is_closing():
            if transport.get_write_buffer_size() == 0:
                transport.close()  # the close frame went out: end with FIN so the peer reads it
            else:
                transport.abort()  # the peer is not reading: reset, do not wait on it
        elif not done and transport is not None and transport.get_write_buffer_size() > 0:
            transport.abort()


# -- auth -------------------------------------------------------------------------------


def request_api_key(request: web.Request) -> str | None:
    """The API key a request presents: `Authorization: Bearer <key>`, or, on the live
    routes only (browsers cannot set WebSocket headers), the `token` query parameter."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip()
    if request.method == "GET" and _LIVE_PATH_RE.fullmatch(request.path):
        token = request.query.get("token")
        if token:
            return token
    return None


def key_matches(presented: str | None, api_keys: Iterable[str]) -> bool:
    """Constant-time check of `presented` against every configured key (no early exit)."""
    if presented is None:
        return False
    given = presented.encode()
    ok = False
    for key in api_keys:
        ok |= hmac.compare_digest(given, key.encode())
    return ok


def is_authorised(request: web.Request) -> bool:
    """True when the request carries one of the configured API keys (`config.auth.api_keys`).

    The server's auth middleware may call this for `/v1` routes: it accepts the
    bearer header everywhere and `?token=` on the live routes.
    """
    config = request.app.get(keys.CONFIG)
    api_keys: tuple[str, ...] = config.auth.api_keys if config is not None else ()
    return key_matches(request_api_key(request), api_keys)


# -- HTTP handlers ------------------------------------------------------------------------

LOOKUP: Final[web.AppKey[StatusLookup]] = web.AppKey("live_lookup")
RECHECK: Final = web.AppKey("live_recheck", float)


def _hub(request: web.Request) -> LiveHub:
    hub = request.app[keys.LIVE]
    assert isinstance(hub, LiveHub)
    return hub


def _parse_number(raw: str | None, default: float, lo: float, hi: float) -> float | None:
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        return None
    if not (lo <= value <= hi):  # also rejects nan
        return None
    return value


def _status_query(request: web.Request) -> tuple[float, int]:
    """`wait` (seconds, 0..60) and `since` (a version; -1 when absent) of a long-poll."""
    wait = _parse_number(request.query.get("wait"), 0.0, 0.0, MAX_WAIT_SECONDS)
    if wait is None:
        raise RequestError("parameter_invalid", "wait must be a number of seconds from 0 to 60", "wait")
    raw_since = request.query.get("since")
    if raw_since in (None, ""):
        return wait, -1
    if not raw_since.isascii() or not raw_since.isdigit() or len(raw_since) > 18:
        raise RequestError("parameter_invalid", "since must be a non-negative integer version", "since")
    return wait, int(raw_since)


async def status_handler(request: web.Request) -> web.Response:
    """`GET /v1/payments/{id}/status?wait=&since=`: the current status, at once when its
    version is newer than `since`, else after the next change or `wait` seconds."""
    payment_id = request.match_info["id"]
    wait, since = _status_query(request)
    hub = _hub(request)
    lookup = request.app[LOOKUP]
    channel = f"payment:{payment_id}"
    # Register before reading, so a change committed between the read and the wait is not missed.
    fut = hub.waiter(channel)
    try:
        current = await lookup(payment_id)
        if current is None:
            raise NotFoundError("payment_not_found", f"no payment {payment_id!r}", "id")
        if (_version_of(current) or 0) <= since and wait > 0:
            current, fut = await _wait_newer(request, payment_id, current, since=since, wait=wait, fut=fut)
        return json_response(current)
    finally:
        hub.forget_waiter(channel, fut)


async def _wait_newer(
    request: web.Request,
    payment_id: str,
    current: dict[str, Any],
    *,
    since: int,
    wait: float,
    fut: asyncio.Future[dict[str, Any]],
) -> tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]:
    """Wait (at most `wait` s) for a version past `since`; with several workers, re-read every RECHECK."""
    hub, lookup = _hub(request), request.app[LOOKUP]
    channel = f"payment:{payment_id}"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    recheck = request.app.get(RECHECK)
    while (remaining := deadline - loop.time()) > 0:
        step = min(remaining, recheck) if recheck else remaining
        try:
            await asyncio.wait_for(asyncio.shield(fut), step)
        except TimeoutError:
            if not recheck:
                break
        except asyncio.CancelledError:
            if not fut.cancelled():
                raise
            break  # the hub is shutting down: answer with the current status now
        hub.forget_waiter(channel, fut)
        fut = hub.waiter(channel)
        current = await lookup(payment_id) or current
        if (_version_of(current) or 0) > since:
            break
    return current, fut


async def _send_control(hub: LiveHub, client: LiveClient, payload: dict[str, Any]) -> None:
    """Queue a protocol message (ack, error) behind the events already queued for the client."""
    await hub.reply(client, ("", 0, orjson.dumps(payload)))


async def _send_error(
    hub: LiveHub, client: LiveClient, code: str, message: str, channel: str | None = None
) -> None:
    payload: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if channel is not None:
        payload["channel"] = channel
    await _send_control(hub, client, payload)


async def _writer(hub: LiveHub, client: LiveClient) -> None:
    """Drain the client's queue onto the socket; a heartbeat when idle for `hub.heartbeat`."""
    ws = client.ws
    heartbeat = orjson.dumps({"type": "heartbeat"})
    queue = client.queue
    try:
        while not ws.closed:
            if queue.empty():
                try:
                    channel, version, data = await asyncio.wait_for(queue.get(), hub.heartbeat)
                except TimeoutError:
                    await ws.send_frame(heartbeat, WSMsgType.TEXT)
                    continue
            else:
                channel, version, data = queue.get_nowait()
            last = client.last_sent.get(channel)
            if last is not None:
                if version <= last:
                    continue
                client.last_sent[channel] = version
            elif channel in client.channels:
                client.last_sent[channel] = version
            await ws.send_frame(data, WSMsgType.TEXT)
    except (ConnectionError, RuntimeError):
        pass


async def _snapshot(hub: LiveHub, lookup: StatusLookup, client: LiveClient, channel: str) -> None:
    current: dict[str, Any] | None
    if channel.startswith("payment:"):
        payment = await lookup(channel[len("payment:") :])
        if payment is None:
            hub.unsubscribe(client, channel)
            await _send_error(hub, client, "payment_not_found", f"no payment {channel[8:]!r}", channel)
            return
        current = payment_event(payment)
    else:
        current = hub.latest(channel)
        if current is None:
            return
    version = _version_of(current) or 0
    await hub.reply(client, (channel, version, _frame("snapshot", channel, version, current)))


async def _handle_message(hub: LiveHub, lookup: StatusLookup, client: LiveClient, text: str) -> None:
    try:
        msg = orjson.loads(text)
    except orjson.JSONDecodeError:
        await _send_error(hub, client, "invalid_json", "messages must be JSON objects")
        return
    if not isinstance(msg, dict):
        await _send_error(hub, client, "invalid_json", "messages must be JSON objects")
        return
    op = msg.get("op")
    channels = msg.get("channels")
    if op not in ("subscribe", "unsubscribe"):
        await _send_error(hub, client, "parameter_invalid", "op must be 'subscribe' or 'unsubscribe'")
        return
    if (
        not isinstance(channels, list)
        or not channels
        or not all(isinstance(c, str) and (c == "*" or _CHANNEL_RE.fullmatch(c)) for c in channels)
    ):
        await _send_error(
            hub,
            client,
            "parameter_invalid",
            "channels must be a non-empty list of 'payment:<id>', 'session:<id>', "
            "'terminal:<id>', 'terminals', 'system' or '*'",
        )
        return
    if client.scope is not None and not client.scope.issuperset(channels):
        await _send_error(hub, client, "forbidden", "a client secret subscribes only to its own payment")
        return
    if op == "unsubscribe":
        for channel in channels:
            hub.unsubscribe(client, channel)
        await _send_control(hub, client, {"type": "unsubscribed", "channels": channels})
        return
    new = [c for c in dict.fromkeys(channels) if c != "*" and c not in client.channels]
    if len(client.channels) + len(new) > MAX_CHANNELS_PER_CLIENT:
        await _send_error(
            hub, client, "too_many_channels", f"at most {MAX_CHANNELS_PER_CLIENT} channels per connection"
        )
        return
    for channel in channels:
        hub.subscribe(client, channel)
    await _send_control(hub, client, {"type": "subscribed", "channels": channels})
    for channel in new:
        await _snapshot(hub, lookup, client, channel)


async def stream_handler(request: web.Request) -> web.WebSocketResponse:
    """`GET /v1/stream`: the WebSocket of live events (protocol in docs/live.md)."""
    hub = _hub(request)
    lookup = request.app[LOOKUP]
    # No permessage-deflate: small JSON frames gain little and fan-out would compress per client.
    ws = web.WebSocketResponse(heartbeat=hub.heartbeat, max_msg_size=MAX_CLIENT_MESSAGE, compress=False)
    await ws.prepare(request)
    if hub._closing:
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
        return ws
    client = LiveClient(ws, request.transport, hub.queue_size, request.get(SCOPE))
    hub.add_client(client)
    writer = asyncio.get_running_loop().create_task(_writer(hub, client))
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await _handle_message(hub, lookup, client, msg.data)
            elif msg.type == WSMsgType.BINARY:
                await _send_error(hub, client, "invalid_json", "send JSON text frames")
            if client.dropped:
                break
    finally:
        hub.remove_client(client)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
    return ws


STATIC_FILES: Final = frozenset({"payedge.js", "status.html", "status.js", "status.css"})


async def _static(request: web.Request) -> web.Response:
    """The JS client and the demo page (HTML with the security headers of every page: pages.py)."""
    return static_file(STATIC_DIR, request.match_info["name"], STATIC_FILES)


def setup_live(
    app: web.Application,
    lookup: StatusLookup,
    *,
    heartbeat: float = HEARTBEAT_SECONDS,
    queue_size: int = SEND_QUEUE_SIZE,
    recheck_interval: float | None = None,
) -> LiveHub:
    """Create the hub (`app[keys.LIVE]`) and add the live routes and lifecycle hooks.

    `lookup(payment_id)` reads a payment's public status (with `version`) or None.
    `recheck_interval` (seconds): long-pollers also re-read the store this often,
    for deployments where another process may change a payment (workers > 1
    without Redis fan-out).
    """
    hub = LiveHub(queue_size=queue_size, heartbeat=heartbeat)
    app[keys.LIVE] = hub
    app[LOOKUP] = lookup
    if recheck_interval:
        app[RECHECK] = recheck_interval
    app.router.add_get("/v1/stream", stream_handler)
    app.router.add_get("/v1/payments/{id}/status", status_handler)
    for name in sorted(STATIC_FILES):
        app.router.add_get(f"/static/{{name:{re.escape(name)}}}", _static)

    async def live_context(app: web.Application) -> AsyncIterator[None]:
        hub.bind_loop(asyncio.get_running_loop())
        yield
        await hub.shutdown()

    async def on_shutdown(app: web.Application) -> None:
        # aiohttp waits for running handlers before the cleanup contexts exit:
        # close the sockets and wake the long-pollers first, so shutdown is prompt.
        await hub.shutdown()

    app.cleanup_ctx.append(live_context)
    app.on_shutdown.append(on_shutdown)
    return hub
