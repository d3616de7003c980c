"""`payedge config check`: serve's validation, then every value and its source, secrets masked."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from payedge_server.config import Config, specs
from payedge_server.config import reference as ref
from payedge_server.config.check import main as check_main
from payedge_server.config.kinds import mask

from tests.server.config.support import EXAMPLE, LIVE_PREFIX, PARIS, ROOT
from tests.server.support import PAYEDGE

EXAMPLE_ENV = {
    "PAYMENTS_API_KEY": "pek_ExampleKeyPayments0001",
    "BACKOFFICE_API_KEY": "ExampleKeyBackoffice0002",
    "STRIPE_SECRET_KEY": "sk_test_ExampleStripeKey0003",
    "STRIPE_WEBHOOK_SECRET": "whsec_ExampleHookSecret0004",
    "STRIPE_WEBHOOK_SECRET_PREVIOUS": "whsec_ExampleHookSecret0005",
}
HIDDEN = [
    "ExampleKeyPayments0001",
    "ExampleKeyBackoffice0002",
    "ExampleStripeKey0003",
    "ExampleHookSecret000",
]


def _check(argv: list[str], env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = check_main(["check", *argv], env)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _rows(out: str) -> dict[str, tuple[str, str]]:
    rows = {}
    for line in out.splitlines():
        match = re.match(r"^([a-z_.]+)\s+(.*?)\s+# (.*)$", line)
        if match:
            rows[match[1]] = (match[2], match[3])
    return rows


def test_the_example_is_valid_and_every_setting_is_shown(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _check([str(EXAMPLE)], EXAMPLE_ENV, capsys)
    assert code == 0, err
    assert err == ""
    rows = _rows(out)
    assert list(rows) == [s.path for s in specs(Config)]
    assert rows["server.port"] == ("8080", f"file {EXAMPLE}")
    assert rows["tariff.file"] == (f'"{PARIS}"', f"file {EXAMPLE}")  # relative to the file
    assert rows["store.database_url"][1] == "default (from server.data_dir)"
    assert rows["gateways.sandbox.webhook_secret"][0] == "(generated at first start)"
    assert rows["gateways.stripe.api_key"] == (
        "sk_test_…(masked, 28 chars)",
        f"file {EXAMPLE} (env:STRIPE_SECRET_KEY)",
    )
    assert rows["auth.api_keys"][0] == "[pek_…(masked, 26 chars), …(masked, 24 chars)]"
    for hidden in HIDDEN:
        assert hidden not in out + err


def test_flags_and_variables_apply_as_in_serve(capsys: pytest.CaptureFixture[str]) -> None:
    env = {**EXAMPLE_ENV, "PAYEDGE_LOG_LEVEL": "debug"}
    code, out, _ = _check(
        [str(EXAMPLE), "--port", "9000", "--stripe-webhook-secret", "whsec_FromTheFlag99"], env, capsys
    )
    assert code == 0
    rows = _rows(out)
    assert rows["server.port"] == ("9000", f"flag --port; overrides file {EXAMPLE}")
    assert rows["server.log_level"] == ('"DEBUG"', f"env PAYEDGE_LOG_LEVEL; overrides file {EXAMPLE}")
    assert rows["gateways.stripe.webhook_secrets"][0] == "[whsec_…(masked, 19 chars)]"
    assert "FromTheFlag99" not in out


def test_the_file_may_come_from_payedge_config(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _check([], {**EXAMPLE_ENV, "PAYEDGE_CONFIG": str(EXAMPLE)}, capsys)
    assert code == 0 and f"{EXAMPLE}: valid" in out


def test_invalid_exit_2_with_every_problem_and_no_secret(capsys: pytest.CaptureFixture[str]) -> None:
    env = {**EXAMPLE_ENV, "STRIPE_WEBHOOK_SECRET_PREVIOUS": "whsec_ExampleHookSecret0005\r"}
    del env["BACKOFFICE_API_KEY"]
    code, out, err = _check([str(EXAMPLE), "--port", "99999", "--workers", "2"], env, capsys)
    assert code == 2 and out == ""
    assert "(3 problems)" in err
    for where in (
        "--port: 99999 is out of range 1..65535",
        f"{EXAMPLE}: auth.api_keys[1] (env:BACKOFFICE_API_KEY): the variable BACKOFFICE_API_KEY is not set",
        f"{EXAMPLE}: gateways.stripe.webhook_secrets[1] (env:STRIPE_WEBHOOK_SECRET_PREVIOUS): "
        "ends with a carriage return",
    ):
        assert where in err
    for hidden in HIDDEN:
        assert hidden not in out + err


def test_check_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _check(["--data-dir", str(tmp_path / "d")], {}, capsys)
    assert code == 0 and "(generated at first start)" in out
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        ("whsec_" + "A" * 32, "whsec_…(masked, 38 chars)"),
        ("sk_test_abc", "sk_test_…(masked, 11 chars)"),
        (LIVE_PREFIX + "abc", LIVE_PREFIX + "…(masked, 11 chars)"),
        ("pek_x", "pek_…(masked, 5 chars)"),
        ("whsec_", "…(masked, 6 chars)"),  # nothing after the prefix: the prefix is not shown either
        ("my-own-key", "…(masked, 10 chars)"),
        ("whsecABC", "…(masked, 8 chars)"),
    ],
)
def test_masking_shows_a_fixed_prefix_at_most(secret: str, shown: str) -> None:
    assert mask(secret) == shown


def test_usage() -> None:
    assert check_main([], {}) == 2
    assert check_main(["verify"], {}) == 2
    with pytest.raises(SystemExit) as exit_:
        check_main(["check", "--help"], {})
    assert exit_.value.code == 0


def test_the_console_script(tmp_path: Path) -> None:
    """`payedge config check` as a user runs it: valid, then invalid (exit 2), nothing secret printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYEDGE_")} | EXAMPLE_ENV
    ok = subprocess.run(
        [PAYEDGE, "config", "check", str(EXAMPLE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "gateways.stripe.webhook_secrets" in ok.stdout
    bad = subprocess.run(
        [
            PAYEDGE,
            "config",
            "check",
            str(EXAMPLE),
            "--stripe-webhook-secret",
            "whsec_ExampleHookSecret0006\n",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert "--stripe-webhook-secret[0]: ends with a line feed (\\n)" in bad.stderr
    for hidden in HIDDEN:
        assert hidden not in ok.stdout + ok.stderr + bad.stdout + bad.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_docs_reference_is_generated_from_the_table() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert ref.updated(doc) == doc, "run: python -m payedge_server.config.reference --write"
    for spec in specs(Config):
        assert f"| `{spec.path}` |" in doc
