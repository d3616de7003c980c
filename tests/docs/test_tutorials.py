"""Every tutorial of the docs site runs as written (tests/docs/tutorial_runner.py says how a page is marked).

Each run starts the real components the page starts (the edge server, Mosquitto, Redis,
`payedge fakes`, PostgreSQL 15, Chromium) on free loopback ports and stops them after.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.tutorial_runner import TUTORIALS, parse, run_tutorial

PAGES = sorted(path.name for path in TUTORIALS.glob("*.md"))


def test_the_tutorials_exist() -> None:
    assert len(PAGES) >= 5


@pytest.mark.parametrize("name", PAGES)
def test_every_block_of_a_tutorial_is_marked(name: str) -> None:
    """A block with no marker would be a command no test runs."""
    page = parse((TUTORIALS / name).read_text(encoding="utf-8"))
    assert not page.unmarked, f"{name}: fenced blocks without a test marker at lines {page.unmarked}"
    assert any(step.kind == "run" for step in page.steps)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", PAGES)
async def test_tutorial_runs_as_written(name: str, tmp_path: Path) -> None:
    await run_tutorial(TUTORIALS / name, tmp_path)
