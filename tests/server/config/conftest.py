"""`start(sources)`: `payedge serve`'s main() in-process, with the server itself replaced by a tripwire."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from payedge_server import cli

from tests.server.config.support import Sources

Start = Callable[[Sources], tuple[int, str, str]]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("PAYEDGE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.fixture
def start(clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Start:
    """Run main(argv) as `payedge serve` would; fail the test if it gets as far as serving."""

    def tripwire(*args: object, **kwargs: object) -> int:
        raise AssertionError("payedge serve started although its configuration is invalid")

    clean_env.setattr(cli, "run_worker", tripwire)
    clean_env.setattr(cli, "_supervise", tripwire)

    def run(sources: Sources) -> tuple[int, str, str]:
        for name, value in sources.env.items():
            clean_env.setenv(name, value)
        try:
            code = cli.main(sources.args())
        except SystemExit as exc:  # argparse's usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
