"""What the four fakes share: settings, the error edge, latency, faults and the admin API.

A provider module builds its aiohttp app with `make_app`, gives it its error shapes
(`ErrorShapes`) and its payer side (`PayerSide`), and raises `Reject(response)` from a
handler to answer with one of its documented error bodies. Nothing a client sends can
produce a traceback: the edge middleware turns any unexpected exception into the
provider's own 500 body.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from aiohttp import web

from payedge_server.fakes.callbacks import CallbackSender
from payedge_server.fakes.ledger import Ledger
from payedge_server.fakes.magic import Armed, Fault, Faults, Injection, Operation, Phase, magic_table

log = logging.getLogger("payedge.fakes")

JSON = dict[str, Any]
E = TypeVar("E", Operation, Fault, Phase)
ADMIN_PREFIX = "/_fake/"


@dataclass(frozen=True)
class Settings:
    """Process-wide settings (the `payedge fakes` flags)."""

    host: str = "127.0.0.1"
    callback_url: str | None = None
    latency_ms: int = 0
    hang_seconds: float = 60.0
    callback_attempts: int = 5
    callback_backoff: float = 0.2
    momo_ongoing_seconds: float = 30.0


class Reject(Exception):
    """Raised by a handler: answer with this (provider-shaped) response."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


class Dropped(Exception):
    """Raised by a handler: close the connection without any response."""


@dataclass(frozen=True)
class ErrorShapes:
    """The provider's documented bodies for the errors the edge produces itself."""

    not_found: Callable[[], web.Response]
    method_not_allowed: Callable[[], web.Response]
    server_error: Callable[[], web.Response]
    #: Any other 4xx aiohttp raises itself (a body over 1 MiB: 413), with its reason.
    client_error: Callable[[int, str], web.Response]


class PayerSide(Protocol):
    """The payer's actions and the provider's state of one payment, for tests and the admin API."""

    def describe(self, payment_id: str) -> JSON | None: ...

    async def pay(self, payment_id: str) -> JSON | None: ...

    async def decline(self, payment_id: str) -> JSON | None: ...

    def notify(self, payment_id: str) -> JSON | None: ...


@dataclass
class Latency:
    """Added before every provider answer (not the admin API): `ms` ± uniform `jitter_ms`."""

    ms: int = 0
    jitter_ms: int = 0

    async def wait(self) -> None:
        delay = self.ms + (random.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0)
        if delay > 0:
            await asyncio.sleep(delay / 1000)

    def as_json(self) -> JSON:
        return {"latency_ms": self.ms, "jitter_ms": self.jitter_ms}


@dataclass
class Fake:
    """One provider fake's runtime: its settings, base URL, state holders and hooks."""

    name: str
    settings: Settings
    base_url: str
    errors: ErrorShapes
    latency: Latency = field(default_factory=Latency)
    faults: Faults = field(default_factory=Faults)
    ledger: Ledger = field(default_factory=Ledger)
    callbacks: CallbackSender = field(init=False)
    callback_url: str | None = None
    payer: PayerSide | None = None
    credentials: dict[str, str] = field(default_factory=dict)
    resets: list[Callable[[], None]] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.callbacks = CallbackSender(
            f"cb_{self.name}", self.settings.callback_attempts, self.settings.callback_backoff
        )
        self.callback_url = self.settings.callback_url
        self.latency.ms = self.settings.latency_ms

    def reset(self) -> None:
        for clear in self.resets:
            clear()
        self.ledger.clear()
        self.faults.clear()
        self.callbacks.clear()
        self.latency.ms, self.latency.jitter_ms = self.settings.latency_ms, 0
        self.callback_url = self.settings.callback_url

    async def hang(self) -> None:
        """Hold the request longer than any sane client timeout (released at shutdown)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), self.settings.hang_seconds)

    async def strike(self, injection: Injection | None, phase: Phase) -> None:
        """Apply a transport fault of `phase` (declines are the provider's business)."""
        if injection is None or injection.phase is not phase or injection.fault is Fault.DECLINE:
            return
        if injection.fault is Fault.SERVER_ERROR:
            raise Reject(self.errors.server_error())
        if injection.fault is Fault.DROP:
            raise Dropped
        await self.hang()
        if phase is Phase.BEFORE:
            raise Reject(self.errors.server_error())


FAKE = web.AppKey("fake", Fake)


def new_id(length: int = 17, alphabet: str = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


async def read_json(request: web.Request, bad: Callable[[str], web.Response]) -> JSON:
    """The request's JSON object body, or Reject with the provider's bad-request body."""
    raw = await request.read()
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, ValueError):
        raise Reject(bad("the body is not valid JSON")) from None
    if not isinstance(body, dict):
        raise Reject(bad("the body must be a JSON object"))
    return body


async def read_form_field(request: web.Request, name: str, bad: Callable[[str], web.Response]) -> str | None:
    """One field of a form body (urlencoded or multipart), or Reject with the provider's bad-request body."""
    try:
        form = await request.post()
    except (ValueError, AssertionError, web.HTTPException, UnicodeDecodeError) as exc:
        # aiohttp's form parsers raise these on malformed bodies (bad escapes, broken multipart).
        raise Reject(bad(f"the form body cannot be read: {type(exc).__name__}")) from None
    value = form.get(name)
    return value if isinstance(value, str) else None


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(), status=status, content_type="application/json", headers=headers
    )


@web.middleware
async def edge(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Any:
    """Latency, then the handler; provider-shaped errors, dropped connections, no tracebacks."""
    fake = request.app[FAKE]
    if not request.path.startswith(ADMIN_PREFIX):
        await fake.latency.wait()
    try:
        return await handler(request)
    except Reject as reject:
        return reject.response
    except Dropped:
        if request.transport is not None:
            request.transport.abort()
        # aiohttp treats a cancelled handler as a vanished client: nothing is written or logged.
        raise asyncio.CancelledError from None
    except web.HTTPNotFound:
        return fake.errors.not_found()
    except web.HTTPMethodNotAllowed:
        return fake.errors.method_not_allowed()
    except web.HTTPClientError as exc:
        return fake.errors.client_error(exc.status, exc.reason)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("%s fake: unexpected error on %s %s", fake.name, request.method, request.path)
        return fake.errors.server_error()


def make_app(fake: Fake) -> web.Application:
    app = web.Application(middlewares=[edge], client_max_size=1024 * 1024)
    app[FAKE] = fake
    app.cleanup_ctx.append(fake.callbacks.session_ctx)
    app.add_routes(admin_routes())
    return app


# ----------------------------------------------------------------------------- admin API


def _admin_error(status: int, code: str, message: str) -> web.Response:
    return json_response({"error": {"code": code, "message": message}}, status=status)


def _admin_bad(message: str) -> web.Response:
    return _admin_error(400, "invalid_request", message)


async def _stats(request: web.Request) -> web.Response:
    fake = request.app[FAKE]
    return json_response({"provider": fake.name, **fake.ledger.stats()})


async def _reset(request: web.Request) -> web.Response:
    request.app[FAKE].reset()
    return json_response({"reset": True})


async def _get_latency(request: web.Request) -> web.Response:
    return json_response(request.app[FAKE].latency.as_json())


def _non_negative_int(body: JSON, name: str, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 600_000:
        raise Reject(_admin_bad(f"{name} must be an integer number of milliseconds in [0, 600000]"))
    return value


async def _set_latency(request: web.Request) -> web.Response:
    latency = request.app[FAKE].latency
    body = await read_json(request, _admin_bad)
    latency_ms = _non_negative_int(body, "latency_ms", latency.ms)
    jitter_ms = _non_negative_int(body, "jitter_ms", 0)
    latency.ms, latency.jitter_ms = latency_ms, jitter_ms
    return json_response(latency.as_json())


async def _get_faults(request: web.Request) -> web.Response:
    return json_response({"armed": request.app[FAKE].faults.listing(), "magic_amounts": magic_table()})


def _enum_field(body: JSON, name: str, kind: type[E]) -> E:
    try:
        return kind(body.get(name))
    except ValueError:
        choices = ", ".join(str(member.value) for member in kind)
        raise Reject(_admin_bad(f"{name} must be one of {choices}")) from None


async def _arm_fault(request: web.Request) -> web.Response:
    body = await read_json(request, _admin_bad)
    operation = _enum_field(body, "operation", Operation)
    injection = Injection(_enum_field(body, "fault", Fault), _enum_field(body, "phase", Phase))
    times = body.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= 1000:
        raise Reject(_admin_bad("times must be an integer in [1, 1000]"))
    fake = request.app[FAKE]
    fake.faults.arm(Armed(operation, injection, times))
    return json_response({"armed": fake.faults.listing()}, status=201)


async def _clear_faults(request: web.Request) -> web.Response:
    request.app[FAKE].faults.clear()
    return json_response({"armed": []})


async def _callbacks(request: web.Request) -> web.Response:
    return json_response({"callbacks": request.app[FAKE].callbacks.listing()})


async def _replay(request: web.Request) -> web.Response:
    delivery = request.app[FAKE].callbacks.replay(request.match_info["delivery_id"])
    if delivery is None:
        return _admin_error(404, "not_found", "no callback with that id")
    return json_response({"id": delivery.id, "replay_of": delivery.replay_of}, status=201)


async def _set_callback_url(request: web.Request) -> web.Response:
    body = await read_json(request, _admin_bad)
    url = body.get("url")
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        raise Reject(_admin_bad("url must be an http(s) URL or null"))
    fake = request.app[FAKE]
    fake.callback_url = url
    return json_response({"callback_url": url})


def _payer(request: web.Request) -> PayerSide:
    payer = request.app[FAKE].payer
    if payer is None:  # every provider registers one; kept for a clear error if not
        raise Reject(_admin_error(501, "not_supported", "this fake has no payer simulation"))
    return payer


def _found(result: JSON | None) -> web.Response:
    if result is None:
        return _admin_error(404, "not_found", "no payment with that id (the provider's id or token)")
    if "error" in result:
        return json_response(result, status=409)
    return json_response(result)


async def _describe(request: web.Request) -> web.Response:
    return _found(_payer(request).describe(request.match_info["payment_id"]))


async def _pay(request: web.Request) -> web.Response:
    return _found(await _payer(request).pay(request.match_info["payment_id"]))


async def _decline(request: web.Request) -> web.Response:
    return _found(await _payer(request).decline(request.match_info["payment_id"]))


async def _notify(request: web.Request) -> web.Response:
    return _found(_payer(request).notify(request.match_info["payment_id"]))


def admin_routes() -> list[web.RouteDef]:
    p = ADMIN_PREFIX
    return [
        web.get(p + "stats", _stats),
        web.post(p + "reset", _reset),
        web.get(p + "latency", _get_latency),
        web.post(p + "latency", _set_latency),
        web.get(p + "faults", _get_faults),
        web.post(p + "faults", _arm_fault),
        web.delete(p + "faults", _clear_faults),
        web.get(p + "callbacks", _callbacks),
        web.post(p + "callbacks/{delivery_id}/replay", _replay),
        web.post(p + "callback-url", _set_callback_url),
        web.get(p + "payments/{payment_id}", _describe),
        web.post(p + "payments/{payment_id}/pay", _pay),
        web.post(p + "payments/{payment_id}/decline", _decline),
        web.post(p + "payments/{payment_id}/callback", _notify),
    ]


# ----------------------------------------------------------------------------- hosted pages


def hosted_page(title: str, lines: list[str], actions: list[tuple[str, str]]) -> web.Response:
    """A minimal payment page: some lines of text and one form button per (label, POST path)."""
    text = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    buttons = "".join(
        f'<form method="post" action="{html.escape(path)}"><button type="submit">{html.escape(label)}'
        "</button></form>"
        for label, path in actions
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{text}{buttons}</body></html>"
    )
    return web.Response(text=page, content_type="text/html")


def post_back_page(title: str, url: str, fields: dict[str, str]) -> web.Response:
    """A page that POSTs `fields` to the merchant's `url` (auto-submitted, with a button without JS)."""
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in fields.items()
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body onload='document.forms[0].submit()'><h1>{html.escape(title)}</h1>"
        f'<form method="post" action="{html.escape(url)}">{inputs}'
        "<button type='submit'>Back to the merchant</button></form></body></html>"
    )
    return web.Response(text=page, content_type="text/html")
