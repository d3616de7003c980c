"""Values found when no flag, variable or file gives one: derived, or kept in the data dir.

`Persisted` is how payedge keeps a generated secret across restarts (the API key, the
sandbox's webhook secret): a file of the data dir holding the value and one line feed.
It is read with the same kind and the same text rule as every other source, so a file
edited into `key\\r\\n` or ` key` is refused, naming the file, instead of being trimmed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from payedge_server import private_files
from payedge_server.config.kinds import Invalid
from payedge_server.config.schema import Fallen, Lookup, PendingFile, Problem, Source, Spec


@dataclass(frozen=True)
class Derived:
    """A default computed from another setting (`lookup` it by key path)."""

    derive: Callable[[Lookup], object | None]
    doc: str  # the docs' default column
    note: str  # the source shown by `config check` ("from server.data_dir")

    def resolve(self, spec: Spec, lookup: Lookup) -> Fallen | None:
        value = self.derive(lookup)
        return None if value is None else Fallen(value, Source("default", self.note))


@dataclass(frozen=True)
class Persisted:
    """A secret kept in `<server.data_dir>/<filename>`; generated (`make`) and written at first start."""

    filename: str
    make: Callable[[], str]
    doc: str

    def resolve(self, spec: Spec, lookup: Lookup) -> Fallen | Problem | None:
        data_dir = lookup("server.data_dir")
        if not isinstance(data_dir, Path):
            return None
        path = data_dir / self.filename
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            made = self.make()
            return Fallen(_shape(spec, made), Source("generated", str(path)), PendingFile(path, made + "\n"))
        except OSError as exc:
            return Problem(f"{path} ({spec.path})", f"cannot be read: {exc.strerror or exc}")
        try:
            value = spec.scalar.parse_text(_one_line(raw), secret=spec.setting.secret)
        except Invalid as exc:
            return Problem(f"{path} ({spec.path}, kept by payedge in the data dir)", str(exc))
        return Fallen(_shape(spec, value), Source("data_dir", str(path)))


def _one_line(raw: bytes) -> str:
    """The file's text without the one line feed that ends a text file (nothing else is removed)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("is not UTF-8 text") from None
    return text[:-1] if text.endswith("\n") else text


def _shape(spec: Spec, value: object) -> object:
    return (value,) if spec.items is not None else value


def write_pending(files: tuple[PendingFile, ...]) -> bool | Problem:
    """Write each generated secret (0600, never over an existing file; the data dir 0700 if new).

    False when a file appeared meanwhile (another process wrote it first: load again and
    use its value); a Problem when the data dir cannot be written.
    """
    for pending in files:
        try:
            private_files.make_dir(pending.path.parent)
            fd = os.open(pending.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        except OSError as exc:
            return Problem(str(pending.path), f"cannot be written: {exc.strerror or exc}")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(pending.text)
    return True
