"""A Redis outage is two lines in the log, not one every retry (found by a fresh-user trial:
the live fan-out warned every 2 s while Redis was down and said nothing when it came back).

A real redis-server, stopped and started again: `SharedRedis` (every part's client) warns
once when Redis goes and says once that it is back; the live fan-out's subscription
likewise, its retries at debug.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import pytest
from payedge_server.live import LiveHub
from payedge_server.live_feed import RedisFeed
from payedge_server.shared_redis import BACKOFF_SECONDS, SharedRedis

from tests.support import services

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(60)]  # no store


def _lines(caplog: pytest.LogCaptureFixture, logger: str, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger and text in r.getMessage()]


async def _until(what: str, test: Callable[[], Awaitable[bool]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not await test():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_an_outage_is_logged_once_when_it_begins_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with services.restartable_redis() as (url, start_redis, stop_redis):
        shared = SharedRedis(url)
        feed = RedisFeed(shared, LiveHub())
        listening = asyncio.create_task(feed.listen_forever())
        try:
            await asyncio.wait_for(feed.subscribed.wait(), 10)
            assert await shared.call(lambda r: r.ping(), default=False) is True
            await asyncio.to_thread(stop_redis)
            for _ in range(4):  # several calls across several circuit periods: one warning
                assert await shared.call(lambda r: r.ping(), default=False) is False
                await asyncio.sleep(BACKOFF_SECONDS / 2)

            async def retried() -> bool:
                return len(_lines(caplog, "payedge.live", "subscription lost")) >= 3

            await _until("the fan-out retried at least twice", retried, 20)
            await asyncio.to_thread(start_redis)
            await _until("Redis answers again", shared.ping, 15)
            await asyncio.wait_for(feed.subscribed.wait(), 15)
        finally:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening
            await shared.close()
    went = _lines(caplog, "payedge.redis", "unavailable")
    back = _lines(caplog, "payedge.redis", "reachable again")
    assert [r.levelno for r in went] == [logging.WARNING] and [r.levelno for r in back] == [logging.INFO]
    lost = _lines(caplog, "payedge.live", "subscription lost")
    assert [r.levelno for r in lost][:1] == [logging.WARNING]
    assert {r.levelno for r in lost[1:]} == {logging.DEBUG}, [r.getMessage() for r in lost]
    assert len(_lines(caplog, "payedge.live", "subscription back")) == 1
