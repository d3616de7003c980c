"""A throwaway PostgreSQL 15 (Debian's package) for tests and benchmarks.

`initdb` and `postgres` refuse to run as root (CI runs as root), so as root they
run as the `postgres` user (`runuser`), in a temporary directory that user owns.
The server listens on a free loopback port (several `payedge serve` processes and
the tests share it) and on a unix socket in the same directory.

Durability is left ON (`fsync=on`, `synchronous_commit=on`: PostgreSQL's defaults)
unless `durable=False`: the fault tests (SIGKILL, the server stopped under load)
assert that acknowledged writes survive, which `fsync=off` would make meaningless.
Each test gets its own database, copied from a template (`create_database`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.services import free_port, wait_for_port

PG_BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"),)


def pg_bin(name: str) -> str:
    """The path of a PostgreSQL 15 binary; fail under CI, skip elsewhere, when absent."""
    for directory in PG_BIN_DIRS:
        candidate = directory / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        message = f"PostgreSQL 15 ({name}) is not installed (run `make system-deps`, which uses apt-get)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PostgresServer:
    """One running cluster: `url(db)` for clients, `stop`/`start`/`kill` for fault tests."""

    directory: Path
    port: int
    options: list[str]
    user: str = "postgres"
    created: int = field(default=0)

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def log(self) -> Path:
        return self.directory / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str, timeout: float = 60.0) -> None:
        subprocess.run(
            _as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), *args]),
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def start(self) -> None:
        opts = " ".join(self.options)
        self._ctl("-l", str(self.log), "-w", "-t", "60", "-o", opts, "start")
        wait_for_port(self.port, 30.0)

    def stop(self, mode: str = "fast") -> None:
        """`fast`: clean shutdown (clients disconnected); `immediate`: like a crash (recovery at start)."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        result = subprocess.run(
            _as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "status"]), check=False, capture_output=True
        )
        return result.returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        out = subprocess.run(
            [pg_bin("psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.url(database), "-c", sql],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return out.stdout.strip()

    def psql_file(self, path: Path, database: str) -> None:
        """Run an SQL file (a `pg_dump`, COPY blocks included) into `database`."""
        subprocess.run(
            [pg_bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url(database), "-f", str(path)],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def create_database(
        self, name: str | None = None, template: str | None = None, icu_locale: str | None = None
    ) -> str:
        """A new empty database (or a copy of `template`); returns its URL.

        `icu_locale` (e.g. "en-US"): its default collation is that natural-language ICU one
        instead of the cluster's "C" (`initdb --locale C`), as an operator's database may be."""
        self.created += 1
        name = name or f"t{os.getpid()}_{self.created}_{os.urandom(3).hex()}"
        clause = f" TEMPLATE {template}" if template else ""
        if icu_locale is not None:
            clause = f" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '{icu_locale}'"
        self.psql(f'CREATE DATABASE "{name}"{clause}')
        return self.url(name)

    def drop_database(self, url_or_name: str) -> None:
        name = url_or_name.rsplit("/", 1)[-1]
        with contextlib.suppress(subprocess.CalledProcessError):
            self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def postgres_server(*, durable: bool = True, max_connections: int = 300) -> Iterator[PostgresServer]:
    """initdb + start a cluster on a free loopback port; stopped and removed afterwards."""
    initdb = pg_bin("initdb")
    directory = Path(tempfile.mkdtemp(prefix="payedge-pg-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(directory, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [
                    initdb,
                    "-D",
                    str(directory / "data"),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--no-sync",
                    "--locale",
                    "C",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        port = free_port()
        options = [
            f"-p {port}",
            f"-k {directory}",
            "-c listen_addresses=127.0.0.1",
            f"-c max_connections={max_connections}",
            "-c shared_buffers=64MB",
        ]
        if not durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        server = PostgresServer(directory, port, options)
        server.start()
        try:
            yield server
        finally:
            server.stop("immediate")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def wait_until_accepting(server: PostgresServer, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.psql("SELECT 1")
            return
        time.sleep(0.1)
    raise TimeoutError("PostgreSQL did not accept connections")
