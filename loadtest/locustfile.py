"""Locust scenarios against a running `payedge serve` (`make loadtest` starts one).

    python -m locust -f loadtest/locustfile.py --host http://127.0.0.1:8080 \\
        --headless -u 40 -r 20 -t 20s

Environment: PAYEDGE_API_KEY (the server's API key) and PAYEDGE_STRIPE_WEBHOOK_SECRET
(one of its `--stripe-webhook-secret`s). Run from the repository root with
`python -m locust` so `bench.http.events` (the event template and signer) imports.

- CheckoutUser: create a sandbox payment (`pm_sandbox_ok`, an Idempotency-Key) and
  confirm it; the confirmation must answer `succeeded`.
- WebhookStormUser: Stripe-signed `payment_intent.succeeded` events, about 10%
  of them re-deliveries of a recent event, which must be answered `duplicate: true`.
- StatusPollUser: long-polls `/v1/payments/{id}/status` of payments the checkout
  users created (`wait=2`, `since=` the version it has).
"""

from __future__ import annotations

import collections
import itertools
import os
import random
import time
import uuid
from typing import Any

import orjson
from locust import FastHttpUser, between, task

from bench.http.events import body, sign_stripe, template

API_KEY = os.environ.get("PAYEDGE_API_KEY", "sk_loadtest_key_0123456789")
WEBHOOK_SECRET = os.environ.get("PAYEDGE_STRIPE_WEBHOOK_SECRET", "whsec_loadtest_secret_0123456789")
AUTH = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
DUPLICATE_SHARE = 0.10

# Shared by the users of this locust process (greenlets: no locking needed).
CREATED: collections.deque[str] = collections.deque(maxlen=2000)
SENT_EVENTS: collections.deque[tuple[str, bytes, str]] = collections.deque(maxlen=500)
_SEQ = itertools.count()
_RUN = uuid.uuid4().hex[:10]


class CheckoutUser(FastHttpUser):
    weight = 2
    wait_time = between(0, 0.05)

    @task
    def checkout(self) -> None:
        payload = {"amount": random.randint(100, 50_000), "currency": "eur", "gateway": "sandbox"}
        payload["payment_method"] = "pm_sandbox_ok"
        headers = {**AUTH, "Idempotency-Key": uuid.uuid4().hex}
        with self.client.post(
            "/v1/payments", data=orjson.dumps(payload), headers=headers, name="create", catch_response=True
        ) as resp:
            if resp.status_code not in (200, 201):
                resp.failure(f"create answered {resp.status_code}: {resp.text[:200]}")
                return
            payment_id = resp.json()["id"]
        CREATED.append(payment_id)
        headers = {**AUTH, "Idempotency-Key": uuid.uuid4().hex}
        with self.client.post(
            f"/v1/payments/{payment_id}/confirm",
            data=b"{}",
            headers=headers,
            name="confirm",
            catch_response=True,
        ) as resp:
            if resp.status_code != 200:
                resp.failure(f"confirm answered {resp.status_code}: {resp.text[:200]}")
            elif resp.json().get("status") != "succeeded":
                resp.failure(f"confirmed payment is {resp.json().get('status')!r}, not succeeded")


class WebhookStormUser(FastHttpUser):
    weight = 2
    wait_time = between(0, 0.01)

    def on_start(self) -> None:
        self.tpl = template(int(time.time()))

    @task
    def deliver(self) -> None:
        duplicate = bool(SENT_EVENTS) and random.random() < DUPLICATE_SHARE
        if duplicate:
            event_id, raw, _ = random.choice(SENT_EVENTS)
            signature = sign_stripe(raw, WEBHOOK_SECRET, int(time.time()))  # a re-delivery is re-signed
        else:
            n = next(_SEQ)
            event_id = f"evt_load{_RUN}{n:09d}"
            raw = body(self.tpl, event_id, f"pi_load{_RUN}{n:09d}")
            signature = sign_stripe(raw, WEBHOOK_SECRET, int(time.time()))
        headers = {"Content-Type": "application/json", "Stripe-Signature": signature}
        name = "webhook (duplicate)" if duplicate else "webhook"
        with self.client.post(
            "/v1/webhooks/stripe", data=raw, headers=headers, name=name, catch_response=True
        ) as resp:
            if resp.status_code != 200:
                resp.failure(f"webhook answered {resp.status_code}: {resp.text[:200]}")
                return
            answer: dict[str, Any] = resp.json()
            if answer.get("duplicate") is not duplicate:
                resp.failure(f"{event_id}: duplicate={answer.get('duplicate')!r}, expected {duplicate}")
                return
        if not duplicate:
            SENT_EVENTS.append((event_id, raw, signature))


class StatusPollUser(FastHttpUser):
    """Reads a payment's status, then long-polls for its next change (at most 1 s)."""

    weight = 1
    wait_time = between(0, 0.1)

    def status(self, payment_id: str, since: int, wait: int, name: str) -> dict[str, Any] | None:
        with self.client.get(
            f"/v1/payments/{payment_id}/status?wait={wait}&since={since}",
            headers=AUTH,
            name=name,
            catch_response=True,
        ) as resp:
            if resp.status_code != 200:
                resp.failure(f"status answered {resp.status_code}: {resp.text[:200]}")
                return None
            current: dict[str, Any] = resp.json()
            if current.get("id") != payment_id:
                resp.failure("status of another payment")
                return None
            return current

    @task
    def poll(self) -> None:
        if not CREATED:
            time.sleep(0.05)  # gevent-patched: yields to the other users
            return
        # half the time the newest payment (likely being confirmed now: the long-poll wakes on it)
        payment_id = CREATED[-1] if random.random() < 0.5 else random.choice(CREATED)
        current = self.status(payment_id, 0, 0, "status")
        if current is not None:
            self.status(payment_id, int(current["version"]), 1, "status (long-poll 1 s)")
