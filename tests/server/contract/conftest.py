"""A `payedge serve` with every part switched on (terminals, tariff, parking over Mosquitto, stripe
webhooks, a catalog with the product the orders example names), so that every route it documents
is live."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.parking.harness import write_tariff
from tests.server.support import Server, running_server


@pytest.fixture(scope="module")
def full_server(
    store_backend: str, mosquitto_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    work: Path = tmp_path_factory.mktemp("full")
    # The catalog has a product, and routing is on: a payment naming no gateway is
    # routed (to the sandbox, the one gateway here).
    config = work / "payedge.toml"
    config.write_text(
        '[[catalog.products]]\nid = "example"\nname = "Example"\nprices = { EUR = 1500 }\n'
        '[routing]\ndefault = { gateways = ["sandbox"] }\n'
    )
    args = (
        "--config",
        str(config),
        "--terminals",
        "T1,T2",
        "--tariff",
        str(write_tariff(work)),
        "--mqtt-url",
        f"mqtt://127.0.0.1:{mosquitto_port}?client_id=payedge-contract-{work.name}",
    )
    with running_server(work / "data", *args) as srv:
        yield srv
