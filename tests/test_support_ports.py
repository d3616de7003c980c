"""The test helpers' ports: a closed port stays closed for the whole session.

Tests that need a URL leading nowhere (a provider that is down, callbacks that must be
lost) use `services.closed_port()`. A port that is only free when picked was handed to
the next server a test started, which then received the "lost" callbacks (CI flake of
2026-12-01 in test_polling_and_garbage.py).
"""

from __future__ import annotations

import socket

import pytest

from tests.support import services


def test_a_closed_port_refuses_connections() -> None:
    port = services.closed_port()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_no_server_can_take_a_closed_port() -> None:
    """A server binding it the way aiohttp does (SO_REUSEADDR) is refused, and bind(0) never hands it out."""
    port = services.closed_port()
    with socket.socket() as server, pytest.raises(OSError):
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
    assert port not in {services.free_port() for _ in range(200)}
