"""An invoice as PDF from a real server: page 1 rendered to an image (pdftoppm, 300 dpi) and the
image read by OCR (Tesseract): the invoice number and the total are on the page as a reader sees
it. The PDF's text layer (pdftotext, from the same poppler-utils) is checked too: a copy-paste or a
screen reader gets the same text.

The PNG is kept in test-artifacts/ (or $PAYEDGE_TEST_ARTIFACTS) for a human to look at.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from pathlib import Path

import aiohttp
from PIL import Image

from tests.server.ledger.http import owner, pay
from tests.server.support import Server
from tests.support.services import find_binary

ROOT = Path(__file__).resolve().parents[3]
# Tesseract's documentation asks for at least 300 dpi (tessdoc, ImproveQuality); the page's
# 9-10 pt text also reads at 110-150 dpi today, with less margin for a font change.
DPI = 300


def artifacts() -> Path:
    where = Path(os.environ.get("PAYEDGE_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    where.mkdir(parents=True, exist_ok=True)
    return where


def _run(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout


def _page_one(pdf: Path) -> Path:
    """Page 1 as a greyscale PNG (pdftoppm at `DPI`; Tesseract binarises it itself)."""
    stem = pdf.with_name("page1")
    pdftoppm = find_binary("pdftoppm")
    _run(
        [pdftoppm, "-png", "-gray", "-r", str(DPI), "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)]
    )
    return stem.with_suffix(".png")


def _ocr(png: Path) -> str:
    """The text Tesseract reads on the image (English data; --psm 6: one uniform block of text,
    which keeps a table's row on one line), whitespace collapsed to single spaces."""
    tesseract = find_binary("tesseract")
    text = _run([tesseract, str(png), "-", "--psm", "6", "-l", "eng", "--dpi", str(DPI)])
    return re.sub(r"\s+", " ", text)


def _text_layer(pdf: Path) -> str:
    return _run([find_binary("pdftotext"), "-f", "1", "-l", "1", "-layout", str(pdf), "-"])


async def test_invoice_pdf_page_one_shows_its_number_and_total(
    ledger_server: Server, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    metadata = {
        "customer_email": "zoe@example.com",
        "customer_name": "Zoë Ngassa",
        "description": "Concert ticket, Salle Pleyel, 12 June",
        "vat_rate": "5.5",
    }
    paid = await pay(
        http, ledger_server, 4990, payee=owner(), commission_type="ticket_sale", metadata=metadata
    )
    async with http.get(
        f"{ledger_server.url}/v1/invoices?payment_id={paid['id']}", headers=ledger_server.headers()
    ) as resp:
        invoice = (await resp.json())["data"][0]
    async with http.get(
        f"{ledger_server.url}/v1/invoices/{invoice['id']}",
        headers=ledger_server.headers(Accept="application/pdf"),
    ) as resp:
        assert resp.status == 200 and resp.content_type == "application/pdf"
        assert invoice["id"] in resp.headers["Content-Disposition"]
        body = await resp.read()
    assert body.startswith(b"%PDF-")
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(body)

    png = await asyncio.to_thread(_page_one, pdf)
    shutil.copy(png, artifacts() / "invoice-page1.png")
    with Image.open(png) as image:
        width, height = image.size
        ink = sum(image.convert("L").histogram()[:128])  # pixels darker than mid-grey
    assert width < height and width > 2400  # A4, portrait, at 300 dpi: 2480 x 3508
    assert ink > 20000, "page 1 is (nearly) blank"

    seen = await asyncio.to_thread(_ocr, png)
    assert re.fullmatch(r"INV-\d{4}-\d{6}", invoice["id"]), invoice["id"]
    assert invoice["id"] in seen, f"invoice number {invoice['id']} not read on page 1: {seen}"
    assert invoice["total"] == 4990
    assert re.search(r"\bTotal 49\.90 EUR\b", seen), f"total 49.90 EUR not read on page 1: {seen}"
    assert "2.60 EUR" in seen  # VAT at 5.5 %, VAT-inclusive: 4990 - round(4990 / 1.055) = 260

    text = await asyncio.to_thread(_text_layer, pdf)
    assert invoice["id"] in text
    assert "49.90 EUR" in text  # the total
    assert "2.60 EUR" in text
    assert "Zoë Ngassa" in text and "Billetterie Exemple SAS" in text


async def test_json_is_the_default(ledger_server: Server, http: aiohttp.ClientSession) -> None:
    paid = await pay(http, ledger_server, 100, metadata={"customer_email": "a@example.com"})
    async with http.get(
        f"{ledger_server.url}/v1/invoices?payment_id={paid['id']}", headers=ledger_server.headers()
    ) as resp:
        invoice_id = (await resp.json())["data"][0]["id"]
    async with http.get(
        f"{ledger_server.url}/v1/invoices/{invoice_id}", headers=ledger_server.headers(Accept="*/*")
    ) as resp:
        assert resp.content_type == "application/json"
        assert (await resp.json())["total"] == 100
