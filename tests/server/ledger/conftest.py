"""Fixtures: a real store (SQLite or PostgreSQL, tests/support/stores.py) with the ledger's
tables (per test); a real `payedge serve` with commission rates and invoice settings (per module)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from payedge_server.contracts import Store
from payedge_server.store import migrations, open_store

from tests.server.support import Server, running_server
from tests.support.stores import current


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = open_store(current().database_url(tmp_path))
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
