"""Run the store's synchronous callables on the event loop against an asyncio driver.

The store contract gives every part synchronous callables (`fn(tx)`), and the
PostgreSQL driver (asyncpg) is asynchronous. `run_sync(fn, ...)` runs `fn` in a
greenlet; when it calls `tx.execute(...)`, `await_(awaitable)` switches back to
the coroutine, which awaits the driver (the event loop serves other requests
meanwhile) and switches into the callable again with the result, or the
exception. No thread, no GIL hand-off per statement, and the loop never blocks
on the network (the same technique as SQLAlchemy's asyncio layer).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import greenlet

T = TypeVar("T")


class _Bridged(greenlet.greenlet):  # type: ignore[misc]
    """A greenlet running a store callable: only these may call `await_`."""


def await_(awaitable: Awaitable[T]) -> T:
    """Wait for `awaitable` from inside a callable run by `run_sync`."""
    current = greenlet.getcurrent()
    if not isinstance(current, _Bridged):
        close = getattr(awaitable, "close", None)
        if close is not None:
            close()
        raise RuntimeError("a store statement ran outside a store callable")
    result: T = current.parent.switch(awaitable)
    return result


async def run_sync(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)`, whose statements are awaited here."""
    child = _Bridged(fn)
    value = child.switch(*args)
    while not child.dead:
        try:
            result = await value
        except BaseException as exc:  # handed to the callable, which may catch it
            value = child.throw(exc)
        else:
            value = child.switch(result)
    out: T = value
    return out
