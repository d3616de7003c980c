"""Amounts at a provider's boundary: exact conversion between ISO 4217 minor units and the provider's.

payedge stores every amount in the currency's ISO 4217 minor unit (`payedge.minor_units`).
A provider may count a currency with other decimals (Stripe sends ISK with 2, ISO has
0; PayPal sends HUF with 0, ISO has 2) or only take some multiples (Stripe's
three-decimal currencies end in 0; CinetPay's XOF amounts are multiples of 5). Each
connector declares its rules as a `Scale`, and converts both ways through it; an
amount that cannot be carried exactly is refused (`amount_not_representable`),
never rounded (SPEC 5, "Amounts").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import payedge

from payedge_server.gateways.base import GatewayRejectedError


def _pow10(n: int) -> int:
    return int(10**n)


def iso_exponent(currency: str) -> int:
    return payedge.minor_units(currency)


def not_representable(gateway: str, amount: int, currency: str, why: str) -> GatewayRejectedError:
    return GatewayRejectedError(
        "amount_not_representable",
        f"the {gateway} gateway cannot carry {amount} minor units of {currency} exactly: {why}",
        "amount",
    )


def currency_not_supported(gateway: str, currency: str) -> GatewayRejectedError:
    return GatewayRejectedError(
        "currency_not_supported", f"the {gateway} gateway does not take {currency}", "currency"
    )


@dataclass(frozen=True, slots=True)
class Scale:
    """A provider's decimals per currency, and the multiples it requires (in its own units).

    `exponents` overrides the ISO exponent for a currency; `multiples` says its
    amounts must be multiples of n in the provider's units; `currencies` (when not
    None) is the set the provider takes at all. Their keys are upper-case ISO codes;
    a currency is read in any case (ISO 4217 codes are case-insensitive, Stripe
    writes them in lower case), so "isk" converts as "ISK" does.
    """

    gateway: str
    exponents: Mapping[str, int] = field(default_factory=dict)
    multiples: Mapping[str, int] = field(default_factory=dict)
    currencies: frozenset[str] | None = None
    # currency -> provider exponent minus ISO exponent: both fixed for a currency, so read once
    # (only currencies the core knows get in: bounded by its ISO 4217 table).
    _shifts: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def exponent(self, currency: str) -> int:
        code = currency.upper()
        return self.exponents.get(code, iso_exponent(code))

    def shift(self, currency: str) -> int:
        """The provider's decimals for `currency` minus ISO's (PayedgeError for a currency ISO lacks)."""
        shift = self._shifts.get(currency)
        if shift is None:
            shift = self._shifts[currency] = self.exponent(currency) - iso_exponent(currency)
        return shift

    def check_currency(self, currency: str) -> None:
        if self.currencies is not None and currency.upper() not in self.currencies:
            raise currency_not_supported(self.gateway, currency)

    def to_provider(self, amount: int, currency: str) -> int:
        """`amount` ISO minor units as the provider's integer units; refused unless exact."""
        self.check_currency(currency)
        shift = self.shift(currency)
        if shift >= 0:
            units = amount * _pow10(shift)
        else:
            factor = _pow10(-shift)
            if amount % factor:
                raise not_representable(
                    self.gateway,
                    amount,
                    currency,
                    f"it takes {currency} with {self.exponent(currency)} decimals",
                )
            units = amount // factor
        multiple = self.multiples.get(currency.upper(), 1)
        if units % multiple:
            raise not_representable(
                self.gateway,
                amount,
                currency,
                f"{currency} amounts must be multiples of {multiple} of its units",
            )
        return units

    def from_provider(self, units: int, currency: str) -> int | None:
        """The provider's integer units as ISO minor units; None when they are not a whole number of them."""
        shift = self.shift(currency)
        if shift <= 0:
            return units * _pow10(-shift)
        factor = _pow10(shift)
        return None if units % factor else units // factor

    def to_decimal(self, amount: int, currency: str) -> str:
        """The provider's units as a decimal string ("10.50", "1050" for a 0-decimal currency)."""
        units = self.to_provider(amount, currency)
        exponent = self.exponent(currency)
        if exponent == 0:
            return str(units)
        sign = "-" if units < 0 else ""
        whole, frac = divmod(abs(units), _pow10(exponent))
        return f"{sign}{whole}.{frac:0{exponent}d}"

    def from_decimal(self, text: str, currency: str) -> int | None:
        """A provider's decimal string as ISO minor units; None unless it is exactly representable."""
        exponent = self.exponent(currency)
        whole, _, frac = text.partition(".")
        if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > exponent:
            return None
        units = int(whole) * _pow10(exponent) + (int(frac.ljust(exponent, "0")) if exponent else 0)
        return self.from_provider(units, currency)


def all_currencies() -> list[str]:
    """Every currency the core knows (its ISO 4217 table), for table-driven tests and checks."""
    import itertools
    import string

    found = []
    for letters in itertools.product(string.ascii_uppercase, repeat=3):
        code = "".join(letters)
        try:
            payedge.minor_units(code)
        except payedge.PayedgeError:
            continue
        found.append(code)
    return found
