"""POST /v1/quotes with the site tariff (`--tariff FILE`) on the real server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import aiohttp
import payedge

from tests.server.support import PAYEDGE, running_server
from tests.support import services

RULES = {
    "currency": "EUR",
    "timezone": "Europe/Paris",
    "increment_minutes": 15,
    "grace_minutes": 10,
    "bands": [{"up_to_minute": 60, "unit_price": 50}, {"up_to_minute": None, "unit_price": 30}],
    "daily_cap": 2000,
    "lost_ticket_fee": 3000,
    "subscriptions": {"resident": {"discount_percent": 50}},
}
ENTRY = 1_763_712_000  # 2025-11-21 08:00 UTC


async def test_quotes(tmp_path: Path) -> None:
    tariff = tmp_path / "tariff.json"
    tariff.write_text(json.dumps(RULES))
    expected = payedge.Tariff(json.dumps(RULES)).quote(ENTRY, ENTRY + 7200, subscription="resident")
    with running_server(tmp_path / "data", "--tariff", str(tariff)) as srv:
        async with aiohttp.ClientSession() as http:
            body = {"entry": ENTRY, "exit": ENTRY + 7200, "subscription": "resident"}
            async with http.post(srv.url + "/v1/quotes", json=body, headers=srv.headers()) as resp:
                assert resp.status == 200
                quote = await resp.json()
            assert quote["amount"] == expected.amount and quote["currency"] == "EUR"
            assert quote["units"] == expected.units and quote["lines"] == expected.lines
            for bad, param in (
                ({"entry": ENTRY}, "exit"),
                ({"entry": "x", "exit": 1}, "entry"),
                ({"entry": ENTRY, "exit": ENTRY + 1, "lost_ticket": "yes"}, "lost_ticket"),
                ({"entry": ENTRY, "exit": ENTRY + 1, "subscription": "nobody"}, None),
                ({"entry": ENTRY + 10, "exit": ENTRY}, None),
                ({"entry": ENTRY, "exit": ENTRY, "coupon": "x"}, "coupon"),
            ):
                async with http.post(srv.url + "/v1/quotes", json=bad, headers=srv.headers()) as resp:
                    assert resp.status == 400, bad
                    error = (await resp.json())["error"]
                    assert error["code"] and error["message"]
                    if param:
                        assert error["param"] == param


def test_invalid_tariff_refused_at_start(tmp_path: Path) -> None:
    tariff = tmp_path / "tariff.json"
    tariff.write_text(json.dumps({**RULES, "increment_minutes": 0}))
    port = services.free_port()
    done = subprocess.run(
        [PAYEDGE, "serve", "--port", str(port), "--data-dir", str(tmp_path / "d"), "--tariff", str(tariff)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert b"increment_minutes" in done.stderr
