"""Runs a tutorial page as written: its fenced blocks, in order, as marked in the page.

A tutorial marks each fenced block with an HTML comment on the line before it (invisible
in the rendered site), so the commands a reader copies are the commands the test runs:

- `<!-- test: ports 8080 1883 47100:4 -->` (anywhere): these port numbers are replaced, in
  every block, URL and expectation of the page, by free loopback ports chosen for the run
  (`47100:4`: 47100 starts a block of 4 consecutive ports, all free);
- `<!-- test: file NAME -->`: the block is written to `NAME` in the tutorial's directory;
- `<!-- test: run [expect=TEXT ...] [within=SECONDS] [open] -->`: the block runs in the
  page's one bash session (`set -euo pipefail`; variables carry over from block to
  block); each `expect=` text must appear in its output; with `within=`, a block that
  reads something settling in the background (a read, safe to repeat) is run again
  every half second until its expectations hold, for at most that long; with `open`,
  the output's last line is a URL that the test opens in headless Chromium;
- `<!-- test: background NAME ready=URL | ready-text=TEXT [ready-file=PATH] -->`: the block
  is a long-running command (a server, a broker) the reader starts in another terminal;
  it runs in the background until the end of the page, once `URL` answers or `TEXT` is in
  its output (or in `PATH`);
- `<!-- test: provide postgres port=5432 -->`: the block shows how a reader gets a
  PostgreSQL server; the test starts its own throwaway PostgreSQL 15 instead (database
  and role `payedge`) and maps port 5432 to it;
- `<!-- test: output -->`: the block shows what the reader should see (checked by the
  `expect=` of the block that printed it);
- standalone: `<!-- test: browser-text TEXT -->` waits until the open page shows `TEXT`;
  `<!-- test: log NAME TEXT -->` waits until background `NAME` has printed `TEXT`.

Every wait is bounded (`WAIT_SECONDS`); everything started is stopped at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import shlex
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.server.browser import Page, chromium_page
from tests.support.services import free_port

REPO = Path(__file__).resolve().parents[2]
TUTORIALS = REPO / "docs" / "tutorials"
WAIT_SECONDS = 30.0
RUN_SECONDS = 90.0
BLOCK_KINDS = frozenset({"file", "run", "background", "provide", "output"})
STANDALONE_KINDS = frozenset({"ports", "browser-text", "log"})
MARKER = re.compile(r"^\s*<!--\s*test:\s*(?P<spec>.*?)\s*-->\s*$")
FENCE = re.compile(r"^\s*(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
DONE = "__tutorial_step_done__"


@dataclass(frozen=True)
class Step:
    kind: str
    words: tuple[str, ...]
    options: dict[str, list[str]]
    body: str | None
    line: int

    def option(self, name: str) -> str | None:
        values = self.options.get(name)
        return values[-1] if values else None


@dataclass(frozen=True)
class Tutorial:
    steps: tuple[Step, ...]
    unmarked: tuple[int, ...]  # lines of fenced blocks with no marker


def _split(spec: str) -> tuple[str, tuple[str, ...], dict[str, list[str]]]:
    tokens = shlex.split(spec)
    kind, words = tokens[0], []
    options: dict[str, list[str]] = {}
    for token in tokens[1:]:
        name, eq, value = token.partition("=")
        if eq and re.fullmatch(r"[a-z][a-z-]*", name):
            options.setdefault(name, []).append(value)
        else:
            words.append(token)
    return kind, tuple(words), options


def _fenced(lines: list[str], start: int) -> tuple[str, int]:
    """The body of the block opening at `start` and the index after its closing fence."""
    opening = FENCE.match(lines[start])
    assert opening, f"line {start + 1}: a test marker must be followed by a fenced block"
    fence = opening.group("fence")
    for end in range(start + 1, len(lines)):
        if lines[end].strip() == fence:
            return "\n".join(lines[start + 1 : end]) + "\n", end + 1
    raise AssertionError(f"line {start + 1}: unclosed fenced block")


def parse(text: str) -> Tutorial:
    lines = text.splitlines()
    steps: list[Step] = []
    unmarked: list[int] = []
    i = 0
    while i < len(lines):
        marker = MARKER.match(lines[i])
        if marker:
            kind, words, options = _split(marker.group("spec"))
            if kind in STANDALONE_KINDS:
                steps.append(Step(kind, words, options, None, i + 1))
                i += 1
                continue
            assert kind in BLOCK_KINDS, f"line {i + 1}: unknown test marker {kind!r}"
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            body, i = _fenced(lines, j)
            steps.append(Step(kind, words, options, body, j + 1))
            continue
        if FENCE.match(lines[i]):
            unmarked.append(i + 1)
            _, i = _fenced(lines, i)
            continue
        i += 1
    return Tutorial(tuple(steps), tuple(unmarked))


@dataclass
class Background:
    name: str
    proc: asyncio.subprocess.Process
    log: Path


@dataclass
class Run:
    """One tutorial being run: its directory, shell, background processes and browser page."""

    page: Tutorial
    work: Path
    stack: contextlib.AsyncExitStack
    ports: dict[str, str] = field(default_factory=dict)
    shell: asyncio.subprocess.Process | None = None
    background: dict[str, Background] = field(default_factory=dict)
    browser: Page | None = None
    counter: int = 0

    def sub(self, text: str) -> str:
        for port, replacement in self.ports.items():
            text = re.sub(rf"(?<![\d.]){port}(?!\d)", replacement, text)
        return text

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = f"{REPO / '.venv' / 'bin'}:{env.get('PATH', '')}"
        for name in [n for n in env if n.startswith("PAYEDGE_")]:
            del env[name]  # only what the page sets
        env["NO_COLOR"] = "1"
        return env


def free_ports(count: int) -> int:
    """The first of `count` consecutive free loopback ports (bounded tries)."""
    if count == 1:
        return free_port()
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 60000 - count)
        with contextlib.ExitStack() as held:
            try:
                for port in range(base, base + count):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return base
    raise RuntimeError(f"no {count} consecutive free ports")


def _where(step: Step) -> str:
    return f"tutorial line {step.line} ({step.kind})"


async def _shell(run: Run) -> asyncio.subprocess.Process:
    if run.shell is None:
        run.shell = await asyncio.create_subprocess_exec(
            "bash",
            "--noprofile",
            "--norc",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=run.work,
            env=run.env,
            start_new_session=True,
        )
        run.stack.push_async_callback(_stop, run.shell)
        assert run.shell.stdin is not None
        run.shell.stdin.write(b"set -euo pipefail\n")
    return run.shell


async def _run(run: Run, step: Step) -> None:
    deadline = time.monotonic() + float(step.option("within") or 0)
    while True:
        output = await _run_once(run, step)
        missing = [text for text in step.options.get("expect", []) if run.sub(text) not in output]
        if not missing or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.5)
    assert not missing, f"{_where(step)}: {missing} not in the output:\n{output}"
    if "open" in step.words:
        url = output.strip().splitlines()[-1].strip()
        if run.browser is None:
            run.browser = await run.stack.enter_async_context(chromium_page())
        await run.browser.call("Page.navigate", url=url)


async def _run_once(run: Run, step: Step) -> str:
    assert step.body is not None
    run.counter += 1
    script = run.work / ".tutorial" / f"{run.counter:02d}.sh"
    out = script.with_suffix(".out")
    script.parent.mkdir(exist_ok=True)
    script.write_text(run.sub(step.body))
    shell = await _shell(run)
    assert shell.stdin is not None and shell.stdout is not None
    shell.stdin.write(f"source {script} > {out} 2>&1\necho {DONE}\n".encode())
    await shell.stdin.drain()
    try:
        line = await asyncio.wait_for(shell.stdout.readline(), RUN_SECONDS)
    except TimeoutError:
        line = b""
    output = out.read_text() if out.exists() else ""
    assert line.strip() == DONE.encode(), f"{_where(step)} failed:\n{step.body}\n--- output ---\n{output}"
    return output


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 15)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()


async def _answers(url: str) -> bool:
    with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
        async with (
            aiohttp.ClientSession() as http,
            http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as resp,
        ):
            return resp.status < 500
    return False


async def _background(run: Run, step: Step) -> None:
    assert step.body is not None and step.words, f"{_where(step)}: background needs a name"
    name = step.words[0]
    log = run.work / ".tutorial" / f"{name}.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            "set -euo pipefail\n" + run.sub(step.body),
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            cwd=run.work,
            env=run.env,
            start_new_session=True,
        )
    run.stack.push_async_callback(_stop, proc)
    run.background[name] = Background(name, proc, log)
    url, text, file = step.option("ready"), step.option("ready-text"), step.option("ready-file")
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        assert proc.returncode is None, f"{_where(step)}: {name} exited:\n{log.read_text()}"
        if url and await _answers(run.sub(url)):
            return
        source = run.work / file if file else log
        if text and source.exists() and run.sub(text) in source.read_text():
            return
        if not url and not text:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{_where(step)}: {name} not ready in {WAIT_SECONDS} s:\n{log.read_text()}")


async def _wait_log(run: Run, step: Step) -> None:
    name, text = step.words[0], run.sub(" ".join(step.words[1:]))
    log = run.background[name].log
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if text in log.read_text():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{_where(step)}: {text!r} never printed by {name}:\n{log.read_text()}")


async def _browser_text(run: Run, step: Step) -> None:
    assert run.browser is not None, f"{_where(step)}: no page open"
    text = run.sub(" ".join(step.words))
    expression = f"document.body !== null && document.body.innerText.includes({text!r})"
    await run.browser.wait_for(expression, True, within=WAIT_SECONDS)


@contextlib.contextmanager
def _postgres(run: Run, step: Step) -> Iterator[None]:
    from tests.support.postgres import postgres_server

    with postgres_server(durable=False) as server:
        server.psql("CREATE ROLE payedge LOGIN PASSWORD 'payedge'")
        server.psql("CREATE DATABASE payedge OWNER payedge")
        run.ports[step.option("port") or "5432"] = str(server.port)
        yield


async def _provide(run: Run, step: Step) -> None:
    assert step.words == ("postgres",), f"{_where(step)}: only `provide postgres` exists"
    # Synchronous helpers (initdb, pg_ctl) run in a thread: the loop keeps serving the page.
    manager = _postgres(run, step)
    await asyncio.to_thread(manager.__enter__)
    run.stack.push_async_callback(asyncio.to_thread, manager.__exit__, None, None, None)


async def _step(run: Run, step: Step) -> None:
    if step.kind == "ports":
        for word in step.words:
            port, _, count = word.partition(":")
            base = free_ports(int(count or 1))
            for offset in range(int(count or 1)):
                run.ports[str(int(port) + offset)] = str(base + offset)
    elif step.kind == "file":
        target = run.work / step.words[0]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(run.sub(step.body or ""))
    elif step.kind == "run":
        await _run(run, step)
    elif step.kind == "background":
        await _background(run, step)
    elif step.kind == "provide":
        await _provide(run, step)
    elif step.kind == "browser-text":
        await _browser_text(run, step)
    elif step.kind == "log":
        await _wait_log(run, step)


@contextlib.asynccontextmanager
async def _running(page: Tutorial, work: Path) -> AsyncIterator[Run]:
    # The reader works from the repository's root: its venv and docs/ are there.
    for name in (".venv", "docs"):
        (work / name).symlink_to(REPO / name)
    async with contextlib.AsyncExitStack() as stack:
        yield Run(page, work, stack)


async def run_tutorial(path: Path, work: Path) -> Run:
    page = parse(await asyncio.to_thread(path.read_text, encoding="utf-8"))
    async with _running(page, work) as run:
        for step in page.steps:
            await _step(run, step)
        return run
