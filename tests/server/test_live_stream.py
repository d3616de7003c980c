"""The WebSocket stream over the real hub: subscribe, snapshots, events, heartbeats, shutdown."""

from __future__ import annotations

import asyncio
import threading
import time

from aiohttp import WSMsgType

from tests.server.live_support import (
    API_KEY,
    AUTH,
    Payments,
    live_client,
    receive,
    subscribe,
)


async def test_subscriber_receives_snapshot_then_each_change() -> None:
    payments = Payments()
    async with live_client(payments) as (client, hub):
        payments.set(hub, "pay_1", "requires_confirmation")
        ws = await client.ws_connect("/v1/stream", headers=AUTH)
        await subscribe(ws, "payment:pay_1")
        snapshot = await receive(ws)
        assert snapshot == {
            "type": "snapshot",
            "channel": "payment:pay_1",
            "version": 1,
            "data": {"type": "payment.updated", "version": 1, "payment": payments.by_id["pay_1"]},
        }
        payments.set(hub, "pay_1", "processing")
        payments.set(hub, "pay_1", "succeeded")
        first, second = await receive(ws), await receive(ws)
        assert (first["type"], first["version"], first["data"]["payment"]["status"]) == (
            "event",
            2,
            "processing",
        )
        assert (second["type"], second["version"], second["data"]["payment"]["status"]) == (
            "event",
            3,
            "succeeded",
        )
        await ws.close()


async def test_only_subscribed_channels_are_delivered_and_star_gets_everything() -> None:
    payments = Payments()
    async with live_client(payments) as (client, hub):
        payments.set(hub, "pay_a", "requires_confirmation")
        payments.set(hub, "pay_b", "requires_confirmation")
        one = await client.ws_connect("/v1/stream", headers=AUTH)
        everything = await client.ws_connect("/v1/stream", headers=AUTH)
        await subscribe(one, "payment:pay_a")
        assert (await receive(one))["type"] == "snapshot"
        await subscribe(everything, "*")

        payments.set(hub, "pay_b", "succeeded")
        hub.publish("terminal:t1", {"version": 7, "queue": 2})
        payments.set(hub, "pay_a", "failed")

        got = await receive(one)
        assert (got["channel"], got["data"]["payment"]["status"]) == ("payment:pay_a", "failed")
        seen = [await receive(everything) for _ in range(3)]
        assert [(m["channel"], m["version"]) for m in seen] == [
            ("payment:pay_b", 2),
            ("terminal:t1", 7),
            ("payment:pay_a", 2),
        ]
        # pay_b's change never reached the client subscribed to pay_a only
        payments.set(hub, "pay_a", "canceled")
        assert (await receive(one))["data"]["payment"]["status"] == "canceled"


async def test_unsubscribe_stops_events() -> None:
    payments = Payments()
    async with live_client(payments) as (client, hub):
        payments.set(hub, "pay_1", "requires_confirmation")
        payments.set(hub, "pay_2", "requires_confirmation")
        ws = await client.ws_connect("/v1/stream", headers=AUTH)
        await subscribe(ws, "payment:pay_1", "payment:pay_2")
        assert {(await receive(ws))["channel"] for _ in range(2)} == {"payment:pay_1", "payment:pay_2"}
        await ws.send_json({"op": "unsubscribe", "channels": ["payment:pay_1"]})
        assert await receive(ws) == {"type": "unsubscribed", "channels": ["payment:pay_1"]}
        payments.set(hub, "pay_1", "succeeded")
        payments.set(hub, "pay_2", "succeeded")
        got = await receive(ws)
        assert (got["channel"], got["version"]) == ("payment:pay_2", 2)


async def test_unknown_payment_and_bad_messages_get_errors_and_keep_the_connection() -> None:
    payments = Payments()
    async with live_client(payments) as (client, hub):
        ws = await client.ws_connect("/v1/stream", headers=AUTH)
        await subscribe(ws, "payment:pay_nope")
        error = await receive(ws)
        assert (error["type"], error["code"], error["channel"]) == (
            "error",
            "payment_not_found",
            "payment:pay_nope",
        )

        await ws.send_str("{not json")
        assert (await receive(ws))["code"] == "invalid_json"
        await ws.send_json({"op": "subscribe", "channels": ["bogus:1"]})
        assert (await receive(ws))["code"] == "parameter_invalid"
        await ws.send_json({"op": "subscribe", "channels": "payment:pay_1"})
        assert (await receive(ws))["code"] == "parameter_invalid"
        await ws.send_json({"op": "dance"})
        assert (await receive(ws))["code"] == "parameter_invalid"
        await ws.send_json({"op": "subscribe", "channels": [f"session:s{i}" for i in range(1001)]})
        assert (await receive(ws))["code"] == "too_many_channels"

        # still usable; and the unknown payment was not left subscribed
        payments.set(hub, "pay_nope", "succeeded")
        payments.set(hub, "pay_1", "succeeded")
        await subscribe(ws, "payment:pay_1")
        got = await receive(ws)
        assert (got["type"], got["channel"]) == ("snapshot", "payment:pay_1")


async def test_snapshot_never_arrives_after_a_newer_event() -> None:
    """A change published while the snapshot is being read wins; versions never go backwards."""
    payments = Payments()
    async with live_client(payments) as (client, hub):
        payments.set(hub, "pay_1", "requires_confirmation")
        # the store read returns version 1 while version 2 is being published
        payments.after_read = lambda: payments.set(hub, "pay_1", "succeeded")
        ws = await client.ws_connect("/v1/stream", headers=AUTH)
        await subscribe(ws, "payment:pay_1")
        got = await receive(ws)
        assert (got["type"], got["version"], got["data"]["payment"]["status"]) == ("event", 2, "succeeded")
        payments.set(hub, "pay_1", "partially_refunded")
        assert (await receive(ws))["version"] == 3


async def test_publish_from_another_thread_reaches_subscribers() -> None:
    payments = Payments()
    async with live_client(payments) as (client, hub):
        payments.set(hub, "pay_1", "processing")
        ws = await client.ws_connect("/v1/stream", headers=AUTH)
        await subscribe(ws, "payment:pay_1")
        await receive(ws)
        thread = threading.Thread(target=payments.set, args=(hub, "pay_1", "succeeded"))
        thread.start()
        thread.join(5)
        got = await receive(ws)
        assert (got["version"], got["data"]["payment"]["status"]) == (2, "succeeded")


async def test_heartbeats_and_pings_when_idle() -> None:
    payments = Payments()
    async with live_client(payments, heartbeat=0.2) as (client, _hub):
        ws = await client.ws_connect("/v1/stream", headers=AUTH, autoping=False)
        saw_ping = saw_heartbeat = False
        deadline = time.monotonic() + 5
        while not (saw_ping and saw_heartbeat) and time.monotonic() < deadline:
            msg = await asyncio.wait_for(ws.receive(), 5)
            if msg.type == WSMsgType.PING:
                saw_ping = True
                await ws.pong(msg.data)
            elif msg.type == WSMsgType.TEXT:
                saw_heartbeat = saw_heartbeat or msg.json() == {"type": "heartbeat"}
        assert saw_ping and saw_heartbeat


async def test_stream_requires_the_api_key_header_or_token_parameter() -> None:
    payments = Payments()
    async with live_client(payments) as (client, hub):
        payments.set(hub, "pay_1", "succeeded")
        refused = await client.get("/v1/stream")
        assert refused.status == 401
        refused = await client.get("/v1/stream", params={"token": "sk_wrong"})
        assert refused.status == 401
        # the token parameter is for the live routes only
        other = await client.get("/v1/payments/pay_1", params={"token": API_KEY})
        assert other.status == 401
        ws = await client.ws_connect("/v1/stream", params={"token": API_KEY})
        await subscribe(ws, "payment:pay_1")
        assert (await receive(ws))["data"]["payment"]["status"] == "succeeded"
        js = await client.get("/static/payedge.js")
        assert js.status == 200 and "PayedgeStatus" in await js.text()
        page = await client.get("/static/status.html")
        assert page.status == 200 and "payedge.js" in await page.text()


async def test_shutdown_closes_sockets_and_answers_long_pollers_promptly() -> None:
    payments = Payments()
    async with live_client(payments) as (client, hub):
        payments.set(hub, "pay_1", "processing")
        sockets = [await client.ws_connect("/v1/stream", headers=AUTH) for _ in range(3)]
        for ws in sockets:
            await subscribe(ws, "payment:pay_1")
            await receive(ws)
        poll = asyncio.create_task(
            client.get("/v1/payments/pay_1/status", params={"wait": "60", "since": "1"}, headers=AUTH)
        )
        await asyncio.sleep(0.2)
        assert hub.client_count == 3
        started = time.monotonic()
        await client.server.close()  # runs on_shutdown and the cleanup contexts, as SIGTERM does
        assert time.monotonic() - started < 5
        for ws in sockets:
            msg = await asyncio.wait_for(ws.receive(), 5)
            assert (msg.type, msg.data) == (WSMsgType.CLOSE, 1001)  # going away
        answer = await asyncio.wait_for(poll, 5)
        assert answer.status == 200
        assert (await answer.json())["status"] == "processing"
        assert hub.client_count == 0


async def test_subscribing_to_many_channels_at_once_is_not_mistaken_for_a_slow_client() -> None:
    payments = Payments()
    async with live_client(payments, queue_size=16) as (client, hub):
        ids = [f"pay_{i}" for i in range(300)]
        for payment_id in ids:
            payments.set(hub, payment_id, "processing")
        ws = await client.ws_connect("/v1/stream", headers=AUTH)
        await subscribe(ws, *(f"payment:{i}" for i in ids))
        snapshots = [await receive(ws) for _ in ids]
        assert {m["channel"] for m in snapshots} == {f"payment:{i}" for i in ids}
        assert hub.dropped == 0
        payments.set(hub, "pay_299", "succeeded")
        assert (await receive(ws))["data"]["payment"]["status"] == "succeeded"
