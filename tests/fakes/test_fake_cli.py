"""`payedge fakes` as a user starts it: free ports, the printed settings, flags, a clean stop."""

from __future__ import annotations

import ast
import json
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from payedge_server.fakes.cli import settings_from
from payedge_server.fakes.magic import magic_table

from tests.fakes.support import (
    READY,
    basic,
    four_free_ports,
    parse_announcement,
    payedge_exe,
    running_fakes,
    wait_ready,
)
from tests.support import services

EXPECTED_KEYS = {
    "PAYEDGE_PAYPAL_API_BASE",
    "PAYEDGE_PAYPAL_CLIENT_ID",
    "PAYEDGE_PAYPAL_CLIENT_SECRET",
    "PAYEDGE_PAYPAL_WEBHOOK_ID",
    "PAYEDGE_PAYPAL_CERT_URL",
    "PAYEDGE_CINETPAY_API_BASE",
    "PAYEDGE_CINETPAY_APIKEY",
    "PAYEDGE_CINETPAY_SITE_ID",
    "PAYEDGE_CINETPAY_SECRET_KEY",
    "PAYEDGE_MTN_MOMO_API_BASE",
    "PAYEDGE_MTN_MOMO_SUBSCRIPTION_KEY",
    "PAYEDGE_MTN_MOMO_API_USER",
    "PAYEDGE_MTN_MOMO_API_KEY",
    "PAYEDGE_MTN_MOMO_TARGET_ENVIRONMENT",
    "PAYEDGE_ORANGE_MONEY_API_BASE",
    "PAYEDGE_ORANGE_MONEY_CLIENT_ID",
    "PAYEDGE_ORANGE_MONEY_CLIENT_SECRET",
    "PAYEDGE_ORANGE_MONEY_MERCHANT_KEY",
    "PAYEDGE_ORANGE_MONEY_COUNTRY",
}
BASES = (
    "PAYEDGE_PAYPAL_API_BASE",
    "PAYEDGE_CINETPAY_API_BASE",
    "PAYEDGE_MTN_MOMO_API_BASE",
    "PAYEDGE_ORANGE_MONEY_API_BASE",
)


def get_json(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
        return body


def paypal_webhook_urls(env: dict[str, str]) -> list[str]:
    """Approve an order at the PayPal fake; where did its webhook go?"""
    base = env["PAYEDGE_PAYPAL_API_BASE"]
    auth = basic(env["PAYEDGE_PAYPAL_CLIENT_ID"], env["PAYEDGE_PAYPAL_CLIENT_SECRET"])
    login = urllib.request.Request(
        f"{base}/v1/oauth2/token", data=b"grant_type=client_credentials", headers={"Authorization": auth}
    )
    with urllib.request.urlopen(login, timeout=5) as response:
        token = json.loads(response.read())["access_token"]
    order = json.dumps(
        {"intent": "CAPTURE", "purchase_units": [{"amount": {"currency_code": "EUR", "value": "2"}}]}
    )
    create = urllib.request.Request(
        f"{base}/v2/checkout/orders",
        data=order.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(create, timeout=5) as response:
        order_id = json.loads(response.read())["id"]
    get_json(f"{base}/checkoutnow?token={order_id}")
    return [c["url"] for c in json.loads(get_json(f"{base}/_fake/callbacks"))["callbacks"]]


def test_free_ports_printed_settings_and_clean_stop() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "out.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [payedge_exe(), "fakes", "--latency-ms", "150", "--callback-url", "http://127.0.0.1:9/hook"],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            env = wait_ready(log, proc)
            assert set(env) == EXPECTED_KEYS
            ports = [urlsplit(env[key]).port for key in BASES]
            assert len(set(ports)) == 4 and all(p for p in ports)
            assert (
                urlsplit(env["PAYEDGE_PAYPAL_CERT_URL"]).netloc
                == urlsplit(env["PAYEDGE_PAYPAL_API_BASE"]).netloc
            )
            for key in BASES:
                assert get_json(env[key] + "/_fake/latency") == b'{"latency_ms": 150, "jitter_ms": 0}'
            started = time.monotonic()
            assert get_json(env["PAYEDGE_PAYPAL_CERT_URL"]).startswith(b"-----BEGIN CERTIFICATE-----")
            assert time.monotonic() - started >= 0.15
            assert paypal_webhook_urls(env) == ["http://127.0.0.1:9/hook"]
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        finally:
            services.stop(proc)
        lines = log.read_text().splitlines()
        assert lines[-1] == READY and all(line.startswith(("#", "PAYEDGE_")) for line in lines)


def test_port_base_gives_consecutive_ports_in_provider_order() -> None:
    with running_fakes() as env:
        ports = [urlsplit(env[key]).port or 0 for key in BASES]
        assert ports == list(range(ports[0], ports[0] + 4))


def test_a_taken_port_and_bad_flags_fail_clearly() -> None:
    port = four_free_ports()
    with services.running([payedge_exe(), "fakes", "--port-base", str(port)], port + 3) as proc:
        assert proc.poll() is None
        taken = subprocess.run(
            [payedge_exe(), "fakes", "--port-base", str(port)],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert taken.returncode == 1 and "cannot listen" in taken.stderr
    bad = subprocess.run(
        [payedge_exe(), "fakes", "--nope"], check=False, capture_output=True, text=True, timeout=30
    )
    assert bad.returncode == 2 and "payedge fakes" in bad.stderr


BAD_FLAGS = [
    ["--latency-ms", "-1"],
    ["--callback-url", "ftp://x"],
    ["--port-base", "70000"],
    ["--hang-seconds", "0"],
    ["--callback-attempts", "0"],
    ["--momo-ongoing-seconds", "-1"],
]


@pytest.mark.parametrize("flags", BAD_FLAGS)
def test_bad_flags_are_usage_errors(flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        settings_from(flags)
    assert exited.value.code == 2 and flags[0] in capsys.readouterr().err


def test_parse_announcement_stops_at_the_ready_line() -> None:
    text = "# comment\nPAYEDGE_A=1\nPAYEDGE_B=x=y\n" + READY + "\nlater noise\n"
    assert parse_announcement(text) == {"PAYEDGE_A": "1", "PAYEDGE_B": "x=y"}


DOC = Path(__file__).resolve().parents[2] / "docs" / "gateways.md"


def test_the_docs_show_the_printed_settings_and_every_magic_code() -> None:
    text = DOC.read_text()
    shown = text[
        text.index("$ cat fakes.env") : text.index(READY, text.index("$ cat fakes.env")) + len(READY)
    ]
    assert set(parse_announcement(shown.split("\n", 1)[1])) == EXPECTED_KEYS
    for row in magic_table():
        code = f"{int(str(row['amount'])) % 100:02d}"
        assert f"| `{code}` |" in text, code
    assert all(f"| {digit}xx |" in text for digit in ("91", "92", "93"))


def test_the_fakes_import_nothing_else_from_the_server() -> None:
    package = Path(__file__).resolve().parents[2] / "server" / "payedge_server" / "fakes"
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("payedge_server", "payedge.")) or name.startswith(
                    "payedge_server.fakes"
                ), f"{module.name} imports {name}"
