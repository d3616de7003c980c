"""Known currencies: `payedge.minor_units` (the core's ISO 4217 table) decides."""

from __future__ import annotations

import payedge


def minor_units(code: str) -> int | None:
    """The ISO 4217 exponent of `code` (upper case), or None if payedge does not know it."""
    try:
        return payedge.minor_units(code)
    except payedge.PayedgeError:
        return None
