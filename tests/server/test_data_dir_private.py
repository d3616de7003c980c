"""The data dir is private whatever the umask (docs/server.md "Running it").

A real `payedge serve` started with umask 022 in a fresh data dir: the dir is 0700 and every
file in it 0600 (the generated secrets, the SQLite database and, after a write, its -wal and
-shm files, the write lock). A database that already exists with a looser mode is left as it
is and named in a warning with its mode; the parking relay's lock file is 0600 too.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from payedge_server.parking.election import FileLeader
from payedge_server.store.sqlite import SqliteStore

from tests.server.support import PAYEDGE
from tests.support import services

pytestmark = pytest.mark.sqlite_only  # inspects the SQLite files themselves


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _serve_with_umask_022(port: int, data_dir: Path, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [PAYEDGE, "serve", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            umask=0o022,  # the usual umask: files 0644 and dirs 0755 unless payedge says otherwise
        )


async def test_a_first_start_makes_a_private_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "state" / "payedge-data"  # neither exists yet
    port = services.free_port()
    proc = _serve_with_umask_022(port, data_dir, tmp_path / "out.log")
    try:
        services.wait_for_port(port, 20.0, proc)
        key = (data_dir / "api_key").read_text().strip()
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"http://127.0.0.1:{port}/v1/payments",
                json={"amount": 1000, "currency": "EUR"},
                headers={"Authorization": f"Bearer {key}"},
            ) as resp,
        ):
            assert resp.status == 201, await resp.text()
        # While it runs (at shutdown SQLite checkpoints and removes -wal and -shm).
        modes = {path.name: _mode(path) for path in data_dir.iterdir()}
    finally:
        services.stop(proc)
    expected = {"api_key", "sandbox_webhook_secret", "payedge.sqlite3", "payedge.sqlite3-wal"}
    assert expected | {"payedge.sqlite3-shm"} <= set(modes), modes
    assert {name: oct(mode) for name, mode in modes.items() if mode != 0o600} == {}
    assert oct(_mode(data_dir)) == oct(0o700)
    assert oct(_mode(data_dir.parent)) == oct(0o755)  # a parent it had to make: as `mkdir -p` does
    assert "other users may read" not in (tmp_path / "out.log").read_text()  # none of its own files


async def test_an_existing_shared_database_is_left_alone_and_named_in_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "payedge.sqlite3"
    path.touch()
    path.chmod(0o644)
    store = SqliteStore(path)
    with caplog.at_level(logging.WARNING, logger="payedge.store"):
        await store.open()
        await store.close()
    assert _mode(path) == 0o644
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(path) in text and "0644" in text for text in warnings), warnings


async def test_a_private_database_gives_no_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, umask_022: None
) -> None:
    path = tmp_path / "new" / "payedge.sqlite3"
    for _ in range(2):  # created, then reopened
        store = SqliteStore(path)
        with caplog.at_level(logging.WARNING, logger="payedge.store"):
            await store.open()
            await store.write(lambda tx: tx.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
            await store.close()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert oct(_mode(path)) == oct(0o600) and oct(_mode(path.parent)) == oct(0o700)
    assert oct(_mode(path.with_name("payedge.sqlite3.writelock"))) == oct(0o600)


async def test_the_relay_lock_file_is_private(tmp_path: Path, umask_022: None) -> None:
    leader = FileLeader(tmp_path / "payedge.sqlite3.mqtt-relay.lock")
    await leader.acquire()
    leader.release()
    assert oct(_mode(leader.path)) == oct(0o600)
