"""SPEC 5 "Amounts": every gateway converts ISO 4217 minor units exactly, both ways, or refuses.

Table-driven over every currency the core knows, for every gateway in the
registry (a new connector is covered by registering its `Scale`), then the known
cases of each provider's documented rules, then end to end through localstripe.
"""

from __future__ import annotations

from collections.abc import Callable

import payedge
import pytest
from payedge_server.gateways.amounts import Scale, all_currencies, iso_exponent
from payedge_server.gateways.base import GatewayRejectedError
from payedge_server.gateways.registry import SCALES

CURRENCIES = all_currencies()
AMOUNTS = (1, 5, 10, 50, 99, 100, 150, 1000, 1005, 12_345, 99_999_999_999)


def _exact(scale: Scale, amount: int, currency: str) -> bool:
    """The rule, read independently: the amount is a whole number of the provider's units, and of its step."""
    shift = scale.exponent(currency) - iso_exponent(currency)
    if shift < 0 and amount % 10**-shift:
        return False
    units = amount * 10**shift if shift >= 0 else amount // 10**-shift
    return bool(units % scale.multiples.get(currency, 1) == 0)


@pytest.mark.parametrize("gateway", sorted(SCALES))
@pytest.mark.parametrize("currency", CURRENCIES)
def test_every_currency_converts_exactly_or_is_refused(gateway: str, currency: str) -> None:
    scale = SCALES[gateway]
    if scale.currencies is not None and currency not in scale.currencies:
        with pytest.raises(GatewayRejectedError) as refused:
            scale.to_provider(100, currency)
        assert refused.value.code == "currency_not_supported"
        return
    for amount in AMOUNTS:
        if _exact(scale, amount, currency):
            units = scale.to_provider(amount, currency)
            assert scale.from_provider(units, currency) == amount
            text = scale.to_decimal(amount, currency)
            assert scale.from_decimal(text, currency) == amount
        else:
            with pytest.raises(GatewayRejectedError) as refused:
                scale.to_provider(amount, currency)
            assert (refused.value.code, refused.value.param) == ("amount_not_representable", "amount")
            assert gateway in refused.value.message


def _answers(scale: Scale, currency: str, refusal: Callable[[GatewayRejectedError], object]) -> list[object]:
    """Every answer a scale gives for `currency` over AMOUNTS, both ways and in decimals; a
    refusal is an answer too, as `refusal` projects it."""
    answers: list[object] = [scale.exponent(currency)]
    for amount in AMOUNTS:
        try:
            answers.append(scale.to_provider(amount, currency))
            text = scale.to_decimal(amount, currency)
            answers.extend((text, scale.from_decimal(text, currency)))
        except GatewayRejectedError as exc:
            answers.append(refusal(exc))
        answers.append(scale.from_provider(amount, currency))
    return answers


def _with_message(exc: GatewayRejectedError) -> object:
    return exc.code, exc.message


def _code_and_param(exc: GatewayRejectedError) -> object:
    return exc.code, exc.param


@pytest.mark.parametrize("gateway", sorted(SCALES))
def test_the_per_currency_shift_cache_answers_as_a_cold_read(gateway: str) -> None:
    """`Scale.shift` keeps each currency's decimals difference: the cached answer is the rule's.

    A fresh scale (empty cache) and the same scale read again (every currency cached)
    give the same conversions, for every currency the core knows; a currency it does
    not know is refused each time and never cached.
    """
    kept = SCALES[gateway]
    scale = Scale(kept.gateway, kept.exponents, kept.multiples, kept.currencies)
    for currency in CURRENCIES:
        if scale.currencies is not None and currency not in scale.currencies:
            continue
        cold = _answers(scale, currency, _with_message)
        assert scale.shift(currency) == scale.exponent(currency) - iso_exponent(currency)
        assert _answers(scale, currency, _with_message) == cold
        assert _answers(kept, currency, _with_message) == cold
    for unknown in ("XXY", "EURO", ""):
        for _ in range(2):
            with pytest.raises(payedge.PayedgeError):
                scale.from_provider(100, unknown)
    assert {"XXY", "EURO", ""}.isdisjoint(scale._shifts)


@pytest.mark.parametrize("gateway", sorted(SCALES))
def test_a_currency_converts_the_same_in_any_case(gateway: str) -> None:
    """ISO 4217 codes are case-insensitive (Stripe writes "isk"): no answer depends on the case.

    Before, a provider's own decimals and steps were looked up by the upper-case code
    only, so `to_provider(5000, "isk")` sent Stripe 5000 (50 kr) instead of 500000.
    """
    scale = SCALES[gateway]
    for currency in CURRENCIES:
        # The code and param of a refusal (its message quotes the currency as it was spelt).
        expected = _answers(scale, currency, _code_and_param)
        for spelt in (currency.lower(), currency.title(), currency[:2].lower() + currency[2:]):
            assert _answers(scale, spelt, _code_and_param) == expected, (gateway, spelt)


# (gateway, currency, payedge minor units, provider units or None when refused): the providers' rules.
KNOWN = [
    ("stripe", "ISK", 5000, 500_000),  # ISO 0 decimals; Stripe 2, whole kronur
    ("stripe", "JPY", 500, 500),
    ("stripe", "EUR", 1234, 1234),
    ("stripe", "HUF", 1234, 1234),  # two-decimal in Stripe's API (payouts aside)
    ("stripe", "TWD", 1234, 1234),
    ("stripe", "UGX", 100, 100),  # zero-decimal for both
    ("stripe", "MGA", 1500, 15),  # ISO 2 decimals, Stripe 0
    ("stripe", "MGA", 150, None),
    ("stripe", "KWD", 1230, 1230),  # three-decimal, last digit 0
    ("stripe", "KWD", 1005, None),
    ("stripe", "TND", 10, 10),
    ("stripe", "BHD", 1, None),
    ("stripe", "XOF", 5, 5),
    ("sandbox", "ISK", 5000, 5000),
    ("sandbox", "KWD", 1005, 1005),
    # PayPal (developer.paypal.com/reference/currency-codes): HUF, JPY, TWD without decimals.
    ("paypal", "USD", 1050, 1050),  # "10.50"
    ("paypal", "EUR", 1, 1),  # "0.01"
    ("paypal", "JPY", 1500, 1500),  # "1500"
    ("paypal", "HUF", 150000, 1500),  # ISO 2 decimals, PayPal 0: "1500"
    ("paypal", "HUF", 150050, None),  # 1500.50 forints cannot be sent
    ("paypal", "TWD", 9900, 99),
    ("paypal", "TWD", 9950, None),
    ("paypal", "XOF", 1000, None),  # not a PayPal currency
    ("paypal", "KWD", 1000, None),
    # CinetPay (docs.cinetpay.com, initialisation): integers, multiples of 5 but USD.
    ("cinetpay", "XOF", 100, 100),
    ("cinetpay", "XOF", 102, None),
    ("cinetpay", "XAF", 1005, 1005),
    ("cinetpay", "GNF", 1003, None),
    ("cinetpay", "CDF", 50000, 500),  # ISO 2 decimals, CinetPay whole francs
    ("cinetpay", "CDF", 50050, None),
    ("cinetpay", "USD", 700, 7),  # whole dollars, any number of them
    ("cinetpay", "USD", 750, None),
    ("cinetpay", "EUR", 500, None),
    # MTN MoMo: decimal strings with the currency's ISO digits; the environments' currencies.
    ("mtn_momo", "EUR", 1050, 1050),  # "10.50"
    ("mtn_momo", "UGX", 1000, 1000),
    ("mtn_momo", "XOF", 1001, 1001),
    ("mtn_momo", "USD", 100, None),  # no MoMo environment takes USD
    # Orange Money WebPay: integers of the country's currency.
    ("orange_money", "XOF", 1001, 1001),
    ("orange_money", "XAF", 5, 5),
    ("orange_money", "CDF", 1500, 15),
    ("orange_money", "CDF", 1550, None),
    ("orange_money", "EUR", 100, None),
]


@pytest.mark.parametrize(("gateway", "currency", "amount", "units"), KNOWN)
def test_known_provider_rules(gateway: str, currency: str, amount: int, units: int | None) -> None:
    scale = SCALES[gateway]
    if units is None:
        with pytest.raises(GatewayRejectedError):
            scale.to_provider(amount, currency)
    else:
        assert scale.to_provider(amount, currency) == units
        assert scale.from_provider(units, currency) == amount


def test_provider_decimal_strings_read_exactly() -> None:
    """Amounts coming back from PayPal and MoMo: exact, or not read (never rounded)."""
    from payedge_server.gateways.paypal.orders import minor

    assert minor({"currency_code": "USD", "value": "10.50"}) == 1050
    assert minor({"currency_code": "JPY", "value": "1500"}) == 1500
    assert minor({"currency_code": "JPY", "value": "1500.00"}) == 1500  # trailing zeros are exact
    assert minor({"currency_code": "HUF", "value": "1500"}) == 150000
    assert minor({"currency_code": "USD", "value": "10.505"}) is None
    assert minor({"currency_code": "USD", "value": "-1.00"}) is None
    assert minor({"currency_code": "XOF", "value": "100"}) is None
    assert minor({"currency_code": "USD", "value": 10}) is None
    assert SCALES["mtn_momo"].from_decimal("10.50", "EUR") == 1050
    assert SCALES["mtn_momo"].from_decimal("10.505", "EUR") is None


def test_an_inbound_amount_that_is_not_whole_is_not_read() -> None:
    """A provider amount with more precision than payedge's unit (ISK 1.50 at Stripe) is never rounded."""
    assert SCALES["stripe"].from_provider(150, "ISK") is None
    assert SCALES["stripe"].from_provider(200, "ISK") == 2
