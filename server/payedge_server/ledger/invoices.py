"""Invoices and credit notes: gap-free numbers per series and UTC year, VAT per line.

Numbers are allocated in the write that makes the payment succeed (or records the
refund): a counter row per (series, year) is bumped by an upsert in that same
transaction, so a rolled-back payment takes no number and two concurrent payments
never share one (the counter row serialises them: SQLite's single writer, a row lock on
PostgreSQL). `INV-2026-000001`; credit notes have their own series (`CN-2026-000001`).

VAT per line, amounts VAT-inclusive (what the customer paid): with a rate of r basis
points, a line's net is `round_half_up(gross * 10000 / (10000 + r))` and its VAT is
`gross - net`, so net + VAT = gross exactly and the totals are the sums of the lines.
A credit note reverses VAT on the cumulative refunded amount (the difference from
the previous total), so credit notes for a full refund reverse exactly the invoice's VAT.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from payedge_server.contracts import Tx
from payedge_server.ledger.commissions import BASIS, round_half_up_div

SERIES = re.compile(r"[A-Z0-9]{1,10}")
INVOICE_ID = re.compile(r"[A-Z0-9]{1,10}-[0-9]{4}-[0-9]{6,}")
CUSTOMER_KEYS = ("customer_email", "customer_name")
DEFAULT_SELLER = "payedge merchant"


@dataclass(frozen=True, slots=True)
class InvoiceSettings:
    """`[invoices]` of the ledger settings file."""

    series: str = "INV"
    credit_note_series: str = "CN"
    vat_basis_points: int = 0
    seller_name: str = DEFAULT_SELLER
    seller_address: tuple[str, ...] = ()
    seller_vat_id: str | None = None


def vat_split(gross: int, basis_points: int) -> tuple[int, int]:
    """(net, vat) of a VAT-inclusive amount: net = round_half_up(gross * 10000 / (10000 + r))."""
    net = round_half_up_div(gross * BASIS, BASIS + basis_points)
    return net, gross - net


def parse_vat_rate(text: str) -> int | None:
    """A percentage with at most two decimals ("20", "5.5", "0") as basis points, or None."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    bp = value * 100
    if not value.is_finite() or bp != bp.to_integral_value() or not 0 <= bp <= BASIS:
        return None
    return int(bp)


def customer_of(metadata: Mapping[str, str]) -> dict[str, str] | None:
    """The customer named in a payment's metadata (`customer_email`, `customer_name`), or None."""
    found = {key.removeprefix("customer_"): metadata[key] for key in CUSTOMER_KEYS if metadata.get(key)}
    return found or None


def next_number(tx: Tx, series: str, year: int) -> int:
    """The next number of (series, year), allocated in the caller's transaction."""
    row = tx.fetchone(
        "INSERT INTO ledger_invoice_counters (series, year, last_number) VALUES (?, ?, 1) "
        "ON CONFLICT (series, year) DO UPDATE SET last_number = ledger_invoice_counters.last_number + 1 "
        "RETURNING last_number",
        (series, year),
    )
    assert row is not None
    return int(row[0])


def _line(description: str, gross: int, basis_points: int) -> dict[str, Any]:
    net, vat = vat_split(gross, basis_points)
    return {
        "description": description,
        "quantity": 1,
        "unit_amount": gross,
        "vat_basis_points": basis_points,
        "net": net,
        "vat": vat,
        "gross": gross,
    }


def _document(
    tx: Tx, kind: str, series: str, payment: tuple[str, str], *, lines: list[dict[str, Any]], now_ms: int
) -> dict[str, Any]:
    year = datetime.fromtimestamp(now_ms / 1000, UTC).year
    number = next_number(tx, series, year)
    return {
        "id": f"{series}-{year}-{number:06d}",
        "object": kind,
        "series": series,
        "year": year,
        "sequence": number,
        "payment_id": payment[0],
        "currency": payment[1],
        "issued": now_ms // 1000,
        "lines": lines,
        "total_net": sum(line["net"] for line in lines),
        "total_vat": sum(line["vat"] for line in lines),
        "total": sum(line["gross"] for line in lines),
    }


def _seller(settings: InvoiceSettings) -> dict[str, Any]:
    return {
        "name": settings.seller_name,
        "address": list(settings.seller_address),
        "vat_id": settings.seller_vat_id,
    }


def _store(tx: Tx, doc: dict[str, Any], invoice_id: str | None, now_ms: int) -> None:
    tx.execute(
        "INSERT INTO ledger_invoices (id, kind, series, year, number, payment_id, invoice_id, issued_at, "
        "document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            doc["id"],
            doc["object"],
            doc["series"],
            doc["year"],
            doc["sequence"],
            doc["payment_id"],
            invoice_id,
            now_ms,
            orjson.dumps(doc).decode(),
        ),
    )


def issue_invoice(
    tx: Tx,
    settings: InvoiceSettings,
    payment: tuple[str, str],
    metadata: Mapping[str, str],
    *,
    captured: int,
    now_ms: int,
) -> dict[str, Any] | None:
    """The invoice of a succeeded payment (`payment` = (id, currency)) that names a customer
    in its metadata (None without one)."""
    customer = customer_of(metadata)
    if customer is None or captured <= 0:
        return None
    rate = parse_vat_rate(metadata["vat_rate"]) if "vat_rate" in metadata else None
    description = metadata.get("description") or f"Payment {payment[0]}"
    lines = [_line(description, captured, settings.vat_basis_points if rate is None else rate)]
    doc = _document(tx, "invoice", settings.series, payment, lines=lines, now_ms=now_ms)
    doc.update(customer=customer, seller=_seller(settings))
    _store(tx, doc, None, now_ms)
    return doc


def invoice_of_payment(tx: Tx, payment_id: str) -> dict[str, Any] | None:
    row = tx.fetchone(
        "SELECT document FROM ledger_invoices WHERE payment_id = ? AND kind = 'invoice'", (payment_id,)
    )
    return orjson.loads(row[0]) if row else None


def issue_credit_note(
    tx: Tx,
    settings: InvoiceSettings,
    payment: tuple[str, str],
    *,
    refunded_before: int,
    refunded_after: int,
    now_ms: int,
) -> dict[str, Any] | None:
    """The credit note of a refund (the cumulative refunded amount going from before to after)."""
    invoice = invoice_of_payment(tx, payment[0])
    if invoice is None or refunded_after <= refunded_before:
        return None
    rate = int(invoice["lines"][0]["vat_basis_points"])
    gross = refunded_after - refunded_before
    _, vat_before = vat_split(refunded_before, rate)
    _, vat_after = vat_split(refunded_after, rate)
    vat = vat_after - vat_before
    line = {
        "description": f"Refund of {invoice['id']}",
        "quantity": 1,
        "unit_amount": gross,
        "vat_basis_points": rate,
        "net": gross - vat,
        "vat": vat,
        "gross": gross,
    }
    doc = _document(tx, "credit_note", settings.credit_note_series, payment, lines=[line], now_ms=now_ms)
    doc.update(customer=invoice["customer"], seller=invoice["seller"], invoice_id=invoice["id"])
    _store(tx, doc, invoice["id"], now_ms)
    return doc


def get(tx: Tx, invoice_id: str) -> dict[str, Any] | None:
    row = tx.fetchone("SELECT document FROM ledger_invoices WHERE id = ?", (invoice_id,))
    return orjson.loads(row[0]) if row else None


def of_payment(tx: Tx, payment_id: str) -> list[dict[str, Any]]:
    rows = tx.fetchall(
        "SELECT document FROM ledger_invoices WHERE payment_id = ? "
        "ORDER BY issued_at, CASE WHEN kind = 'invoice' THEN 0 ELSE 1 END, number",
        (payment_id,),
    )
    return [orjson.loads(r[0]) for r in rows]
