"""The same value gives the same Config from every source; precedence flag > env > file > default."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar

import payedge
import pytest
from payedge_server.config import Config, Loaded, Source, load, specs
from payedge_server.config.kinds import Int, Items, Table, Text
from payedge_server.config.model import Config as ModelConfig
from payedge_server.config.render import render, secret_values
from payedge_server.config.schema import Check, setting
from payedge_server.config.sections.gateways import GatewaysConfig

from tests.server.config.conftest import Start
from tests.server.config.support import COMPANIONS, PERSISTED, SPECS, Sources, samples, toml_value


def test_every_setting_has_samples(tmp_path: Path) -> None:
    assert set(samples(tmp_path)) == set(SPECS)


def _value(config: Any, path: str) -> Any:
    for key in path.split("."):
        config = getattr(config, key)
    return config


def _by_source(path: str, source: str, text: str, tmp: Path) -> Sources:
    spec = SPECS[path]
    src = Sources(tmp, argv=list(COMPANIONS.get(path, ())))
    listed = isinstance(spec.setting.kind, Items)
    if source == "flag":
        src.argv += [spec.setting.flag or "", text]
    elif source == "env":
        src.env[spec.setting.env or ""] = text
    elif source == "file":
        src.file[path] = toml_value(spec, text)
    elif source == "file_ref":
        src.env["CFG_VALUE"] = text
        src.file[path] = ["env:CFG_VALUE"] if listed else "env:CFG_VALUE"
    else:  # data_dir
        (tmp / "data").mkdir(exist_ok=True)
        (tmp / "data" / PERSISTED[path]).write_text(text + "\n")
    return src


def _sources_of(path: str) -> list[str]:
    spec = SPECS[path]
    found = [s for s, ok in (("flag", spec.setting.flag), ("env", spec.setting.env)) if ok]
    found.append("file_ref" if spec.setting.secret else "file")
    if spec.scalar.text_form:
        found.append("file_ref")
    if path in PERSISTED:
        found.append("data_dir")
    return sorted(set(found))


def _resolved(loaded: Loaded) -> dict[str, object]:
    """Every setting's value, but the secrets generated afresh by each load (random)."""
    assert loaded.config is not None, loaded.problems
    values = {e.spec.path: e.value for e in loaded.entries if e.source.kind != "generated"}
    assert values == {p: _value(loaded.config, p) for p in values}
    return values


@pytest.mark.parametrize("path", sorted(SPECS))
def test_the_same_value_from_each_source_gives_the_same_config(path: str, tmp_path: Path) -> None:
    text = samples(tmp_path)[path][1]
    resolved, kinds = [], []
    for source in _sources_of(path):
        loaded = _by_source(path, source, text, tmp_path).load()
        assert loaded.problems == (), (source, loaded.problems)
        resolved.append(_resolved(loaded))
        entry = next(e for e in loaded.entries if e.spec.path == path)
        kinds.append(entry.source.kind)
    assert len(resolved) >= (2 if SPECS[path].scalar.text_form else 1)  # a table: only the file
    assert all(r == resolved[0] for r in resolved), path
    assert resolved[0][path] != SPECS[path].default
    assert set(kinds) == {"file" if s.startswith("file") else s for s in _sources_of(path)}


PRECEDENCE = [p for p, s in SPECS.items() if s.setting.flag and s.setting.env]


@pytest.mark.parametrize("path", PRECEDENCE)
def test_flag_beats_env_beats_file_beats_default(
    path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = SPECS[path]
    a, b, c = samples(tmp_path)[path]
    if spec.setting.secret:
        file_part: dict[str, Any] = {
            path: ["env:CFG_C"] if isinstance(spec.setting.kind, Items) else "env:CFG_C"
        }
    else:
        file_part = {path: toml_value(spec, c)}
    flag = [spec.setting.flag or "", a]
    env = {spec.setting.env or "": b, "CFG_C": c}
    companions = list(COMPANIONS.get(path, ()))

    def resolved(argv: list[str], environ: dict[str, str], file: dict[str, Any]) -> tuple[Any, Source]:
        loaded = Sources(tmp_path, argv=companions + argv, env=environ, file=file).load()
        assert loaded.problems == (), loaded.problems
        entry = next(e for e in loaded.entries if e.spec.path == path)
        return _value(loaded.config, path), entry.source

    expect = {t: _value(_by_source(path, "flag", t, tmp_path).load().config, path) for t in (a, b, c)}
    # Three distinct values tell the sources apart (a two-valued setting is checked on two).
    assert len({str(v) for v in expect.values()}) == len({a, b, c})
    value, source = resolved(flag, env, file_part)
    assert (value, source.kind) == (expect[a], "flag")
    value, source = resolved([], env, file_part)
    assert (value, source.kind) == (expect[b], "env")
    value, source = resolved([], {"CFG_C": c}, file_part)
    assert (value, source.kind) == (expect[c], "file")
    bare = load(companions, {})
    entry = next(e for e in bare.entries if e.spec.path == path)
    assert entry.source.kind in ("default", "generated")


def test_a_list_is_replaced_whole_not_merged(tmp_path: Path) -> None:
    src = Sources(
        tmp_path,
        argv=["--stripe-webhook-secret", "whsec_flagOnly"],
        env={"PAYEDGE_STRIPE_WEBHOOK_SECRET": "whsec_envA,whsec_envB", "S": "whsec_file"},
        file={"gateways.stripe.webhook_secrets": ["env:S"]},
    )
    loaded = src.load()
    assert loaded.config is not None
    assert loaded.config.gateways.stripe.webhook_secrets == ("whsec_flagOnly",)
    src.argv = []
    assert (src.load().config or Config()).gateways.stripe.webhook_secrets == ("whsec_envA", "whsec_envB")


def test_repeated_flags_and_comma_lists(tmp_path: Path) -> None:
    src = Sources(tmp_path, argv=["--api-key", "k1", "--api-key", "k,2", "--terminals", "T1,T2"])
    config = src.load().config
    assert config is not None
    # A repeated flag is one value each (a comma is part of it); --terminals is comma-separated.
    assert config.auth.api_keys == ("k1", "k,2")
    assert config.terminals.ids == ("T1", "T2")


def test_an_overridden_bad_value_is_a_warning_not_an_error(tmp_path: Path) -> None:
    loaded = Sources(tmp_path, argv=["--port", "9000"], env={"PAYEDGE_PORT": "80 80"}).load()
    assert loaded.config is not None and loaded.config.server.port == 9000
    assert any("PAYEDGE_PORT (--port)" in w and "not used" in w for w in loaded.warnings)


def test_paths_in_the_file_are_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "t.json").write_text((Path(samples(tmp_path)["tariff.file"][0])).read_text())
    file = tmp_path / "conf" / "payedge.toml"
    file.write_text('[tariff]\nfile = "t.json"\n[server]\ndata_dir = "state"\n')
    loaded = load(["--config", str(file)], {})
    assert loaded.config is not None
    assert loaded.config.tariff.file == tmp_path / "conf" / "t.json"
    assert loaded.config.server.data_dir == tmp_path / "conf" / "state"
    # From a flag, relative to the working directory, as always.
    flagged = load(["--config", str(file), "--data-dir", "state"], {}).config
    assert flagged is not None and flagged.server.data_dir == Path("state")


def test_derived_defaults_data_dir_and_database(tmp_path: Path) -> None:
    only_dir = Sources(tmp_path, argv=["--data-dir", str(tmp_path / "d")]).load().config
    assert only_dir is not None
    assert only_dir.store.database_url == f"sqlite:///{tmp_path / 'd' / 'payedge.sqlite3'}"
    only_db = load(["--database-url", f"sqlite:///{tmp_path}/x/db.sqlite3"], {}).config
    assert only_db is not None and only_db.server.data_dir == tmp_path / "x"


def test_the_tariff_flag_replaces_inline_rules_of_the_file(tmp_path: Path) -> None:
    s = samples(tmp_path)
    import json

    src = Sources(
        tmp_path,
        argv=["--tariff", s["tariff.file"][0]],
        file={"tariff.rules": json.loads(s["tariff.rules"][0])},
    )
    loaded = src.load()
    assert loaded.config is not None
    assert loaded.config.tariff.file is not None and loaded.config.tariff.rules is None
    rules_entry = next(e for e in loaded.entries if e.spec.path == "tariff.rules")
    assert "ignored" in rules_entry.note
    assert loaded.config.tariff.compile() is not None


def test_inline_tariff_rules_compile_like_the_file(tmp_path: Path) -> None:
    file = tmp_path / "t.toml"
    file.write_text(
        '[tariff.rules]\ncurrency = "EUR"\ntimezone = "Europe/Paris"\nincrement_minutes = 15\n'
        "bands = [{ up_to_minute = 60, unit_price = 50 }, { unit_price = 30 }]\n"
    )
    loaded = load(["--config", str(file)], {})
    assert loaded.config is not None
    tariff = loaded.config.tariff.compile()
    assert tariff is not None and tariff.quote(0, 3 * 3600).amount > 0


def test_routing_rules_keep_the_files_order_and_name_the_bad_path(tmp_path: Path) -> None:
    """A split's members are ranges in document order: the table is not re-sorted (SPEC 5)."""
    file = tmp_path / "r.toml"
    rules = (
        '[routing]\ndefault = { gateways = ["stripe", "sandbox"] }\n'
        '[[routing.rules]]\nname = "eu"\nwhen = [{ field = "currency", op = "eq", value = "EUR" }]\n'
        "then = { split = { stripe = 70, sandbox = 30 } }\n"
    )
    file.write_text(rules)
    loaded = load(["--config", str(file)], {})
    assert loaded.config is not None and loaded.config.routing is not None
    assert loaded.config.routing.index('"stripe":70') < loaded.config.routing.index('"sandbox":30')
    assert payedge.Router(loaded.config.routing).gateways == ("stripe", "sandbox")
    file.write_text(rules.replace('op = "eq"', 'op = "equals"'))
    problems = [str(p) for p in load(["--config", str(file)], {}).problems]
    assert len(problems) == 1 and "routing: $.rules[0].when[0].op: unknown op" in problems[0], problems
    file.write_text(rules.replace("sandbox = 30", "sandbx = 30"))
    problems = [str(p) for p in load(["--config", str(file)], {}).problems]
    assert len(problems) == 1 and "$.rules[0].then.split.sandbx: names gateway 'sandbx'" in problems[0]


@pytest.mark.parametrize(
    ("then", "default", "path"),
    [
        ('{ gateways = ["stripe", "cinetpy"] }', '{ gateways = ["sandbox"] }', "$.rules[0].then.gateways[1]"),
        ('{ success_rate = ["mtn-momo"] }', '{ gateways = ["sandbox"] }', "$.rules[0].then.success_rate[0]"),
        (
            "{ split = { stripe = 50, adyen = 50 } }",
            '{ gateways = ["sandbox"] }',
            "$.rules[0].then.split.adyen",
        ),
        ('{ gateways = ["stripe"] }', '{ gateways = ["sandbox", "cinetpy"] }', "$.default.gateways[1]"),
    ],
)
def test_an_unknown_gateway_is_named_with_its_path(
    tmp_path: Path, then: str, default: str, path: str
) -> None:
    """In a file of many rules the user must see WHICH one names a gateway payedge does not have."""
    file = tmp_path / "r.toml"
    file.write_text(
        f"[routing]\ndefault = {default}\n"
        '[[routing.rules]]\nname = "r"\nwhen = [{ field = "amount", op = "ge", value = 1 }]\n'
        f"then = {then}\n"
    )
    problems = [str(p) for p in load(["--config", str(file)], {}).problems]
    assert len(problems) == 1 and f"routing: {path}: names gateway" in problems[0], problems


@pytest.mark.parametrize(
    ("field", "value", "path", "accepted"),
    [
        ("currency", '"EUR"', "$.rules[0].when[0].value", True),
        ("currency", '["EUR", "XOF"]', "$.rules[0].when[0].value", True),
        ("currency", '"eur"', "$.rules[0].when[0].value", False),  # payments carry "EUR"
        ("currency", '"Eur"', "$.rules[0].when[0].value", False),
        ("currency", '["EUR", "xof"]', "$.rules[0].when[0].value[1]", False),
        ("currency", '"EURO"', "$.rules[0].when[0].value", False),  # no payment can carry it
        ("currency", '"ZZZ"', "$.rules[0].when[0].value", False),
        ("currency", '" EUR"', "$.rules[0].when[0].value", False),
        ("payment_method_type", '"card"', "$.rules[0].when[0].value", True),
        ("payment_method_type", '["mobile_money", "wallet", "paypal"]', "$.rules[0].when[0].value", True),
        ("payment_method_type", '"Card"', "$.rules[0].when[0].value", False),
        ("payment_method_type", '["card", "momo"]', "$.rules[0].when[0].value[1]", False),
        ("country", '"ci"', "", True),  # the payer's metadata, as given: compared as written
    ],
)
def test_a_routing_value_is_one_payments_can_carry(
    tmp_path: Path, field: str, value: str, path: str, accepted: bool
) -> None:
    """A condition no payment can meet (a currency in another case or unknown, a method type
    payments.methods never gives) stops the start with its JSON path.

    Payments carry upper-case ISO 4217 codes (`"currency": "eur"` is stored as EUR) and the
    Router compares text exactly, so a rule written with "eur" would silently never match.
    """
    op = "in" if value.startswith("[") else "eq"
    file = tmp_path / "r.toml"
    file.write_text(
        '[routing]\ndefault = { gateways = ["sandbox"] }\n'
        f'[[routing.rules]]\nname = "c"\nwhen = [{{ field = "{field}", op = "{op}", value = {value} }}]\n'
        'then = { gateways = ["stripe"] }\n'
    )
    loaded = load(["--config", str(file)], {})
    problems = [str(p) for p in loaded.problems]
    if accepted:
        assert problems == [] and loaded.config is not None and loaded.config.routing is not None
        return
    assert len(problems) == 1 and f"routing: {path}: " in problems[0] and "never matches" in problems[0], (
        problems
    )


# -- the data dir's persisted secrets ----------------------------------------------------


def test_persisted_secrets_generated_then_kept(tmp_path: Path, start: Start) -> None:
    src = Sources(tmp_path)
    first = src.load()
    assert {p.path.name for p in first.pending} == set(PERSISTED.values())
    assert not (tmp_path / "data").exists()  # load writes nothing
    from payedge_server import cli

    started = cli.load_for_start(src.args(), {})
    assert started.config is not None
    for name in PERSISTED.values():
        kept = tmp_path / "data" / name
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    again = src.load()
    assert again.pending == () and again.config == started.config
    assert {e.source.kind for e in again.entries if e.spec.path in PERSISTED} == {"data_dir"}


def test_a_given_api_key_leaves_the_data_dir_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "api_key").write_text(" broken\r\n")  # never read when a key is given
    loaded = Sources(tmp_path, argv=["--api-key", "pek_given"]).load()
    assert loaded.config is not None and loaded.config.auth.api_keys == ("pek_given",)


# -- the table itself -------------------------------------------------------------------


def test_the_tree_is_the_table() -> None:
    """Key paths, flags and variables are unique; the docs name the same ones."""
    table = specs(Config)
    for attr in ("path",):
        assert len({getattr(s, attr) for s in table}) == len(table)
    flags = [s.setting.flag for s in table if s.setting.flag]
    envs = [s.setting.env for s in table if s.setting.env]
    assert len(set(flags)) == len(flags) and len(set(envs)) == len(envs)
    assert Config is ModelConfig


def test_a_config_prints_no_secret() -> None:
    config = Config()
    config = replace(config, auth=replace(config.auth, api_keys=("pek_SECRETVALUE",)))
    assert "SECRETVALUE" not in repr(config)
    assert secret_values(config) == ["pek_SECRETVALUE"]


def test_a_load_result_prints_no_secret(tmp_path: Path) -> None:
    loaded = Sources(
        tmp_path, argv=["--api-key", "pek_SECRETVALUE"], env={"PAYEDGE_STRIPE_API_KEY": "sk_test_HIDDEN"}
    ).load()
    assert loaded.pending  # the sandbox's secret, generated, to be written
    text = repr(loaded)
    assert "SECRETVALUE" not in text and "HIDDEN" not in text and "whsec_" not in text


def test_secret_values_include_url_passwords(tmp_path: Path) -> None:
    loaded = load(["--redis-url", "redis://:p%40ss@127.0.0.1:1/0", "--data-dir", str(tmp_path)], {})
    assert loaded.config is not None
    assert {"p%40ss", "p@ss"} <= set(secret_values(loaded.config))
    text = render(loaded, title="t")
    assert "p%40ss" not in text and "redis://:…(masked)@127.0.0.1:1/0" in text


# -- adding a section: a new dataclass and one field; the loader is untouched -----------------


def _needs_client_id(config: Any) -> str | None:
    adyen = config.gateways.adyen
    return "client_secret needs client_id" if adyen.client_secret and not adyen.client_id else None


@dataclass(frozen=True)
class AdyenConfig:
    client_id: str | None = setting(
        Text(), None, help="id", flag="--adyen-client-id", env="PAYEDGE_ADYEN_CLIENT_ID"
    )
    client_secret: str | None = setting(
        Text(),
        None,
        help="secret",
        secret=True,
        flag="--adyen-client-secret",
        env="PAYEDGE_ADYEN_CLIENT_SECRET",
    )
    checks: ClassVar[tuple[Check, ...]] = (Check("gateways.adyen", _needs_client_id),)


@dataclass(frozen=True)
class QuotasConfig:
    rate: int = setting(Int(1, 10_000), 100, help="requests per period", flag="--rate", env="PAYEDGE_RATE")


@dataclass(frozen=True)
class ShelfConfig:
    products: tuple[str, ...] = setting(Items(Table()), (), help="products")


@dataclass(frozen=True)
class ExtendedGateways(GatewaysConfig):
    adyen: AdyenConfig = field(default_factory=AdyenConfig)


@dataclass(frozen=True)
class ExtendedConfig(Config):
    """Config + [gateways.adyen] + [quotas] + [[shelf.products]], as later work adds them."""

    gateways: ExtendedGateways = field(default_factory=ExtendedGateways)
    quotas: QuotasConfig = field(default_factory=QuotasConfig)
    shelf: ShelfConfig = field(default_factory=ShelfConfig)


def test_a_section_added_by_one_module_is_read_from_every_source(tmp_path: Path) -> None:
    root = ExtendedConfig
    file = tmp_path / "x.toml"
    file.write_text(
        '[gateways.adyen]\nclient_id = "cid"\nclient_secret = "env:PP"\n[quotas]\nrate = 5\n'
        '[[shelf.products]]\nid = "p1"\nprices = { EUR = 100 }\n[[shelf.products]]\nid = "p2"\n'
    )
    loaded = load(
        ["--config", str(file), "--rate", "7", "--data-dir", str(tmp_path)], {"PP": "ppsecret"}, root=root
    )
    assert loaded.problems == ()
    config: Any = loaded.config
    assert config.gateways.adyen.client_secret == "ppsecret" and config.quotas.rate == 7
    assert [p for p in config.shelf.products] == ['{"id":"p1","prices":{"EUR":100}}', '{"id":"p2"}']
    bad = load(["--adyen-client-secret", " x", "--data-dir", str(tmp_path)], {}, root=root)
    assert [str(p) for p in bad.problems] == [
        "--adyen-client-secret: starts with a space; payedge uses values exactly as given: remove it"
    ]
    rule = load(["--adyen-client-secret", "x", "--data-dir", str(tmp_path)], {}, root=root)
    assert [str(p) for p in rule.problems] == ["gateways.adyen: client_secret needs client_id"]
    # The shipped Config still refuses those keys.
    assert any("unknown key" in str(p) for p in load(["--config", str(file)], {"PP": "x"}).problems)


def test_dataclass_fields_are_settings_or_sections() -> None:
    @dataclass(frozen=True)
    class Broken:
        plain: int = 1

    with pytest.raises(TypeError, match="neither a setting"):
        specs(Broken)
    assert {f.name for f in fields(Config)} == {
        "server",
        "store",
        "redis",
        "mqtt",
        "auth",
        "gateways",
        "tariff",
        "terminals",
        "retention",
        "commissions",
        "invoices",
        "ledger",
        "catalog",
        "rate_limits",
        "routing",
    }


def test_load_reads_no_process_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYEDGE_PORT", "1")
    loaded = load(["--data-dir", str(tmp_path)], {})
    assert loaded.config is not None and loaded.config.server.port == 8080
    assert os.environ["PAYEDGE_PORT"] == "1"
