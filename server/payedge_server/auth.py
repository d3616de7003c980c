"""API-key auth: `Authorization: Bearer <key>` on /v1, compared in constant time."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from payedge_server.errors import DomainError

log = logging.getLogger("payedge.auth")


def unauthorized() -> DomainError:
    return DomainError(
        "unauthorized",
        "a valid API key is required: Authorization: Bearer <key>",
        headers={"WWW-Authenticate": "Bearer"},
    )


def needs_auth(path: str, public_prefixes: list[str]) -> bool:
    """Only /v1 needs a key; webhooks authenticate by their signature."""
    if not path.startswith("/v1/"):
        return False
    if path.startswith("/v1/webhooks/"):
        return False
    return not any(path.startswith(prefix) for prefix in public_prefixes)


@functools.lru_cache(maxsize=256)
def key_id(key: str) -> str:
    """An API key's id where the key itself must not be kept (SHA-256 hex): dashboard
    sessions name their key by it, and rate limits count by it."""
    return hashlib.sha256(key.encode()).hexdigest()


Authenticator = Callable[[web.Request], Awaitable[str | None]]
"""Another way a /v1 request may authenticate, tried when it carries no Bearer key (SPEC 8: a
dashboard session cookie, a client secret). Returns the id of the API key it acts for (a
`key_id`), "" when it acts for none (a client secret), None when the request does not use
it; raises a DomainError (401, 403 `csrf_failed`) when it uses it wrongly."""


class ApiKeys:
    def __init__(self, keys: tuple[str, ...]) -> None:
        self._keys = [k.encode() for k in keys]
        self.ids = frozenset(key_id(k) for k in keys)

    def check(self, presented: str | None) -> None:
        """Raise 401 unless `presented` (the bearer token) is one of the keys.

        Every configured key is compared (no early exit), each with
        `hmac.compare_digest`, so timing says nothing about which key or prefix matched.
        """
        if not presented:
            raise unauthorized()
        token = presented.encode()
        ok = False
        for key in self._keys:
            ok |= hmac.compare_digest(token, key)
        if not ok:
            log.debug("refused a request with an unknown API key")
            raise unauthorized()
