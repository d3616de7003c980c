"""The one table of settings: dataclass fields carrying a `Setting`, walked into `Spec`s.

A section is a frozen dataclass whose fields are either settings (declared with
`setting(...)`) or sub-sections (another such dataclass). The root is `Config`. Walking
the tree gives every setting's key path (`gateways.stripe.webhook_secrets`), and from
that one list payedge derives the flags, the environment variables, the TOML reading,
the validation, `payedge config check` and the docs' reference table.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from payedge_server.config.kinds import Items, Kind

KEY = "payedge.setting"

SourceKind = Literal["default", "file", "env", "flag", "data_dir", "generated"]
RANK: Mapping[SourceKind, int] = {
    "default": 0,
    "generated": 0,
    "data_dir": 0,
    "file": 1,
    "env": 2,
    "flag": 3,
}
"""Precedence (SPEC 9): a flag beats its environment variable, which beats the file."""


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    detail: str = ""  # the flag, the variable, the file (and its env: references), the data-dir file

    def __str__(self) -> str:
        if self.kind == "generated":
            return f"generated, kept in {self.detail}"
        if self.kind == "data_dir":
            return f"data dir file {self.detail}"
        if self.kind == "default" and self.detail:
            return f"default ({self.detail})"
        return f"{self.kind} {self.detail}".strip()


@dataclass(frozen=True)
class Problem:
    """One reason the configuration is refused: where (flag, variable, key path, file) and what."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class PendingFile:
    """A generated secret that `payedge serve` writes (0600) into the data dir before starting."""

    path: Path
    text: str = field(repr=False)  # a secret


@dataclass(frozen=True)
class Fallen:
    """A value found by a fallback (derived from another setting, or kept in the data dir)."""

    value: object = field(repr=False)  # may be a secret
    source: Source
    pending: PendingFile | None = None


Lookup = Callable[[str], object]
"""The value of another setting by key path (explicitly given ones, then those resolved before)."""


class Fallback(Protocol):
    """Where a setting's value comes from when no flag, variable or file gives one."""

    @property
    def doc(self) -> str:
        """The docs' "default" column."""
        ...

    def resolve(self, spec: Spec, lookup: Lookup) -> Fallen | Problem | None: ...


@dataclass(frozen=True)
class Setting:
    kind: Kind[Any] | Items[Any]
    help: str
    flag: str | None = None
    env: str | None = None
    secret: bool = False
    fallback: Fallback | None = None


def setting(
    kind: Kind[Any] | Items[Any],
    default: object,
    *,
    help: str,
    flag: str | None = None,
    env: str | None = None,
    secret: bool = False,
    fallback: Fallback | None = None,
) -> Any:
    """A dataclass field that is a setting (its key is the field's name under its section).

    A secret is left out of the dataclass's repr, so printing a Config shows no secret.
    """
    meta = Setting(kind, help, flag, env, secret, fallback)
    return dataclasses.field(default=default, repr=not secret, metadata={KEY: meta})


@dataclass(frozen=True)
class Check:
    """A rule across settings of a section: `test(config)` returns a message when broken."""

    where: str
    test: Callable[[Any], str | None]


@dataclass(frozen=True)
class Spec:
    """One setting, placed: its key path, its section class and its default."""

    keys: tuple[str, ...]
    setting: Setting
    default: object

    @property
    def path(self) -> str:
        return ".".join(self.keys)

    @property
    def items(self) -> Items[Any] | None:
        kind = self.setting.kind
        return kind if isinstance(kind, Items) else None

    @property
    def scalar(self) -> Kind[Any]:
        kind = self.setting.kind
        return kind.item if isinstance(kind, Items) else kind

    def names(self) -> str:
        """The names a user knows it by, for messages: `--flag, PAYEDGE_X, key.path`."""
        return ", ".join(n for n in (self.setting.flag, self.setting.env, self.path) if n)


@dataclass(frozen=True)
class Section:
    keys: tuple[str, ...]
    cls: type[Any]
    children: tuple[str, ...]  # every key under it: settings and sub-sections


def _parts(cls: type[Any]) -> Iterator[tuple[dataclasses.Field[Any], type[Any] | None]]:
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass")
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        child = hints[f.name]
        yield f, child if isinstance(child, type) and dataclasses.is_dataclass(child) else None


def _walk(cls: type[Any], keys: tuple[str, ...]) -> Iterator[Spec | Section]:
    names = []
    for f, child in _parts(cls):
        names.append(f.name)
        meta = f.metadata.get(KEY)
        if isinstance(meta, Setting):
            _validate_setting((*keys, f.name), meta)
            yield Spec((*keys, f.name), meta, f.default)
        elif child is not None:
            yield from _walk(child, (*keys, f.name))
        else:
            raise TypeError(f"{cls.__name__}.{f.name} is neither a setting(...) nor a section")
    yield Section(keys, cls, tuple(names))


def _validate_setting(keys: tuple[str, ...], meta: Setting) -> None:
    kind = meta.kind.item if isinstance(meta.kind, Items) else meta.kind
    if not kind.text_form and (meta.flag or meta.env):
        raise TypeError(f"{'.'.join(keys)}: a table setting has no flag or variable")
    if meta.env is not None and not meta.env.startswith("PAYEDGE_"):
        raise TypeError(f"{'.'.join(keys)}: variables are PAYEDGE_*")


_SPECS: dict[type[Any], tuple[Spec, ...]] = {}
_SECTIONS: dict[type[Any], Mapping[tuple[str, ...], Section]] = {}


def specs(root: type[Any]) -> tuple[Spec, ...]:
    """Every setting under `root`, in declaration order (the order fallbacks resolve in)."""
    if root not in _SPECS:
        found = tuple(s for s in _walk(root, ()) if isinstance(s, Spec))
        for attr in ("flag", "env"):
            names = [getattr(s.setting, attr) for s in found if getattr(s.setting, attr)]
            if len(names) != len(set(names)):
                raise TypeError(f"two settings share a {attr}")
        _SPECS[root] = found
    return _SPECS[root]


def sections(root: type[Any]) -> Mapping[tuple[str, ...], Section]:
    if root not in _SECTIONS:
        _SECTIONS[root] = {s.keys: s for s in _walk(root, ()) if isinstance(s, Section)}
    return _SECTIONS[root]


def build(cls: type[Any], values: Mapping[str, object], keys: tuple[str, ...] = ()) -> Any:
    """An instance of the section `cls` from values by key path (absent: the field's default)."""
    kwargs: dict[str, object] = {}
    for f, child in _parts(cls):
        path = ".".join((*keys, f.name))
        if child is not None and KEY not in f.metadata:
            kwargs[f.name] = build(child, values, (*keys, f.name))
        elif path in values:
            kwargs[f.name] = values[path]
    return cls(**kwargs)


def checks(root: type[Any]) -> Iterator[Check]:
    """The cross-setting rules of every section (a `checks` class attribute)."""
    for section in sections(root).values():
        yield from getattr(section.cls, "checks", ())


def one_of(root: type[Any]) -> Iterator[tuple[str, ...]]:
    """Groups of settings of which only one may be given (a `one_of` class attribute)."""
    for section in sections(root).values():
        for group in getattr(section.cls, "one_of", ()):
            yield tuple(".".join((*section.keys, name)) for name in group)
