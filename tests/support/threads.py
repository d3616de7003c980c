"""Helpers for thread-safety tests: bounded thread runs, frequent GIL switches."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def fast_switching() -> Iterator[None]:
    """Make the interpreter switch threads as often as it can, to interleave more."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def run_threads(worker: Callable[[int], None], n: int, timeout: float = 60.0) -> None:
    """Run `worker(0)` .. `worker(n - 1)` in threads started together; re-raise the first failure."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def wrapped(index: int) -> None:
        try:
            barrier.wait(timeout)
            worker(index)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), f"threads still running after {timeout} s"
    if errors:
        raise errors[0]
