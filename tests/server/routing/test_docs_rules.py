"""Every rules document docs/routing.md and docs/examples show is one `payedge serve` accepts.

The same document is the embedded `payedge.Router`'s and the server's `[routing]` table
(docs/routing.md); the server also refuses values no payment of its can carry (a
lower-case currency, a payment method type it never gives). An example a user copies
into the config file must start.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from payedge_server.config import load
from payedge_server.config.sections.routing import compile_rules

pytestmark = pytest.mark.sqlite_only  # no store

DOCS = Path(__file__).resolve().parents[3] / "docs"


def _blocks(language: str) -> list[str]:
    text = (DOCS / "routing.md").read_text()
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_the_json_rules_documents_compile_in_the_server() -> None:
    documents = [b for b in _blocks("json") if b.lstrip().startswith("{")]
    documents.append((DOCS / "examples" / "routing-20-rules.json").read_text())
    assert len(documents) >= 2
    for document in documents:
        assert json.loads(document)
        compile_rules(document)  # Invalid (naming the path) if the server would refuse it


def test_the_toml_routing_tables_start(tmp_path: Path) -> None:
    tables = [b for b in _blocks("toml") if b.startswith("[routing]")]
    assert len(tables) >= 2
    for i, table in enumerate(tables):
        file = tmp_path / f"routing{i}.toml"
        file.write_text(table)
        loaded = load(["--config", str(file)], {})
        assert [str(p) for p in loaded.problems] == [] and loaded.config is not None, table
        assert loaded.config.routing is not None
