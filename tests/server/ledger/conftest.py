"""Fixtures: a real SQLite store with the ledger's tables (per test); a real `payedge serve`
with commission rates and invoice settings (per module)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from payedge_server.store import migrations
from payedge_server.store.sqlite import SqliteStore

from tests.server.support import Server, running_server


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "ledger.sqlite3")
    await s.open()
    await migrations.upgrade(s)
    try:
        yield s
    finally:
        await s.close()


SETTINGS_TOML = """
[[commissions.rates]]
commission_type = "ticket_sale"
basis_points = 500
fixed = 30

[[commissions.rates]]
commission_type = "template_sale"
currency = "EUR"
basis_points = 1500
min = 100
max = 2000

[[commissions.rates]]
commission_type = "ticket_sale"
owner = "vip"
basis_points = 100

[invoices]
vat_basis_points = 2000
seller_name = "Billetterie Exemple SAS"
seller_address = ["1 rue de la Paix", "75002 Paris"]
seller_vat_id = "FR00123456789"
"""


def write_settings(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "ledger.toml"
    path.write_text(SETTINGS_TOML)
    return path


@pytest.fixture(scope="module")
def ledger_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("payedge-ledger")
    with running_server(root / "data", "--config", str(write_settings(root))) as srv:
        yield srv
