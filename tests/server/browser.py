"""Headless Chromium driven over the DevTools protocol (its WebSocket), with aiohttp."""

from __future__ import annotations

import asyncio
import base64
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


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


# What DevTools answers when an evaluation meets a navigation (a form submitted, a redirect
# to a provider and back): the document it ran in is gone, not the expression wrong.
NAVIGATING = (
    "Inspected target navigated or closed",
    "Execution context was destroyed",
    "Cannot find context with specified id",
)


class NavigatingError(RuntimeError):
    """The page navigated while an evaluation ran; polling again reads the new document."""


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
                    error = msg["error"]
                    text = str(error.get("message", "")) if isinstance(error, dict) else str(error)
                    if any(sign in text for sign in NAVIGATING):
                        raise NavigatingError(f"{method}: {error}")
                    raise RuntimeError(f"{method}: {error}")
                result: dict[str, Any] = msg.get("result", {})
                return result

    async def evaluate(self, expression: str) -> Any:
        result = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        return result.get("result", {}).get("value")

    async def navigate(self, url: str, *, within: float = 20) -> None:
        """Open `url` and wait until its document has loaded (scripts with `defer` have run)."""
        await self.evaluate("window.__leaving = true")
        await self.call("Page.navigate", url=url)
        await self.wait_for("!window.__leaving && document.readyState === 'complete'", True, within)

    async def viewport(self, width: int, height: int) -> None:
        """A till's or a phone's screen: CSS pixels, device scale 1, touch-sized layout."""
        await self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    async def screenshot(self, path: Path) -> None:
        """The whole page as a PNG (beyond the viewport: the page's full height)."""
        metrics = await self.call("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = await self.call("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)
        await asyncio.to_thread(_write, path, base64.b64decode(shot["data"]))

    async def answer_dialog(self, click: str, text: str, *, within: float = 5) -> None:
        """Run `click` (an expression that opens a prompt), then answer the prompt with `text`.

        The click runs from a timer so that the evaluation returns before the page blocks on
        its dialog; the answer is retried until the dialog is open (bounded by `within` s)."""
        await self.evaluate(f"setTimeout(() => {{ {click}; }}, 0)")
        deadline = time.monotonic() + within
        while True:
            try:
                await self.call("Page.handleJavaScriptDialog", accept=True, promptText=text)
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)

    async def wait_for(self, expression: str, expected: Any, within: float) -> Any:
        """Evaluate `expression` every 50 ms until it equals `expected` (bounded by `within` s)."""
        deadline = time.monotonic() + within
        value = None
        while time.monotonic() < deadline:
            try:
                value = await self.evaluate(expression)
            except NavigatingError:
                value = None  # between two documents: ask the next one
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
