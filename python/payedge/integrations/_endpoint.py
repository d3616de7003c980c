"""Verify, dedupe, dispatch, answer: what every framework helper shares (SPEC 10).

A `StripeWebhooks` or `StandardWebhooks` endpoint holds the secrets, the
handlers by event type and the set of events already handled. A framework
helper hands it the raw body and a header getter, and turns the `Reply` it
gets back into its own response:

- a bad signature, header or secret: 400 `{"error": {"code", "message", "param"}}`
  with `payedge.SignatureError`'s code; a body that is not a JSON event: 400
  `invalid_payload`. The provider's retries cannot fix either.
- an event already handled (same id): 200 `{"received": true, "duplicate": true}`,
  the handler is not called again.
- the same event while another delivery of it is being handled: 409
  `in_flight`, so that the provider retries it later (answering 2xx could lose
  it if that other delivery then fails).
- a handler that raises: 500 `handler_failed` (logged, details not sent);
  the event is not marked handled, so the provider's retry runs it again.
- otherwise: 200 `{"received": true, "duplicate": false}` once the handler has
  returned; events with no handler for their type are acknowledged the same way.

Both providers count any 2xx as delivered and retry anything else (Stripe for up
to three days), which is what the statuses above rely on. Handlers run before the
answer: keep them quick, or queue the work. The event id marks it handled only
after its handler returned, in `deduper` (by default a `payedge.Deduper` with a
3-day TTL, in process memory; pass a shared one for several processes).
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, Protocol, TypeVar

import orjson

import payedge
from payedge.stripe_compat import Event
from payedge.stripe_compat._objects import make_event
from payedge.stripe_compat._verify import load_event_json

log = logging.getLogger("payedge.integrations")

E = TypeVar("E")
Handler = Callable[[E], object]
HeaderGetter = Callable[[str], str | None]

THREE_DAYS: Final = 3 * 86_400.0
_RECEIVED: Final = b'{"received":true,"duplicate":false}'
_DUPLICATE: Final = b'{"received":true,"duplicate":true}'


class SeenEvents(Protocol):
    """Where handled event ids are kept: `payedge.Deduper`, or a shared store."""

    def contains(self, key: str) -> bool: ...
    def check_and_insert(self, key: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Reply:
    """The HTTP answer for one delivery: a status and a JSON body."""

    status: int
    body: bytes
    content_type: str = "application/json"


def _error(status: int, code: str, message: str, param: str | None = None) -> Reply:
    error: dict[str, str] = {"code": code, "message": message}
    if param is not None:
        error["param"] = param
    return Reply(status, orjson.dumps({"error": error}))


_FAILED: Final = _error(500, "handler_failed", "the webhook handler failed; the delivery will be retried")
_IN_FLIGHT: Final = _error(409, "in_flight", "this event is being handled by another delivery; retry later")


@dataclass(frozen=True, slots=True)
class StandardEvent:
    """A verified Standard Webhooks message.

    `id`: the `webhook-id` header (the dedupe key); `type`: the payload's
    `"type"` ("" when it has none); `timestamp`: the `webhook-timestamp`
    header, UNIX seconds; `data`: the payload's `"data"` (None when absent);
    `payload`: the whole JSON body."""

    id: str
    type: str
    timestamp: int
    data: Any
    payload: Any


@dataclass(frozen=True, slots=True)
class _Delivery(Generic[E]):
    id: str
    type: str
    event: E


class WebhookEndpoint(Generic[E]):
    """Secrets, handlers by type and handled ids; `handle`/`handle_async` answer one delivery."""

    def __init__(
        self,
        secrets: str | Sequence[str],
        *,
        tolerance: int = 300,
        deduper: SeenEvents | None = None,
        handlers: Mapping[str, Handler[E]] | None = None,
    ) -> None:
        self.secrets = secrets
        self.tolerance = tolerance
        self.deduper: SeenEvents = deduper if deduper is not None else payedge.Deduper(ttl=THREE_DAYS)
        self.handlers: dict[str, Handler[E]] = dict(handlers or {})
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()

    def on(self, *event_types: str) -> Callable[[Handler[E]], Handler[E]]:
        """Decorator: call the function for events of these types (`"*"`: any type
        without a handler of its own). The function gets the event; its return
        value is ignored; a coroutine function is awaited by the async helpers."""

        def register(handler: Handler[E]) -> Handler[E]:
            for event_type in event_types:
                self.handlers[event_type] = handler
            return handler

        return register

    # -- the steps

    def _verify(self, body: bytes, header: HeaderGetter) -> _Delivery[E]:
        raise NotImplementedError

    def _admit(self, body: bytes, header: HeaderGetter) -> Reply | _Delivery[E]:
        """Verify and check for a duplicate; a delivery to handle, or the answer."""
        try:
            delivery = self._verify(body, header)
        except payedge.SignatureError as err:
            return _error(400, err.code, str(err), err.param)
        except ValueError as err:  # not a JSON event (JSONDecodeError included)
            return _error(400, "invalid_payload", f"the body is not a webhook event: {err}", "body")
        if self.deduper.contains(delivery.id):
            return Reply(200, _DUPLICATE)
        with self._lock:
            if delivery.id in self._in_flight:
                return _IN_FLIGHT
            self._in_flight.add(delivery.id)
        return delivery

    def _handler(self, delivery: _Delivery[E], fallback: Handler[E] | None) -> Handler[E] | None:
        return self.handlers.get(delivery.type) or self.handlers.get("*") or fallback

    def _finish(self, delivery: _Delivery[E], ok: bool) -> Reply:
        # marked handled before it leaves the in-flight set: no window for a second run
        if ok:
            self.deduper.check_and_insert(delivery.id)
        with self._lock:
            self._in_flight.discard(delivery.id)
        return Reply(200, _RECEIVED) if ok else _FAILED

    # -- one delivery

    def handle(self, body: bytes, header: HeaderGetter, fallback: Handler[E] | None = None) -> Reply:
        """Answer one delivery, calling its handler in this thread (WSGI frameworks).

        `header(name)` returns a request header (case-insensitive) or None;
        `fallback` handles types with no handler of their own. A handler that
        returns an awaitable here is a programming error: 500, and logged."""
        admitted = self._admit(body, header)
        if isinstance(admitted, Reply):
            return admitted
        handler = self._handler(admitted, fallback)
        try:
            result = handler(admitted.event) if handler is not None else None
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()
                raise TypeError(f"handler {handler!r} is async: use an async framework helper")
        except Exception:
            log.exception("webhook handler failed for event %s (%s)", admitted.id, admitted.type)
            return self._finish(admitted, False)
        return self._finish(admitted, True)

    async def handle_async(
        self, body: bytes, header: HeaderGetter, fallback: Handler[E] | None = None
    ) -> Reply:
        """Answer one delivery from an event loop: coroutine handlers are awaited,
        plain functions called in the loop's thread (keep them quick)."""
        admitted = self._admit(body, header)
        if isinstance(admitted, Reply):
            return admitted
        handler = self._handler(admitted, fallback)
        try:
            result = handler(admitted.event) if handler is not None else None
            if inspect.isawaitable(result):
                await _awaited(result)
        except Exception:
            log.exception("webhook handler failed for event %s (%s)", admitted.id, admitted.type)
            return self._finish(admitted, False)
        return self._finish(admitted, True)


async def _awaited(result: Awaitable[object]) -> None:
    await result


class StripeWebhooks(WebhookEndpoint[Event]):
    """Stripe webhooks: `Stripe-Signature` verified natively by `payedge.verify_stripe`
    (SPEC 2.1: any of `secrets` may match, for rotation; `tolerance` seconds of age),
    handlers get a `payedge.stripe_compat.Event` and are picked by `event.type`;
    the dedupe key is `event.id`."""

    header_name: Final = "Stripe-Signature"

    def _verify(self, body: bytes, header: HeaderGetter) -> _Delivery[Event]:
        payedge.verify_stripe(body, header(self.header_name), self.secrets, tolerance=self.tolerance)
        event = make_event(load_event_json(body, body))
        event_id, event_type = event.get("id"), event.get("type")
        if not isinstance(event_id, str) or not event_id:
            raise ValueError("the event has no id")
        return _Delivery(event_id, event_type if isinstance(event_type, str) else "", event)


class StandardWebhooks(WebhookEndpoint[StandardEvent]):
    """Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`;
    `whsec_<base64>` secrets) verified natively by `payedge.verify_standard`;
    handlers get a `StandardEvent` picked by the payload's `"type"`; the dedupe
    key is `webhook-id`."""

    header_names: Final = ("webhook-id", "webhook-timestamp", "webhook-signature")

    def _verify(self, body: bytes, header: HeaderGetter) -> _Delivery[StandardEvent]:
        headers = {name: value for name in self.header_names if (value := header(name)) is not None}
        msg_id = payedge.verify_standard(body, headers, self.secrets, tolerance=self.tolerance)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as err:
            raise ValueError(str(err)) from None
        fields = payload if isinstance(payload, dict) else {}
        event_type = fields.get("type")
        event = StandardEvent(
            id=msg_id,
            type=event_type if isinstance(event_type, str) else "",
            timestamp=int(headers["webhook-timestamp"]),
            data=fields.get("data"),
            payload=payload,
        )
        return _Delivery(msg_id, event.type, event)
