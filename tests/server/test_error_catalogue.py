"""The one error catalogue: every code the server raises is in it, and docs/errors.md is its table."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from payedge_server import errors

pytestmark = pytest.mark.sqlite_only  # no store

SERVER = Path(errors.__file__).parent
ROOT = SERVER.parents[1]
RAISERS = {"DomainError", "RequestError", "NotFoundError", "GatewayRejectedError", "WebhookRejectedError"}


def _raised_codes() -> dict[str, str]:
    """Every string literal passed as the code of an error class, with where it is."""
    found: dict[str, str] = {}
    for path in SERVER.rglob("*.py"):
        if "fakes" in path.parts:
            continue  # the provider fakes answer in the providers' own error shapes
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[0]
            if name in RAISERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found[first.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_code_raised_is_in_the_catalogue() -> None:
    raised = _raised_codes()
    assert len(raised) >= 30
    missing = {code: where for code, where in raised.items() if code not in errors.CATALOGUE}
    assert not missing, f"codes raised but not in errors.CATALOGUE: {missing}"


def test_every_status_is_an_http_error_status() -> None:
    for code, spec in errors.CATALOGUE.items():
        assert 400 <= spec.status < 600 and spec.meaning.endswith("."), code


def test_the_docs_table_is_the_catalogue() -> None:
    assert (ROOT / "docs" / "errors.md").read_text() == errors.reference(), (
        "run: python -m payedge_server.errors > docs/errors.md"
    )
