"""Render an invoice or credit note (its JSON document) as a one-page A4 PDF with ReportLab.

ReportLab (BSD, maintained since 2000, pure-Python wheel) over fpdf2 (LGPL-3.0, younger):
its platypus layer lays out wrapped paragraphs and tables, its standard fonts need no
font files, and typeshed has stubs for it. Text is drawn as text, so `pdftotext`
reads the number and the total back (the tests do). DejaVu Sans is used when the
system has it (every Unicode customer name then prints); otherwise Helvetica, whose
Windows-1252 repertoire covers Western European names.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import payedge
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


def _fonts() -> tuple[str, str]:
    """(regular, bold) font names: DejaVu Sans when installed, else the standard Helvetica."""
    regular, bold = _DEJAVU / "DejaVuSans.ttf", _DEJAVU / "DejaVuSans-Bold.ttf"
    if regular.is_file() and bold.is_file():
        if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
            pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold)))
        return "DejaVuSans", "DejaVuSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def money(amount: int, currency: str) -> str:
    """Minor units as a decimal amount with the currency code: 1250 EUR -> "12.50 EUR"."""
    exponent = payedge.minor_units(currency)
    sign = "-" if amount < 0 else ""
    units, cents = divmod(abs(amount), 10**exponent)
    text = f"{units:,}" if exponent == 0 else f"{units:,}.{cents:0{exponent}d}"
    return f"{sign}{text} {currency}"


def _percent(basis_points: int) -> str:
    return f"{basis_points / 100:g} %"


class _Styles:
    def __init__(self) -> None:
        regular, bold = _fonts()
        self.bold = bold
        self.body = ParagraphStyle("body", fontName=regular, fontSize=10, leading=13)
        self.small = ParagraphStyle(
            "small", fontName=regular, fontSize=8.5, leading=11, textColor=colors.grey
        )
        self.title = ParagraphStyle("title", fontName=bold, fontSize=18, leading=22)
        self.head = ParagraphStyle("head", fontName=bold, fontSize=10, leading=13)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _parties(doc: dict[str, Any], st: _Styles) -> Table:
    seller = doc.get("seller") or {}
    customer = doc.get("customer") or {}
    left = [Paragraph("From", st.head), Paragraph(_escape(seller.get("name") or ""), st.body)]
    left += [Paragraph(_escape(line), st.body) for line in seller.get("address") or []]
    if seller.get("vat_id"):
        left.append(Paragraph(f"VAT id: {_escape(seller['vat_id'])}", st.body))
    right = [Paragraph("Bill to", st.head)]
    right += [Paragraph(_escape(customer[k]), st.body) for k in ("name", "email") if customer.get(k)]
    table = Table([[left, right]], colWidths=[85 * mm, 85 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _lines(doc: dict[str, Any], st: _Styles) -> Table:
    currency = doc["currency"]
    rows: list[list[Any]] = [["Description", "Qty", "Net", "VAT rate", "VAT", "Total"]]
    for line in doc["lines"]:
        rows.append(
            [
                Paragraph(_escape(line["description"]), st.body),
                str(line["quantity"]),
                money(line["net"], currency),
                _percent(line["vat_basis_points"]),
                money(line["vat"], currency),
                money(line["gross"], currency),
            ]
        )
    table = Table(rows, colWidths=[56 * mm, 10 * mm, 28 * mm, 20 * mm, 25 * mm, 31 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), st.bold),
                ("FONTNAME", (1, 1), (-1, -1), st.body.fontName),
                ("FONTSIZE", (0, 0), (-1, -1), 9.5),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.lightgrey),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _totals(doc: dict[str, Any], st: _Styles) -> Table:
    currency = doc["currency"]
    label = "Total credited" if doc["object"] == "credit_note" else "Total"
    rows = [
        ["Total net", money(doc["total_net"], currency)],
        ["Total VAT", money(doc["total_vat"], currency)],
        [label, money(doc["total"], currency)],
    ]
    table = Table(rows, colWidths=[40 * mm, 35 * mm], hAlign="RIGHT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), st.body.fontName),
                ("FONTNAME", (0, 2), (-1, 2), st.bold),
                ("FONTSIZE", (0, 0), (-1, -1), 10),
                ("FONTSIZE", (0, 2), (-1, 2), 12),
                ("LINEABOVE", (0, 2), (-1, 2), 0.8, colors.black),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
            ]
        )
    )
    return table


def render(doc: dict[str, Any]) -> bytes:
    """The PDF of an invoice or credit note document (`invoices.issue_*`)."""
    st = _Styles()
    title = "Credit note" if doc["object"] == "credit_note" else "Invoice"
    issued = datetime.fromtimestamp(doc["issued"], UTC).strftime("%Y-%m-%d")
    facts = f"Issued {issued} (UTC) &nbsp;&middot;&nbsp; Payment {_escape(doc['payment_id'])}"
    if doc.get("invoice_id"):
        facts += f" &nbsp;&middot;&nbsp; Credits invoice {_escape(doc['invoice_id'])}"
    story: list[Flowable] = [
        Paragraph(f"{title} {_escape(doc['id'])}", st.title),
        Spacer(1, 2 * mm),
        Paragraph(facts, st.small),
        Spacer(1, 8 * mm),
        _parties(doc, st),
        Spacer(1, 10 * mm),
        _lines(doc, st),
        Spacer(1, 6 * mm),
        _totals(doc, st),
        Spacer(1, 12 * mm),
        Paragraph("Amounts include VAT; VAT is computed per line, rounded half up.", st.small),
    ]
    out = io.BytesIO()
    pdf = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=f"{title} {doc['id']}",
        author=str((doc.get("seller") or {}).get("name") or "payedge"),
        invariant=True,
    )
    pdf.build(story)
    return out.getvalue()
