"""The ledger over HTTP on a real `payedge serve` (SPEC 6 shapes): payments post to wallets and
commissions, refunds reverse proportionally, withdrawals hold/post/void/expire, bad input is a 4xx
with a stable code and writes nothing."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.server.ledger.conftest import write_settings
from tests.server.ledger.http import balance, call, fund, owner, pay, trial_balance_holds
from tests.server.support import PAYEDGE, Server

CUSTOMER = {"customer_email": "bob@example.com", "customer_name": "Bob Martin"}


async def test_a_payment_credits_the_payee_minus_the_commission(
    ledger_server: Server, http: aiohttp.ClientSession
) -> None:
    who = owner()
    paid = await pay(http, ledger_server, 2500, payee=who, commission_type="ticket_sale", metadata=CUSTOMER)
    assert paid["payee"] == who and paid["commission_type"] == "ticket_sale"
    # K = round_half_up(2500 * 500 / 10000) + 30 = 155; the wallet gets 2345.
    assert await balance(http, ledger_server, who) == {
        "available": 2345,
        "pending_out": 0,
        "credited": 2345,
        "debited": 0,
    }
    status, docs = await call(http, ledger_server, "GET", f"/v1/invoices?payment_id={paid['id']}")
    assert status == 200 and len(docs["data"]) == 1
    invoice = docs["data"][0]
    assert (invoice["total"], invoice["total_vat"], invoice["total_net"]) == (2500, 417, 2083)
    assert invoice["customer"] == {"email": "bob@example.com", "name": "Bob Martin"}
    status, same = await call(http, ledger_server, "GET", f"/v1/invoices/{invoice['id']}")
    assert status == 200 and same == invoice
    status, transactions = await call(http, ledger_server, "GET", f"/v1/wallets/{who}/transactions")
    assert [(t["type"], t["direction"], t["amount"], t["ref"]) for t in transactions["data"]] == [
        ("payment", "credit", 2345, paid["id"])
    ]
    await trial_balance_holds(http, ledger_server)


async def test_a_payment_without_payee_or_commission_goes_whole_to_default(
    ledger_server: Server, http: aiohttp.ClientSession
) -> None:
    before = await balance(http, ledger_server, "default")
    paid = await pay(http, ledger_server, 1234)
    assert paid["payee"] == "default" and paid["commission_type"] is None
    after = await balance(http, ledger_server, "default")
    assert after["credited"] - before.get("credited", 0) == 1234


async def test_refunds_reverse_proportionally_and_a_full_refund_exactly(
    ledger_server: Server, http: aiohttp.ClientSession
) -> None:
    who = owner()
    paid = await pay(http, ledger_server, 2500, payee=who, commission_type="ticket_sale", metadata=CUSTOMER)
    _, revenue_before = await call(http, ledger_server, "GET", "/v1/ledger/accounts/platform:revenue:EUR")
    status, _ = await call(
        http, ledger_server, "POST", f"/v1/payments/{paid['id']}/refunds", {"amount": 1000}
    )
    assert status == 200
    # The merchant's total reversal is round_half_up(2345 * 1000 / 2500) = 938; the platform's 62.
    assert await balance(http, ledger_server, who) == {
        "available": 1407,
        "pending_out": 0,
        "credited": 2345,
        "debited": 938,
    }
    status, _ = await call(http, ledger_server, "POST", f"/v1/payments/{paid['id']}/refunds", {})
    assert status == 200
    assert (await balance(http, ledger_server, who))["available"] == 0
    _, revenue = await call(http, ledger_server, "GET", "/v1/ledger/accounts/platform:revenue:EUR")
    assert revenue["debits_posted"] - revenue_before["debits_posted"] == 155
    _, docs = await call(http, ledger_server, "GET", f"/v1/invoices?payment_id={paid['id']}")
    notes = [d for d in docs["data"] if d["object"] == "credit_note"]
    assert [n["total"] for n in notes] == [1000, 1500]
    assert sum(n["total_vat"] for n in notes) == docs["data"][0]["total_vat"]
    await trial_balance_holds(http, ledger_server)


async def test_a_refund_the_wallet_cannot_cover_is_402_and_changes_nothing(
    ledger_server: Server, http: aiohttp.ClientSession
) -> None:
    who = owner()
    paid = await pay(http, ledger_server, 1000, payee=who)
    status, withdrawal = await call(
        http, ledger_server, "POST", f"/v1/wallets/{who}/withdrawals", {"amount": 1000, "currency": "EUR"}
    )
    assert status == 201
    before = await balance(http, ledger_server, who)
    refund, key = f"/v1/payments/{paid['id']}/refunds", {"Idempotency-Key": "refund-" + who}
    status, body = await call(http, ledger_server, "POST", refund, {"amount": 10}, **key)
    assert status == 402 and body["error"]["code"] == "insufficient_funds", body
    _, payment = await call(http, ledger_server, "GET", f"/v1/payments/{paid['id']}")
    assert payment["status"] == "succeeded" and payment["amount_refunded"] == 0
    assert await balance(http, ledger_server, who) == before
    # The payout failed: the money is back in the wallet, and the refund goes through, with
    # the same key (a refusal before any work saves none: docs/ledger.md).
    status, _ = await call(http, ledger_server, "POST", f"/v1/withdrawals/{withdrawal['id']}/fail")
    assert status == 200
    status, done = await call(http, ledger_server, "POST", refund, {"amount": 10}, **key)
    assert status == 200 and done["status"] == "succeeded", done
    assert (await balance(http, ledger_server, who))["available"] == 990


@pytest.mark.parametrize(
    ("fields", "code", "param"),
    [
        ({"commission_type": "gift"}, "commission_type_unknown", "commission_type"),
        (
            {"commission_type": "template_sale", "currency": "USD"},
            "commission_type_unknown",
            "commission_type",
        ),
        ({"payee": "bad owner"}, "parameter_invalid", "payee"),
        ({"payee": "x" * 65}, "parameter_invalid", "payee"),
        ({"commission_type": 5}, "parameter_invalid", "commission_type"),
        ({"metadata": {"vat_rate": "twenty"}}, "parameter_invalid", "metadata[vat_rate]"),
    ],
)
async def test_bad_payment_ledger_fields_are_400(
    ledger_server: Server, http: aiohttp.ClientSession, fields: dict[str, Any], code: str, param: str
) -> None:
    body = {"amount": 100, "currency": "EUR", **fields}
    status, error = await call(http, ledger_server, "POST", "/v1/payments", body)
    assert status == 400 and error["error"]["code"] == code and error["error"]["param"] == param, error


async def test_withdrawal_lifecycle(ledger_server: Server, http: aiohttp.ClientSession) -> None:
    who = owner()
    await fund(http, ledger_server, who, 1000)
    path = f"/v1/wallets/{who}/withdrawals"
    status, w = await call(
        http, ledger_server, "POST", path, {"amount": 600, "currency": "EUR", "id": f"{who}-w1"}
    )
    assert status == 201 and w["status"] == "pending" and w["owner"] == who and w["amount"] == 600
    assert await balance(http, ledger_server, who) == {
        "available": 400,
        "pending_out": 600,
        "credited": 1000,
        "debited": 0,
    }
    status, again = await call(
        http, ledger_server, "POST", path, {"amount": 600, "currency": "EUR", "id": w["id"]}
    )
    assert status == 200 and again == w
    status, other = await call(
        http, ledger_server, "POST", path, {"amount": 601, "currency": "EUR", "id": w["id"]}
    )
    assert status == 409 and other["error"]["code"] == "transfer_exists_with_different_fields"
    status, done = await call(http, ledger_server, "POST", f"/v1/withdrawals/{w['id']}/complete")
    assert status == 200 and done["status"] == "completed"
    for action in ("complete", "fail"):
        status, body = await call(http, ledger_server, "POST", f"/v1/withdrawals/{w['id']}/{action}")
        assert status == 409 and body["error"]["code"] == "withdrawal_already_resolved"
    assert await balance(http, ledger_server, who) == {
        "available": 400,
        "pending_out": 0,
        "credited": 1000,
        "debited": 600,
    }
    status, w2 = await call(http, ledger_server, "POST", path, {"amount": 400, "currency": "EUR"})
    assert status == 201 and w2["id"].startswith("wd_")
    status, failed = await call(http, ledger_server, "POST", f"/v1/withdrawals/{w2['id']}/fail")
    assert status == 200 and failed["status"] == "failed"
    assert (await balance(http, ledger_server, who))["available"] == 400
    status, shown = await call(http, ledger_server, "GET", f"/v1/withdrawals/{w2['id']}")
    assert status == 200 and shown == failed
    status, missing = await call(http, ledger_server, "POST", "/v1/withdrawals/wd_nope/complete")
    assert status == 404 and missing["error"]["code"] == "withdrawal_not_found"


async def test_an_unpaid_withdrawal_expires_after_its_timeout(
    ledger_server: Server, http: aiohttp.ClientSession
) -> None:
    who = owner()
    await fund(http, ledger_server, who, 500)
    body = {"amount": 500, "currency": "EUR", "timeout_seconds": 1}
    status, w = await call(http, ledger_server, "POST", f"/v1/wallets/{who}/withdrawals", body)
    assert status == 201
    for _ in range(30):  # the sweeper runs every second
        if not (await balance(http, ledger_server, who))["pending_out"]:
            break
        await asyncio.sleep(0.2)
    assert await balance(http, ledger_server, who) == {
        "available": 500,
        "pending_out": 0,
        "credited": 500,
        "debited": 0,
    }
    status, late = await call(http, ledger_server, "POST", f"/v1/withdrawals/{w['id']}/complete")
    assert status == 409 and late["error"]["code"] == "pending_transfer_expired"
    _, shown = await call(http, ledger_server, "GET", f"/v1/withdrawals/{w['id']}")
    assert shown["status"] == "expired"


@pytest.mark.parametrize(
    "case",
    [
        ({"amount": 0, "currency": "EUR"}, 400, "amount_invalid", "amount"),
        ({"amount": -100, "currency": "EUR"}, 400, "amount_invalid", "amount"),
        ({"amount": "100", "currency": "EUR"}, 400, "amount_invalid", "amount"),
        ({"amount": 1.5, "currency": "EUR"}, 400, "amount_invalid", "amount"),
        ({"amount": True, "currency": "EUR"}, 400, "amount_invalid", "amount"),
        ({"currency": "EUR"}, 400, "parameter_missing", "amount"),
        ({"amount": 100}, 400, "parameter_missing", "currency"),
        ({"amount": 100, "currency": "EU"}, 400, "currency_invalid", "currency"),
        ({"amount": 100, "currency": "ABC"}, 400, "currency_invalid", "currency"),
        ({"amount": 100, "currency": "EUR", "id": "bad id"}, 400, "id_invalid", "id"),
        ({"amount": 100, "currency": "EUR", "fee": 1}, 400, "parameter_unknown", "fee"),
        (
            {"amount": 100, "currency": "EUR", "timeout_seconds": -1},
            400,
            "timeout_invalid",
            "timeout_seconds",
        ),
        (
            {"amount": 100, "currency": "EUR", "timeout_seconds": "3"},
            400,
            "timeout_invalid",
            "timeout_seconds",
        ),
        (
            {"amount": 100, "currency": "EUR", "timeout_seconds": 1.5},
            400,
            "timeout_invalid",
            "timeout_seconds",
        ),
        (
            {"amount": 100, "currency": "EUR", "timeout_seconds": True},
            400,
            "timeout_invalid",
            "timeout_seconds",
        ),
        ({"amount": 1001, "currency": "EUR"}, 402, "insufficient_funds", "amount"),
        ({"amount": 100, "currency": "USD"}, 402, "insufficient_funds", "amount"),
    ],
)
async def test_bad_withdrawals_are_refused_and_write_nothing(
    ledger_server: Server, http: aiohttp.ClientSession, case: tuple[dict[str, Any], int, str, str]
) -> None:
    body, status, code, param = case
    who = owner()
    await fund(http, ledger_server, who, 1000)
    before = await trial_balance_holds(http, ledger_server)
    got, error = await call(http, ledger_server, "POST", f"/v1/wallets/{who}/withdrawals", body)
    assert (got, error["error"]["code"], error["error"].get("param")) == (status, code, param), error
    assert await balance(http, ledger_server, who) == {
        "available": 1000,
        "pending_out": 0,
        "credited": 1000,
        "debited": 0,
    }
    assert await trial_balance_holds(http, ledger_server) == before


async def test_bad_owner_is_400(ledger_server: Server, http: aiohttp.ClientSession) -> None:
    for path in ("/v1/wallets/bad%20owner", "/v1/wallets/" + "x" * 65 + "/withdrawals"):
        method = "POST" if path.endswith("withdrawals") else "GET"
        status, error = await call(http, ledger_server, method, path, {"amount": 1, "currency": "EUR"})
        assert status == 400 and error["error"]["code"] == "id_invalid" and error["error"]["param"] == "owner"
    status, empty = await call(http, ledger_server, "GET", f"/v1/wallets/{owner()}")
    assert status == 200 and empty["balances"] == {}


async def test_withdrawal_with_idempotency_key_replays(
    ledger_server: Server, http: aiohttp.ClientSession
) -> None:
    who = owner()
    await fund(http, ledger_server, who, 300)
    path = f"/v1/wallets/{who}/withdrawals"
    body = {"amount": 200, "currency": "EUR"}
    async with http.post(
        ledger_server.url + path, json=body, headers=ledger_server.headers(**{"Idempotency-Key": who})
    ) as r1:
        first = await r1.json()
        assert r1.status == 201
    async with http.post(
        ledger_server.url + path, json=body, headers=ledger_server.headers(**{"Idempotency-Key": who})
    ) as r2:
        assert r2.status == 201 and r2.headers["Idempotent-Replayed"] == "true"
        assert await r2.json() == first
    assert (await balance(http, ledger_server, who))["pending_out"] == 200


async def test_a_withdrawal_refused_for_funds_is_retried_with_the_same_key(
    ledger_server: Server, http: aiohttp.ClientSession
) -> None:
    """docs/ledger.md: a refusal (402) writes nothing and saves no key; retried after funding, it works."""
    who = owner()
    await fund(http, ledger_server, who, 100)
    path, key = f"/v1/wallets/{who}/withdrawals", {"Idempotency-Key": "wd-" + who}
    body = {"amount": 250, "currency": "EUR"}
    status, refused = await call(http, ledger_server, "POST", path, body, **key)
    assert status == 402 and refused["error"]["code"] == "insufficient_funds", refused
    await fund(http, ledger_server, who, 200)
    status, made = await call(http, ledger_server, "POST", path, body, **key)
    assert status == 201 and made["amount"] == 250, made
    status, again = await call(http, ledger_server, "POST", path, body, **key)  # now kept: replayed
    assert (status, again) == (201, made)
    assert (await balance(http, ledger_server, who))["pending_out"] == 250


async def test_operator_batch_has_tigerbeetle_semantics(
    ledger_server: Server, http: aiohttp.ClientSession
) -> None:
    a, b = owner(), owner()
    ids = [f"{a}-{i}" for i in range(5)]
    batch = [
        {
            "id": ids[0],
            "debit_account": "external:bank:EUR",
            "credit_account": f"wallet:{a}:EUR",
            "amount": 500,
            "currency": "EUR",
        },
        {
            "id": ids[1],
            "debit_account": f"wallet:{a}:EUR",
            "credit_account": f"wallet:{b}:EUR",
            "amount": 200,
            "currency": "EUR",
            "linked": True,
        },
        {
            "id": ids[2],
            "debit_account": f"wallet:{b}:EUR",
            "credit_account": f"wallet:{a}:USD",
            "amount": 200,
            "currency": "EUR",
        },
        {
            "id": ids[3],
            "debit_account": f"wallet:{a}:EUR",
            "credit_account": f"wallet:{b}:EUR",
            "amount": 100,
            "currency": "EUR",
            "pending": True,
            "timeout_seconds": 60,
        },
        {"id": ids[4], "post_pending_id": ids[3], "amount": 60},
    ]
    status, body = await call(http, ledger_server, "POST", "/v1/ledger/transfers", {"transfers": batch})
    assert status == 200
    assert [r["result"] for r in body["results"]] == [
        "ok",
        "linked_event_failed",
        "currency_mismatch",
        "ok",
        "ok",
    ]
    assert [r["id"] for r in body["results"]] == ids
    assert await balance(http, ledger_server, a) == {
        "available": 440,
        "pending_out": 0,
        "credited": 500,
        "debited": 60,
    }
    retry = [batch[0], {**batch[4], "amount": 61}]
    status, body = await call(http, ledger_server, "POST", "/v1/ledger/transfers", {"transfers": retry})
    assert [r["result"] for r in body["results"]] == ["exists", "exists_with_different_fields"]
    status, account = await call(http, ledger_server, "GET", f"/v1/ledger/accounts/wallet:{a}:EUR")
    assert status == 200 and account == {
        "code": f"wallet:{a}:EUR",
        "currency": "EUR",
        "debits_posted": 60,
        "credits_posted": 500,
        "debits_pending": 0,
        "credits_pending": 0,
        "flags": {"debits_must_not_exceed_credits": True, "credits_must_not_exceed_debits": False},
    }
    await trial_balance_holds(http, ledger_server)


GOOD_TRANSFER = {"id": "a", "debit_account": "external:x:EUR", "credit_account": "wallet:y:EUR", "amount": 5,
                 "currency": "EUR"}  # fmt: skip


@pytest.mark.parametrize(
    ("transfers", "code", "param"),
    [
        ([], "parameter_invalid", "transfers"),
        ("x", "parameter_invalid", "transfers"),
        (
            [
                {
                    "id": "a",
                    "debit_account": "external:x:EUR",
                    "credit_account": "wallet:y:EUR",
                    "amount": "5",
                    "currency": "EUR",
                }
            ],
            "parameter_invalid",
            "transfers[0].amount",
        ),
        (
            [{"id": "a", "debit_account": "external:x:EUR", "credit_account": "wallet:y:EUR", "amount": 5}],
            "parameter_missing",
            "transfers[0].currency",
        ),
        (
            [{"id": "a", "pending": True, "post_pending_id": "b"}],
            "flags_are_mutually_exclusive",
            "transfers[0]",
        ),
        (
            [
                {
                    "id": "bad id",
                    "debit_account": "external:x:EUR",
                    "credit_account": "wallet:y:EUR",
                    "amount": 5,
                    "currency": "EUR",
                }
            ],
            "id_invalid",
            "transfers[0].id",
        ),
        ([{"id": "a", "colour": "red"}], "parameter_unknown", "transfers[0].colour"),
        ([5], "parameter_invalid", "transfers[0]"),
        # Each malformed field is named, whatever its neighbours (docs/ledger.md: transfers[1].amount).
        ([{**GOOD_TRANSFER, "linked": "yes"}], "parameter_invalid", "transfers[0].linked"),
        ([{**GOOD_TRANSFER, "timeout_seconds": "10"}], "timeout_invalid", "transfers[0].timeout_seconds"),
        ([{**GOOD_TRANSFER, "timeout_seconds": 1.5}], "timeout_invalid", "transfers[0].timeout_seconds"),
        (
            [GOOD_TRANSFER, {**GOOD_TRANSFER, "id": "b", "linked": 1}],
            "parameter_invalid",
            "transfers[1].linked",
        ),
    ],
)
async def test_malformed_batches_are_400(
    ledger_server: Server, http: aiohttp.ClientSession, transfers: Any, code: str, param: str
) -> None:
    status, error = await call(http, ledger_server, "POST", "/v1/ledger/transfers", {"transfers": transfers})
    assert status == 400 and error["error"]["code"] == code and error["error"]["param"] == param, error


async def test_accounts_and_invoices_not_found(ledger_server: Server, http: aiohttp.ClientSession) -> None:
    for path, status, code in [
        ("/v1/ledger/accounts/wallet:nobody-here:EUR", 404, "account_not_found"),
        ("/v1/ledger/accounts/wallet:x:ABC", 400, "account_code_invalid"),
        ("/v1/ledger/accounts/bank:x:EUR", 404, "account_not_found"),
        ("/v1/invoices/INV-1999-000001", 404, "invoice_not_found"),
        ("/v1/invoices/nope", 400, "id_invalid"),
        ("/v1/invoices", 400, "parameter_missing"),
        ("/v1/withdrawals/nope", 404, "withdrawal_not_found"),
    ]:
        got, error = await call(http, ledger_server, "GET", path)
        assert (got, error["error"]["code"]) == (status, code), path


async def test_wallet_transactions_page_with_a_cursor(
    ledger_server: Server, http: aiohttp.ClientSession
) -> None:
    who = owner()
    for amount in (1, 2, 3, 4, 5):
        await fund(http, ledger_server, who, amount)
    await fund(http, ledger_server, who, 7, "USD")
    seen: list[int] = []
    after = None
    for _ in range(10):
        query = f"?limit=2&currency=EUR{'&starting_after=' + after if after else ''}"
        status, page = await call(http, ledger_server, "GET", f"/v1/wallets/{who}/transactions{query}")
        assert status == 200
        seen += [t["amount"] for t in page["data"]]
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]
    assert seen == [5, 4, 3, 2, 1]
    _, both = await call(http, ledger_server, "GET", f"/v1/wallets/{who}/transactions?limit=100")
    assert [t["amount"] for t in both["data"]] == [7, 5, 4, 3, 2, 1] and not both["has_more"]
    status, error = await call(
        http, ledger_server, "GET", f"/v1/wallets/{who}/transactions?starting_after=nope"
    )
    assert status == 400 and error["error"]["param"] == "starting_after"


async def test_statistics(ledger_server: Server, http: aiohttp.ClientSession) -> None:
    who = owner()
    start = int(time.time()) - 1
    await pay(http, ledger_server, 2500, payee=who, commission_type="ticket_sale")
    await pay(http, ledger_server, 1000, payee=who, commission_type="template_sale")  # 150
    status, w = await call(
        http, ledger_server, "POST", f"/v1/wallets/{who}/withdrawals", {"amount": 100, "currency": "EUR"}
    )
    await call(http, ledger_server, "POST", f"/v1/withdrawals/{w['id']}/complete")
    status, stats = await call(http, ledger_server, "GET", f"/v1/wallets/{who}/statistics?from={start}")
    assert status == 200
    eur = stats["currencies"]["EUR"]
    assert (eur["credited"], eur["debited"], eur["net"]) == (2345 + 850, 100, 3095)
    assert eur["by_type"]["payment"] == {"count": 2, "credited": 3195, "debited": 0}
    assert eur["by_type"]["withdrawal"] == {"count": 1, "credited": 0, "debited": 100}
    status, commissions = await call(http, ledger_server, "GET", f"/v1/commissions/statistics?owner={who}")
    assert status == 200
    assert commissions["currencies"]["EUR"]["commission"] == 155 + 150
    assert commissions["currencies"]["EUR"]["by_type"]["template_sale"]["commission"] == 150
    status, none = await call(http, ledger_server, "GET", f"/v1/wallets/{who}/statistics?from=0&to=1")
    assert none["currencies"]["EUR"]["credited"] == 0
    status, error = await call(http, ledger_server, "GET", f"/v1/wallets/{who}/statistics?from=5&to=1")
    assert status == 400 and error["error"]["param"] == "to"


async def test_rates_and_projections(ledger_server: Server, http: aiohttp.ClientSession) -> None:
    status, rates = await call(http, ledger_server, "GET", "/v1/commissions/rates")
    assert status == 200
    assert rates["rates"][0] == {
        "commission_type": "ticket_sale",
        "owner": None,
        "currency": None,
        "basis_points": 500,
        "fixed": 30,
        "min": None,
        "max": None,
    }
    body = {
        "currency": "EUR",
        "sales": [
            {"commission_type": "ticket_sale", "amount": 2500, "count": 100},
            {"commission_type": "ticket_sale", "owner": "vip", "amount": 2500, "count": 10},
            {"amount": 990},
        ],
    }
    status, projection = await call(http, ledger_server, "POST", "/v1/commissions/projections", body)
    assert status == 200
    assert [line["commission_each"] for line in projection["lines"]] == [155, 25, 0]
    assert projection["totals"] == {"gross": 275_990, "commission": 15_750, "net": 260_240}
    bad = {"currency": "EUR", "sales": [{"commission_type": "gift", "amount": 1}]}
    status, error = await call(http, ledger_server, "POST", "/v1/commissions/projections", bad)
    assert status == 400 and error["error"]["code"] == "commission_type_unknown"


def test_a_bad_settings_file_stops_the_start(tmp_path: Path) -> None:
    path = write_settings(tmp_path)
    path.write_text('[[commissions.rates]]\ncommission_type = "t"\nbasis_points = 20000\n')
    done = subprocess.run(
        [PAYEDGE, "serve", "--data-dir", str(tmp_path / "d"), "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "commissions.rates[0]" in done.stderr and "basis_points" in done.stderr
