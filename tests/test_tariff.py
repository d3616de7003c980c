"""payedge.Tariff: worked examples (docs/tariffs.md), validation, quote_many, tariff files."""

from __future__ import annotations

import copy
import json
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import payedge
import pytest
from payedge import Tariff, TariffError

from tests.tariff_reference import reference_quote

# The SPEC 2.3 example rules, also used by the docs and the Rust tests.
PARIS: dict[str, Any] = json.loads((Path(__file__).parent.parent / "docs/examples/paris.json").read_text())


def local(text: str, zone: str = "Europe/Paris") -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp())


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text + "+00:00").timestamp())


MONDAY_10H = local("2024-06-03T10:00")  # 1717401600, summer time (UTC+2)

# (name, entry, exit, kwargs, amount, units): each worked by hand in docs/tariffs.md.
PARIS_EXAMPLES = [
    ("within grace", MONDAY_10H, MONDAY_10H + 600, {}, 0, 0),
    ("one second past grace", MONDAY_10H, MONDAY_10H + 601, {}, 50, 1),
    ("2h30 daytime", MONDAY_10H, local("2024-06-03T12:30"), {}, 440, 10),
    ("5h daytime", MONDAY_10H, local("2024-06-03T15:00"), {}, 800, 20),
    ("into the night", MONDAY_10H, local("2024-06-03T21:00"), {}, 1440, 44),
    ("24h capped", MONDAY_10H, local("2024-06-04T10:00"), {}, 2000, 96),
    ("resident 50%", MONDAY_10H, local("2024-06-04T10:00"), {"subscription": "resident"}, 1000, 96),
    ("staff 100%", MONDAY_10H, local("2024-06-04T10:00"), {"subscription": "staff"}, 0, 96),
    ("lost ticket", MONDAY_10H, local("2024-06-03T12:30"), {"lost_ticket": True}, 3440, 10),
    ("3 days 1 minute", MONDAY_10H, local("2024-06-06T10:01"), {}, 6050, 289),
    ("all night", local("2024-06-01T22:00"), local("2024-06-02T02:00"), {}, 160, 16),
    ("spring forward", utc("2024-03-30T21:00:00"), utc("2024-03-31T08:00:00"), {}, 680, 44),
    ("fall back", utc("2024-10-26T20:00:00"), utc("2024-10-27T09:00:00"), {}, 760, 52),
]


@pytest.mark.parametrize("example", PARIS_EXAMPLES, ids=[e[0] for e in PARIS_EXAMPLES])
def test_worked_examples_paris(example: tuple[str, int, int, dict[str, Any], int, int]) -> None:
    _, entry, exit_, kwargs, amount, units = example
    quote = Tariff(PARIS).quote(entry, exit_, **kwargs)
    assert (quote.amount, quote.units, quote.currency) == (amount, units, "EUR")
    assert quote.lines == reference_quote(PARIS, entry, exit_, **kwargs).lines


def test_lines_explain_the_amount() -> None:
    rules = {**PARIS, "max_amount": 3500}
    entry, exit_ = MONDAY_10H, local("2024-06-05T11:00")  # 2 days + 1 hour
    quote = Tariff(rules).quote(entry, exit_, lost_ticket=True, subscription="resident")
    assert quote.lines == [
        {"kind": "period", "period": 0, "start": entry, "units": 96, "gross": 2200, "charged": 2000},
        {"kind": "period", "period": 1, "start": entry + 86400, "units": 96, "gross": 2200, "charged": 2000},
        {"kind": "period", "period": 2, "start": entry + 172800, "units": 4, "gross": 200, "charged": 200},
        {"kind": "discount", "discount": 2100, "subscription": "resident", "discount_percent": 50},
        {"kind": "lost_ticket_fee", "lost_ticket_fee": 3000},
        {"kind": "max_amount", "max_amount": 3500, "reduction": 1600},
    ]
    assert quote.amount == 3500
    assert (quote.entry, quote.exit) == (entry, exit_)
    assert "35.00 EUR" in repr(quote)


def test_odd_offsets_and_increments() -> None:
    # Kathmandu is UTC+05:45: 18:00Z is 23:45 local; night 00:00-06:00.
    kathmandu = {
        "currency": "NPR",
        "timezone": "Asia/Kathmandu",
        "increment_minutes": 60,
        "bands": [{"up_to_minute": None, "unit_price": 100}],
        "night": {"start": "00:00", "end": "06:00", "unit_price": 10},
    }
    quote = Tariff(kathmandu).quote(utc("2024-01-01T18:00:00"), utc("2024-01-02T01:00:00"))
    assert (quote.amount, quote.units) == (100 + 6 * 10, 7)
    # Lord Howe falls back 30 minutes (02:00 LHDT -> 01:30 LHST at 15:00Z): 01:45 happens twice.
    lord_howe = {
        "currency": "AUD",
        "timezone": "Australia/Lord_Howe",
        "increment_minutes": 15,
        "bands": [{"up_to_minute": None, "unit_price": 1}],
        "night": {"start": "01:45", "end": "02:00", "unit_price": 1000},
    }
    quote = Tariff(lord_howe).quote(utc("2024-04-06T14:30:00"), utc("2024-04-06T15:30:00"))
    assert (quote.amount, quote.units) == (2 * 1000 + 2 * 1, 4)
    # 7-minute units do not divide the day: period 1 starts at its minute 2.
    yen = {
        "currency": "JPY",
        "timezone": "UTC",
        "increment_minutes": 7,
        "bands": [{"up_to_minute": 3, "unit_price": 1000}, {"up_to_minute": None, "unit_price": 1}],
    }
    quote = Tariff(yen).quote(0, 2 * 86400)
    assert [(ln["units"], ln["gross"]) for ln in quote.lines] == [(206, 1205), (206, 1205)]
    assert quote.amount == 2410


def test_caps_of_zero_and_max_amount() -> None:
    rules = {**PARIS, "daily_cap": 0}
    assert Tariff(rules).quote(MONDAY_10H, MONDAY_10H + 30 * 86400).amount == 0
    rules = {**PARIS, "daily_cap": None, "max_amount": 0}
    quote = Tariff(rules).quote(MONDAY_10H, MONDAY_10H + 3600, lost_ticket=True)
    assert quote.amount == 0
    assert quote.lines[-1] == {"kind": "max_amount", "max_amount": 0, "reduction": 200 + 3000}


def test_rules_as_str_bytes_or_dict() -> None:
    text = json.dumps(PARIS)
    for rules in (PARIS, text, text.encode()):
        tariff = Tariff(rules)
        assert (tariff.currency, tariff.timezone, tariff.increment_minutes) == ("EUR", "Europe/Paris", 15)
        assert tariff.subscriptions == ["resident", "staff"]
        assert tariff.quote(MONDAY_10H, MONDAY_10H + 9000).amount == 440
    assert "Europe/Paris" in repr(Tariff(PARIS))


def bad(path: list[str | int], value: Any) -> dict[str, Any]:
    rules = copy.deepcopy(PARIS)
    target: Any = rules
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return rules


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in PARIS.items() if k != key}


INVALID = [
    (bad(["bands", 1, "up_to_minute"], 30), "$.bands[1].up_to_minute", "increasing"),
    (bad(["bands", 1, "up_to_minute"], 60), "$.bands[1].up_to_minute", "increasing"),
    (bad(["bands", 0, "up_to_minute"], None), "$.bands[0].up_to_minute", "last band"),
    (bad(["bands", 2, "up_to_minute"], 600), "$.bands[2].up_to_minute", "open-ended"),
    (bad(["bands", 1, "up_to_minute"], 1441), "$.bands[1].up_to_minute", "1..=1440"),
    (bad(["bands", 0, "unit_price"], -1), "$.bands[0].unit_price", "non-negative"),
    (bad(["bands", 0, "unit_price"], 0.5), "$.bands[0].unit_price", "integer"),
    (bad(["bands", 0, "unit_price"], "50"), "$.bands[0].unit_price", "string"),
    (bad(["bands", 0, "unit_price"], True), "$.bands[0].unit_price", "boolean"),
    (bad(["bands", 0, "price"], 1), "$.bands[0].price", "unknown field"),
    (bad(["bands"], []), "$.bands", "at least one"),
    (bad(["bands"], {}), "$.bands", "array"),
    (bad(["bands", 0], {"unit_price": 1}), "$.bands[0].up_to_minute", "missing"),
    (bad(["currency"], "EURO"), "$.currency", "unknown currency"),
    (bad(["currency"], "XAU"), "$.currency", "unknown currency"),
    (bad(["timezone"], "Mars/Olympus_Mons"), "$.timezone", "unknown time zone"),
    (bad(["timezone"], "europe/paris"), "$.timezone", "Europe/Paris"),
    (bad(["timezone"], "../../etc/passwd"), "$.timezone", "IANA"),
    (bad(["timezone"], ""), "$.timezone", "IANA"),
    (bad(["increment_minutes"], 0), "$.increment_minutes", "1..=1440"),
    (bad(["increment_minutes"], 1441), "$.increment_minutes", "1..=1440"),
    (bad(["increment_minutes"], 15.0), "$.increment_minutes", "integer"),
    (bad(["grace_minutes"], -1), "$.grace_minutes", "non-negative"),
    (bad(["night", "start"], "24:00"), "$.night.start", "HH:MM"),
    (bad(["night", "start"], "8:00"), "$.night.start", "HH:MM"),
    (bad(["night", "end"], "20:00"), "$.night.end", "differ"),
    (bad(["night", "end"], 700), "$.night.end", "string"),
    (bad(["night", "unit_price"], None), "$.night.unit_price", "null"),
    (bad(["night", "days"], "weekend"), "$.night.days", "unknown field"),
    (bad(["night"], "20:00-07:00"), "$.night", "object"),
    (bad(["daily_cap"], -5), "$.daily_cap", "non-negative"),
    (bad(["lost_ticket_fee"], "30.00"), "$.lost_ticket_fee", "string"),
    (bad(["max_amount"], 10**20), "$.max_amount", "integer"),
    (
        bad(["subscriptions", "resident", "discount_percent"], 101),
        "$.subscriptions.resident.discount_percent",
        "0..=100",
    ),
    (bad(["subscriptions", "vip"], {"discount": 5}), "$.subscriptions.vip.discount", "unknown field"),
    (bad(["subscriptions", "night owl"], {}), '$.subscriptions["night owl"].discount_percent', "missing"),
    (bad(["subscriptions", ""], {"discount_percent": 5}), '$.subscriptions[""]', "empty"),
    (bad(["subscriptions"], ["resident"]), "$.subscriptions", "object"),
    (bad(["version"], 1), "$.version", "unknown field"),
    (without("currency"), "$.currency", "missing"),
    (without("timezone"), "$.timezone", "missing"),
    (without("increment_minutes"), "$.increment_minutes", "missing"),
    (without("bands"), "$.bands", "missing"),
]


@pytest.mark.parametrize(("rules", "path", "words"), INVALID, ids=[i[1] + ":" + i[2] for i in INVALID])
def test_invalid_rules_name_the_json_path(rules: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(TariffError) as info:
        Tariff(rules)
    assert info.value.param == path
    assert info.value.code == "invalid_tariff"
    assert path in str(info.value)
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)


def test_invalid_documents() -> None:
    for text, words in [
        ('{"currency": "EUR",', "invalid JSON"),
        ("[]", "object"),
        ('{"currency": "EUR", "currency": "EUR"}', "duplicate"),
        ("", "invalid JSON"),
    ]:
        with pytest.raises(TariffError, match=words) as info:
            Tariff(text)
        assert info.value.param in ("$", "$.currency")
    with pytest.raises(TariffError, match="JSON-serialisable") as info:
        Tariff({**PARIS, "daily_cap": float("nan")})
    with pytest.raises(TariffError, match="JSON-serialisable"):
        Tariff({**PARIS, "currency": object()})
    with pytest.raises(TariffError, match="not list") as info:
        Tariff([PARIS])  # type: ignore[arg-type]
    assert info.value.param == "$"


def test_quote_errors_name_the_argument() -> None:
    tariff = Tariff(PARIS)
    with pytest.raises(TariffError, match="before entry") as info:
        tariff.quote(1000, 999)
    assert info.value.param == "exit"
    with pytest.raises(TariffError, match="resident, staff") as info:
        tariff.quote(0, 100, subscription="vip")
    assert info.value.param == "subscription"
    with pytest.raises(TariffError, match="float") as info:
        tariff.quote(time.time(), 0)  # type: ignore[arg-type]
    assert info.value.param == "entry"
    with pytest.raises(TariffError) as info:
        tariff.quote(0, 10**30)
    assert info.value.param == "exit"
    with pytest.raises(TariffError, match="0001-01-01") as info:
        tariff.quote(-(10**12), 0)
    assert info.value.param == "entry"
    no_subscriptions = Tariff(without("subscriptions"))
    with pytest.raises(TariffError, match="no subscriptions"):
        no_subscriptions.quote(0, 100, subscription="resident")


def test_quote_is_frozen() -> None:
    quote = Tariff(PARIS).quote(0, 100)
    with pytest.raises(AttributeError):
        quote.amount = 1  # type: ignore[misc]


def test_quote_many_argument_forms() -> None:
    tariff = Tariff(PARIS)
    entries = [MONDAY_10H] * 4
    exits = [MONDAY_10H + 300, MONDAY_10H + 9000, MONDAY_10H + 86400, MONDAY_10H + 9000]
    assert tariff.quote_many(entries, exits) == [0, 440, 2000, 440]
    assert tariff.quote_many(tuple(entries), tuple(exits), lost_ticket=True) == [3000, 3440, 5000, 3440]
    assert tariff.quote_many(entries, exits, subscription="resident") == [0, 220, 1000, 220]
    assert tariff.quote_many(
        entries,
        exits,
        lost_ticket=[False, True, False, False],
        subscription=[None, None, "staff", "resident"],
    ) == [0, 3440, 0, 220]
    assert tariff.quote_many([], []) == []
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"exits": exits[:3]}, "exits", "3 items"),
        ({"exits": [*exits[:3], MONDAY_10H - 1]}, "exits[3]", "before entry"),
        ({"entries": [*entries[:2], "x", entries[3]]}, "entries[2]", "str"),
        ({"lost_ticket": [True]}, "lost_ticket", "1 items"),
        ({"lost_ticket": "yes"}, "lost_ticket", "bool"),
        ({"subscription": [None, "vip", None, None]}, "subscription[1]", "vip"),
        ({"subscription": "vip"}, "subscription", "vip"),
        ({"subscription": [1, 2, 3, 4]}, "subscription[0]", "str"),
        ({"entries": "0123"}, "entries", "sequence"),
    ]
    for override, param, words in cases:
        kwargs: dict[str, Any] = {"entries": entries, "exits": exits, **override}
        with pytest.raises(TariffError, match=words) as info:
            tariff.quote_many(**kwargs)
        assert info.value.param == param, override


def test_quote_many_releases_the_gil() -> None:
    """Another Python thread keeps running while a large batch is priced."""
    tariff = Tariff(PARIS)
    margin = 0.01
    n = 400_000
    for _ in range(4):  # a batch long enough to observe; the core keeps getting faster
        entries = [1_700_000_000 + i * 37 for i in range(n)]
        exits = [e + 3600 + (i % 97) * 600 for i, e in enumerate(entries)]
        start = time.perf_counter()
        tariff.quote_many(entries, exits)
        if time.perf_counter() - start > 8 * margin:
            break
        n *= 4
    ticks: list[float] = []
    stop = threading.Event()

    def tick() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.0005)

    old = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    thread = threading.Thread(target=tick)
    thread.start()
    try:
        time.sleep(0.01)
        start = time.perf_counter()
        amounts = tariff.quote_many(entries, exits)
        end = time.perf_counter()
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(old)
    assert len(amounts) == n
    inside = [t for t in ticks if start + margin < t < end - margin]
    assert end - start > 4 * margin, "batch too quick to observe"
    # With the GIL held for the whole call, no tick could land inside it.
    assert len(inside) >= 3, (len(inside), end - start)


def test_load_tariff(tmp_path: Path) -> None:
    good = tmp_path / "site.json"
    good.write_text(json.dumps(PARIS))
    assert payedge.load_tariff(good).quote(MONDAY_10H, MONDAY_10H + 9000).amount == 440
    assert payedge.load_tariff(str(good)).currency == "EUR"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(bad(["bands", 1, "up_to_minute"], 30)))
    with pytest.raises(TariffError) as info:
        payedge.load_tariff(broken)
    assert str(broken) in str(info.value)
    assert "$.bands[1].up_to_minute" in str(info.value)
    assert info.value.param == "$.bands[1].up_to_minute"
    with pytest.raises(TariffError, match="cannot read") as info:
        payedge.load_tariff(tmp_path / "missing.json")
    assert "missing.json" in str(info.value)
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"currency": "\xe9"}')
    with pytest.raises(TariffError, match="UTF-8"):
        payedge.load_tariff(latin)


def test_jiff_and_zoneinfo_agree_on_offsets() -> None:
    """The core reads /usr/share/zoneinfo through jiff, the reference through zoneinfo:
    one-minute windows every 5 days, 1970-2060, must price the same local minute."""
    for zone in [
        "Europe/Paris",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
        "America/St_Johns",
    ]:
        tz = ZoneInfo(zone)
        step = 5 * 86400 + 3 * 3600 + 7 * 60
        instants = list(range(0, 2_840_000_000, step))
        # Night = the local minute of each instant, in a tariff with a 1-unit stay.
        for t in instants[:: max(1, len(instants) // 400)]:
            local_time = datetime.fromtimestamp(t, tz)
            minute = local_time.hour * 60 + local_time.minute
            rules = {
                "currency": "EUR",
                "timezone": zone,
                "increment_minutes": 1,
                "bands": [{"up_to_minute": None, "unit_price": 0}],
                "night": {
                    "start": f"{minute // 60:02d}:{minute % 60:02d}",
                    "end": _next(minute),
                    "unit_price": 1,
                },
            }
            assert Tariff(rules).quote(t, t + 1).amount == 1, (zone, t, local_time)


def _next(minute: int) -> str:
    m = (minute + 1) % 1440
    return f"{m // 60:02d}:{m % 60:02d}"
