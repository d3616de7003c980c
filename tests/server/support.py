"""Start the real `payedge serve` process for tests, and talk to it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import payedge

from tests.support import services, stores

API_KEY = "pek_test_key_0123456789abcdef"
STRIPE_SECRET = "whsec_test_stripe_secret_0123456789"
PAYEDGE = str(Path(sys.executable).with_name("payedge"))


@dataclass
class Server:
    url: str
    port: int
    data_dir: Path
    proc: subprocess.Popen[bytes]
    args: list[str] = field(default_factory=list)
    database_url: str = ""

    def rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Query this server's database from outside (`?` placeholders, either store)."""
        return stores.rows(self.database_url, sql, params)

    @property
    def log(self) -> str:
        return (self.data_dir / "server.log").read_text(errors="replace")

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {API_KEY}", **extra}


def serve_command(port: int, data_dir: Path, *extra: str) -> list[str]:
    return [
        PAYEDGE,
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--api-key",
        API_KEY,
        "--stripe-webhook-secret",
        STRIPE_SECRET,
        *extra,
    ]


def database_url_of(args: tuple[str, ...] | list[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg == "--database-url" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--database-url="):
            return arg.split("=", 1)[1]
    return None


@contextlib.contextmanager
def running_server(data_dir: Path, *extra: str, port: int | None = None) -> Iterator[Server]:
    """`payedge serve` on a free loopback port; stdout+stderr in data_dir/server.log.

    Without `--database-url` in `extra`, the server gets a new database of the store
    the test runs on (tests/support/stores.py): SQLite in `data_dir`, or PostgreSQL."""
    port = port or services.free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url = database_url_of(extra)
    if database_url is None:
        database_url = stores.current().database_url(data_dir)
        if not database_url.startswith("sqlite:"):
            extra = ("--database-url", database_url, *extra)
    cmd = serve_command(port, data_dir, *extra)
    proc = services.spawn(cmd, port, data_dir / "server.log")
    try:
        yield Server(f"http://127.0.0.1:{port}", port, data_dir, proc, cmd, database_url)
    finally:
        services.stop(proc)


def stripe_event(event_type: str, object_id: str, *, event_id: str | None = None, **fields: object) -> bytes:
    obj = {"id": object_id, "object": "payment_intent", "metadata": {}, **fields}
    event = {
        "id": event_id or f"evt_{os.urandom(12).hex()}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }
    return orjson.dumps(event)


def stripe_headers(body: bytes, secret: str = STRIPE_SECRET) -> dict[str, str]:
    return {
        "Stripe-Signature": payedge.sign_stripe(body, secret, int(time.time())),
        "Content-Type": "application/json",
    }
