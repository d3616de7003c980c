"""`payedge quote`: quote a stay from a rules file on the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_tariff import MONDAY_10H, PARIS


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "payedge.cli", "quote", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "paris.json"
    path.write_text(json.dumps(PARIS, indent=2))
    return path


def test_quote_text(rules_file: Path) -> None:
    # ISO 8601 without an offset is local time of the tariff's zone (Paris, UTC+2 in June).
    result = run(str(rules_file), "--entry", "2024-06-03T10:00", "--exit", "2024-06-04T11:00:00+02:00")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "total  22.00 EUR" in out  # 20.00 (capped day) + 4 units at 0.50
    assert "gross 22.00 EUR, daily cap" in out
    assert "2024-06-03 10:00:00 CEST" in out
    assert "period   1" in out


def test_quote_json_with_unix_seconds(rules_file: Path) -> None:
    result = run(
        str(rules_file),
        "--entry",
        str(MONDAY_10H),
        "--exit",
        "2024-06-03T10:30:00Z",  # 12:30 local: 2h30
        "--lost-ticket",
        "--subscription",
        "resident",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["amount"] == 440 - 220 + 3000
    assert doc["formatted"] == "32.20 EUR"
    assert doc["units"] == 10
    assert [line["kind"] for line in doc["lines"]] == ["period", "discount", "lost_ticket_fee"]


def test_quote_errors(rules_file: Path, tmp_path: Path) -> None:
    result = run(str(rules_file), "--entry", "2024-06-03T10:00", "--exit", "2024-06-03T09:00")
    assert result.returncode == 2
    assert "exit" in result.stderr and "before entry" in result.stderr
    result = run(str(rules_file), "--entry", "yesterday", "--exit", "0")
    assert result.returncode == 2
    assert "entry" in result.stderr and "ISO 8601" in result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"currency": "EUR"}')
    result = run(str(broken), "--entry", "0", "--exit", "60")
    assert result.returncode == 2
    assert "broken.json" in result.stderr and "$.timezone" in result.stderr
    result = run(str(rules_file), "--entry", "0", "--exit", "60", "--subscription", "vip")
    assert result.returncode == 2
    assert "subscription" in result.stderr
