"""The data dir is private: created 0700, every file payedge writes in it created 0600.

It holds the API key, the sandbox's webhook secret and the SQLite database (payments,
idempotent responses, customers' metadata): none of it is for other local users, whatever
the process's umask. SQLite's unix VFS creates `-wal` and `-shm` with the database file's
own permissions, so creating the database file 0600 before SQLite opens it covers them.

What payedge did not create is left as it is (an operator may share a directory or a
database on purpose); a database file that others may read or write is logged as a warning
naming the file and its mode instead of being changed silently.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path
from typing import IO

log = logging.getLogger("payedge.store")

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_dir(path: Path) -> None:
    """Create the directory `path` 0700 when it is absent (its missing parents get the usual mode,
    as `mkdir -p` gives them); an existing directory is left as it is."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=DIR_MODE)


def create_empty(path: Path) -> bool:
    """Create `path` as an empty 0600 file unless it exists; True when this call created it.

    (Two processes starting together may race here: O_EXCL makes exactly one the creator.)
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def open_lock_file(path: Path) -> IO[str]:
    """A lock file (for `flock`), created 0600 when absent, opened for appending."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, FILE_MODE)
    return os.fdopen(fd, "a+", encoding="utf-8")


def warn_if_shared(path: Path, what: str) -> None:
    """Log a warning when users other than the owner may read or write `path` (left unchanged)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        log.warning(
            "%s %s has mode %04o: other users may read or write it; payedge creates it %04o "
            "(left unchanged: run `chmod 600 %s` unless it is shared on purpose)",
            what,
            path,
            mode,
            FILE_MODE,
            path,
        )
