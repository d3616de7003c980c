"""`load(argv, environ)`: the one validation path of `payedge serve` and `payedge config check`.

Flags, PAYEDGE_* variables and the config file are read as they are (`sources`); for each
setting the highest-ranked source wins (flag > environment > file > default, SPEC 9) and
its value goes through the setting's kind (`kinds`), then fallbacks fill what nobody
gave (derived defaults, secrets kept in the data dir), then the cross-setting checks of
each section run on the built `Config`. Every problem is collected, none stops the
others from being found. `load` writes nothing: the data-dir secrets it would create are
returned as `pending` for `payedge serve` to write once everything is valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from payedge_server.config.kinds import Invalid, Kind, text_problem
from payedge_server.config.model import Config
from payedge_server.config.schema import (
    RANK,
    Fallen,
    PendingFile,
    Problem,
    Source,
    Spec,
    build,
    checks,
    one_of,
    specs,
)
from payedge_server.config.sources import (
    CONFIG_ENV,
    Candidate,
    Given,
    build_parser,
    from_env,
    from_file,
    from_flags,
    read_file,
    unknown_env,
    unknown_keys,
)


@dataclass(frozen=True)
class Entry:
    """One resolved setting: its value, the source that gave it and the sources it beat."""

    spec: Spec
    value: object = field(repr=False)  # may be a secret: never in a repr
    source: Source
    overridden: tuple[Source, ...] = ()
    note: str = ""  # e.g. why a value given was not used


@dataclass(frozen=True)
class Loaded:
    config: Config | None  # None when there are problems
    entries: tuple[Entry, ...]
    problems: tuple[Problem, ...]
    warnings: tuple[str, ...]
    pending: tuple[PendingFile, ...]
    file: Path | None


@dataclass
class _State:
    """Working state of one load."""

    winners: dict[str, Candidate] = field(default_factory=dict)
    losers: dict[str, list[Candidate]] = field(default_factory=dict)
    values: dict[str, object] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pending: list[PendingFile] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)


def load(
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    prog: str = "payedge serve",
    file_argument: bool = False,
    root: type[Any] = Config,
) -> Loaded:
    """Parse, validate and resolve; argparse usage errors exit 2 as usual."""
    ns = build_parser(prog, root, file_argument=file_argument).parse_args(list(argv))
    state = _State()
    file, named_by = _config_file(getattr(ns, "file", None), ns.config, environ, state)
    in_file = _file_values(file, named_by, root, environ, state)
    _collect(state, [from_flags(ns, root), from_env(environ, root), in_file])
    refs = (g.ref for c in in_file.values() for g in c.values if g.ref)
    state.warnings.extend(unknown_env(environ, root, refs))
    _one_of(state, root)
    for spec in specs(root):
        if spec.path in state.winners:
            _explicit(state, spec)
    for spec in specs(root):
        if spec.path not in state.winners:
            _fallback(state, spec)
    config = _build(state, root)
    entries = tuple(
        Entry(
            s,
            state.values.get(s.path),
            state.sources.get(s.path, Source("default")),
            _beaten(state, s),
            state.notes.get(s.path, ""),
        )
        for s in specs(root)
    )
    problems = tuple(state.problems)
    return Loaded(config, entries, problems, tuple(state.warnings), tuple(state.pending), file)


def _config_file(
    positional: str | None, flag: str | None, environ: Mapping[str, str], state: _State
) -> tuple[Path | None, str]:
    """The config file: the FILE argument (config check), else --config, else PAYEDGE_CONFIG."""
    for text, named_by in ((positional, "FILE"), (flag, "--config"), (environ.get(CONFIG_ENV), CONFIG_ENV)):
        if text is None:
            continue
        problem = text_problem(text)
        if problem is not None:
            state.problems.append(Problem(named_by, problem))
            return None, named_by
        return Path(text), named_by
    return None, ""


def _file_values(
    file: Path | None, named_by: str, root: type[Any], environ: Mapping[str, str], state: _State
) -> dict[str, Candidate]:
    if file is None:
        return {}
    doc, problems = read_file(file, named_by)
    state.problems.extend(problems)
    if doc is None:
        return {}
    state.problems.extend(unknown_keys(doc, root, file))
    return from_file(doc, file, root, environ)


def _collect(state: _State, by_rank: Iterable[dict[str, Candidate]]) -> None:
    """Highest rank first: flags, then the environment, then the file."""
    for found in by_rank:
        for path, candidate in found.items():
            if path in state.winners:
                state.losers.setdefault(path, []).append(candidate)
            else:
                state.winners[path] = candidate


def _one_of(state: _State, root: type[Any]) -> None:
    """Of settings that exclude each other, the higher source wins; the same source may give one."""
    by_path = {s.path: s for s in specs(root)}
    for group in one_of(root):
        given = [p for p in group if p in state.winners]
        if len(given) < 2:
            continue
        top = max(RANK[state.winners[p].source.kind] for p in given)
        best = [p for p in given if RANK[state.winners[p].source.kind] == top]
        if len(best) > 1:
            where = " and ".join(state.winners[p].where for p in best)
            state.problems.append(Problem(where, "only one of them may be given"))
            continue
        for path in (p for p in given if p != best[0]):
            loser, winner = state.winners.pop(path), state.winners[best[0]]
            state.notes[path] = f"ignored: {loser.source} (excluded by {best[0]} from {winner.source})"
            for problem in _parse(by_path[path], loser)[1]:
                state.warnings.append(f"{problem} (not used: {best[0]} from {winner.source} wins)")


def _explicit(state: _State, spec: Spec) -> None:
    winner = state.winners[spec.path]
    value, problems = _parse(spec, winner)
    state.problems.extend(problems)
    if not problems:
        state.values[spec.path] = value
        state.sources[spec.path] = winner.source
    for loser in state.losers.get(spec.path, []):
        for problem in _parse(spec, loser)[1]:
            state.warnings.append(f"{problem} (not used: {winner.source} overrides it)")


def _fallback(state: _State, spec: Spec) -> None:
    fallback = spec.setting.fallback
    found = fallback.resolve(spec, state.values.get) if fallback is not None else None
    if isinstance(found, Problem):
        state.problems.append(found)
    elif isinstance(found, Fallen):
        state.values[spec.path] = found.value
        state.sources[spec.path] = found.source
        if found.pending is not None:
            state.pending.append(found.pending)
    else:
        state.values[spec.path] = spec.default


def _parse(spec: Spec, candidate: Candidate) -> tuple[object, list[Problem]]:
    problems = list(candidate.problems)
    parsed: list[object] = []
    for given in candidate.values:
        try:
            parsed.append(_parse_one(spec, spec.scalar, given))
        except Invalid as exc:
            problems.append(Problem(given.where, str(exc)))
    if spec.items is None:
        return (parsed[0] if parsed and not problems else None), problems
    if not problems:
        problems.extend(_list_problems(spec, candidate, parsed))
    return tuple(parsed), problems


def _parse_one(spec: Spec, kind: Kind[Any], given: Given) -> object:
    secret = spec.setting.secret
    if given.literal_in_file and kind.carries_credential(given.native):
        raise Invalid("holds a password: write it in the config file as an env:NAME reference (SPEC 9)")
    if given.text is not None:
        value = kind.parse_text(given.text, secret=secret)
    else:
        value = kind.parse_toml(given.native, secret=secret)
    if given.base is not None:
        value = kind.rebase(value, given.base)
    return kind.finish(value)


def _list_problems(spec: Spec, candidate: Candidate, parsed: list[object]) -> Iterable[Problem]:
    assert spec.items is not None
    if len(candidate.values) < spec.items.min_items:
        yield Problem(candidate.where, f"needs at least {spec.items.min_items} item(s)")
    if spec.items.unique:
        for i, value in enumerate(parsed):
            if value in parsed[:i]:
                yield Problem(candidate.values[i].where, f"repeats item [{parsed.index(value)}]")


def _build(state: _State, root: type[Any]) -> Config | None:
    if state.problems:
        return None
    config: Config = build(root, state.values)
    for rule in checks(root):
        message = rule.test(config)
        if message is not None:
            state.problems.append(Problem(rule.where, message))
    return None if state.problems else config


def _beaten(state: _State, spec: Spec) -> tuple[Source, ...]:
    return tuple(c.source for c in state.losers.get(spec.path, []))
