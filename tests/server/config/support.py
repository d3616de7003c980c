"""Shared by the config tests: valid sample values for every setting, a TOML writer, sources."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from payedge_server.config import Config, Loaded, Spec, load, specs
from payedge_server.config.kinds import Int, Items, Seconds, Table

ROOT = Path(__file__).resolve().parents[3]
PARIS = ROOT / "docs" / "examples" / "paris.json"
EXAMPLE = ROOT / "docs" / "examples" / "payedge.toml"
SPECS = {s.path: s for s in specs(Config)}
# A live-mode Stripe key's shape, built here so that no live-looking key sits in the tree:
# the samples are made up, and the masking rules must treat live keys like test ones.
LIVE_PREFIX = "sk_" + "live_"
SAMPLE_LIVE_KEY = LIVE_PREFIX + "SampleStripeB2"
PERSISTED = {"auth.api_keys": "api_key", "gateways.sandbox.webhook_secret": "sandbox_webhook_secret"}
# A hosted gateway's credentials: all of them or none (each needs the others to be valid).
_CREDENTIALS = {
    "gateways.paypal": {"client_id": "CompanionClientId", "client_secret": "CompanionSecret1"},
    "gateways.cinetpay": {
        "apikey": "CompanionApikey1",
        "site_id": "105900001",
        "secret_key": "CompanionKey1",
    },
    "gateways.mtn_momo": {
        "subscription_key": "CompanionSub1",
        "api_user": "CompanionUser",
        "api_key": "Key1",
    },
    "gateways.orange_money": {"client_id": "CompanionId", "client_secret": "Secret1", "merchant_key": "Key1"},
}


def _companions(section: str, name: str) -> tuple[str, ...]:
    prefix = "--" + section.removeprefix("gateways.").replace("_", "-")
    others = [(k, v) for k, v in _CREDENTIALS[section].items() if k != name]
    return tuple(x for k, v in others for x in (f"{prefix}-{k.replace('_', '-')}", v))


# Settings that need another one to be valid (a cross-setting rule): given along with them.
COMPANIONS: Mapping[str, tuple[str, ...]] = {
    "mqtt.url": ("--tariff", str(PARIS)),
    **{f"{sec}.{name}": _companions(sec, name) for sec, names in _CREDENTIALS.items() for name in names},
    "rate_limits.per_key.burst": ("--rate-limit-key-rate", "10"),
    "rate_limits.per_address.burst": ("--rate-limit-address-rate", "10"),
}


def _whsec(seed: bytes) -> str:
    return "whsec_" + base64.b64encode(seed * 24).decode()


def samples(tmp: Path) -> dict[str, tuple[str, str, str]]:
    """Three distinct valid text forms of every setting (a test fails when one is missing)."""
    tariffs = []
    for name in ("t1.json", "t2.json", "t3.json"):
        shutil.copy(PARIS, tmp / name)
        tariffs.append(str(tmp / name))
    # The rules of the Paris example in TOML's terms (no null: the open-ended band has no bound).
    paris = {k: v for k, v in json.loads(PARIS.read_text()).items() if v is not None}
    paris["bands"] = [{k: v for k, v in b.items() if v is not None} for b in paris["bands"]]
    rules = json.dumps({**paris, "increment_minutes": 5})
    return {
        "server.host": ("127.0.0.1", "localhost", "::1"),
        "server.port": ("8081", "8082", "65535"),
        "server.workers": ("1", "2", "256"),
        "server.self_url": ("http://a.example", "https://b.example/x", "http://c.example:8080"),
        "server.data_dir": (str(tmp / "da"), str(tmp / "db"), str(tmp / "dc")),
        "server.log_level": ("DEBUG", "WARNING", "ERROR"),
        "server.instance": ("node-a", "eu-west/2", "payedge 3"),
        "store.database_url": (f"sqlite:///{tmp}/a.db", f"sqlite:///{tmp}/b.db", f"sqlite:///{tmp}/c.db"),
        "redis.url": ("redis://127.0.0.1:1/0", "rediss://h.example:2/1", "unix:///tmp/redis.sock"),
        "mqtt.url": ("mqtt://127.0.0.1:1883", "mqtts://b.example", "mqtt://c.example:1?client_id=x"),
        "auth.api_keys": ("pek_SampleKeyAlpha7", "pek_SampleKeyBravo8", "SampleKeyCharlie9"),
        "gateways.sandbox.async_delay": ("0.5", "1", "86400"),
        "gateways.sandbox.webhook_secret": (_whsec(b"a"), _whsec(b"b"), _whsec(b"c")),
        "gateways.stripe.api_key": ("sk_test_SampleStripeA1", SAMPLE_LIVE_KEY, "rk_test_SampleC3"),
        "gateways.stripe.api_base": ("http://127.0.0.1:1", "https://b.example", "http://c.example:9/v"),
        "gateways.stripe.webhook_secrets": ("whsec_SampleHookA1", "whsec_SampleHookB2", "whsec_SampleHookC3"),
        "tariff.file": (tariffs[0], tariffs[1], tariffs[2]),
        "tariff.rules": (rules, rules.replace('"increment_minutes": 5', '"increment_minutes": 10'), rules),
        "terminals.ids": ("T1", "T-2", "till.3"),
        "retention.webhook_events": ("60", "86400", "2592000"),
        "retention.outbox": ("60", "3600", "604800"),
        "retention.every": ("1", "30", "3600"),
        "commissions.rates": (
            json.dumps({"commission_type": "ticket_sale", "basis_points": 500, "fixed": 30}),
            json.dumps({"commission_type": "ticket_sale", "basis_points": 250, "owner": "alice"}),
            json.dumps({"commission_type": "template_sale", "basis_points": 1000, "currency": "EUR"}),
        ),
        "invoices": (
            json.dumps({"vat_basis_points": 2000, "seller_name": "Example SAS"}),
            json.dumps({"vat_basis_points": 550, "series": "F"}),
            json.dumps({"credit_note_series": "AV"}),
        ),
        "ledger.postings": ("ON", "OFF", "ON"),
        "redis.routing_sync_interval": ("0.05", "2.5", "60"),
        "routing": (
            json.dumps({"default": {"gateways": ["sandbox"]}}),
            json.dumps(
                {
                    "rules": [
                        {
                            "name": "eu",
                            "when": [{"field": "currency", "op": "in", "value": ["EUR", "CHF"]}],
                            "then": {"split": {"stripe": 60, "sandbox": 40}},
                        }
                    ],
                    "default": {"gateways": ["sandbox", "stripe"]},
                }
            ),
            json.dumps(
                {
                    "default": {"gateways": ["paypal"]},
                    "health": {"elimination": {"bucket_size": 3}, "peer_ttl_seconds": 10},
                }
            ),
        ),
        **_hosted_samples(),
        "catalog.products": (
            json.dumps({"id": "basic", "name": "Basic", "prices": {"EUR": 2900}}),
            json.dumps({"id": "vip", "name": "VIP", "prices": {"EUR": 14900, "XOF": 98000}, "active": False}),
            json.dumps({"id": "t.shirt-1", "name": "T-shirt", "prices": {"JPY": 1500}}),
        ),
        "rate_limits.per_key.rate": ("5", "100", "1000000"),
        "rate_limits.per_key.period": ("2", "60", "86400"),
        "rate_limits.per_key.burst": ("1", "20", "1000"),
        "rate_limits.per_address.rate": ("5", "100", "1000000"),
        "rate_limits.per_address.period": ("2", "60", "86400"),
        "rate_limits.per_address.burst": ("1", "20", "1000"),
    }


def _hosted_samples() -> dict[str, tuple[str, str, str]]:
    common = {
        "api_base": ("http://127.0.0.1:1", "https://b.example", "http://c.example:9/v"),
        "timeout": ("0.5", "2", "300"),
        "poll_interval": ("0.05", "1", "3600"),
        "poll_max_interval": ("0.05", "60", "86400"),
        "poll_for": ("1", "60", "2592000"),
    }
    back = ("https://shop.example/back/{payment_id}", "http://127.0.0.1:1/r", "https://c.example/done")
    own = {
        "paypal": {
            "client_id": ("ClientIdSampleA1", "ClientIdSampleB2", "ClientIdSampleC3"),
            "client_secret": ("PayPalSecretA1", "PayPalSecretB2", "PayPalSecretC3"),
            "webhook_id": ("8PT597110X687430LKGECATA", "WH0000000001", "WH0000000002"),
            "cert_origins": ("https://api.paypal.com", "http://127.0.0.1:47100", "https://localhost:8443"),
            "cert_url": (
                "http://127.0.0.1:1/v1/notifications/certs/C",
                "https://b.example/c",
                "http://c.example/",
            ),
            "return_url": back,
        },
        "cinetpay": {
            "apikey": ("CinetPayKeyA1", "CinetPayKeyB2", "CinetPayKeyC3"),
            "site_id": ("105900001", "105900002", "site3"),
            "secret_key": ("CinetSecretA1", "CinetSecretB2", "CinetSecretC3"),
            "return_url": back,
        },
        "mtn_momo": {
            "subscription_key": ("MomoSubA1", "MomoSubB2", "MomoSubC3"),
            "api_user": ("0b5c6c0e-3a2b-4f4e-9d7c-6f1e2d3c4b5a", "user-b", "user-c"),
            "api_key": ("MomoKeyA1", "MomoKeyB2", "MomoKeyC3"),
            "target_environment": ("mtnuganda", "mtnghana", "mtncameroon"),
        },
        "orange_money": {
            "client_id": ("OrangeIdA1", "OrangeIdB2", "OrangeIdC3"),
            "client_secret": ("OrangeSecretA1", "OrangeSecretB2", "OrangeSecretC3"),
            "merchant_key": ("OrangeMerchantA1", "OrangeMerchantB2", "OrangeMerchantC3"),
            "country": ("ci", "cm", "gn"),
            "return_url": back,
        },
    }
    return {f"gateways.{gw}.{k}": v for gw, names in own.items() for k, v in {**common, **names}.items()}


def toml_value(spec: Spec, text: str) -> Any:
    """The TOML value a user writes for a setting whose text form is `text`."""
    kind = spec.scalar
    if isinstance(kind, Int):
        one: Any = int(text)
    elif isinstance(kind, Seconds):
        one = float(text)
    elif isinstance(kind, Table):
        one = json.loads(text)
    else:
        one = text
    return [one] if isinstance(spec.setting.kind, Items) else one


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON escapes are TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_scalar(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def dump_toml(doc: Mapping[str, Any]) -> str:
    """A small TOML writer: top-level plain values first, then every dict as a [a.b] table."""
    lines = [f"{json.dumps(k)} = {_scalar(v)}" for k, v in doc.items() if not isinstance(v, dict)]

    def table(node: Mapping[str, Any], keys: tuple[str, ...]) -> None:
        lines.append("[" + ".".join(json.dumps(k) for k in keys) + "]")
        lines.extend(f"{json.dumps(k)} = {_scalar(v)}" for k, v in node.items() if not isinstance(v, dict))
        for key, value in node.items():
            if isinstance(value, dict):
                table(value, (*keys, key))

    for key, value in doc.items():
        if isinstance(value, dict):
            table(value, (key,))
    return "\n".join(lines) + "\n"


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """{"a.b.c": v} -> {"a": {"b": {"c": v}}}."""
    doc: dict[str, Any] = {}
    for path, value in flat.items():
        *parents, last = path.split(".")
        node = doc
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return doc


@dataclass
class Sources:
    """One start's inputs: argv, environment, config file keys (by path); loaded in-process."""

    tmp: Path
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    file: dict[str, Any] = field(default_factory=dict)

    def write(self) -> Path | None:
        if not self.file:
            return None
        path = self.tmp / "payedge.toml"
        path.write_text(dump_toml(nest(self.file)), encoding="utf-8")
        return path

    def args(self) -> list[str]:
        file = self.write()
        base = ["--data-dir", str(self.tmp / "data")] if not self._sets_data_dir() else []
        return [*base, *(["--config", str(file)] if file else []), *self.argv]

    def _sets_data_dir(self) -> bool:
        return "--data-dir" in self.argv or "PAYEDGE_DATA_DIR" in self.env or "server.data_dir" in self.file

    def load(self) -> Loaded:
        return load(self.args(), self.env)
