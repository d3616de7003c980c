"""SPEC 5 "Amounts": every gateway converts ISO 4217 minor units exactly, both ways, or refuses.

Table-driven over every currency the core knows, for every gateway in the
registry (a new connector is covered by registering its `Scale`), then the known
cases of each provider's documented rules, then end to end through localstripe.
"""

from __future__ import annotations

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


def test_an_inbound_amount_that_is_not_whole_is_not_read() -> None:
    """A provider amount with more precision than payedge's unit (ISK 1.50 at Stripe) is never rounded."""
    assert SCALES["stripe"].from_provider(150, "ISK") is None
    assert SCALES["stripe"].from_provider(200, "ISK") == 2
