"""PayPal's REST API as payedge calls it: OAuth2 client credentials, `PayPal-Request-Id`, errors.

Auth (developer.paypal.com/api/rest/authentication): `POST /v1/oauth2/token`, HTTP
Basic client id and secret, `grant_type=client_credentials`; the token is cached
until shortly before `expires_in` and renewed once if a call answers 401.

Idempotency (developer.paypal.com/api/rest/reference/idempotency): every write
carries `PayPal-Request-Id`; the same id again returns the first request's result
instead of acting twice. So a write answered 5xx is sent once more with the same
id: a second 5xx proves nothing was done (had it been, PayPal would replay its
result); 409 `PREVIOUS_REQUEST_IN_PROGRESS` (the first is still running) is an
unknown outcome.

Errors are `{name, message, debug_id, details: [{issue, description, ...}]}`:
`PayPalError` keeps the status, the name and the first issue.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from payedge_server.gateways.base import GatewayTimeoutError
from payedge_server.gateways.http import BearerTokens, ProviderHttp, Reply, basic_auth, text, token_reply
from payedge_server.gateways.paypal.orders import NAME

RETRY_PAUSE = 0.25


@dataclass(frozen=True, slots=True)
class PayPalError:
    status: int
    name: str
    issue: str | None
    description: str

    @property
    def code(self) -> str:
        return self.issue or self.name


def error_of(reply: Reply) -> PayPalError:
    data = reply.object()
    details = data.get("details")
    first = details[0] if isinstance(details, list) and details and isinstance(details[0], dict) else {}
    name = text(data.get("name")) or text(data.get("error")) or f"HTTP_{reply.status}"
    description = text(first.get("description")) or text(data.get("message")) or name
    return PayPalError(reply.status, name, text(first.get("issue")), description[:300])


class PayPalApi:
    def __init__(self, base_url: str, client_id: str, client_secret: str, timeout: float) -> None:
        self.http = ProviderHttp(NAME, base_url, timeout)
        self._auth = basic_auth(client_id, client_secret)
        self.tokens = BearerTokens(self._token)

    async def _token(self) -> tuple[str, float]:
        reply = await self.http.send(
            "POST",
            "/v1/oauth2/token",
            write=False,  # asking for a token changes nothing at PayPal
            headers={"Authorization": self._auth, "Accept": "application/json"},
            form={"grant_type": "client_credentials"},
        )
        return token_reply(NAME, reply)

    async def call(self, method: str, path: str, body: Any = None, request_id: str | None = None) -> Reply:
        """One API call (a write retried once with the same PayPal-Request-Id after a 5xx)."""
        reply = await self._authorized(method, path, body, request_id)
        if method != "GET" and request_id is not None and reply.status >= 500:
            await asyncio.sleep(RETRY_PAUSE)
            reply = await self._authorized(method, path, body, request_id)
        if reply.status == 409 and error_of(reply).issue == "PREVIOUS_REQUEST_IN_PROGRESS":
            raise GatewayTimeoutError(f"paypal is still running {method} {path} (PayPal-Request-Id in use)")
        return reply

    async def _authorized(self, method: str, path: str, body: Any, request_id: str | None) -> Reply:
        token = await self.tokens.get()
        reply = await self._send(method, path, body, request_id, token)
        if reply.status == 401:  # revoked or expired early: a 401 was not processed, so resend
            self.tokens.forget(token)
            reply = await self._send(method, path, body, request_id, await self.tokens.get())
        return reply

    async def _send(self, method: str, path: str, body: Any, request_id: str | None, token: str) -> Reply:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if request_id is not None:
            headers["PayPal-Request-Id"] = request_id
        write = method != "GET"
        return await self.http.send(method, path, write=write, headers=headers, json=body if write else None)
