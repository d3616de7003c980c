"""Outgoing callbacks (webhooks, IPNs): sent in the background, retried with backoff, bounded.

Every delivery is kept (exact bytes and headers, each attempt's outcome) so the admin API
can list them and replay one byte for byte: a duplicate, or, replayed after a later one,
an out-of-order delivery.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import aiohttp
from aiohttp import web

log = logging.getLogger("payedge.fakes")

#: Each attempt's timeout (MTN documents 2 s for its callbacks; PayPal and CinetPay say nothing).
ATTEMPT_TIMEOUT = 5.0
MAX_BACKOFF = 5.0


@dataclass(frozen=True)
class Delivery:
    id: str
    payment_id: str
    event: str
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    replay_of: str | None = None


@dataclass(frozen=True)
class Attempt:
    at: float
    status: int | None
    error: str | None


@dataclass(frozen=True)
class Outcome:
    state: str  # "pending", "delivered", "failed"
    attempts: tuple[Attempt, ...] = ()


class CallbackSender:
    """Sends deliveries with retries; `attempts` tries each, the delay doubling from `backoff`."""

    def __init__(self, prefix: str, attempts: int, backoff: float) -> None:
        self._prefix = prefix
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._ids = itertools.count(1)
        self._deliveries: dict[str, Delivery] = {}
        self._outcomes: dict[str, Outcome] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    async def session_ctx(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: the client session lives as long as the app."""
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT))
        yield
        self.cancel_all()
        await self._session.close()

    def next_id(self) -> str:
        return f"{self._prefix}_{next(self._ids):06d}"

    def send(self, delivery: Delivery) -> Delivery:
        self._deliveries[delivery.id] = delivery
        self._outcomes[delivery.id] = Outcome("pending")
        task = asyncio.get_running_loop().create_task(self._deliver(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return delivery

    def replay(self, delivery_id: str) -> Delivery | None:
        original = self._deliveries.get(delivery_id)
        if original is None:
            return None
        return self.send(replace(original, id=self.next_id(), replay_of=original.id))

    def latest_for(self, payment_id: str) -> Delivery | None:
        found = [d for d in self._deliveries.values() if d.payment_id == payment_id]
        return found[-1] if found else None

    def find(self, delivery_id: str) -> Delivery | None:
        return self._deliveries.get(delivery_id)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def clear(self) -> None:
        self.cancel_all()
        self._deliveries.clear()
        self._outcomes.clear()

    def listing(self) -> list[dict[str, object]]:
        return [self._describe(d) for d in self._deliveries.values()]

    def _describe(self, delivery: Delivery) -> dict[str, object]:
        outcome = self._outcomes.get(delivery.id, Outcome("pending"))
        return {
            "id": delivery.id,
            "payment_id": delivery.payment_id,
            "event": delivery.event,
            "method": delivery.method,
            "url": delivery.url,
            "headers": dict(delivery.headers),
            "body": delivery.body.decode("utf-8", "replace"),
            "replay_of": delivery.replay_of,
            "state": outcome.state,
            "attempts": [{"at": a.at, "status": a.status, "error": a.error} for a in outcome.attempts],
        }

    async def _deliver(self, delivery: Delivery) -> None:
        delay = self._backoff
        for number in range(1, self._attempts + 1):
            attempt = await self._attempt(delivery)
            done = attempt.status is not None and 200 <= attempt.status < 300
            previous = self._outcomes.get(delivery.id, Outcome("pending")).attempts
            final = done or number == self._attempts
            state = "delivered" if done else ("failed" if final else "pending")
            self._outcomes[delivery.id] = Outcome(state, (*previous, attempt))
            if final:
                if not done:
                    log.warning(
                        "callback %s to %s failed after %d attempts", delivery.id, delivery.url, number
                    )
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    async def _attempt(self, delivery: Delivery) -> Attempt:
        session = self._session
        if session is None:
            return Attempt(time.time(), None, "the fake is not running")
        at = time.time()
        try:
            async with session.request(
                delivery.method, delivery.url, data=delivery.body or None, headers=dict(delivery.headers)
            ) as response:
                await response.read()
                return Attempt(at, response.status, None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return Attempt(at, None, f"{type(exc).__name__}: {exc}")
