"""Commissions (the SPEC 6 formula, worked examples of docs/ledger.md), refund reversals,
rates parsing with key paths, VAT per line, and gap-free numbering that a rollback does not use."""

from __future__ import annotations

import dataclasses
import functools
import tomllib
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from payedge_server.contracts import Store, Tx
from payedge_server.ledger import invoices, postings
from payedge_server.ledger.commissions import Rate, Rates, RatesError, merchant_reversal, parse_rates
from payedge_server.ledger.invoices import InvoiceSettings, parse_vat_rate, vat_split
from payedge_server.ledger.settings import LedgerSettings, SettingsError, parse_settings

from tests.server.ledger.reference import RefRate, half_up

# (captured C, basis_points, fixed, min, max) -> K   (docs/ledger.md, "Commissions")
WORKED = [
    ((2500, 500, 30, None, None), 155),  # 5 % + 0.30: 125 + 30
    ((1010, 250, 0, None, None), 25),  # 25.25 -> 25
    ((1030, 250, 0, None, None), 26),  # 25.75 -> 26
    ((1020, 250, 0, None, None), 26),  # 25.5 -> 26: half up
    ((100, 1500, 0, 100, 2000), 100),  # 15 -> min 100
    ((50, 1500, 0, 100, 2000), 50),  # min 100, but never more than C
    ((50_000, 1500, 0, 100, 2000), 2000),  # 7,500 -> max 2,000
    ((1, 0, 30, None, None), 1),  # fixed fee larger than the payment: K = C
]


@pytest.mark.parametrize(("args", "expected"), WORKED)
def test_worked_examples(args: tuple[int, int, int, int | None, int | None], expected: int) -> None:
    c, bp, fixed, low, high = args
    assert Rate("t", None, None, bp, fixed, low, high).commission(c) == expected


@settings(max_examples=300, deadline=None)
@given(
    c=st.integers(1, 10**12),
    bp=st.integers(0, 10_000),
    fixed=st.integers(0, 10**6),
    low=st.none() | st.integers(0, 10**6),
    span=st.none() | st.integers(0, 10**6),
)
def test_formula_matches_exact_arithmetic(
    c: int, bp: int, fixed: int, low: int | None, span: int | None
) -> None:
    high = None if span is None else (low or 0) + span
    rate = Rate("t", None, None, bp, fixed, low, high)
    assert rate.commission(c) == RefRate(bp, fixed, low, high).commission(c)


def test_most_specific_rate_wins() -> None:
    rates = parse_rates(
        [
            {"commission_type": "ticket_sale", "basis_points": 500},
            {"commission_type": "ticket_sale", "basis_points": 400, "currency": "EUR"},
            {"commission_type": "ticket_sale", "basis_points": 300, "owner": "alice"},
            {"commission_type": "ticket_sale", "basis_points": 200, "owner": "alice", "currency": "EUR"},
        ]
    )
    pick = {(o, c): rates.lookup("ticket_sale", o, c) for o in ("alice", "bob") for c in ("EUR", "USD")}
    assert {k: r.basis_points for k, r in pick.items() if r} == {
        ("alice", "EUR"): 200,
        ("alice", "USD"): 300,
        ("bob", "EUR"): 400,
        ("bob", "USD"): 500,
    }
    assert rates.lookup("template_sale", "alice", "EUR") is None


# A refund sequence: (C, K, refunds) -> the merchant's share of each refund.
REVERSALS = [
    # C = 2500, K = 155 (5 % + 0.30): merchant keeps 2345.
    ((2500, 155, [1000]), [938]),  # 2345 * 1000 / 2500 = 938
    ((2500, 155, [1000, 1500]), [938, 1407]),  # the full refund reverses exactly 2345
    ((2500, 155, [1, 1, 1]), [1, 1, 1]),  # 0.938 -> 1, 1.876 -> 2, 2.814 -> 3
    ((3, 1, [1, 1, 1]), [1, 0, 1]),  # 0.67 -> 1, 1.33 -> 1, 2
    ((1000, 0, [333, 333, 334]), [333, 333, 334]),  # no commission: the merchant reverses everything
]


@pytest.mark.parametrize(("case", "expected"), REVERSALS)
def test_reversal_examples(case: tuple[int, int, list[int]], expected: list[int]) -> None:
    c, k, refunds = case
    shares, total, refunded = [], 0, 0
    for r in refunds:
        refunded += r
        now = merchant_reversal(c, k, refunded)
        shares.append(now - total)
        total = now
    assert shares == expected


@settings(max_examples=300, deadline=None)
@given(data=st.data(), c=st.integers(1, 10**9))
def test_reversals_sum_to_the_net_and_stay_within_each_refund(data: st.DataObject, c: int) -> None:
    k = data.draw(st.integers(0, c))
    refunds = data.draw(st.lists(st.integers(1, c), max_size=8))
    reversed_, refunded = 0, 0
    for wanted in [*refunds, c]:
        r = min(wanted, c - refunded)
        if r <= 0:
            break
        refunded += r
        now = merchant_reversal(c, k, refunded)
        assert now == half_up(Fraction((c - k) * refunded, c))
        assert 0 <= now - reversed_ <= r  # neither share is negative
        reversed_ = now
    assert reversed_ == c - k  # a full refund reverses exactly C - K


BAD_RATES: list[tuple[list[Any], str]] = [
    ([{"basis_points": 5}], "commissions.rates[0].commission_type"),
    ([{"commission_type": "t"}], "commissions.rates[0].basis_points"),
    (
        [{"commission_type": "t", "basis_points": 5}, {"commission_type": "u", "basis_points": -1}],
        "commissions.rates[1].basis_points",
    ),
    ([{"commission_type": "t", "basis_points": 10_001}], "commissions.rates[0].basis_points"),
    ([{"commission_type": "t", "basis_points": True}], "commissions.rates[0].basis_points"),
    ([{"commission_type": "t", "basis_points": 5, "fixed": -1}], "commissions.rates[0].fixed"),
    ([{"commission_type": "t", "basis_points": 5, "min": 10, "max": 5}], "commissions.rates[0].min"),
    ([{"commission_type": "t", "basis_points": 5, "currency": "eur"}], "commissions.rates[0].currency"),
    ([{"commission_type": "t", "basis_points": 5, "currency": "ZZZ"}], "commissions.rates[0].currency"),
    ([{"commission_type": "t", "basis_points": 5, "currency": "EURO"}], "commissions.rates[0].currency"),
    ([{"commission_type": "t", "basis_points": 5, "owner": "a b"}], "commissions.rates[0].owner"),
    ([{"commission_type": "t", "basis_points": 5, "rate": 1}], "commissions.rates[0].rate"),
    (
        [{"commission_type": "t", "basis_points": 5}, {"commission_type": "t", "basis_points": 6}],
        "commissions.rates[1]",
    ),
    (["t"], "commissions.rates[0]"),
]


@pytest.mark.parametrize(("raw", "path"), BAD_RATES)
def test_bad_rates_name_their_key_path(raw: list[Any], path: str) -> None:
    with pytest.raises(RatesError) as refused:
        parse_rates(raw)
    assert refused.value.path == path
    assert str(refused.value).startswith(path + ":")


def test_settings_sections_and_their_errors() -> None:
    """[commissions] and [invoices] as the config file gives them (the loader calls these parsers)."""
    raw = tomllib.loads(
        '[[commissions.rates]]\ncommission_type = "ticket_sale"\nbasis_points = 500\nfixed = 30\n\n'
        '[invoices]\nvat_basis_points = 2000\nseller_name = "Example SAS"\n'
    )
    loaded = parse_settings(raw)
    assert loaded.rates == Rates((Rate("ticket_sale", None, None, 500, 30),))
    assert loaded.invoices.vat_basis_points == 2000
    for text, path in [
        ("[invoices]\nvat_basis_points = 20.5\n", "invoices.vat_basis_points"),
        ("[invoices]\ncolour = 1\n", "invoices.colour"),
        ('[[commissions.rates]]\ncommission_type = "t"\n', "commissions.rates[0].basis_points"),
        ("[shipping]\n", "shipping"),
    ]:
        with pytest.raises(SettingsError, match=path.replace("[", r"\[").replace("]", r"\]")):
            parse_settings(tomllib.loads(text))


VAT = [
    (2500, 2000, (2083, 417)),  # 25.00 incl. 20 %: 20.833 -> 20.83
    (4990, 550, (4730, 260)),  # 49.90 incl. 5.5 %: 47.298 -> 47.30
    (1, 2000, (1, 0)),  # 0.83 cent of net -> 1: no VAT on one cent
    (105, 500, (100, 5)),
    (1000, 0, (1000, 0)),
]


@pytest.mark.parametrize(("gross", "bp", "expected"), VAT)
def test_vat_per_line(gross: int, bp: int, expected: tuple[int, int]) -> None:
    assert vat_split(gross, bp) == expected


@given(gross=st.integers(0, 10**12), bp=st.integers(0, 10_000))
def test_vat_split_adds_up(gross: int, bp: int) -> None:
    net, vat = vat_split(gross, bp)
    assert net + vat == gross and vat >= 0
    assert net == half_up(Fraction(gross * 10_000, 10_000 + bp))


@pytest.mark.parametrize(
    ("text", "bp"), [("20", 2000), ("5.5", 550), ("0", 0), ("100", 10_000), ("2.10", 210)]
)
def test_vat_rate_text(text: str, bp: int) -> None:
    assert parse_vat_rate(text) == bp


@pytest.mark.parametrize("text", ["", "x", "-1", "100.01", "5.555", "nan", "inf", "1e3"])
def test_bad_vat_rate_text(text: str) -> None:
    assert parse_vat_rate(text) is None


NOW = 1_800_000_000_000  # 2027-01-15 UTC
SETTINGS = LedgerSettings(invoices=InvoiceSettings(vat_basis_points=2000))
CUSTOMER = {"customer_email": "bob@example.com"}


def _facts(pid: str, metadata: dict[str, str], captured: int = 2500) -> postings.PaymentFacts:
    return postings.PaymentFacts(pid, "sandbox", "EUR", "alice", None, captured, 0, metadata)


async def test_numbers_are_gap_free_and_a_rollback_takes_none(store: Store) -> None:
    def pay_then_fail(tx: Tx) -> None:
        postings.capture(tx, _facts("pay_rolled_back", CUSTOMER), SETTINGS, NOW)
        raise RuntimeError("the payment's write fails after its invoice was numbered")

    await store.write(lambda tx: postings.capture(tx, _facts("pay_1", CUSTOMER), SETTINGS, NOW))
    with pytest.raises(RuntimeError):
        await store.write(pay_then_fail)
    await store.write(lambda tx: postings.capture(tx, _facts("pay_2", {}), SETTINGS, NOW))  # no customer
    await store.write(lambda tx: postings.capture(tx, _facts("pay_3", CUSTOMER), SETTINGS, NOW))
    docs = [
        await store.read(functools.partial(invoices.of_payment, payment_id=p))
        for p in ("pay_1", "pay_2", "pay_3")
    ]
    assert [[d["id"] for d in ds] for ds in docs] == [["INV-2027-000001"], [], ["INV-2027-000002"]]
    assert docs[0][0]["total"] == 2500 and docs[0][0]["total_vat"] == 417


async def test_credit_notes_reverse_exactly_the_invoice_vat(store: Store) -> None:
    facts = _facts("pay_cn", {**CUSTOMER, "vat_rate": "5.5"}, captured=999)
    await store.write(lambda tx: postings.capture(tx, facts, SETTINGS, NOW))
    for refunded in (333, 666, 999):
        done = dataclasses.replace(facts, refunded=refunded)
        await store.write(functools.partial(postings.catch_up_refunds, p=done, settings=SETTINGS, now_ms=NOW))
    docs = await store.read(lambda tx: invoices.of_payment(tx, "pay_cn"))
    invoice, notes = docs[0], docs[1:]
    assert [n["id"] for n in notes] == ["CN-2027-000001", "CN-2027-000002", "CN-2027-000003"]
    assert sum(n["total"] for n in notes) == invoice["total"] == 999
    assert sum(n["total_vat"] for n in notes) == invoice["total_vat"] == vat_split(999, 550)[1]
    assert {n["invoice_id"] for n in notes} == {invoice["id"]}
