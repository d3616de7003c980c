"""The shared endpoint: concurrency, the dedupe store and the event given to handlers (SPEC 10)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from payedge.integrations import StandardEvent, StandardWebhooks, StripeWebhooks
from payedge.stripe_compat import Event

from tests.integrations.scenario import STANDARD_SECRET, STRIPE_SECRET, standard_delivery, stripe_delivery


def test_a_second_delivery_while_the_first_is_handled_is_retried_later() -> None:
    """409 (not 2xx) for the concurrent copy: if the first then failed, nothing is lost."""
    endpoint = StripeWebhooks(STRIPE_SECRET)
    entered, release = threading.Event(), threading.Event()
    calls: list[str] = []

    @endpoint.on("payment_intent.succeeded")
    def slow(event: Event) -> None:
        calls.append(event.id)
        entered.set()
        assert release.wait(10)

    delivery = stripe_delivery("evt_1", "payment_intent.succeeded")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(endpoint.handle, delivery.body, delivery.headers.get)
        assert entered.wait(10)
        second = endpoint.handle(delivery.body, delivery.headers.get)
        assert second.status == 409
        assert json.loads(second.body)["error"]["code"] == "in_flight"
        release.set()
        assert first.result(10).status == 200
    assert endpoint.handle(delivery.body, delivery.headers.get).status == 200
    assert json.loads(endpoint.handle(delivery.body, delivery.headers.get).body)["duplicate"] is True
    assert calls == ["evt_1"]


class DictSeen:
    """A dedupe store of the app's own (one shared by several processes, say)."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def contains(self, key: str) -> bool:
        return key in self.ids

    def check_and_insert(self, key: str) -> bool:
        new = key not in self.ids
        self.ids.add(key)
        return new


def test_the_dedupe_store_is_pluggable_and_written_after_success() -> None:
    seen = DictSeen()
    endpoint = StripeWebhooks(STRIPE_SECRET, deduper=seen)
    failures = [RuntimeError("first try fails")]

    @endpoint.on("*")
    def any_type(event: Event) -> None:
        if failures:
            raise failures.pop()

    delivery = stripe_delivery("evt_7", "invoice.paid")
    assert endpoint.handle(delivery.body, delivery.headers.get).status == 500
    assert seen.ids == set()
    assert endpoint.handle(delivery.body, delivery.headers.get).status == 200
    assert seen.ids == {"evt_7"}


async def test_standard_events_carry_their_headers_and_payload() -> None:
    endpoint = StandardWebhooks([STANDARD_SECRET], tolerance=60)
    got: list[StandardEvent] = []

    @endpoint.on("payment.succeeded")
    async def paid(event: StandardEvent) -> None:
        got.append(event)

    delivery = standard_delivery("msg_42", "payment.succeeded")
    reply = await endpoint.handle_async(
        delivery.body, {k.lower(): v for k, v in delivery.headers.items()}.get
    )
    assert reply.status == 200
    (event,) = got
    assert event.id == "msg_42" and event.type == "payment.succeeded"
    assert event.timestamp == int(delivery.headers["Webhook-Timestamp"])
    assert event.data == {"amount": 700} and event.payload["timestamp"] == "2026-11-21T10:00:00Z"
