"""[commissions], [invoices] and [ledger]: the ledger's settings (SPEC 6).

[[commissions.rates]]
commission_type = "ticket_sale"
basis_points = 500        # 5 %
fixed = 30                # minor units of the payment's currency
min = 50                  # optional; so are max, owner and currency (the most specific wins)

[invoices]
vat_basis_points = 2000   # default VAT of a line (a payment's metadata.vat_rate overrides it)
seller_name = "Example SAS"
seller_address = ["1 rue de la Paix", "75002 Paris"]
series = "INV"
credit_note_series = "CN"

[ledger]
postings = "on"           # "off": payments do not post (for comparisons in benchmarks)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from payedge_server.config.kinds import Choice, Invalid, Items, Table
from payedge_server.config.schema import Check, setting

if TYPE_CHECKING:
    from payedge_server.config.model import Config


def _one_rate(text: str) -> None:
    from payedge_server.ledger.commissions import RatesError, parse_rates

    try:
        parse_rates([json.loads(text)])
    except RatesError as exc:
        # The path inside the one rate (`commissions.rates[0].basis_points` -> `basis_points`).
        raise Invalid(str(exc).removeprefix("commissions.rates[0]").lstrip(".: ")) from None


def _invoices(text: str) -> None:
    from payedge_server.ledger.settings import SettingsError, parse_invoices

    try:
        parse_invoices(json.loads(text))
    except SettingsError as exc:
        raise Invalid(str(exc).removeprefix("invoices").lstrip(".: ")) from None


def _rates_together(config: Config) -> str | None:
    """Two rates for the same type, owner and currency: the most specific rate must be one."""
    from payedge_server.ledger.commissions import RatesError, parse_rates

    try:
        parse_rates([json.loads(r) for r in config.commissions.rates])
    except RatesError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class CommissionsConfig:
    rates: tuple[str, ...] = setting(
        Items(Table(check=_one_rate)),
        (),
        help="commission rates (`[[commissions.rates]]`: commission_type, basis_points, fixed, min, max, "
        "owner, currency); GET /v1/commissions/rates lists them",
    )

    checks: ClassVar[tuple[Check, ...]] = (Check("commissions.rates", _rates_together),)


def invoices_setting() -> str | None:
    """`[invoices]`: one table, validated by the ledger's parser (a root-level setting of Config)."""
    value: str | None = setting(
        Table(check=_invoices),
        None,
        help="invoice details: series, credit_note_series, vat_basis_points, seller_name, seller_address, "
        "seller_vat_id",
    )
    return value


@dataclass(frozen=True)
class LedgerConfig:
    postings: str = setting(
        Choice(("ON", "OFF")),
        "ON",
        help="whether payments post to the ledger (off: for comparisons in benchmarks)",
        flag="--ledger-postings",
        env="PAYEDGE_LEDGER_POSTINGS",
    )
