"""Per-vehicle order: messages about one vehicle are applied in the order they arrived.

gmqtt runs each inbound message's handler as its own task, so two messages are
applied concurrently. On SQLite that was harmless (one writer, writes committed in
the order they were queued); on PostgreSQL the writes of an entry and the exit
that follows it can run on two connections, and SERIALIZABLE may then order the
exit first: it finds no entry and flags the vehicle `no_entry_on_record`, although
the site sent the entry first. The world's order must be kept where the world
gave one: one MQTT session delivers a topic's QoS 1 messages in order, and across
topics the site's devices publish an entry before the exit.

So messages are keyed by the vehicle they are about (plate, else badge, else the
session a barrier report names) and a message waits for the one before it with
the same key; different vehicles still go in parallel. The turn is taken before
the handler's first `await`, and gmqtt starts the handler tasks in arrival order,
so "before it" is arrival order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from payedge_server.parking.messages import Inbound


def vehicle_key(msg: Inbound) -> str:
    """What a message is about. A PIN-only exit (no plate, no badge) shares one lane."""
    if msg.plate is not None:
        return f"plate:{msg.plate}"
    if msg.badge is not None:
        return f"badge:{msg.badge}"
    if msg.session_id is not None:
        return f"session:{msg.session_id}"
    return "anonymous"


class KeyedOrder:
    """Work with the same key runs one after another, in the order `turn` was entered."""

    def __init__(self) -> None:
        self._tails: dict[str, asyncio.Future[None]] = {}

    def __len__(self) -> int:
        """Keys with work queued or running (0 when idle: finished keys are dropped)."""
        return len(self._tails)

    @contextlib.asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        previous = self._tails.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = mine  # taken now, before any await: arrival order
        try:
            if previous is not None:
                await asyncio.shield(previous)
            yield
        finally:
            if previous is None or previous.done():
                mine.set_result(None)
            else:  # cancelled while waiting: the next one still waits for `previous`
                previous.add_done_callback(lambda _: mine.set_result(None))
            if self._tails.get(key) is mine:
                del self._tails[key]
