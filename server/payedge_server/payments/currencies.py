"""Known currencies: `payedge.minor_units` (the core's ISO 4217 table) decides."""

from __future__ import annotations

from collections.abc import Callable

import payedge

# TODO(tariff branch): drop this fallback once payedge.minor_units has landed on main.
_TWO = (
    "AED AUD BRL CAD CHF CNY CZK DKK EGP EUR GBP GHS HKD ILS INR KES MAD MXN NGN NOK NZD PHP PLN "
    "QAR RUB SAR SEK SGD THB TRY TWD USD ZAR"
)
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FALLBACK = {
    **dict.fromkeys(_TWO.split(), 2),
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_THREE.split(), 3),
}


def _fallback(code: str) -> int:
    if code not in _FALLBACK:
        raise payedge.MoneyError(f"unknown currency {code!r}", param="currency")
    return _FALLBACK[code]


_minor: Callable[[str], int] = getattr(payedge, "minor_units", _fallback)


def minor_units(code: str) -> int | None:
    """The ISO 4217 exponent of `code` (upper case), or None if payedge does not know it."""
    try:
        return int(_minor(code))
    except payedge.PayedgeError:
        return None
