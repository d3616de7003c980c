"""One `payedge fakes` process and one `payedge serve` wired to it, for the gateways' tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.support import running_fakes
from tests.server.gateways.support import FAKES_FLAGS, Site, running_site


@pytest.fixture(scope="session")
def fakes_env() -> Iterator[dict[str, str]]:
    with running_fakes(FAKES_FLAGS) as env:
        yield env


@pytest.fixture(scope="session")
def site(fakes_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The server; PayPal's webhooks (one listener per PayPal app) go to it."""
    with running_site(tmp_path_factory.mktemp("hosted") / "data", fakes_env) as running:
        running.fakes.paypal_listener(f"{running.url}/v1/webhooks/paypal")
        yield running
        running.log_has_no_internal_errors()


@pytest.fixture
def paypal_to(site: Site) -> Iterator[Site]:
    """PayPal's listener is the site's again after a test that changed it."""
    yield site
    site.fakes.paypal_listener(f"{site.url}/v1/webhooks/paypal")
