"""Reading the three sources into `Given` values, untouched: flags, PAYEDGE_* variables, the file.

Nothing is converted or trimmed here; every value is checked by its kind in `loader`.
A value remembers where it came from (`Given.where`), which is how an error names the
flag (`--api-key[1]`), the variable (`PAYEDGE_API_KEY[1] (--api-key)`) or the key path
(`payedge.toml: gateways.stripe.webhook_secrets[1] (env:STRIPE_WHSEC_2)`).
"""

from __future__ import annotations

import argparse
import difflib
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from payedge_server.config.kinds import toml_type
from payedge_server.config.schema import Problem, Source, Spec, sections, specs

ENV_PREFIX = "PAYEDGE_"
CONFIG_ENV = "PAYEDGE_CONFIG"
# Not settings, but payedge's own: the config file's name, a worker's number, and the ready
# line `payedge fakes` prints among the settings (docs/gateways.md sources that whole output).
INTERNAL_ENV = frozenset({CONFIG_ENV, "PAYEDGE_WORKER", "PAYEDGE_FAKES_READY"})
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Given:
    """One value as a source gave it: text (flag, variable, env: reference) or a TOML value."""

    where: str
    text: str | None = field(default=None, repr=False)  # may be a secret
    native: object = field(default=None, repr=False)
    base: Path | None = None  # the config file's directory, for values from the file
    literal_in_file: bool = False
    ref: str | None = None  # NAME of an env:NAME reference in the file


@dataclass(frozen=True)
class Candidate:
    """What one source says for one setting: a value, or the items of a list (or why it cannot)."""

    source: Source
    where: str
    values: tuple[Given, ...] = ()
    problems: tuple[Problem, ...] = ()


# -- flags ---------------------------------------------------------------------------


def build_parser(prog: str, root: type[Any], *, file_argument: bool = False) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Each flag is also a PAYEDGE_* environment variable and a key of the TOML "
        "config file; a flag beats its variable, which beats the file (docs/configuration.md).",
    )
    if file_argument:
        p.add_argument(
            "file", nargs="?", default=None, help=f"the config file (else --config / {CONFIG_ENV})"
        )
    p.add_argument("--config", default=None, metavar="FILE", help=f"TOML config file [{CONFIG_ENV}]")
    for spec in specs(root):
        flag = spec.setting.flag
        if flag is None:
            continue
        repeat = spec.items is not None and spec.items.repeat_flag
        where = ", ".join(n for n in (spec.setting.env, spec.path) if n)
        p.add_argument(
            flag,
            dest=spec.path,
            action="append" if repeat else "store",
            default=None,
            metavar=_metavar(flag, spec),
            help=f"{spec.setting.help} [{where}]" + (" (repeatable)" if repeat else ""),
        )
    return p


def _metavar(flag: str, spec: Spec) -> str:
    word = flag.rsplit("-", 1)[-1].upper()
    return (
        f"{word[:-1] if word.endswith('S') else word}1,..."
        if spec.items and not spec.items.repeat_flag
        else word
    )


def from_flags(ns: argparse.Namespace, root: type[Any]) -> dict[str, Candidate]:
    found: dict[str, Candidate] = {}
    for spec in specs(root):
        flag = spec.setting.flag
        raw: str | list[str] | None = getattr(ns, spec.path, None) if flag else None
        if flag is None or raw is None:
            continue
        if isinstance(raw, list):
            values = tuple(Given(f"{flag}[{i}]", text=t) for i, t in enumerate(raw))
        elif spec.items is not None:
            values = tuple(Given(f"{flag}[{i}]", text=t) for i, t in enumerate(raw.split(",")))
        else:
            values = (Given(flag, text=raw),)
        found[spec.path] = Candidate(Source("flag", flag), flag, values)
    return found


# -- environment -----------------------------------------------------------------------


def from_env(environ: Mapping[str, str], root: type[Any]) -> dict[str, Candidate]:
    """Lists are comma-separated, split on the comma only (`a, b` is refused, not trimmed)."""
    found: dict[str, Candidate] = {}
    for spec in specs(root):
        name = spec.setting.env
        if name is None or name not in environ:
            continue
        text, also = environ[name], spec.setting.flag or spec.path
        where, source = f"{name} ({also})", Source("env", name)
        if text == "":
            empty = Problem(where, "is set but empty: unset it to use the default")
            found[spec.path] = Candidate(source, where, problems=(empty,))
        elif spec.items is not None:
            parts = text.split(",")
            values = tuple(Given(f"{name}[{i}] ({also})", text=t) for i, t in enumerate(parts))
            found[spec.path] = Candidate(source, where, values)
        else:
            found[spec.path] = Candidate(source, where, (Given(where, text=text),))
    return found


def unknown_env(environ: Mapping[str, str], root: type[Any], referenced: Iterable[str] = ()) -> list[str]:
    """Warnings for PAYEDGE_* variables that are no setting (a typo would otherwise go unseen).

    Variables the file references (`env:PAYEDGE_...`) are known too.
    """
    known = {s.setting.env for s in specs(root) if s.setting.env} | INTERNAL_ENV
    skip = known | set(referenced)
    out = []
    for name in sorted(n for n in environ if n.startswith(ENV_PREFIX) and n not in skip):
        close = difflib.get_close_matches(name, sorted(k for k in known if k), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        out.append(f"{name} is not a payedge setting and is ignored{hint}")
    return out


# -- the config file -------------------------------------------------------------------


def read_file(path: Path, named_by: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh), []
    except FileNotFoundError:
        return None, [Problem(f"{path} ({named_by})", "no such config file")]
    except OSError as exc:
        return None, [Problem(f"{path} ({named_by})", f"cannot be read: {exc.strerror or exc}")]
    except tomllib.TOMLDecodeError as exc:
        return None, [Problem(str(path), f"is not valid TOML: {exc}")]
    except UnicodeDecodeError:
        return None, [Problem(str(path), "is not UTF-8 text")]


def unknown_keys(doc: Mapping[str, Any], root: type[Any], file: Path) -> Iterator[Problem]:
    """Every key of the file that is no setting and no section (with the known ones as a hint)."""
    tree = sections(root)
    settings = {s.keys for s in specs(root)}

    def walk(table: Mapping[str, Any], keys: tuple[str, ...]) -> Iterator[Problem]:
        known = tree[keys].children
        for key, value in table.items():
            sub, path = (*keys, key), ".".join((*keys, key))
            if sub in settings:
                continue
            if sub not in tree:
                where = f"[{'.'.join(keys)}]" if keys else "the top level"
                yield Problem(f"{file}: {path}", f"unknown key (known in {where}: {', '.join(known)})")
            elif not isinstance(value, dict):
                yield Problem(f"{file}: {path}", f"expected a table ([{path}]), got {toml_type(value)}")
            else:
                yield from walk(value, sub)

    yield from walk(doc, ())


def from_file(
    doc: Mapping[str, Any], file: Path, root: type[Any], environ: Mapping[str, str]
) -> dict[str, Candidate]:
    found: dict[str, Candidate] = {}
    for spec in specs(root):
        value = _lookup(doc, spec.keys)
        if value is not _ABSENT:
            found[spec.path] = _file_candidate(spec, value, file, environ)
    return found


def _file_candidate(spec: Spec, value: object, file: Path, environ: Mapping[str, str]) -> Candidate:
    where = f"{file}: {spec.path}"
    if spec.items is None:
        given: list[Given | Problem] = [_given(value, where, file, environ, spec)]
    elif isinstance(value, list):
        given = [_given(v, f"{where}[{i}]", file, environ, spec) for i, v in enumerate(value)]
    else:
        wrong = Problem(where, f"expected {spec.items.name} (an array), got {toml_type(value)}")
        return Candidate(Source("file", str(file)), where, problems=(wrong,))
    values = tuple(g for g in given if isinstance(g, Given))
    refs = [f"env:{g.ref}" for g in values if g.ref]
    source = Source("file", f"{file}" + (f" ({', '.join(refs)})" if refs else ""))
    return Candidate(source, where, values, tuple(g for g in given if isinstance(g, Problem)))


_ABSENT = object()


def _lookup(doc: Mapping[str, Any], keys: Sequence[str]) -> object:
    node: object = doc
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return _ABSENT
        node = node[key]
    return node


def _given(value: object, where: str, file: Path, environ: Mapping[str, str], spec: Spec) -> Given | Problem:
    """A file value; `env:NAME` is replaced by that variable's text (the same rules then apply)."""
    base = file.parent
    if isinstance(value, str) and value.startswith("env:"):
        name = value[len("env:") :]
        if not _ENV_NAME.fullmatch(name):
            return Problem(where, "an env: reference names a variable: env:NAME, NAME of [A-Za-z0-9_]")
        text = environ.get(name)
        if text is None:
            return Problem(f"{where} (env:{name})", f"the variable {name} is not set")
        if text == "":
            return Problem(f"{where} (env:{name})", f"the variable {name} is set but empty")
        return Given(f"{where} (env:{name})", text=text, base=base, ref=name)
    if spec.setting.secret:
        return Problem(
            where,
            "a secret is written in the config file as an env:NAME reference (SPEC 9), never literally: "
            "set a variable and write env:NAME",
        )
    return Given(where, native=value, base=base, literal_in_file=True)
