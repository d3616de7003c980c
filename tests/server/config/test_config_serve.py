"""The real `payedge serve`: the example config starts; a bad value from any source stops it (exit 2).

The in-process tables (test_config_bad_values.py) cover every setting; these run the
installed command for the original fault (`--stripe-webhook-secret "whsec_...\\r"`, which
used to start and then answer every genuine delivery 400) and one value per source.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import aiohttp
import pytest

from tests.server.config.support import EXAMPLE
from tests.server.config.test_config_check import EXAMPLE_ENV, HIDDEN
from tests.server.support import PAYEDGE
from tests.support import services, stores


def _env(extra: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PAYEDGE_")} | extra


def _refused(argv: list[str], env: dict[str, str], tmp: Path) -> str:
    port = services.free_port()
    done = subprocess.run(
        [PAYEDGE, "serve", "--port", str(port), *argv],
        env=_env(env),
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "payedge serving" not in done.stdout
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        pass
    return done.stderr


@pytest.mark.parametrize(
    ("argv", "env", "where"),
    [
        (
            ["--stripe-webhook-secret", "whsec_ExampleHookSecret0004\r"],
            {},
            "--stripe-webhook-secret[0]: ends with",
        ),
        (
            [],
            {"PAYEDGE_STRIPE_WEBHOOK_SECRET": "whsec_ExampleHookSecret0004\r"},
            "PAYEDGE_STRIPE_WEBHOOK_SECRET[0] (--stripe-webhook-secret): ends with",
        ),
        (
            ["--config", "{file}"],
            {"HOOK": "whsec_ExampleHookSecret0004\r"},
            "gateways.stripe.webhook_secrets[0] (env:HOOK): ends with",
        ),
        (["--config", "{file}"], {}, "payedge.toml: server.prot: unknown key"),
    ],
)
def test_the_fault_from_every_source_stops_the_start(
    argv: list[str], env: dict[str, str], where: str, tmp_path: Path
) -> None:
    file = tmp_path / "payedge.toml"
    if "HOOK" in env:
        file.write_text('[gateways.stripe]\nwebhook_secrets = ["env:HOOK"]\n')
    else:
        file.write_text("[server]\nprot = 1\n")
    err = _refused([a.replace("{file}", str(file)) for a in argv], env, tmp_path)
    assert where in err and "Nothing was started." in err
    assert "ExampleHookSecret0004" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["payedge.toml"]  # no payedge-data/


def test_a_bad_kept_api_key_stops_the_start(tmp_path: Path) -> None:
    data = tmp_path / "payedge-data"
    data.mkdir()
    (data / "api_key").write_text("pek_KeptKeyEditedOnWindows\r\n")
    err = _refused([], {}, tmp_path)
    assert "payedge-data/api_key (auth.api_keys, kept by payedge in the data dir): ends with" in err
    assert "KeptKeyEditedOnWindows" not in err
    assert sorted(p.name for p in data.iterdir()) == ["api_key"]


async def test_the_example_config_serves(
    tmp_path: Path, redis_url: str, mosquitto_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`payedge serve --config docs/examples/payedge.toml`, its variables set; Redis and MQTT real."""
    port = services.free_port()
    cmd = [PAYEDGE, "serve", "--config", str(EXAMPLE), "--port", str(port)]
    cmd += ["--redis-url", redis_url, "--mqtt-url", f"mqtt://127.0.0.1:{mosquitto_port}?client_id=cfg-e2e"]
    for name in [n for n in os.environ if n.startswith("PAYEDGE_")]:
        monkeypatch.delenv(name)
    for name, value in {**EXAMPLE_ENV, "PAYEDGE_DATA_DIR": str(tmp_path / "data")}.items():
        monkeypatch.setenv(name, value)
    log = tmp_path / "serve.log"
    proc = services.spawn(cmd, port, log, timeout=30.0)
    try:
        url = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            async with http.get(url + "/health") as resp:
                assert resp.status == 200 and (await resp.json())["status"] == "ok"
            for key, status in (
                (EXAMPLE_ENV["PAYMENTS_API_KEY"], 200),
                (EXAMPLE_ENV["BACKOFFICE_API_KEY"], 200),
                ("pek_not_configured", 401),
            ):
                async with http.get(url + "/v1/payments", headers={"Authorization": f"Bearer {key}"}) as resp:
                    assert resp.status == status
            auth = {"Authorization": f"Bearer {EXAMPLE_ENV['PAYMENTS_API_KEY']}"}
            # The tariff named relative to the file, compiled: 2 h at Paris rates.
            async with http.post(
                url + "/v1/quotes", json={"entry": 1_700_000_000, "exit": 1_700_007_200}, headers=auth
            ) as resp:
                assert resp.status == 200 and (await resp.json())["currency"] == "EUR"
            async with http.get(url + "/v1/terminals", headers=auth) as resp:
                assert resp.status == 200 and "T2" in await resp.text()
            async with http.get(url + "/health/ready") as resp:
                checks = (await resp.json())["checks"]
            assert checks["redis"] is True and checks["mqtt"] is True and "gateway:stripe" in checks
    finally:
        services.stop(proc)
    text = log.read_text()
    assert "payedge serving on" in text and "API keys: 2 given (e.g. pek_…(masked, 26 chars))" in text
    for hidden in HIDDEN:
        assert hidden not in text


def test_a_database_that_cannot_be_opened_stops_the_start_naming_the_setting(tmp_path: Path) -> None:
    """A wrong database, role or port: exit 2 naming store.database_url and where it came from,
    before anything is written or announced (it was a traceback after "payedge serving on")."""
    pg = stores.shared_postgres()
    cases = [
        (pg.url("payedge_no_such_database"), 'database "payedge_no_such_database" does not exist'),
        (f"postgresql://payedge_no_such_role@127.0.0.1:{pg.port}/postgres", "payedge_no_such_role"),
        (
            f"postgresql://postgres@127.0.0.1:{services.closed_port()}/postgres",
            "cannot connect to PostgreSQL",
        ),
    ]
    for url, why in cases:
        err = _refused(["--database-url", url], {}, tmp_path)
        assert "store.database_url (flag --database-url): cannot open the store: " in err, err
        assert why in err and "Nothing was started." in err and "Traceback" not in err, err
        assert list(tmp_path.iterdir()) == []  # no payedge-data/, no generated key
    err = _refused([], {"PAYEDGE_DATABASE_URL": cases[0][0]}, tmp_path)
    assert "store.database_url (env PAYEDGE_DATABASE_URL): cannot open the store: " in err, err
