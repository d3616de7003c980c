"""Idempotency-Key semantics (SPEC 3) on the real server, including concurrency and restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from tests.server.support import Server, running_server
from tests.support import stores


async def post_raw(
    http: aiohttp.ClientSession, server: Server, path: str, body: bytes, key: str | None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = server.headers(**({"Idempotency-Key": key} if key is not None else {}))
    async with http.post(server.url + path, data=body, headers=headers) as resp:
        return resp.status, await resp.json(), dict(resp.headers)


async def count_payments(http: aiohttp.ClientSession, server: Server, order_ref: str) -> int:
    async with http.get(
        server.url + f"/v1/payments?order_ref={order_ref}&limit=100", headers=server.headers()
    ) as resp:
        return len((await resp.json())["data"])


async def test_replay_mismatch_and_key_rules(server: Server, http: aiohttp.ClientSession) -> None:
    body = b'{"amount": 500, "currency": "EUR", "order_ref": "idem-1"}'
    s1, p1, h1 = await post_raw(http, server, "/v1/payments", body, "key-1")
    assert s1 == 201 and "Idempotent-Replayed" not in h1
    # Same request, keys in another order and other whitespace: same fingerprint -> replay.
    same = b'{"order_ref":"idem-1","currency":"EUR","amount":500}'
    s2, p2, h2 = await post_raw(http, server, "/v1/payments", same, "key-1")
    assert (s2, p2) == (s1, p1) and h2["Idempotent-Replayed"] == "true"
    s3, e3, _ = await post_raw(http, server, "/v1/payments", b'{"amount": 501, "currency": "EUR"}', "key-1")
    assert s3 == 422 and e3["error"]["code"] == "idempotency_key_mismatch"
    assert await count_payments(http, server, "idem-1") == 1
    s4, e4, _ = await post_raw(http, server, "/v1/payments", body, "k" * 256)
    assert s4 == 400 and e4["error"]["code"] == "idempotency_key_invalid"
    s5, _, _ = await post_raw(http, server, "/v1/payments", body, "k" * 255)
    assert s5 == 201


async def test_refused_before_work_is_not_saved(server: Server, http: aiohttp.ClientSession) -> None:
    s1, _, _ = await post_raw(http, server, "/v1/payments", b'{"amount": -1, "currency": "EUR"}', "key-2")
    assert s1 == 400
    # Not saved: the same key with a corrected request does the work.
    s2, _, h2 = await post_raw(http, server, "/v1/payments", b'{"amount": 1, "currency": "EUR"}', "key-2")
    assert s2 == 201 and "Idempotent-Replayed" not in h2


async def test_results_after_work_are_saved_even_errors(server: Server, http: aiohttp.ClientSession) -> None:
    _, p, _ = await post_raw(
        http,
        server,
        "/v1/payments",
        b'{"amount": 9, "currency": "EUR", "payment_method": "pm_sandbox_unavailable"}',
        None,
    )
    path = f"/v1/payments/{p['id']}/confirm"
    s1, e1, _ = await post_raw(http, server, path, b"", "key-3")
    assert s1 == 503 and e1["error"]["code"] == "gateway_unavailable"
    s2, e2, h2 = await post_raw(http, server, path, b"", "key-3")
    assert (s2, e2) == (s1, e1) and h2["Idempotent-Replayed"] == "true"
    # A new key retries for real.
    s3, _, _ = await post_raw(http, server, path, b'{"payment_method": "pm_sandbox_ok"}', "key-4")
    assert s3 == 200


async def test_a_providers_decline_is_saved_and_replayed(server: Server, http: aiohttp.ClientSession) -> None:
    """A 402 decline comes after the provider was asked: replayed, never a second attempt.
    (A 402 refusal before any work, a wallet short of funds, is not saved: tests/server/ledger.)"""
    body = b'{"amount": 11, "currency": "EUR", "payment_method": "pm_sandbox_decline"}'
    _, p, _ = await post_raw(http, server, "/v1/payments", body, None)
    path = f"/v1/payments/{p['id']}/confirm"
    s1, e1, _ = await post_raw(http, server, path, b"", "key-decline")
    assert s1 == 402 and e1["error"]["code"] == "card_declined", e1
    s2, e2, h2 = await post_raw(http, server, path, b"", "key-decline")
    assert (s2, e2) == (s1, e1) and h2["Idempotent-Replayed"] == "true"
    async with http.get(server.url + f"/v1/payments/{p['id']}", headers=server.headers()) as resp:
        assert len((await resp.json())["attempts"]) == 1


async def test_concurrent_same_key_never_two_payments(server: Server, http: aiohttp.ClientSession) -> None:
    for round_ in range(5):
        ref = f"idem-concurrent-{round_}"
        body = f'{{"amount": 700, "currency": "EUR", "order_ref": "{ref}"}}'.encode()
        results = await asyncio.gather(
            *(post_raw(http, server, "/v1/payments", body, f"key-c-{round_}") for _ in range(8))
        )
        created = {p["id"] for s, p, _ in results if s == 201}
        assert len(created) == 1
        for status, answer, _ in results:
            assert status in (201, 409), answer
            if status == 409:
                assert answer["error"]["code"] == "idempotency_key_in_flight"
        assert await count_payments(http, server, ref) == 1


async def test_saved_responses_survive_restart(tmp_path: Path) -> None:
    body = b'{"amount": 42, "currency": "JPY", "order_ref": "restart"}'
    async with aiohttp.ClientSession() as http:
        with running_server(tmp_path / "data") as srv:
            s1, p1, _ = await post_raw(http, srv, "/v1/payments", body, "key-restart")
            assert s1 == 201
        with running_server(tmp_path / "data") as srv:
            s2, p2, h2 = await post_raw(http, srv, "/v1/payments", body, "key-restart")
            assert (s2, p2) == (s1, p1) and h2["Idempotent-Replayed"] == "true"
            s3, _, _ = await post_raw(
                http, srv, "/v1/payments", b'{"amount": 1, "currency": "JPY"}', "key-restart"
            )
            assert s3 == 422
            assert await count_payments(http, srv, "restart") == 1


async def test_refund_interrupted_after_reservation_resumes_once(tmp_path: Path) -> None:
    """A crash after the refund was reserved (and maybe sent to the gateway) but before its
    result was written: the client's retry with the same key resumes THAT refund."""
    data = tmp_path / "data"
    async with aiohttp.ClientSession() as http:
        with running_server(data) as srv:
            _, p, _ = await post_raw(
                http,
                srv,
                "/v1/payments",
                b'{"amount": 1000, "currency": "EUR", "payment_method": "pm_sandbox_ok"}',
                None,
            )
            s, _, _ = await post_raw(http, srv, f"/v1/payments/{p['id']}/confirm", b"", None)
            assert s == 200
        # What the crash left behind: a reserved refund, no saved response.
        stores.rows_at(
            data,
            "INSERT INTO refunds (id, payment_id, amount, status, request_key, created_at) "
            "VALUES ('re_crashed', ?, 600, 'pending', 'refund-key', 0)",
            (p["id"],),
        )
        with running_server(data) as srv:
            path = f"/v1/payments/{p['id']}/refunds"
            s1, r1, _ = await post_raw(http, srv, path, b'{"amount": 600}', "refund-key")
            assert s1 == 200 and r1["id"] == "re_crashed" and r1["payment"]["amount_refunded"] == 600
            s2, r2, h2 = await post_raw(http, srv, path, b'{"amount": 600}', "refund-key")
            assert (s2, r2) == (s1, r1) and h2["Idempotent-Replayed"] == "true"
            s3, e3, _ = await post_raw(http, srv, path, b'{"amount": 600}', "another-key")
            assert s3 == 400 and e3["error"]["code"] == "refund_exceeds_captured"
