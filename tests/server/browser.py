"""Headless Chromium driven over the DevTools protocol (its WebSocket), with aiohttp."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.services import find_binary


class Page:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        await self.ws.send_json({"id": call_id, "method": method, "params": params})
        while True:
            msg = await asyncio.wait_for(self.ws.receive_json(), 30)
            if msg.get("id") == call_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                result: dict[str, Any] = msg.get("result", {})
                return result

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def wait_for(self, expression: str, expected: Any, within: float) -> Any:
        """Evaluate `expression` every 50 ms until it equals `expected` (bounded by `within` s)."""
        deadline = time.monotonic() + within
        value = None
        while time.monotonic() < deadline:
            value = await self.evaluate(expression)
            if value == expected:
                return value
            await asyncio.sleep(0.05)
        raise AssertionError(f"{expression} is {value!r}, expected {expected!r} within {within} s")


@contextlib.asynccontextmanager
async def chromium_page() -> AsyncIterator[Page]:
    """A fresh headless Chromium (own profile, loopback only) and one blank page."""
    binary = find_binary("chromium")
    # Chromium's helper processes may still touch the profile as it goes: ignore cleanup races.
    with tempfile.TemporaryDirectory(prefix="payedge-chromium-", ignore_cleanup_errors=True) as profile:
        proc = await asyncio.create_subprocess_exec(
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # its own process group: every helper process is stopped with it
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            for _ in range(600):  # up to 30 s on a busy machine
                if port_file.exists() and port_file.read_text().strip():
                    break
                if proc.returncode is not None:
                    raise RuntimeError(f"chromium exited with {proc.returncode}")
                await asyncio.sleep(0.05)
            port = int(port_file.read_text().split()[0])
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/json/list") as resp:
                    targets = await resp.json()
                page_target = next(t for t in targets if t.get("type") == "page")
                async with session.ws_connect(page_target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    page = Page(ws)
                    await page.call("Page.enable")
                    await page.call("Runtime.enable")
                    yield page
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
