"""Helpers for the fakes' tests: start `payedge fakes`, parse its output, a callback receiver.

Everything here speaks plain HTTP to the fakes, as a provider integrator's code would.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from tests.support import services

READY = "PAYEDGE_FAKES_READY=1"
PROVIDERS = ("PAYPAL", "CINETPAY", "MTN_MOMO", "ORANGE_MONEY")


def parse_announcement(text: str) -> dict[str, str]:
    """The KEY=VALUE lines `payedge fakes` prints before its ready line (comments skipped)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line == READY:
            return found
        if line.startswith("#") or not line.strip():
            continue
        key, sep, value = line.partition("=")
        assert sep and key.startswith("PAYEDGE_"), f"unexpected start-up line: {line!r}"
        found[key] = value
    raise AssertionError(f"no {READY} line in:\n{text}")


def wait_ready(log: Path, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if READY in text.splitlines():
            return parse_announcement(text)
        if proc.poll() is not None:
            raise RuntimeError(f"payedge fakes exited with {proc.returncode}:\n{text}")
        time.sleep(0.05)
    raise TimeoutError(
        f"payedge fakes printed no ready line in {timeout}s:\n{log.read_text(errors='replace')}"
    )


def four_free_ports() -> int:
    """A base port with the three after it free too (checked by binding; bounded tries).

    Drawn below the kernel's ephemeral range (32768-60999 here), where no outgoing
    connection and no `free_port()` of a parallel test can take one of the four
    between this check and the fakes' bind.
    """
    rng = random.SystemRandom()
    for _ in range(50):
        base = rng.randrange(20000, 32764)
        probes = []
        try:
            for port in range(base, base + 4):
                sock = socket.socket()
                probes.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in probes:
                sock.close()
    raise RuntimeError("no four consecutive free ports found")


def payedge_exe() -> str:
    exe = Path(sys.executable).with_name("payedge")
    assert exe.exists(), "the payedge console script is not installed in the venv (make setup)"
    return str(exe)


@contextlib.contextmanager
def running_fakes(extra: Sequence[str] = ()) -> Iterator[dict[str, str]]:
    """`payedge fakes` on four consecutive free ports, stopped afterwards; yields its settings.

    A port taken between the check and the bind (another process on the machine) is
    not the fakes' fault: a new base is drawn, a bounded number of times.
    """
    with tempfile.TemporaryDirectory() as logs:
        proc, env = _start_fakes(extra, Path(logs))
        try:
            yield env
        finally:
            services.stop(proc)


def _start_fakes(extra: Sequence[str], logs: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    for attempt in range(5):
        base = four_free_ports()
        log = logs / f"fakes-{attempt}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [payedge_exe(), "fakes", "--port-base", str(base), *extra],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            return proc, wait_ready(log, proc)
        except RuntimeError as exc:
            services.stop(proc)
            if "cannot listen" not in str(exc) or attempt == 4:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Fakes:
    env: dict[str, str]

    def base(self, provider: str) -> str:
        return self.env[f"PAYEDGE_{provider}_API_BASE"]

    @property
    def paypal(self) -> str:
        return self.base("PAYPAL")

    @property
    def cinetpay(self) -> str:
        return self.base("CINETPAY")

    @property
    def momo(self) -> str:
        return self.base("MTN_MOMO")

    @property
    def orange(self) -> str:
        return self.base("ORANGE_MONEY")

    def all_bases(self) -> list[str]:
        return [self.base(p) for p in PROVIDERS]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A merchant's callback listener: records every request; answers `statuses` in turn, then 200."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(
            Received(request.method, request.path, dict(request.headers), await request.read())
        )
        self.arrived.set()
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    async def wait_for(self, count: int, within: float = 5.0, method: str | None = None) -> list[Received]:
        """The first `count` requests (of `method`), waiting for them (bounded)."""
        deadline = time.monotonic() + within
        while True:
            found = [r for r in self.received if method is None or r.method == method]
            if len(found) >= count:
                return found[:count]
            left = deadline - time.monotonic()
            assert left > 0, f"expected {count} callbacks, got {len(found)}: {found}"
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), left)


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    recv = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recv.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    recv.url = f"http://127.0.0.1:{port}"
    try:
        yield recv
    finally:
        await runner.cleanup()


async def json_of(response: aiohttp.ClientResponse) -> Any:
    return await response.json(content_type=None)


def new_reference() -> str:
    return str(uuid.uuid4())
