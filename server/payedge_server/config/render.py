"""What `payedge config check` prints, and the secret values the log formatter masks.

A secret is shown as `mask(value)`: at most a fixed well-known prefix (`whsec_`,
`sk_test_`, ...) and the length, never any other part of it; a URL's password likewise.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from payedge_server.config.kinds import Url, mask
from payedge_server.config.loader import Entry, Loaded
from payedge_server.config.schema import Problem, Spec, specs


def show_value(entry: Entry) -> str:
    spec, value = entry.spec, entry.value
    if entry.source.kind == "generated":
        return "(generated at first start)"
    if value is None:
        return "(not set)"
    if spec.items is not None:
        assert isinstance(value, tuple)
        return "[" + ", ".join(_one(spec, v) for v in value) + "]"
    return _one(spec, value)


def _one(spec: Spec, value: object) -> str:
    if spec.setting.secret:
        return mask(str(value))
    return spec.scalar.show(value)


def render(loaded: Loaded, *, title: str) -> str:
    rows = [(e.spec.path, show_value(e), _source(e)) for e in loaded.entries]
    width_key = max(len(r[0]) for r in rows)
    width_value = min(48, max(len(r[1]) for r in rows))
    lines = [
        title,
        "Every setting, its value and where it came from (flag > env > file > default); secrets masked.",
        "",
    ]
    lines += [f"{k.ljust(width_key)}  {v.ljust(width_value)}  # {s}" for k, v, s in rows]
    return "\n".join(lines)


def _source(entry: Entry) -> str:
    text = str(entry.source)
    if entry.note:
        text += "; " + entry.note
    if entry.overridden:
        text += "; overrides " + ", ".join(str(s) for s in entry.overridden)
    return text


def problems_text(prog: str, problems: Iterable[Problem], footer: str = "") -> str:
    found = list(problems)
    head = f"{prog}: the configuration is invalid ({len(found)} problem{'s' if len(found) > 1 else ''}):"
    return "\n".join([head, *(f"  {p}" for p in found), *([footer] if footer else [])])


def secret_values(config: Any) -> list[str]:
    """Every configured secret and URL password (for the log formatter's redaction)."""
    return sorted(set(_secrets(config)))


def _secrets(config: Any) -> Iterator[str]:
    for spec in specs(type(config)):
        value: Any = config
        for key in spec.keys:
            value = getattr(value, key)
        values = value if isinstance(value, tuple) else (value,)
        for one in values:
            if not isinstance(one, str):
                continue
            if spec.setting.secret:
                yield one
            elif isinstance(spec.scalar, Url) and urlsplit(one).password:
                password = str(urlsplit(one).password)
                yield from (password, unquote(password))
