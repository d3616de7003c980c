"""Callbacks of the four hosted gateways: any order, duplicates, forgeries, unknown payments.

The "ordering" server is told to call back nowhere and to poll almost never, so
a payment moves only through the deliveries a test makes. Each history is played
at the fake (the payer pays, the provider sends its callbacks into the void), then
hypothesis redelivers the recorded deliveries, byte for byte, in any order with
duplicates: every delivery is acknowledged, a repeated one is answered
`duplicate: true`, and the payment ends where the provider's history says (SPEC 3.1).
PayPal's certificate is trusted there through `--paypal-cert-origins` (the
origin of the fake), not the exact URL the fakes print.

Forged deliveries (a bad signature, a certificate from a host that is not allowed,
a bad x-token, a notif_token Orange never gave) are refused with 400 and change
nothing; MoMo's callbacks carry no signature, so a forged one only makes payedge
read the truth from MTN.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from payedge_server.gateways.cinetpay import TOKEN_FIELDS

from tests.server.gateways.support import (
    CINETPAY,
    MOMO,
    MOMO_WAITS,
    ORANGE,
    PAYPAL,
    Provider,
    Site,
    running_site,
    wait_until,
)
from tests.support import services

pytestmark = pytest.mark.timeout(240)
SLOW = tuple(
    arg
    for gw in ("paypal", "cinetpay", "mtn-momo", "orange-money")
    for arg in (f"--{gw}-poll-interval", "3600", f"--{gw}-poll-max-interval", "3600")
)
CINETPAY_FIELDS = TOKEN_FIELDS  # the x-token's fields, in CinetPay's documented order


@pytest.fixture(scope="module")
def ordering(fakes_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    dead = f"http://127.0.0.1:{services.closed_port()}"
    paypal = urlsplit(fakes_env["PAYEDGE_PAYPAL_API_BASE"])
    env = {k: v for k, v in fakes_env.items() if k != "PAYEDGE_PAYPAL_CERT_URL"}
    origin = ("--paypal-cert-origins", f"http://{paypal.netloc}")
    data = tmp_path_factory.mktemp("ordering") / "data"
    with running_site(data, env, "--self-url", dead, *SLOW, *origin) as running:
        yield running
        running.log_has_no_internal_errors()


@pytest.fixture
def paypal_void(ordering: Site, paypal_to: Site) -> Iterator[Site]:
    """PayPal's webhooks go to a closed port (recorded at the fake, never delivered)."""
    ordering.fakes.paypal_listener(f"http://127.0.0.1:{services.closed_port()}/v1/webhooks/paypal")
    yield ordering


# -- histories played at the fakes, their deliveries recorded ------------------------------


def _history(site: Site, provider: Provider) -> tuple[dict[str, Any], list[dict[str, Any]], set[str]]:
    """(the payment, the deliveries the provider sent for it, bodies payedge has already had)."""
    if provider is PAYPAL:
        return _paypal_history(site)
    p = site.create(provider, provider.amount(500), MOMO_WAITS if provider is MOMO else None)
    ref = site.confirm(p["id"]).json()["gateway_ref"]
    if provider is not ORANGE:  # a notification of the pending state first (Orange sends none)
        site.fakes.post(provider, f"payments/{ref}/callback")
    site.fakes.pay(provider, ref)
    if provider is ORANGE:  # the same notification sent again
        site.fakes.post(provider, f"payments/{ref}/callback")
    expected = len(site.fakes.callbacks(provider, ref)) or 1
    deliveries = wait_until(lambda: _settled_deliveries(site, provider, ref, expected))
    assert deliveries, site.fakes.callbacks(provider, ref)
    return p, deliveries, set()


def _settled_deliveries(site: Site, provider: Provider, ref: str, count: int) -> list[dict[str, Any]]:
    found = [c for c in site.fakes.callbacks(provider, ref) if c["state"] != "pending"]
    return found if len(found) >= count else []


def _paypal_history(site: Site) -> tuple[dict[str, Any], list[dict[str, Any]], set[str]]:
    p = site.create(PAYPAL, PAYPAL.amount(500))
    order = p["gateway_ref"]
    site.confirm(p["id"])
    site.fakes.pay(PAYPAL, order)  # CHECKOUT.ORDER.APPROVED, into the void
    approved = wait_until(lambda: _settled_deliveries(site, PAYPAL, order, 1))
    assert site.redeliver(approved[0]).status_code == 200  # payedge captures on it
    site.wait_status(p["id"], "succeeded")
    assert site.refund(p["id"], 2000).status_code == 200  # PAYMENT.CAPTURE.REFUNDED
    deliveries = wait_until(lambda: _settled_deliveries(site, PAYPAL, order, 3))
    assert [d["event"] for d in deliveries] == [
        "CHECKOUT.ORDER.APPROVED",
        "PAYMENT.CAPTURE.COMPLETED",
        "PAYMENT.CAPTURE.REFUNDED",
    ]
    return p, deliveries, {approved[0]["body"]}


EXPECTED = {
    "paypal": ("partially_refunded", PAYPAL.amount(500), 2000),
    "cinetpay": ("succeeded", CINETPAY.amount(500), 0),
    "mtn_momo": ("succeeded", MOMO.amount(500), 0),
    "orange_money": ("succeeded", ORANGE.amount(500), 0),
}


@st.composite
def _orders(draw: st.DrawFn, count: int) -> list[int]:
    """Every delivery once in any order, with some of them again anywhere."""
    order = list(draw(st.permutations(range(count))))
    for again in draw(st.lists(st.integers(0, count - 1), max_size=count + 1)):
        order.insert(draw(st.integers(0, len(order))), again)
    return order


@pytest.mark.parametrize("provider", (PAYPAL, CINETPAY, MOMO, ORANGE), ids=lambda p: p.gateway)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_callbacks_in_any_order_with_duplicates_converge(
    paypal_void: Site, provider: Provider, data: st.DataObject
) -> None:
    site = paypal_void
    p, deliveries, seen = _history(site, provider)
    for index in data.draw(_orders(len(deliveries)), label="order"):
        delivery = deliveries[index]
        resp = site.redeliver(delivery)
        assert resp.status_code == 200, resp.text
        if delivery["method"] == "GET":  # CinetPay's availability ping
            continue
        assert resp.json() == {"received": True, "duplicate": delivery["body"] in seen}
        seen.add(delivery["body"])
    status, captured, refunded = EXPECTED[provider.gateway]
    final = site.wait_status(p["id"], status)
    assert (final["amount_captured"], final["amount_refunded"]) == (captured, refunded)
    ref = final["gateway_ref"]
    assert site.fakes.captures(provider, ref) == 1


# -- forgeries --------------------------------------------------------------------------------


def _pending(site: Site, provider: Provider) -> dict[str, Any]:
    p = site.create(provider, provider.amount(510), MOMO_WAITS if provider is MOMO else None)
    return dict(site.confirm(p["id"]).json())


def _unchanged(site: Site, before: dict[str, Any]) -> None:
    time.sleep(0.3)  # a status read a delivery would have caused has had time to land
    after = site.get(before["id"])
    assert (after["status"], after["version"]) == (before["status"], before["version"])


def test_paypal_forgeries_are_refused(paypal_void: Site, fakes_env: dict[str, str]) -> None:
    site = paypal_void
    p = _pending(site, PAYPAL)
    site.fakes.pay(PAYPAL, p["gateway_ref"])
    genuine = wait_until(lambda: _settled_deliveries(site, PAYPAL, p["gateway_ref"], 1))[0]
    headers = {k: v for k, v in genuine["headers"].items() if k.lower() != "content-length"}
    body = genuine["body"].encode()
    cert = headers["PAYPAL-CERT-URL"]
    other_host = cert.replace("127.0.0.1", "localhost")  # the same certificate, from a host not allowed
    other_path = cert.rsplit("/", 1)[0] + "/../../../_fake/stats"
    forgeries = [
        (body.replace(b"APPROVED", b"COMPLETED"), headers, "PAYPAL-TRANSMISSION-SIG"),
        (body, {**headers, "PAYPAL-TRANSMISSION-SIG": "AAAA" + headers["PAYPAL-TRANSMISSION-SIG"][4:]}, None),
        (body, {**headers, "PAYPAL-TRANSMISSION-ID": str(uuid.uuid4())}, None),
        (body, {**headers, "PAYPAL-CERT-URL": other_host}, "PAYPAL-CERT-URL"),
        (body, {**headers, "PAYPAL-CERT-URL": other_path}, "PAYPAL-CERT-URL"),
        (
            body,
            {**headers, "PAYPAL-CERT-URL": "https://api.paypal.com.example/v1/notifications/certs/x"},
            None,
        ),
        (body, {**headers, "PAYPAL-AUTH-ALGO": "SHA1withRSA"}, "PAYPAL-AUTH-ALGO"),
        (
            body,
            {k: v for k, v in headers.items() if k != "PAYPAL-TRANSMISSION-SIG"},
            "PAYPAL-TRANSMISSION-SIG",
        ),
    ]
    for forged_body, forged_headers, param in forgeries:
        resp = site.webhook("paypal", forged_body, forged_headers)
        assert resp.status_code == 400, (forged_headers, resp.text)
        error = resp.json()["error"]
        assert error["code"] == "invalid_signature"
        assert param is None or error["param"] == param
    _unchanged(site, site.get(p["id"]))
    assert site.status(p["id"]) == "processing"  # the forged approval did not make payedge capture
    assert site.redeliver(genuine).json() == {"received": True, "duplicate": False}  # nothing was recorded
    site.wait_status(p["id"], "succeeded")


def test_paypal_certificate_only_from_allowed_places(site: Site, fakes_env: dict[str, str]) -> None:
    """The main site trusts PayPal's https hosts and the exact URL the fakes printed, nothing else."""
    p = site.create(PAYPAL, PAYPAL.amount(520))
    site.confirm(p["id"])
    site.fakes.pay(PAYPAL, p["gateway_ref"])
    site.wait_status(p["id"], "succeeded")
    genuine = site.fakes.callbacks(PAYPAL, p["gateway_ref"])[0]
    headers = {k: v for k, v in genuine["headers"].items() if k.lower() != "content-length"}
    assert headers["PAYPAL-CERT-URL"] == fakes_env["PAYEDGE_PAYPAL_CERT_URL"]
    elsewhere = headers["PAYPAL-CERT-URL"].replace("/certs/", "/certs/other-")  # same origin, not the URL
    resp = site.webhook("paypal", genuine["body"].encode(), {**headers, "PAYPAL-CERT-URL": elsewhere})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "PAYPAL-CERT-URL"


def _cinetpay_token(fields: dict[str, str], secret: str) -> str:
    data = "".join(fields.get(name, "") for name in CINETPAY_FIELDS).encode()
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def test_cinetpay_forgeries_are_refused(ordering: Site, fakes_env: dict[str, str]) -> None:
    site = ordering
    p = _pending(site, CINETPAY)
    ref = p["gateway_ref"]
    site.fakes.post(CINETPAY, f"payments/{ref}/callback")
    genuine = wait_until(
        lambda: [c for c in _settled_deliveries(site, CINETPAY, ref, 2) if c["method"] == "POST"]
    )
    delivery = genuine[0]
    headers = {k: v for k, v in delivery["headers"].items() if k.lower() != "content-length"}
    fields = dict(parse_qsl(delivery["body"], keep_blank_values=True))
    wrong_secret = _cinetpay_token(fields, "not-the-merchant-secret")
    raised = urlencode({**fields, "cpm_amount": "1"}).encode()
    for body, sent in (
        (delivery["body"].encode(), {**headers, "x-token": wrong_secret}),
        (raised, headers),  # the amount changed, the token kept
        (delivery["body"].encode(), {k: v for k, v in headers.items() if k != "x-token"}),
        (delivery["body"].encode(), {**headers, "x-token": "zz"}),
    ):
        resp = site.webhook("cinetpay", body, sent)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_signature", resp.text
    _unchanged(site, site.get(p["id"]))
    # The same notification with a right token is recorded (and only makes payedge read the status).
    assert site.redeliver(delivery).json() == {"received": True, "duplicate": False}
    secret = fakes_env["PAYEDGE_CINETPAY_SECRET_KEY"]
    unknown = {**fields, "cpm_trans_id": "not-a-payedge-transaction"}
    resp = site.webhook(
        "cinetpay", urlencode(unknown).encode(), {**headers, "x-token": _cinetpay_token(unknown, secret)}
    )
    assert resp.json() == {"received": True, "duplicate": False}  # recorded, acknowledged


def test_orange_notif_token_must_be_the_one_orange_gave(ordering: Site) -> None:
    site = ordering
    p = _pending(site, ORANGE)
    for body in (
        {"status": "SUCCESS", "notif_token": "0" * 32, "txnid": "MP1"},
        {"status": "SUCCESS", "txnid": "MP1"},
        {"status": "SUCCESS", "notif_token": 12},
    ):
        resp = site.webhook("orange_money", json.dumps(body).encode(), {"Content-Type": "application/json"})
        assert resp.status_code == 400, resp.text
        assert (resp.json()["error"]["code"], resp.json()["error"]["param"]) == (
            "invalid_signature",
            "notif_token",
        )
    _unchanged(site, site.get(p["id"]))


def test_a_forged_momo_callback_only_makes_payedge_read_the_truth(ordering: Site) -> None:
    site = ordering
    p = _pending(site, MOMO)
    forged = {"referenceId": p["gateway_ref"], "status": "SUCCESSFUL", "amount": "5.10", "currency": "EUR"}
    for method in ("PUT", "POST"):  # MTN PUTs; payedge takes both
        body = json.dumps({**forged, "method": method}).encode()
        resp = site.webhook("mtn_momo", body, {"Content-Type": "application/json"}, method)
        assert resp.json() == {"received": True, "duplicate": False}, resp.text
    _unchanged(site, site.get(p["id"]))  # MTN says PENDING: nothing changes
    unknown = {"referenceId": str(uuid.uuid4()), "status": "SUCCESSFUL"}
    resp = site.webhook("mtn_momo", json.dumps(unknown).encode(), {}, "PUT")
    assert resp.json() == {"received": True, "duplicate": False}  # recorded, acknowledged
    for garbage in (b"not json", b"{}", b'{"referenceId": "../../x"}'):
        resp = site.webhook("mtn_momo", garbage, {}, "PUT")
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_payload"


def test_a_provider_checking_its_url_gets_200(ordering: Site) -> None:
    """CinetPay GETs its notification URL before notifying; it must answer 200 (and PUT is a POST)."""
    assert ordering.webhook("cinetpay", b"", {}, "GET").status_code == 200
    unknown = ordering.webhook("adyen", b"", {}, "GET")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_provider"
    assert ordering.webhook("adyen", b"{}", {}, "PUT").status_code == 404


def test_a_signed_event_about_a_payment_this_server_does_not_know_is_acknowledged(
    site: Site, ordering: Site
) -> None:
    """A PayPal delivery meant for another server (same PayPal app): recorded and acknowledged."""
    p = site.create(PAYPAL, PAYPAL.amount(530))
    site.confirm(p["id"])
    site.fakes.pay(PAYPAL, p["gateway_ref"])
    site.wait_status(p["id"], "succeeded")
    for delivery in site.fakes.callbacks(PAYPAL, p["gateway_ref"]):
        first = ordering.redeliver(delivery)
        assert first.json() == {"received": True, "duplicate": False}, first.text
        assert ordering.redeliver(delivery).json() == {"received": True, "duplicate": True}
