"""HTTP to a provider's API: one aiohttp session per connector, timeouts, and what a failure proves.

Every connector that calls a provider over plain HTTP (PayPal, CinetPay, MTN MoMo,
Orange Money) sends through `ProviderHttp`, which says what a failed call proves
(SPEC 5, "Fallback on confirm"):

- the connection could not be made (refused, no route, name not found, connect
  timeout): nothing was sent -> `GatewayUnavailableError`;
- a read (a status read, a token) that fails in any way -> `GatewayUnavailableError`:
  a read changes nothing at the provider;
- a write whose answer never came (timeout after sending, connection lost,
  truncated body) -> `GatewayTimeoutError`: the provider may have acted.

An answer that arrived is returned as a `Reply` (status and raw body) for the
connector to read in its provider's terms; `Reply.json()` is None for a body that
is not JSON, so a provider answering garbage becomes a gateway error there, never
an exception here. Bearer tokens (OAuth2 client credentials, MoMo's token) are
cached by `BearerTokens` until shortly before they expire.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from payedge_server.gateways.base import GatewayTimeoutError, GatewayUnavailableError

log = logging.getLogger("payedge.gateways.http")

MAX_BODY = 1024 * 1024  # a provider answer larger than this is not one we read
CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer that arrived: its HTTP status and raw body."""

    status: int
    body: bytes

    def json(self) -> Any:
        """The body as JSON (any value), or None when it is not JSON."""
        try:
            return orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            return None

    def object(self) -> dict[str, Any]:
        """The body as a JSON object, or {} when it is not one."""
        data = self.json()
        return data if isinstance(data, dict) else {}

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def field(data: Mapping[str, Any], *path: str) -> Any:
    """`data[a][b]...`, None where a step is missing or not an object."""
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def text(value: Any) -> str | None:
    """A non-empty string, else None (providers' fields are read defensively)."""
    return value if isinstance(value, str) and value else None


class ProviderHttp:
    """One provider's HTTP session (created on first use, closed by `close`)."""

    def __init__(self, gateway: str, base_url: str, timeout: float) -> None:
        self.gateway = gateway
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.timeout, connect=min(CONNECT_TIMEOUT, self.timeout))
            self._session = aiohttp.ClientSession(timeout=timeout, raise_for_status=False)
        return self._session

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    async def send(
        self,
        method: str,
        path: str,
        *,
        write: bool,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        form: Mapping[str, str] | None = None,
    ) -> Reply:
        """One request; raises GatewayUnavailableError or GatewayTimeoutError (see the module doc)."""
        body: bytes | None = None
        sent_headers = dict(headers or {})
        if json is not None:
            body = orjson.dumps(json)
            sent_headers.setdefault("Content-Type", "application/json")
        what = f"{self.gateway} {method} {path.split('?', 1)[0]}"
        try:
            async with self._client().request(
                method,
                self.url(path),
                data=form if form is not None else body,
                headers=sent_headers,
                allow_redirects=False,  # no provider call redirects; a certificate URL must not either
            ) as response:
                raw = await response.content.read(MAX_BODY + 1)
                status = response.status
        except aiohttp.ClientConnectorError as exc:
            raise GatewayUnavailableError(f"{self.gateway} cannot be reached: {exc.os_error}") from None
        except aiohttp.ConnectionTimeoutError:
            raise GatewayUnavailableError(f"{self.gateway} cannot be reached: connect timeout") from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _lost(what, exc, write=write) from None
        log.debug("%s -> %d", what, status)
        if len(raw) > MAX_BODY:
            raise _lost(what, ValueError("answer larger than 1 MiB"), write=write)
        return Reply(status, raw)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _lost(what: str, exc: BaseException, *, write: bool) -> Exception:
    why = type(exc).__name__ if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
    if write:
        return GatewayTimeoutError(f"{what}: sent, but no answer was read ({why})")
    return GatewayUnavailableError(f"{what} failed ({why})")


class BearerTokens:
    """A cached bearer token: fetched once, shared by concurrent callers, renewed before it expires.

    `fetch()` returns (token, lifetime in seconds). The token is renewed once 90 %
    of its lifetime has passed (at most 10 minutes early, MTN's advice), or at
    once after `forget` (an API call answered 401).
    """

    def __init__(self, fetch: Callable[[], Awaitable[tuple[str, float]]]) -> None:
        self._fetch = fetch
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        token = self._token
        if token is not None and time.monotonic() < self._renew_at:
            return token
        async with self._lock:
            if self._token is not None and time.monotonic() < self._renew_at:
                return self._token
            token, lifetime = await self._fetch()
            self._token = token
            self._renew_at = time.monotonic() + lifetime - min(lifetime * 0.1, 600.0)
            return token

    def forget(self, token: str) -> None:
        if self._token == token:
            self._token = None


def token_reply(gateway: str, reply: Reply) -> tuple[str, float]:
    """An OAuth2-style token answer `{access_token, expires_in}`, or the error it proves."""
    data = reply.object()
    token, lifetime = data.get("access_token"), data.get("expires_in")
    if reply.ok and isinstance(token, str) and token:
        seconds = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else 300.0
        return token, seconds
    if reply.status in (400, 401, 403):
        log.error(
            "%s refused payedge's credentials (HTTP %d): check its configuration", gateway, reply.status
        )
        raise GatewayUnavailableError(f"{gateway} refused payedge's credentials (HTTP {reply.status})")
    raise GatewayUnavailableError(f"{gateway} gave no access token (HTTP {reply.status})")
