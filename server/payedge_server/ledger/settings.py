"""The ledger's settings: commission rates and invoice details, from the config file (SPEC 9):

    [[commissions.rates]]
    commission_type = "ticket_sale"
    basis_points = 500          # 5 %
    fixed = 30                  # minor units of the payment's currency
    min = 50                    # optional
    max = 2000                  # optional
    # owner = "alice", currency = "EUR": optional; the most specific rate wins

    [invoices]
    vat_basis_points = 2000     # default VAT rate of a line (metadata vat_rate overrides it)
    seller_name = "Example SAS"
    seller_address = ["1 rue de la Paix", "75002 Paris"]
    seller_vat_id = "FR00123456789"
    series = "INV"
    credit_note_series = "CN"

`parse_rates` (commissions.py) and `parse_invoices` validate them for the config loader
(config/sections/ledger.py), with errors naming the key path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from payedge_server.ledger.commissions import BASIS, Rates, RatesError, parse_rates
from payedge_server.ledger.invoices import DEFAULT_SELLER, SERIES, InvoiceSettings

if TYPE_CHECKING:
    from payedge_server.config.model import Config

INVOICE_KEYS = frozenset(
    {"series", "credit_note_series", "vat_basis_points", "seller_name", "seller_address", "seller_vat_id"}
)


@dataclass(frozen=True, slots=True)
class LedgerSettings:
    rates: Rates = field(default_factory=Rates)
    invoices: InvoiceSettings = field(default_factory=InvoiceSettings)


class SettingsError(ValueError):
    """A bad ledger settings file; the message names the key path."""


def _short_text(raw: Mapping[str, Any], key: str, default: str | None) -> str | None:
    value = raw.get(key, default)
    if value is not None and (not isinstance(value, str) or len(value) > 200 or not value.isprintable()):
        raise SettingsError(f"invoices.{key}: must be printable text of at most 200 characters")
    return value


def _series(raw: Mapping[str, Any], key: str, default: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not SERIES.fullmatch(value):
        raise SettingsError(f"invoices.{key}: must be 1 to 10 capital letters or digits")
    return value


def parse_invoices(raw: Mapping[str, Any]) -> InvoiceSettings:
    """Validate `[invoices]`; errors name the key path (`invoices.vat_basis_points`)."""
    if not isinstance(raw, Mapping):
        raise SettingsError("invoices: must be a table")
    for key in raw:
        if key not in INVOICE_KEYS:
            raise SettingsError(f"invoices.{key}: unknown key; known: {', '.join(sorted(INVOICE_KEYS))}")
    vat = raw.get("vat_basis_points", 0)
    if isinstance(vat, bool) or not isinstance(vat, int) or not 0 <= vat <= BASIS:
        raise SettingsError(f"invoices.vat_basis_points: must be an integer from 0 to {BASIS}")
    address = raw.get("seller_address", [])
    if not isinstance(address, list) or not all(isinstance(a, str) and a.isprintable() for a in address):
        raise SettingsError("invoices.seller_address: must be an array of text lines")
    series = _series(raw, "series", "INV")
    credit = _series(raw, "credit_note_series", "CN")
    if series == credit:
        raise SettingsError("invoices.credit_note_series: must differ from invoices.series")
    return InvoiceSettings(
        series=series,
        credit_note_series=credit,
        vat_basis_points=vat,
        seller_name=_short_text(raw, "seller_name", DEFAULT_SELLER) or "",
        seller_address=tuple(address),
        seller_vat_id=_short_text(raw, "seller_vat_id", None),
    )


def parse_settings(raw: Mapping[str, Any]) -> LedgerSettings:
    for key in raw:
        if key not in ("commissions", "invoices"):
            raise SettingsError(f"{key}: unknown section; known: commissions, invoices")
    commissions = raw.get("commissions", {})
    if not isinstance(commissions, Mapping) or set(commissions) - {"rates"}:
        raise SettingsError("commissions: must be a table holding only `rates`")
    try:
        rates = parse_rates(commissions.get("rates", []))
    except RatesError as exc:
        raise SettingsError(str(exc)) from None
    return LedgerSettings(rates, parse_invoices(raw.get("invoices", {})))


def from_config(config: Config) -> LedgerSettings:
    """The settings the config file gives ([[commissions.rates]], [invoices]), already validated."""
    rates = parse_rates([json.loads(rate) for rate in config.commissions.rates])
    return LedgerSettings(rates, parse_invoices(json.loads(config.invoices) if config.invoices else {}))
