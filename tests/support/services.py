"""Start real servers (Redis, Mosquitto, localstripe) on free loopback ports for tests.

Each helper returns a context manager that starts the process, waits until its
port accepts connections, and stops it (and its children) afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

# Sockets bound for closed_port(), held until the test process ends.
_CLOSED: list[socket.socket] = []


def closed_port() -> int:
    """A loopback port where every connection is refused, for the rest of the test session.

    For a URL that must lead nowhere (a provider that is down, callbacks that must be lost).
    A `free_port()` is only free when it is picked: the next server a test starts may be
    handed the same port, and the "lost" callbacks then reach it. This port stays bound by
    a socket that never listens, so nothing else can take it and a connection gets a reset.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    _CLOSED.append(sock)
    port: int = sock.getsockname()[1]
    return port


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def find_binary(name: str) -> str:
    """The path of a system binary, or fail/skip clearly when it is absent.

    Under CI (CI=true) an absent binary is a failure: `.ci/run` installs them.
    """
    path = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )
    if path is None:
        message = f"{name} is not installed (run `make system-deps`, which uses apt-get)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def spawn(
    cmd: Sequence[str], port: int, log_path: Path, *, cwd: str | None = None, timeout: float = 20.0
) -> subprocess.Popen[bytes]:
    """Start `cmd` in its own session, its output appended to `log_path`; return once `port` listens.

    If it never listens, it is stopped and its log goes to stderr before the error is raised.
    """
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            list(cmd), cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for_port(port, timeout, proc)
    except Exception:
        stop(proc)
        sys.stderr.write(log_path.read_text(errors="replace"))
        raise
    return proc


@contextlib.contextmanager
def running(
    cmd: Sequence[str], port: int, *, cwd: str | None = None, timeout: float = 20.0
) -> Iterator[subprocess.Popen[bytes]]:
    """`spawn` with a throwaway log, stopped (with its children) on exit."""
    with tempfile.TemporaryDirectory() as logs:
        proc = spawn(cmd, port, Path(logs) / "output.log", cwd=cwd, timeout=timeout)
        try:
            yield proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop a process started in its own session, and its children."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server; yields its URL."""
    binary = find_binary("redis-server")
    port = free_port()
    with (
        tempfile.TemporaryDirectory() as data,
        running(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                data,
            ],
            port,
        ),
    ):
        yield f"redis://127.0.0.1:{port}/0"


@contextlib.contextmanager
def restartable_redis() -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    """A redis-server that can be stopped and started again on the same port: (url, start, stop)."""
    binary = find_binary("redis-server")
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", data]
        procs: list[subprocess.Popen[bytes]] = []

        def start_redis() -> None:
            procs.append(spawn(cmd, port, Path(data) / "log"))

        def stop_redis() -> None:
            stop(procs.pop())

        start_redis()
        try:
            yield f"redis://127.0.0.1:{port}/0", start_redis, stop_redis
        finally:
            while procs:
                stop_redis()


@contextlib.contextmanager
def mosquitto(port: int | None = None, extra_config: str = "") -> Iterator[int]:
    """A throwaway Mosquitto broker on loopback; yields its port."""
    binary = find_binary("mosquitto")
    port = port or free_port()
    with tempfile.TemporaryDirectory() as data:
        conf = Path(data) / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {data}/\nmax_queued_messages 100000\n{extra_config}"
        )
        with running([binary, "-c", str(conf)], port):
            yield port


@contextlib.contextmanager
def localstripe() -> Iterator[str]:
    """localstripe (the PyPI Stripe peer) from scratch; yields its base URL."""
    exe = Path(sys.executable).with_name("localstripe")
    if not exe.exists():
        pytest.fail("localstripe is not installed in the venv (requirements-dev.txt)")
    port = free_port()
    with (
        tempfile.TemporaryDirectory() as cwd,
        running([str(exe), "--port", str(port), "--from-scratch"], port, cwd=cwd),
    ):
        yield f"http://127.0.0.1:{port}"
