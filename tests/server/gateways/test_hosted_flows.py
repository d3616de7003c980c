"""PayPal, CinetPay, MTN MoMo and Orange Money end to end: `payedge fakes` and a real `payedge serve`.

Per gateway: success; decline (and a new attempt after it); pending then success
through the provider's callback; a timeout (or a lost connection) after the request
was sent, settled by a status read with exactly one capture at the provider;
refunds where the provider has them, their refusal where it has none. The payer
acts through the fakes' admin API.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.gateways.support import (
    ALL,
    CINETPAY,
    MOMO,
    MOMO_WAITS,
    ORANGE,
    PAYPAL,
    Provider,
    Site,
    wait_until,
)

pytestmark = pytest.mark.timeout(120)
HOSTED = (PAYPAL, CINETPAY, ORANGE)  # the payer acts on the provider's page


def _confirmed(site: Site, provider: Provider, amount: int, method: str | None = None) -> dict[str, Any]:
    p = site.create(provider, amount, method)
    return dict(site.confirm(p["id"]).json())


@pytest.mark.parametrize("provider", HOSTED, ids=lambda p: p.gateway)
def test_hosted_payment_succeeds_through_the_page_and_the_callback(site: Site, provider: Provider) -> None:
    amount = provider.amount(250)
    p = _confirmed(site, provider, amount)
    assert p["status"] == "processing"
    action = p["next_action"]
    assert action["type"] == "redirect" and action["url"].startswith(site.fakes.base(provider))
    ref = p["gateway_ref"]
    assert site.fakes.captures(provider, ref) == 0
    site.fakes.pay(provider, ref)  # the payer, on the provider's page
    done = site.wait_status(p["id"], "succeeded")
    assert (done["amount_captured"], done["next_action"]) == (amount, None)
    assert site.fakes.captures(provider, ref) == 1
    # The callback was delivered and acknowledged.
    assert wait_until(lambda: any(c["state"] == "delivered" for c in site.fakes.callbacks(provider, ref)))


def test_momo_succeeds_at_once_for_a_payer_who_approves(site: Site) -> None:
    p = site.create(MOMO, MOMO.amount(120))
    done = site.confirm(p["id"]).json()
    assert (done["status"], done["amount_captured"]) == ("succeeded", MOMO.amount(120))
    assert site.fakes.captures(MOMO, done["gateway_ref"]) == 1


def test_momo_pending_then_success_through_the_callback(site: Site) -> None:
    p = _confirmed(site, MOMO, MOMO.amount(300), MOMO_WAITS)
    assert (p["status"], p["next_action"]) == ("processing", {"type": "approve_on_phone"})
    site.fakes.pay(MOMO, p["gateway_ref"])  # the payer enters the PIN
    assert site.wait_status(p["id"], "succeeded")["amount_captured"] == MOMO.amount(300)
    assert site.fakes.captures(MOMO, p["gateway_ref"]) == 1
    assert wait_until(
        lambda: [c["state"] for c in site.fakes.callbacks(MOMO, p["gateway_ref"])] == ["delivered"]
    )


# -- declines ----------------------------------------------------------------------------


def test_paypal_declined_capture_sends_the_payer_back(site: Site) -> None:
    """INSTRUMENT_DECLINED: a failed attempt; a new confirm redirects to the same order's approval."""
    p = _confirmed(site, PAYPAL, PAYPAL.amount(9100))
    site.fakes.pay(PAYPAL, p["gateway_ref"])
    failed = site.wait_status(p["id"], "requires_payment_method")
    assert failed["last_error"] == {
        "code": "card_declined",
        "message": "PayPal declined the payment",
        "gateway_code": "INSTRUMENT_DECLINED",
        "customer_message": "Your payment was declined. Use another payment method or contact your provider.",
    }
    again = site.confirm(p["id"]).json()
    assert again["status"] == "processing" and again["next_action"]["type"] == "redirect"
    assert again["gateway_ref"] == p["gateway_ref"]
    assert site.fakes.captures(PAYPAL, p["gateway_ref"]) == 0


def test_paypal_decline_at_confirm_is_a_402(site: Site) -> None:
    """Approved before the confirm: the confirm captures, and the decline answers 402 with the payment."""
    p = site.create(PAYPAL, PAYPAL.amount(9100))
    site.fakes.pay(PAYPAL, p["gateway_ref"])
    resp = site.confirm(p["id"], expect=402)
    body = resp.json()
    assert body["error"]["code"] == "card_declined" and body["error"]["gateway_code"] == "INSTRUMENT_DECLINED"
    assert body["payment"]["status"] == "requires_payment_method"


@pytest.mark.parametrize(
    ("msisdn", "gateway_code"),
    [
        ("46733123450", "INTERNAL_PROCESSING_ERROR"),  # FAILED
        ("46733123451", "APPROVAL_REJECTED"),  # REJECTED (sandbox)
        ("46733123452", "EXPIRED"),  # TIMEOUT (sandbox)
    ],
)
def test_momo_every_status_but_pending_and_successful_is_a_failure(
    site: Site, msisdn: str, gateway_code: str
) -> None:
    p = site.create(MOMO, MOMO.amount(150), f"msisdn:{msisdn}")
    body = site.confirm(p["id"], expect=402).json()
    assert (body["error"]["code"], body["error"]["gateway_code"]) == ("payment_failed", gateway_code)
    assert body["payment"]["status"] == "requires_payment_method"
    # A new attempt is a new request with a fresh X-Reference-Id.
    again = site.confirm(p["id"], expect=402).json()
    assert again["payment"]["gateway_ref"] != body["payment"]["gateway_ref"]


@pytest.mark.parametrize("provider", (CINETPAY, ORANGE), ids=lambda p: p.gateway)
def test_payer_who_cancels_then_a_new_attempt_succeeds(site: Site, provider: Provider) -> None:
    p = _confirmed(site, provider, provider.amount(400))
    first = p["gateway_ref"]
    site.fakes.decline(provider, first)  # "Cancel" on the provider's page
    failed = site.wait_status(p["id"], "requires_payment_method")
    assert failed["last_error"]["code"] == "payment_failed"
    again = site.confirm(p["id"]).json()
    assert again["status"] == "processing" and again["gateway_ref"] != first  # a new provider id
    site.fakes.pay(provider, again["gateway_ref"])
    assert site.wait_status(p["id"], "succeeded")["amount_captured"] == provider.amount(400)
    assert (site.fakes.captures(provider, first), site.fakes.captures(provider, again["gateway_ref"])) == (
        0,
        1,
    )


def test_cinetpay_insufficient_balance(site: Site) -> None:
    p = _confirmed(site, CINETPAY, 9100)  # the fake refuses to pay 9100
    site.fakes.pay(CINETPAY, p["gateway_ref"])
    failed = site.wait_status(p["id"], "requires_payment_method")
    assert failed["last_error"]["gateway_code"] == "602 INSUFFICIENT_BALANCE"


def test_orange_decline_by_amount(site: Site) -> None:
    p = _confirmed(site, ORANGE, 9100)  # init works, paying ends FAILED
    site.fakes.pay(ORANGE, p["gateway_ref"])
    assert site.wait_status(p["id"], "requires_payment_method")["last_error"]["gateway_code"] == "FAILED"


# -- an unknown outcome, settled by a status read -----------------------------------------


@pytest.mark.parametrize("fault", ["timeout", "drop"])
def test_paypal_capture_lost_after_it_was_made_is_read_not_redone(site: Site, fault: str) -> None:
    p = site.create(PAYPAL, PAYPAL.amount(330))
    site.fakes.pay(PAYPAL, p["gateway_ref"])  # approved before the confirm: the confirm captures
    site.fakes.arm(PAYPAL, fault, "after")  # the capture is made, its answer lost
    done = site.confirm(p["id"]).json()
    assert (done["status"], done["amount_captured"]) == ("succeeded", PAYPAL.amount(330))
    assert site.fakes.captures(PAYPAL, p["gateway_ref"]) == 1


@pytest.mark.parametrize("fault", ["timeout", "drop"])
def test_momo_request_lost_after_it_was_made_is_read_not_redone(site: Site, fault: str) -> None:
    p = site.create(MOMO, MOMO.amount(340))
    site.fakes.arm(MOMO, fault, "after")
    done = site.confirm(p["id"]).json()
    assert (done["status"], done["amount_captured"]) == ("succeeded", MOMO.amount(340))
    assert site.fakes.captures(MOMO, done["gateway_ref"]) == 1
    assert site.fakes.stats(MOMO)["payments"][done["gateway_ref"]]["reference"] == p["id"]


@pytest.mark.parametrize("provider", (CINETPAY, ORANGE), ids=lambda p: p.gateway)
def test_init_lost_after_it_was_made_leaves_nothing_payable(site: Site, provider: Provider) -> None:
    """The link never reached the payer: the attempt is abandoned (a status read where one is possible)
    and the next confirm makes a new one; exactly one capture in all."""
    p = site.create(provider, provider.amount(350))
    site.fakes.arm(provider, "timeout", "after")
    lost = site.confirm(p["id"], expect=503).json()
    assert (
        lost["error"]["code"] == "gateway_unavailable" and "nothing can be paid" in lost["error"]["message"]
    )
    assert site.status(p["id"]) == "requires_confirmation"
    again = site.confirm(p["id"]).json()
    site.fakes.pay(provider, again["gateway_ref"])
    assert site.wait_status(p["id"], "succeeded")["amount_captured"] == provider.amount(350)
    books = site.fakes.stats(provider)["payments"]  # the payments whose money moved
    ours = {ref: m["captures"] for ref, m in books.items() if m["reference"] == p["id"]}
    assert ours == {again["gateway_ref"]: 1}


def test_paypal_create_failure_is_unavailable_and_writes_nothing(site: Site) -> None:
    resp = site.http.post(
        f"{site.url}/v1/payments",
        json={"amount": PAYPAL.amount(9205), "currency": "USD", "gateway": "paypal"},  # 5xx, then 5xx
    )
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "gateway_unavailable"
    refused = site.http.post(
        f"{site.url}/v1/payments",
        json={"amount": PAYPAL.amount(9200), "currency": "USD", "gateway": "paypal"},
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "code": "gateway_rejected",
        "message": "paypal refused the order: The merchant account is restricted.",
        "gateway_code": "PAYEE_ACCOUNT_RESTRICTED",
    }


def test_paypal_5xx_after_the_capture_is_retried_with_the_same_request_id(site: Site) -> None:
    """9155: captured, then 500; the retry with the same PayPal-Request-Id replays the capture."""
    p = site.create(PAYPAL, PAYPAL.amount(9155))
    site.fakes.pay(PAYPAL, p["gateway_ref"])
    done = site.confirm(p["id"]).json()
    assert done["status"] == "succeeded"
    assert site.fakes.captures(PAYPAL, p["gateway_ref"]) == 1


# -- refunds -------------------------------------------------------------------------------


def test_paypal_refunds_partly_then_fully(site: Site) -> None:
    amount = PAYPAL.amount(500)
    p = site.create(PAYPAL, amount)
    site.fakes.pay(PAYPAL, p["gateway_ref"])
    assert site.confirm(p["id"]).json()["status"] == "succeeded"
    part = site.refund(p["id"], 1250)
    assert part.status_code == 200, part.text
    assert part.json()["payment"]["status"] == "partially_refunded"
    rest = site.refund(p["id"])
    assert rest.status_code == 200 and rest.json()["payment"]["status"] == "refunded"
    assert site.fakes.refunds(PAYPAL, p["gateway_ref"]) == 2
    # PayPal's PAYMENT.CAPTURE.REFUNDED webhooks arrive too: nothing is counted twice.
    wait_until(lambda: len(site.fakes.callbacks(PAYPAL, p["gateway_ref"])) >= 4)
    shown = site.get(p["id"])
    assert (shown["status"], shown["amount_refunded"]) == ("refunded", amount)
    assert site.refund(p["id"], 1).json()["error"]["code"] == "payment_unexpected_state"  # all refunded


def test_paypal_refund_declined_by_paypal(site: Site) -> None:
    p = site.create(PAYPAL, PAYPAL.amount(9300))
    site.fakes.pay(PAYPAL, p["gateway_ref"])
    assert site.confirm(p["id"]).json()["status"] == "succeeded"
    resp = site.refund(p["id"])
    assert resp.status_code == 400
    assert resp.json()["error"]["gateway_code"] == "REFUND_FAILED_INSUFFICIENT_FUNDS"
    assert site.get(p["id"])["amount_refunded"] == 0


@pytest.mark.parametrize("provider", (CINETPAY, MOMO, ORANGE), ids=lambda p: p.gateway)
def test_no_refund_api_is_refused_and_changes_nothing(site: Site, provider: Provider) -> None:
    p = site.create(provider, provider.amount(200))
    done = site.confirm(p["id"]).json()
    if done["status"] != "succeeded":
        site.fakes.pay(provider, done["gateway_ref"])
        site.wait_status(p["id"], "succeeded")
    before = site.get(p["id"])
    resp = site.refund(p["id"], provider.amount(100))
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert (error["code"], error["param"]) == ("refund_not_supported", "amount")
    assert provider.gateway.split("_")[0] in error["message"].lower().replace(" ", "_")
    after = site.get(p["id"])
    assert (after["status"], after["amount_refunded"], after["version"]) == (
        "succeeded",
        0,
        before["version"],
    )


# -- amounts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "amount", "currency", "code"),
    [
        (PAYPAL, 150, "HUF", "amount_not_representable"),  # HUF: no decimals at PayPal
        (PAYPAL, 15000, "XOF", "currency_not_supported"),
        (CINETPAY, 1002, "XOF", "amount_not_representable"),  # multiples of 5
        (CINETPAY, 1050, "USD", "amount_not_representable"),  # whole dollars
        (CINETPAY, 1000, "EUR", "currency_not_supported"),
        (MOMO, 1000, "UGX", "currency_not_supported"),  # not the sandbox environment's currency
        (ORANGE, 1000, "XAF", "currency_not_supported"),  # not the dev country's
        (ORANGE, 150, "CDF", "amount_not_representable"),
    ],
    ids=lambda v: v.gateway if isinstance(v, Provider) else str(v),
)
def test_amounts_a_gateway_cannot_carry_are_refused_naming_it(
    site: Site, provider: Provider, amount: int, currency: str, code: str
) -> None:
    body: dict[str, Any] = {"amount": amount, "currency": currency, "gateway": provider.gateway}
    resp = site.http.post(f"{site.url}/v1/payments", json=body)
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == code and provider.gateway in error["message"]


def test_every_gateway_is_ready(site: Site) -> None:
    checks = site.http.get(f"{site.url}/health/ready").json()["checks"]
    assert all(checks[f"gateway:{p.gateway}"] for p in ALL), checks
