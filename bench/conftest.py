"""Benchmarks compare payedge with its peers in the same run.

`make bench` runs them fully; `make bench-quick` (CI) sets BENCH_QUICK=1 for
fewer rounds. Each suite prints ratios through `report_ratio` and asserts the
issue's target ratio, so a regression fails CI.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

QUICK = bool(os.environ.get("BENCH_QUICK"))


class RatioRecorder:
    """Collects median timings by name and prints payedge-vs-peer ratios at the end."""

    def __init__(self) -> None:
        self.medians: dict[str, float] = {}
        self.lines: list[str] = []

    def record(self, name: str, benchmark: BenchmarkFixture) -> None:
        stats = benchmark.stats
        if stats is not None:
            self.medians[name] = stats.stats.median

    def ratio(self, faster: str, slower: str) -> float | None:
        if faster not in self.medians or slower not in self.medians:
            return None
        value = self.medians[slower] / self.medians[faster]
        self.lines.append(
            f"{faster} vs {slower}: {value:.1f}x "
            f"({self.medians[faster] * 1e6:.2f} us vs {self.medians[slower] * 1e6:.2f} us median)"
        )
        return value


_RECORDER = RatioRecorder()


@pytest.fixture(scope="session")
def ratios() -> RatioRecorder:
    return _RECORDER


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _RECORDER.lines:
        terminalreporter.section("payedge vs peers (median ratios)")
        for line in _RECORDER.lines:
            terminalreporter.write_line(line)


Bench = Callable[..., object]
