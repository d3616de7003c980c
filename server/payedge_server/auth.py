"""API-key auth: `Authorization: Bearer <key>` on /v1, compared in constant time."""

from __future__ import annotations

import hmac
import logging

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


class ApiKeys:
    def __init__(self, keys: tuple[str, ...]) -> None:
        self._keys = [k.encode() for k in keys]

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
