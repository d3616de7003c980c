"""One `payedge serve` with every view of the dashboard and the checkout alive: terminals, parking
over Mosquitto, two gateways (the sandbox, and stripe pointed at a closed port: down), a catalog."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.parking.harness import write_tariff
from tests.server.support import Server, running_server
from tests.support import services

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"

CATALOG = """
[[catalog.products]]
id = "espresso"
name = "Espresso"
prices = { EUR = 250, XOF = 1500 }

[[catalog.products]]
id = "croissant"
name = "Croissant au beurre"
prices = { EUR = 180 }

[invoices]
seller_name = "Café de la Gare"
"""


def web_server(work: Path, *extra: str) -> Iterator[Server]:
    config = work / "payedge.toml"
    config.write_text(CATALOG)
    closed = services.closed_port()  # nothing listens there: the stripe gateway is down
    args = (
        "--config",
        str(config),
        "--terminals",
        "T1,T2",
        "--stripe-api-key",
        "sk_test_dashboard_gateway_down",
        "--stripe-api-base",
        f"http://127.0.0.1:{closed}",
        *extra,
    )
    with running_server(work / "data", *args) as srv:
        yield srv


@pytest.fixture(scope="module")
def site(mosquitto_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("web")
    mqtt = f"mqtt://127.0.0.1:{mosquitto_port}?client_id=payedge-web-{work.name}"
    yield from web_server(work, "--tariff", str(write_tariff(work)), "--mqtt-url", mqtt)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The same server without parking (the checkout needs no broker)."""
    yield from web_server(tmp_path_factory.mktemp("shop"))
