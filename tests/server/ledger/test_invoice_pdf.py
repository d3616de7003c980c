"""An invoice as PDF from a real server: page 1 rendered to an image (pdftoppm) and read back
(pdftotext from the same poppler-utils): the number and the total are on it.

The PNG is kept in test-artifacts/ (or $PAYEDGE_TEST_ARTIFACTS) for a human to look at.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import aiohttp
from PIL import Image

from tests.server.ledger.http import owner, pay
from tests.server.support import Server
from tests.support.services import find_binary

ROOT = Path(__file__).resolve().parents[3]


def artifacts() -> Path:
    where = Path(os.environ.get("PAYEDGE_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    where.mkdir(parents=True, exist_ok=True)
    return where


def _image_and_text(pdf: Path, pdftoppm: str, pdftotext: str) -> tuple[Path, str]:
    """Page 1 as a PNG (pdftoppm, 110 dpi) and its text (pdftotext)."""
    stem = pdf.with_name("page1")
    subprocess.run(
        [pdftoppm, "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)],
        check=True,
        timeout=60,
    )
    text = subprocess.run(
        [pdftotext, "-f", "1", "-l", "1", "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return stem.with_suffix(".png"), text


async def test_invoice_pdf_page_one_shows_its_number_and_total(
    ledger_server: Server, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    pdftoppm, pdftotext = find_binary("pdftoppm"), find_binary("pdftotext")
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

    png, text = await asyncio.to_thread(_image_and_text, pdf, pdftoppm, pdftotext)
    with Image.open(png) as image:
        width, height = image.size
        ink = sum(image.convert("L").histogram()[:128])  # pixels darker than mid-grey
    assert width < height and width > 800  # A4, portrait, at 110 dpi: 909 x 1286
    assert ink > 2000, "page 1 is (nearly) blank"
    shutil.copy(png, artifacts() / "invoice-page1.png")
    assert invoice["id"] in text
    assert "49.90 EUR" in text  # the total
    assert "2.60 EUR" in text  # VAT at 5.5 %, VAT-inclusive: 4990 - round(4990 / 1.055) = 260
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
