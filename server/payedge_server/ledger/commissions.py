"""Commission rates, the SPEC 6 formula, refund reversals, statistics and projections.

On a payment's captured amount C (minor units), with the most specific rate for its
`commission_type`, owner (payee) and currency:

    K = min(C, clamp(round_half_up(C * basis_points / 10000) + fixed, min, max))

Refunds are reversed on the cumulative refunded amount R: the merchant's share of the
reversal is `round_half_up((C - K) * R / C)` in total (each refund reverses the
difference from the previous total, so a full refund reverses exactly C - K), the rest
of R comes back from the platform's revenue. Worked examples: docs/ledger.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from payedge_server.contracts import Tx
from payedge_server.ledger.model import ID, MAX_AMOUNT, currency_code

BASIS = 10_000
RATE_KEYS = frozenset({"commission_type", "owner", "currency", "basis_points", "fixed", "min", "max"})


def round_half_up_div(numerator: int, denominator: int) -> int:
    """round_half_up(numerator / denominator) for numerator >= 0, denominator > 0, exactly."""
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True, slots=True)
class Rate:
    """One `[[commissions.rates]]` entry; `fixed`, `min`, `max` in minor units of the payment's currency."""

    commission_type: str
    owner: str | None
    currency: str | None
    basis_points: int
    fixed: int = 0
    min: int | None = None
    max: int | None = None

    @property
    def specificity(self) -> int:
        """An owner-specific rate beats a currency-specific one, which beats a general one."""
        return (2 if self.owner is not None else 0) + (1 if self.currency is not None else 0)

    def applies(self, owner: str, currency: str) -> bool:
        return self.owner in (None, owner) and self.currency in (None, currency)

    def commission(self, captured: int) -> int:
        """K for a captured amount C (the SPEC 6 formula)."""
        k = round_half_up_div(captured * self.basis_points, BASIS) + self.fixed
        if self.min is not None:
            k = max(k, self.min)
        if self.max is not None:
            k = min(k, self.max)
        return min(captured, max(k, 0))

    def view(self) -> dict[str, Any]:
        return {
            "commission_type": self.commission_type,
            "owner": self.owner,
            "currency": self.currency,
            "basis_points": self.basis_points,
            "fixed": self.fixed,
            "min": self.min,
            "max": self.max,
        }


@dataclass(frozen=True, slots=True)
class Rates:
    rates: tuple[Rate, ...] = ()
    # Compiled once: per commission type, its rates most specific first (ties in file order,
    # as `max` would pick them), so a payment's lookup reads a few rates of its own type.
    _by_type: dict[str, tuple[Rate, ...]] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        by_type: dict[str, list[Rate]] = {}
        for rate in self.rates:
            by_type.setdefault(rate.commission_type, []).append(rate)
        compiled = {t: tuple(sorted(found, key=lambda r: -r.specificity)) for t, found in by_type.items()}
        object.__setattr__(self, "_by_type", compiled)

    @property
    def types(self) -> frozenset[str]:
        return frozenset(r.commission_type for r in self.rates)

    def lookup(self, commission_type: str, owner: str, currency: str) -> Rate | None:
        """The most specific rate of `commission_type` for this owner and currency, or None."""
        for rate in self._by_type.get(commission_type, ()):
            if rate.applies(owner, currency):
                return rate
        return None

    def view(self) -> dict[str, Any]:
        return {"rates": [r.view() for r in self.rates]}


class RatesError(ValueError):
    """A bad `[[commissions.rates]]` entry; the message starts with the key's path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def _int(
    item: Mapping[str, Any], key: str, path: str, *, low: int, high: int, default: int | None
) -> int | None:
    value = item.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RatesError(f"{path}.{key}", f"must be an integer from {low} to {high}")
    return value


def _text(item: Mapping[str, Any], key: str, path: str, *, required: bool) -> str | None:
    value = item.get(key)
    if value is None:
        if required:
            raise RatesError(f"{path}.{key}", "is required")
        return None
    if not isinstance(value, str) or not ID.fullmatch(value):
        raise RatesError(f"{path}.{key}", "must be 1 to 64 characters of [A-Za-z0-9_.:-]")
    return value


def _rate(item: Any, path: str) -> Rate:
    if not isinstance(item, Mapping):
        raise RatesError(path, "must be a table of commission_type, basis_points, ...")
    for key in item:
        if key not in RATE_KEYS:
            raise RatesError(f"{path}.{key}", f"unknown key; known: {', '.join(sorted(RATE_KEYS))}")
    currency = _text(item, "currency", path, required=False)
    # A code no payment can carry ("eur": payments carry "EUR"; "ZZZ") would never apply.
    if currency is not None and not currency_code(currency):
        raise RatesError(f"{path}.currency", "must be an ISO 4217 code payedge knows, in capitals (EUR)")
    basis_points = _int(item, "basis_points", path, low=0, high=BASIS, default=None)
    if basis_points is None:
        raise RatesError(f"{path}.basis_points", "is required")
    low = _int(item, "min", path, low=0, high=MAX_AMOUNT, default=None)
    high = _int(item, "max", path, low=0, high=MAX_AMOUNT, default=None)
    if low is not None and high is not None and low > high:
        raise RatesError(f"{path}.min", "must not exceed max")
    commission_type = _text(item, "commission_type", path, required=True)
    assert commission_type is not None
    fixed = _int(item, "fixed", path, low=0, high=MAX_AMOUNT, default=0)
    assert fixed is not None
    owner = _text(item, "owner", path, required=False)
    return Rate(commission_type, owner, currency, basis_points, fixed, low, high)


def parse_rates(raw: Sequence[Any]) -> Rates:
    """Validate `[[commissions.rates]]` (a list of tables); errors name the key path,
    e.g. `commissions.rates[2].basis_points`. Two rates for the same type, owner and
    currency are refused (the most specific rate must be one)."""
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        raise RatesError("commissions.rates", "must be an array of tables")
    seen: dict[tuple[str, str | None, str | None], int] = {}
    rates = []
    for index, item in enumerate(raw):
        path = f"commissions.rates[{index}]"
        rate = _rate(item, path)
        key = (rate.commission_type, rate.owner, rate.currency)
        if key in seen:
            raise RatesError(
                path, f"same commission_type, owner and currency as commissions.rates[{seen[key]}]"
            )
        seen[key] = index
        rates.append(rate)
    return Rates(tuple(rates))


def merchant_reversal(captured: int, commission: int, refunded: int) -> int:
    """The merchant's total share of a cumulative refund R: round_half_up((C - K) * R / C)."""
    if captured == 0:
        return 0
    return round_half_up_div((captured - commission) * refunded, captured)


# ----------------------------------------------------------------------------- statistics
def statistics(
    tx: Tx, *, since_ms: int, until_ms: int, owner: str | None, commission_type: str | None
) -> dict[str, Any]:
    """Commissions of the payments that succeeded in [since, until), per currency and type."""
    sql = (
        "SELECT currency, commission_type, COUNT(*), SUM(captured), SUM(commission), SUM(refunded), "
        "SUM(commission_reversed) FROM ledger_payment_postings WHERE succeeded_at >= ? AND succeeded_at < ?"
    )
    params: list[Any] = [since_ms, until_ms]
    if owner is not None:
        sql += " AND payee = ?"
        params.append(owner)
    if commission_type is not None:
        sql += " AND commission_type = ?"
        params.append(commission_type)
    sql += " GROUP BY currency, commission_type ORDER BY currency, commission_type"
    currencies: dict[str, dict[str, Any]] = {}
    for currency, ctype, count, captured, commission, refunded, reversed_ in tx.fetchall(sql, params):
        figures = {
            "payments": int(count),
            "captured": int(captured),
            "commission": int(commission),
            "refunded": int(refunded),
            "commission_reversed": int(reversed_),
            "net_commission": int(commission) - int(reversed_),
        }
        total = currencies.setdefault(currency, {**dict.fromkeys(figures, 0), "by_type": {}})
        for key, value in figures.items():
            total[key] += value
        total["by_type"][ctype if ctype is not None else "none"] = figures
    return {"currencies": currencies}


# ----------------------------------------------------------------------------- projections
@dataclass(frozen=True, slots=True)
class Sale:
    """A projected sale: `count` payments of `amount` (minor units)."""

    commission_type: str | None
    owner: str
    amount: int
    count: int


def project(rates: Rates, currency: str, sales: Sequence[Sale]) -> dict[str, Any]:
    """Revenue (commissions) and settlement (merchants' net) for projected sales."""
    lines = []
    totals = {"gross": 0, "commission": 0, "net": 0}
    for sale in sales:
        rate = rates.lookup(sale.commission_type, sale.owner, currency) if sale.commission_type else None
        each = rate.commission(sale.amount) if rate else 0
        gross, commission = sale.amount * sale.count, each * sale.count
        totals["gross"] += gross
        totals["commission"] += commission
        totals["net"] += gross - commission
        lines.append(
            {
                "commission_type": sale.commission_type,
                "owner": sale.owner,
                "amount": sale.amount,
                "count": sale.count,
                "rate": rate.view() if rate else None,
                "commission_each": each,
                "net_each": sale.amount - each,
                "gross": gross,
                "commission": commission,
                "net": gross - commission,
            }
        )
    return {"currency": currency, "lines": lines, "totals": totals}
