"""What the payer is told about a failure (payments/declines.py): every reason, every locale,
every kind of payment method. A payer who did not pay by card is never told about a card
(an MTN MoMo payer short of funds was told "Your card has insufficient funds")."""

from __future__ import annotations

import pytest
from payedge_server.payments.declines import LOCALES, MESSAGES, customer_message
from payedge_server.payments.methods import method_type

CARDS = ("pm_card_visa", "pm_sandbox_declined", "cinetpay:credit_card", "card_1Abc", None)
NOT_CARDS = ("msisdn:2250701020304", "paypal", "orange_money", "cinetpay", "cinetpay:mobile_money",
             "cinetpay:wallet")  # fmt: skip
CODES = [*sorted(MESSAGES), "never_heard_of"]
CARD_WORDS = ("card", "carte")


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("method", NOT_CARDS)
def test_no_card_talk_to_a_payer_without_a_card(method: str, locale: str) -> None:
    for code in CODES:
        # The reason as the provider's own code, and as payedge's code.
        for text in (customer_message("payment_failed", code, locale, method),
                     customer_message(code, None, locale, method)):  # fmt: skip
            assert not any(word in text.lower() for word in CARD_WORDS), (method, code, text)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("method", CARDS)
def test_a_card_payer_keeps_the_card_wording(method: str | None, locale: str) -> None:
    """Cards (and method ids of no known type: Stripe's legacy card ids) are told what their card said."""
    for code in CODES:
        assert customer_message(code, None, locale, method) == customer_message(code, None, locale)
    funds = customer_message("payment_failed", "insufficient_funds", locale, method).lower()
    assert any(word in funds for word in CARD_WORDS)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_reason_survives_without_the_card(locale: str) -> None:
    """Funds, limits and currency keep their meaning for a mobile-money payer; MoMo's own reasons too."""
    momo = "msisdn:2250701020304"
    assert method_type(momo) == "mobile_money"
    said = {code: customer_message("payment_failed", code, locale, momo) for code in
            ("NOT_ENOUGH_FUNDS", "insufficient_funds", "card_velocity_exceeded", "currency_not_supported",
             "APPROVAL_REJECTED", "PAYER_NOT_FOUND", "do_not_honor")}  # fmt: skip
    assert said["NOT_ENOUGH_FUNDS"] == said["insufficient_funds"]
    assert len({said["NOT_ENOUGH_FUNDS"], said["card_velocity_exceeded"], said["currency_not_supported"],
                said["do_not_honor"]}) == 4  # fmt: skip
    assert said["APPROVAL_REJECTED"] == customer_message("payment_failed", "APPROVAL_REJECTED", locale)
    assert said["PAYER_NOT_FOUND"] == customer_message("payment_failed", "PAYER_NOT_FOUND", locale)
