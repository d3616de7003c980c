"""Every bad value, from every source, stops `payedge serve` with exit 2, named, before anything starts.

The table is derived from the settings table itself: every setting with a text form, by
every source that can give it (flag, PAYEDGE_* variable, literal in the file, `env:`
reference in the file, the data dir's persisted files), by every kind of bad text (SPEC
3.1). A setting added later is covered without editing this file (it only needs samples).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from payedge_server.config import Spec
from payedge_server.config.kinds import PREFIXES, Choice, FilePath, Items, Text, Url

from tests.server.config.conftest import Start
from tests.server.config.support import COMPANIONS, PERSISTED, SPECS, Sources, samples, toml_value

BAD_TEXT: dict[str, Callable[[str], str]] = {
    "leading space": lambda g: " " + g,
    "trailing space": lambda g: g + " ",
    "leading tab": lambda g: "\t" + g,
    "trailing tab": lambda g: g + "\t",
    "trailing CR": lambda g: g + "\r",
    "trailing LF": lambda g: g + "\n",
    "trailing CRLF": lambda g: g + "\r\n",
    "inner bell": lambda g: g[:2] + "\x07" + g[2:],
    "inner escape": lambda g: g[:1] + "\x1b" + g[1:],
    "DEL": lambda g: g + "\x7f",
    "no-break space": lambda g: g + "\u00a0",
    "zero-width space": lambda g: g[:3] + "\u200b" + g[3:],
    "byte-order mark": lambda g: "\ufeff" + g,
    "empty": lambda g: "",
}
TEXT_SPECS = [s for s in SPECS.values() if s.setting.flag or s.setting.env]
STRING_KINDS = (Text, Url, FilePath, Choice)


def _sources_for(spec: Spec) -> list[str]:
    found = ["flag", "env", "file_ref"]
    if isinstance(spec.scalar, STRING_KINDS) and not spec.setting.secret:
        found.append("file")
    return found


TEXT_CASES = [(s.path, src) for s in TEXT_SPECS for src in _sources_for(s)]


def place(spec: Spec, source: str, value: str, good: str, tmp: Path) -> tuple[Sources, str]:
    """Sources giving `value` for `spec` from `source` (after a good item in a list); the expected name."""
    src = Sources(tmp, argv=[*COMPANIONS.get(spec.path, ())])
    listed = isinstance(spec.setting.kind, Items)
    flag, env, idx = spec.setting.flag or "", spec.setting.env or "", "[1]" if listed else ""
    file = tmp / "payedge.toml"
    if source == "flag":
        repeat = listed and isinstance(spec.setting.kind, Items) and spec.setting.kind.repeat_flag
        src.argv += [flag, good, flag, value] if repeat else [flag, f"{good},{value}" if listed else value]
        return src, f"{flag}{idx}: "
    if source == "env":
        src.env[env] = f"{good},{value}" if listed else value
        return src, f"{env}{idx} ({flag}): " if value or listed else f"{env} ({flag}): "
    if source == "file_ref":
        src.env |= {"CFG_GOOD": good, "CFG_BAD": value}
        src.file[spec.path] = ["env:CFG_GOOD", "env:CFG_BAD"] if listed else "env:CFG_BAD"
        return src, f"{file}: {spec.path}{idx} (env:CFG_BAD): "
    src.file[spec.path] = [good, value] if listed else value
    return src, f"{file}: {spec.path}{idx}: "


def assert_refused(result: tuple[int, str, str], where: str, tmp: Path, *secrets: str) -> None:
    code, out, err = result
    assert code == 2, (code, out, err)
    assert where in err, (where, err)
    for secret in secrets:
        hidden = next((secret[len(p) :] for p in PREFIXES if secret.startswith(p)), secret)
        assert hidden not in out + err, "a secret was echoed"
    assert not (tmp / "data").exists() and not (tmp / "payedge-data").exists(), "a data dir was created"
    assert "payedge serving" not in out


@pytest.mark.parametrize(("path", "source"), TEXT_CASES)
def test_text_rule_refuses_everywhere(path: str, source: str, tmp_path: Path, start: Start) -> None:
    """Each bad kind of BAD_TEXT in turn (one test per setting and source keeps the run short)."""
    spec = SPECS[path]
    good = samples(tmp_path)[path][0]
    secrets = [good] if spec.setting.secret else []
    failed = []
    for bad, make in BAD_TEXT.items():
        src, where = place(spec, source, make(good), good, tmp_path)
        try:
            assert_refused(start(src), where, tmp_path, *secrets)
        except AssertionError as exc:
            failed.append(f"{bad}: {exc}")
    assert not failed, "\n".join(failed)


SECRET_SPECS = [s.path for s in TEXT_SPECS if s.setting.secret]


@pytest.mark.parametrize("path", SECRET_SPECS)
@pytest.mark.parametrize("source", ["flag", "env", "file_ref"])
def test_a_secret_holds_no_whitespace_at_all(path: str, source: str, tmp_path: Path, start: Start) -> None:
    good = samples(tmp_path)[path][0]
    src, where = place(SPECS[path], source, good[:6] + " " + good[6:], good, tmp_path)
    assert_refused(start(src), where, tmp_path, good)


@pytest.mark.parametrize("path", SECRET_SPECS)
def test_a_literal_secret_in_the_file_is_refused(path: str, tmp_path: Path, start: Start) -> None:
    good = samples(tmp_path)[path][0]
    src = Sources(tmp_path, file={path: toml_value(SPECS[path], good)})
    code, out, err = start(src)
    listed = "[0]" if isinstance(SPECS[path].setting.kind, Items) else ""
    assert_refused((code, out, err), f"{tmp_path / 'payedge.toml'}: {path}{listed}: ", tmp_path, good)
    assert "env:NAME reference" in err


@pytest.mark.parametrize("path", ["store.database_url", "redis.url", "mqtt.url", "gateways.stripe.api_base"])
def test_a_url_password_in_the_file_is_refused_but_not_as_a_reference(
    path: str, tmp_path: Path, start: Start
) -> None:
    scheme = SPECS[path].scalar
    assert isinstance(scheme, Url)
    url = f"{scheme.schemes[-1]}://user:Pa55wordZ@127.0.0.1:1/x"
    extra = list(COMPANIONS.get(path, ()))
    code, out, err = start(Sources(tmp_path, argv=extra, file={path: url}))
    assert_refused((code, out, err), f"{tmp_path / 'payedge.toml'}: {path}: ", tmp_path, "Pa55wordZ")
    assert "holds a password" in err
    # The same URL through a reference is fine (`config check` then masks the password).
    from payedge_server.config import load

    src = Sources(tmp_path, argv=extra, env={"URL": url}, file={path: "env:URL"})
    loaded = load(src.args(), src.env)
    assert loaded.problems == () or all("Pa55wordZ" not in str(p) for p in loaded.problems)


# -- wrong types, out of range, bad values (every source that can carry them) --------------

_HOSTED_WRONG: dict[str, list[object]] = {
    "cert_origins": ["https://api.paypal.com", [1]],
    "timeout": ["20", True],
    "poll_interval": ["5", [5]],
    "poll_max_interval": ["300", False],
    "poll_for": ["86400", {"a": 1}],
}
WRONG_TYPE: dict[str, list[object]] = {
    "server.host": [1, True, ["a"]],
    "server.port": ["8080", 80.5, True, [8080]],
    "server.workers": ["2", 2.0],
    "server.self_url": [1],
    "server.data_dir": [1, {"a": 1}],
    "server.log_level": [20],
    "server.instance": [3, ["a"]],
    "store.database_url": [1],
    "redis.url": [False],
    "mqtt.url": [1883],
    "auth.api_keys": ["env:K", [1]],
    "gateways.sandbox.async_delay": ["0.5", True],
    "retention.webhook_events": ["30d", True],
    "retention.outbox": ["7d", [1]],
    "retention.every": ["60", False],
    "commissions.rates": [{"commission_type": "x", "basis_points": 1}, ["x"]],
    "invoices": ["INV", 1],
    "ledger.postings": [True, 1],
    "redis.routing_sync_interval": ["1s", True],
    "routing": ["rules", 1, [{"default": {"gateways": ["sandbox"]}}]],
    "gateways.sandbox.webhook_secret": [1],
    "gateways.stripe.api_key": [1],
    "gateways.stripe.api_base": [1],
    "gateways.stripe.webhook_secrets": ["env:K", [1]],
    "tariff.file": [1, ["a"]],
    "tariff.rules": ["rules", 1, [1]],
    "terminals.ids": ["T1", [1], [["T1"]]],
    **{
        f"gateways.{gw}.{name}": kinds
        for gw, names in {
            "paypal": (
                "client_id",
                "client_secret",
                "webhook_id",
                "cert_url",
                "return_url",
                "cert_origins",
            ),
            "cinetpay": ("apikey", "site_id", "secret_key", "return_url"),
            "mtn_momo": ("subscription_key", "api_user", "api_key", "target_environment"),
            "orange_money": ("client_id", "client_secret", "merchant_key", "country", "return_url"),
        }.items()
        for name in (*names, "api_base", "timeout", "poll_interval", "poll_max_interval", "poll_for")
        for kinds in [_HOSTED_WRONG.get(name, [1, True])]
    },
    "catalog.products": [{"id": "x", "name": "X", "prices": {"EUR": 1}}, ["x"]],
    "rate_limits.per_key.rate": ["5", 5.0, True],
    "rate_limits.per_key.period": ["1", [1]],
    "rate_limits.per_key.burst": ["5", False],
    "rate_limits.per_address.rate": ["5", 5.5],
    "rate_limits.per_address.period": ["60s", True],
    "rate_limits.per_address.burst": [[5], "5"],
}


def test_every_setting_has_wrong_type_cases() -> None:
    assert set(WRONG_TYPE) == set(SPECS)


@pytest.mark.parametrize(("path", "value"), [(p, v) for p, vs in WRONG_TYPE.items() for v in vs])
def test_a_wrong_type_in_the_file_is_refused(path: str, value: object, tmp_path: Path, start: Start) -> None:
    src = Sources(tmp_path, env={"K": "pek_fine"}, file={path: value})
    assert_refused(start(src), f"{tmp_path / 'payedge.toml'}: {path}", tmp_path)


OUT_OF_RANGE: dict[str, list[str]] = {
    "server.host": ["local host", "bad-", "a..b", "h_1", "[::1]"],
    "server.port": ["0", "65536", "-1", "abc", "1.5", "0x10", "1_000", "\u0663", "8080x"],
    "server.workers": ["0", "257", "-3", "two"],
    "gateways.sandbox.async_delay": ["-1", "86400.5", "nan", "inf", "1e400", "abc", "1,5"],
    "retention.webhook_events": ["59", "-1", "nan", "abc"],
    "retention.every": ["0.5", "86401", "inf"],
    "ledger.postings": ["maybe", "yes"],
    "rate_limits.per_key.rate": ["0", "1000001", "-1", "ten"],
    "rate_limits.per_address.period": ["0", "86401", "1.5"],
    "redis.routing_sync_interval": ["0", "0.01", "61", "nan"],
    "server.log_level": ["verbose", "INFO2"],
    "server.instance": ["x" * 65, "tab\there"],
    "server.self_url": ["ftp://x.example", "example.com", "http://h:99999", "http://", "https:///x"],
    "store.database_url": ["mysql://h/db", "payedge.sqlite3"],
    "redis.url": ["http://127.0.0.1:6379", "127.0.0.1:6379", "redis://127.0.0.1:6379/abc", "redis://h:1/0x1"],
    "mqtt.url": ["tcp://127.0.0.1:1883", "mqtt://"],
    "gateways.sandbox.webhook_secret": ["whsec_!!!", "whsec_"],
    "gateways.stripe.api_base": ["ftp://h", "http:///v1"],
    "tariff.file": ["/nonexistent/tariff.json", "{tmp}/broken.json"],
    "gateways.paypal.api_base": ["ftp://h", "api-m.paypal.com"],
    "gateways.paypal.cert_origins": ["ftp://api.paypal.com", "api.paypal.com", "https://api.paypal.com/v1"],
    "gateways.paypal.timeout": ["0", "301", "-1"],
    "gateways.cinetpay.return_url": ["ftp://h/{payment_id}", "/back"],
    "gateways.mtn_momo.poll_interval": ["0", "3601"],
    "gateways.orange_money.poll_for": ["0.5", "2592001"],
}


@pytest.mark.parametrize("source", ["flag", "env", "file_ref"])
@pytest.mark.parametrize(("path", "value"), [(p, v) for p, vs in OUT_OF_RANGE.items() for v in vs])
def test_a_bad_value_is_refused_from_every_source(
    path: str, value: str, source: str, tmp_path: Path, start: Start
) -> None:
    (tmp_path / "broken.json").write_text('{"currency": "EUR", "increment_minutes": 0}')
    spec = SPECS[path]
    good = samples(tmp_path)[path][0]
    src, where = place(spec, source, value.replace("{tmp}", str(tmp_path)), good, tmp_path)
    assert_refused(start(src), where, tmp_path, *([good] if spec.setting.secret else []))


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ([], "auth.api_keys: needs at least 1 item"),
        (["T1", "T2", "T1"], "terminals.ids[2]: repeats item [0]"),
    ],
)
def test_list_rules(value: list[str], where: str, tmp_path: Path, start: Start) -> None:
    path = where.split(":", 1)[0].split("[", 1)[0]
    assert_refused(start(Sources(tmp_path, file={path: value})), where, tmp_path)


def test_a_bad_inline_tariff_names_the_json_path(tmp_path: Path, start: Start) -> None:
    rules = {
        "currency": "EUR",
        "timezone": "Europe/Paris",
        "increment_minutes": 0,
        "bands": [{"unit_price": 1}],
    }
    code, out, err = start(Sources(tmp_path, file={"tariff.rules": rules}))
    assert_refused((code, out, err), "tariff.rules: ", tmp_path)
    assert "increment_minutes" in err


# -- unknown keys and flags; unknown variables warn ---------------------------------------

UNKNOWN = [
    "prot",  # top level
    "server.prot",
    "store.url",
    "redis.uri",
    "mqtt.client_id",
    "auth.api_key",
    "gateways.sandbox.delay",
    "gateways.stripe.webhook_secret",
    "tariff.path",
    "terminals.id",
    "gateways.paypal.clientid",
    "gateways.cinetpay.site",
    "gateways.mtn_momo.user",
    "gateways.orange_money.merchantkey",
    # Sections later work adds are unknown until then.
    "catalog.items",
    "commissions.rates",
    "rate_limits.rate",
    "rate_limits.per_key.window",
]


@pytest.mark.parametrize("path", UNKNOWN)
def test_an_unknown_key_is_refused_with_the_known_ones(path: str, tmp_path: Path, start: Start) -> None:
    value: object = [{"id": "x"}] if path in ("catalog.products", "commissions.rates") else "x"
    code, out, err = start(Sources(tmp_path, file={path: value}))
    known = ".".join(path.split(".")[:-1])
    first_unknown = path if known in {".".join(s.keys[:-1]) for s in SPECS.values()} or not known else None
    assert_refused((code, out, err), f"{tmp_path / 'payedge.toml'}: {first_unknown or ''}", tmp_path)
    assert "unknown key" in err


def test_a_section_that_is_not_a_table_is_refused(tmp_path: Path, start: Start) -> None:
    assert_refused(start(Sources(tmp_path, file={"server": 1})), "server: expected a table", tmp_path)


def test_an_unknown_flag_is_a_usage_error(tmp_path: Path, start: Start) -> None:
    code, _, err = start(Sources(tmp_path, argv=["--stripe-webhook-secrets", "whsec_x"]))
    assert code == 2 and "--stripe-webhook-secrets" in err
    assert not (tmp_path / "data").exists()


def test_an_unknown_variable_is_a_warning_with_the_close_name(tmp_path: Path, start: Start) -> None:
    src = Sources(tmp_path, env={"PAYEDGE_STRIPE_WEBHOOK_SECRETS": "whsec_x"}, argv=["--port", "0"])
    code, _, err = start(src)
    assert code == 2  # stopped by the port, not by the variable
    assert "PAYEDGE_STRIPE_WEBHOOK_SECRETS is not a payedge setting" in err
    assert "did you mean PAYEDGE_STRIPE_WEBHOOK_SECRET?" in err


def test_the_fakes_ready_line_is_not_warned_about(tmp_path: Path, start: Start) -> None:
    """docs/gateways.md sources `payedge fakes`' whole output, its PAYEDGE_FAKES_READY=1 included."""
    src = Sources(tmp_path, env={"PAYEDGE_FAKES_READY": "1", "PAYEDGE_WORKR": "1"}, argv=["--port", "0"])
    _, _, err = start(src)
    assert "PAYEDGE_WORKR is not a payedge setting" in err  # the warning still works
    assert "PAYEDGE_FAKES_READY" not in err


# -- the config file itself, env: references -------------------------------------------


def test_config_file_problems(tmp_path: Path, start: Start) -> None:
    missing = tmp_path / "missing.toml"
    assert_refused(
        start(Sources(tmp_path, argv=["--config", str(missing)])), f"{missing} (--config)", tmp_path
    )
    bad = tmp_path / "bad.toml"
    bad.write_text("[server\nport = 1\n")
    assert_refused(start(Sources(tmp_path, argv=["--config", str(bad)])), "is not valid TOML", tmp_path)
    bad.write_bytes(b'[server]\nhost = "\xff"\n')
    assert_refused(start(Sources(tmp_path, argv=["--config", str(bad)])), f"{bad}: ", tmp_path)
    src = Sources(tmp_path, env={"PAYEDGE_CONFIG": str(bad) + "\r"})
    assert_refused(start(src), "PAYEDGE_CONFIG: ends with a carriage return", tmp_path)


@pytest.mark.parametrize(
    ("ref", "env", "message"),
    [
        ("env:NOPE_NOT_SET", {}, "the variable NOPE_NOT_SET is not set"),
        ("env:EMPTY_ONE", {"EMPTY_ONE": ""}, "the variable EMPTY_ONE is set but empty"),
        ("env:", {}, "an env: reference names a variable"),
        ("env:1BAD", {}, "an env: reference names a variable"),
        ("env:A B", {}, "an env: reference names a variable"),
    ],
)
def test_bad_env_references(
    ref: str, env: dict[str, str], message: str, tmp_path: Path, start: Start
) -> None:
    src = Sources(tmp_path, env=env, file={"gateways.stripe.api_key": ref})
    code, out, err = start(src)
    assert_refused((code, out, err), f"{tmp_path / 'payedge.toml'}: gateways.stripe.api_key", tmp_path)
    assert message in err


def test_an_empty_variable_is_refused(tmp_path: Path, start: Start) -> None:
    src = Sources(tmp_path, env={"PAYEDGE_STRIPE_WEBHOOK_SECRET": ""})
    assert_refused(
        start(src), "PAYEDGE_STRIPE_WEBHOOK_SECRET (--stripe-webhook-secret): is set but empty", tmp_path
    )


# -- the data dir's persisted secrets --------------------------------------------------

BAD_FILES: dict[str, Callable[[str], bytes]] = {
    "leading space": lambda g: f" {g}\n".encode(),
    "CRLF line end": lambda g: f"{g}\r\n".encode(),
    "two line feeds": lambda g: f"{g}\n\n".encode(),
    "trailing tab": lambda g: f"{g}\t\n".encode(),
    "inner control": lambda g: f"{g[:3]}\x07{g[3:]}\n".encode(),
    "two lines": lambda g: f"{g}\n{g}\n".encode(),
    "empty": lambda g: b"",
    "only a line feed": lambda g: b"\n",
    "byte-order mark": lambda g: f"\ufeff{g}\n".encode(),
    "not UTF-8": lambda g: g.encode() + b"\xff\n",
}


@pytest.mark.parametrize("path", sorted(PERSISTED))
@pytest.mark.parametrize("bad", BAD_FILES)
def test_a_bad_persisted_secret_is_refused_naming_the_file(
    path: str, bad: str, tmp_path: Path, start: Start
) -> None:
    good = samples(tmp_path)[path][0]
    data = tmp_path / "data"
    data.mkdir()
    kept = data / PERSISTED[path]
    kept.write_bytes(BAD_FILES[bad](good))
    code, out, err = start(Sources(tmp_path))
    assert code == 2 and f"{kept} ({path}" in err, err
    hidden = next((good[len(p) :] for p in PREFIXES if good.startswith(p)), good)
    assert hidden not in out + err
    assert sorted(p.name for p in data.iterdir()) == [kept.name], "something else was written"


# -- rules across settings --------------------------------------------------------------


@pytest.mark.parametrize(
    ("sources", "where", "message"),
    [
        (
            {"argv": ["--terminals", "T1", "--workers", "2"]},
            "terminals.ids (--terminals)",
            "--terminals with --workers > 1 needs --redis-url",
        ),
        ({"argv": ["--mqtt-url", "mqtt://127.0.0.1:1"]}, "mqtt.url (--mqtt-url)", "--tariff FILE"),
        (
            {"argv": ["--paypal-client-id", "ClientIdOnly"]},
            "gateways.paypal",
            "the paypal gateway needs all of client_id, client_secret; "
            "missing: client_secret (--paypal-client-secret)",
        ),
        (
            {"env": {"PAYEDGE_CINETPAY_APIKEY": "K1", "PAYEDGE_CINETPAY_SITE_ID": "1"}},
            "gateways.cinetpay",
            "missing: secret_key (--cinetpay-secret-key)",
        ),
        (
            {"argv": ["--mtn-momo-target-environment", "mtnmars"]},
            "gateways.mtn_momo.target_environment (--mtn-momo-target-environment)",
            "'mtnmars' is not one payedge knows: mtnbenin,",
        ),
        (
            {"file": {"gateways.orange_money.country": "fr"}},
            "gateways.orange_money.country (--orange-money-country)",
            "'fr' is not one payedge knows",
        ),
        (
            {"file": {"tariff.file": str(Path(__file__)), "tariff.rules": {"currency": "EUR"}}},
            "payedge.toml: tariff.file and ",
            "only one of them may be given",
        ),
    ],
)
def test_cross_setting_rules(
    sources: dict[str, object], where: str, message: str, tmp_path: Path, start: Start
) -> None:
    code, out, err = start(Sources(tmp_path, **sources))  # type: ignore[arg-type]
    assert_refused((code, out, err), where, tmp_path)
    assert message in err


def test_every_problem_is_reported_at_once(tmp_path: Path, start: Start) -> None:
    src = Sources(
        tmp_path,
        argv=[
            "--port",
            "0",
            "--stripe-webhook-secret",
            "whsec_SampleHookA1\r",
            "--api-key",
            " pek_SampleKeyAlpha7",
        ],
        env={"PAYEDGE_WORKERS": "0", "PAYEDGE_LOG_LEVEL": "loud"},
        file={
            "server.prot": 1,
            "gateways.stripe.api_key": "sk_test_SampleStripeA1",
            "terminals.ids": ["T1", ""],
        },
    )
    code, out, err = start(src)
    assert_refused(
        (code, out, err),
        "--port: ",
        tmp_path,
        "whsec_SampleHookA1",
        "pek_SampleKeyAlpha7",
        "sk_test_SampleStripeA1",
    )
    for where in (
        "--stripe-webhook-secret[0]: ends with a carriage return",
        "--api-key[0]: starts with a space",
        "PAYEDGE_WORKERS (--workers): 0 is out of range",
        "PAYEDGE_LOG_LEVEL (--log-level): expected one of",
        "server.prot: unknown key",
        "gateways.stripe.api_key: a secret is written in the config file as an env:NAME reference",
        "terminals.ids[1]: is empty",
    ):
        assert where in err, where
    assert "(8 problems)" in err
