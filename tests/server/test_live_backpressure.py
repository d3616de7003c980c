"""A WebSocket client that stops reading is dropped; publish and the other clients never wait on it."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time

import orjson

from tests.server.live_support import API_KEY, AUTH, Payments, live_client, receive, subscribe

MAX_EVENTS = 4000  # bound: far more than the socket buffers + queue of the stalled client hold
PADDING = "x" * 8192


def _masked_text_frame(payload: bytes) -> bytes:
    """A client-to-server text frame (RFC 6455: client frames are masked)."""
    mask = os.urandom(4)
    header = bytes([0x81])
    length = len(payload)
    if length < 126:
        header += bytes([0x80 | length])
    else:
        header += bytes([0x80 | 126]) + length.to_bytes(2, "big")
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + body


async def _stalled_client(port: int, channel: str) -> socket.socket:
    """A WebSocket client that handshakes, subscribes, and then never reads again."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /v1/stream?token={API_KEY} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = await asyncio.wait_for(loop.sock_recv(sock, 1), 5)
        assert chunk, "server closed during the handshake"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    subscribe_msg = orjson.dumps({"op": "subscribe", "channels": [channel]})
    await loop.sock_sendall(sock, _masked_text_frame(subscribe_msg))
    return sock


async def _connection_ended(sock: socket.socket, within: float) -> bool:
    """Read (and discard) until EOF or reset, within `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 1 << 16), deadline - time.monotonic())
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
        if not chunk:
            return True
    return False


async def test_a_client_that_stops_reading_is_dropped_and_never_slows_the_others() -> None:
    payments = Payments()
    async with live_client(payments, queue_size=16) as (client, hub):
        payments.set(hub, "pay_1", "processing")
        assert client.port is not None
        stalled = await _stalled_client(client.port, "payment:pay_1")
        good = await client.ws_connect("/v1/stream", headers=AUTH)
        await subscribe(good, "payment:pay_1")
        assert (await receive(good))["type"] == "snapshot"
        for _ in range(500):  # the stalled client's subscribe frame is handled asynchronously
            if hub.subscriber_count("payment:pay_1") == 2:
                break
            await asyncio.sleep(0.01)
        assert hub.subscriber_count("payment:pay_1") == 2

        received: list[int] = []
        arrived = asyncio.Event()

        async def read_good() -> None:
            async for msg in good:
                data = msg.json()
                if data["type"] == "event":
                    received.append(data["version"])
                    arrived.set()

        reader = asyncio.create_task(read_good())
        slowest_publish = 0.0
        dropped_at: int | None = None
        version = 1
        try:
            while version < MAX_EVENTS:
                version += 1
                payment = {"id": "pay_1", "status": "processing", "version": version, "note": PADDING}
                payments.by_id["pay_1"] = payment
                started = time.perf_counter()
                hub.publish("payment:pay_1", payment)
                slowest_publish = max(slowest_publish, time.perf_counter() - started)
                # the reading client keeps up with every single event
                while not received or received[-1] < version:
                    arrived.clear()
                    await asyncio.wait_for(arrived.wait(), 5)
                if hub.dropped and dropped_at is None:
                    dropped_at = version
                if dropped_at is not None and version >= dropped_at + 50:
                    break
        finally:
            reader.cancel()

        assert dropped_at is not None, f"the stalled client was not dropped after {MAX_EVENTS} events"
        print(f"stalled client dropped after {dropped_at - 1} events of ~8 KB")
        assert hub.dropped == 1
        assert hub.client_count == 1  # only the reading client is left
        assert received == list(range(2, version + 1))  # every event, in order, none lost
        assert slowest_publish < 0.05  # publish does not wait on sockets
        assert await _connection_ended(stalled, 10)
        stalled.close()
        await good.close()
