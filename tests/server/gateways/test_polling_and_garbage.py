"""Callbacks lost: payments settle by polling alone (across a restart too). Providers answering garbage.

The "quiet" server tells the providers to call back to a closed port (`--self-url`),
and PayPal's listener is switched off at the fake, so every callback is lost: only
payedge's status polling can settle a payment. The "garbage" servers talk to a
provider that answers HTML instead of its API: every call is a gateway error (503,
or 504 where the request may have been taken), never a 500.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.gateways.support import (
    CINETPAY,
    MOMO,
    MOMO_ONGOING,
    MOMO_WAITS,
    ORANGE,
    PAYPAL,
    Provider,
    Site,
    running_site,
)
from tests.support import services

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def quiet(fakes_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    dead = f"http://127.0.0.1:{services.closed_port()}"
    with running_site(tmp_path_factory.mktemp("quiet") / "data", fakes_env, "--self-url", dead) as running:
        yield running
        running.log_has_no_internal_errors()


@pytest.fixture
def no_paypal_listener(quiet: Site, paypal_to: Site) -> Iterator[Site]:
    quiet.fakes.paypal_listener(None)
    yield quiet  # paypal_to puts the main site's listener back


def _undelivered(site: Site, provider: Provider, ref: str) -> bool:
    sent = site.fakes.callbacks(provider, ref)
    return all(c["state"] != "delivered" for c in sent)


@pytest.mark.parametrize("provider", (CINETPAY, ORANGE), ids=lambda p: p.gateway)
def test_paid_on_the_page_settles_by_polling_when_the_callback_is_lost(
    quiet: Site, provider: Provider
) -> None:
    p = quiet.create(provider, provider.amount(260))
    ref = quiet.confirm(p["id"]).json()["gateway_ref"]
    quiet.fakes.pay(provider, ref)
    assert quiet.wait_status(p["id"], "succeeded")["amount_captured"] == provider.amount(260)
    assert quiet.fakes.captures(provider, ref) == 1
    assert quiet.fakes.callbacks(provider, ref) and _undelivered(quiet, provider, ref)


def test_paypal_approval_is_captured_by_polling_without_webhooks(no_paypal_listener: Site) -> None:
    site = no_paypal_listener
    p = site.create(PAYPAL, PAYPAL.amount(270))
    site.confirm(p["id"])
    site.fakes.pay(PAYPAL, p["gateway_ref"])  # approved; no CHECKOUT.ORDER.APPROVED reaches payedge
    assert site.wait_status(p["id"], "succeeded")["amount_captured"] == PAYPAL.amount(270)
    assert site.fakes.captures(PAYPAL, p["gateway_ref"]) == 1
    assert site.fakes.callbacks(PAYPAL, p["gateway_ref"]) == []  # PayPal had nowhere to send them


@pytest.mark.parametrize("settle", ["ongoing", "payer"])
def test_momo_pending_settles_by_polling(quiet: Site, settle: str) -> None:
    p = quiet.create(MOMO, MOMO.amount(280), MOMO_ONGOING if settle == "ongoing" else MOMO_WAITS)
    confirmed = quiet.confirm(p["id"]).json()
    assert confirmed["status"] == "processing"
    if settle == "payer":
        quiet.fakes.pay(MOMO, confirmed["gateway_ref"])
    assert quiet.wait_status(p["id"], "succeeded")["amount_captured"] == MOMO.amount(280)
    assert _undelivered(quiet, MOMO, confirmed["gateway_ref"])


def test_momo_decline_settles_by_polling(quiet: Site) -> None:
    p = quiet.create(MOMO, MOMO.amount(290), MOMO_WAITS)
    ref = quiet.confirm(p["id"]).json()["gateway_ref"]
    quiet.fakes.decline(MOMO, ref)
    failed = quiet.wait_status(p["id"], "requires_payment_method")
    assert failed["last_error"] == {
        "code": "payment_failed",
        "message": "MTN MoMo: failed (APPROVAL_REJECTED)",
        "gateway_code": "APPROVAL_REJECTED",
        "customer_message": "The payment was not approved on your phone. Try again.",
    }


def test_polling_resumes_after_a_restart(fakes_env: dict[str, str], tmp_path: Path) -> None:
    """The work list is the store: a payment left processing by a stopped server is settled by the next."""
    dead = f"http://127.0.0.1:{services.closed_port()}"
    slow = ("--self-url", dead, "--mtn-momo-poll-interval", "3600", "--mtn-momo-poll-max-interval", "3600")
    with running_site(tmp_path / "data", fakes_env, *slow) as first:
        p = first.create(MOMO, MOMO.amount(300), MOMO_WAITS)
        ref = first.confirm(p["id"]).json()["gateway_ref"]
    first.fakes.pay(MOMO, ref)  # while no server runs; the callback goes nowhere
    with running_site(tmp_path / "data", fakes_env, "--self-url", dead) as second:
        assert second.wait_status(p["id"], "succeeded")["amount_captured"] == MOMO.amount(300)
        history = [h["source"] for h in second.get(p["id"])["history"]]
        assert history[-1] == "status_read"


# -- a provider answering garbage -----------------------------------------------------------


@pytest.fixture(scope="module", params=["everything", "api"])
def garbage(
    request: pytest.FixtureRequest, fakes_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Site]]:
    port = services.free_port()
    cmd = [sys.executable, "-m", "tests.server.gateways.garbage", str(port), request.param]
    bases = [
        arg
        for flag in ("paypal", "cinetpay", "mtn-momo", "orange-money")
        for arg in (f"--{flag}-api-base", f"http://127.0.0.1:{port}")
    ]
    with services.running(cmd, port, cwd=str(ROOT)):
        data = tmp_path_factory.mktemp("garbage") / "data"
        with running_site(data, fakes_env, *bases) as site:
            yield request.param, site
            site.log_has_no_internal_errors()


@pytest.mark.parametrize("provider", (PAYPAL, CINETPAY, MOMO, ORANGE), ids=lambda p: p.gateway)
def test_a_provider_answering_garbage_is_a_gateway_error(
    garbage: tuple[str, Site], provider: Provider
) -> None:
    mode, site = garbage
    body: dict[str, Any] = {
        "amount": provider.amount(310),
        "currency": provider.currency,
        "gateway": provider.gateway,
    }
    created = site.http.post(f"{site.url}/v1/payments", json={**body, "payment_method": provider.method})
    if provider is PAYPAL:  # the order is made at creation
        assert created.status_code == 503 and created.json()["error"]["code"] == "gateway_unavailable"
        return
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    resp = site.confirm(pid, expect=None)
    if provider is MOMO and mode == "api":
        # MTN answered something but 202 and its status cannot be read: the request may exist.
        assert resp.status_code == 504 and resp.json()["error"]["code"] == "gateway_timeout"
        assert resp.json()["payment"]["status"] == "processing"
        return
    assert resp.status_code == 503, resp.text
    assert resp.json()["error"]["code"] == "gateway_unavailable"
    assert site.status(pid) == "requires_confirmation"


def test_garbage_makes_gateways_not_ready(garbage: tuple[str, Site]) -> None:
    mode, site = garbage
    resp = site.http.get(f"{site.url}/health/ready")
    checks = resp.json()["checks"]
    if mode == "everything":
        assert resp.status_code == 503
        assert not any(checks[f"gateway:{p.gateway}"] for p in (PAYPAL, CINETPAY, MOMO, ORANGE))
    assert not checks["gateway:cinetpay"]  # its readiness is a status read
