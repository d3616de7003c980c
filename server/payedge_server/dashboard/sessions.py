"""Staff sessions of the dashboard (SPEC 8): an API key exchanged for a cookie, and CSRF tokens.

`POST /dashboard/session` checks the API key (constant time, every key compared) and
opens a session: a random 256-bit token in the cookie `payedge_session` (HttpOnly,
SameSite=Strict, Secure over https, Path=/), kept in the store only as its SHA-256,
with a random CSRF token and the id (hash) of the key it was opened with. It lasts
12 hours (a shift), or until `POST /dashboard/logout`, or until its key is removed
from the configuration (rotation ends the sessions opened with the old key).

On /v1 the cookie stands for its key (`authenticator`): reads need nothing more; a
write (any method but GET, HEAD, OPTIONS) needs the header `X-CSRF-Token` equal to the
session's token (from `<meta name="csrf-token">`), and any request that names an
`Origin` must name this server's: otherwise 403 `csrf_failed`. SameSite=Strict already
keeps the cookie off cross-site requests; the token is the second lock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from payedge_server.auth import ApiKeys, Authenticator, key_id, unauthorized
from payedge_server.contracts import Store, Tx
from payedge_server.errors import DomainError
from payedge_server.store.records import now_ms

COOKIE: Final = "payedge_session"
CSRF_HEADER: Final = "X-CSRF-Token"
LIFETIME_SECONDS: Final = 12 * 3600
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION: Final = "payedge.dashboard_session"
"""Request key: the session a request was authenticated by."""


@dataclass(frozen=True, slots=True)
class Session:
    id_hash: str
    csrf_token: str
    key_hash: str
    created_at: int
    expires_at: int


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_failed(message: str) -> DomainError:
    return DomainError("csrf_failed", message, CSRF_HEADER)


def same_origin(request: web.Request) -> bool:
    """No `Origin` header (same-origin GETs, old browsers), or this server's own origin."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return origin == f"{request.scheme}://{request.host}"


class Sessions:
    def __init__(self, store: Store, api_keys: ApiKeys) -> None:
        self.store = store
        self.api_keys = api_keys

    def key_id_of(self, presented: str) -> str | None:
        """The id of the configured key `presented` is (constant-time compare), or None."""
        try:
            self.api_keys.check(presented)
        except DomainError:
            return None
        return key_id(presented)

    async def open(self, key_hash: str) -> tuple[str, Session]:
        """A new session for the key `key_hash`: (the cookie's token, the session)."""
        token = secrets.token_urlsafe(32)
        now = now_ms()
        session = Session(
            _hash(token), secrets.token_urlsafe(32), key_hash, now, now + LIFETIME_SECONDS * 1000
        )

        def write(tx: Tx) -> None:
            tx.execute(
                "INSERT INTO dashboard_sessions (id_hash, csrf_token, key_hash, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (session.id_hash, session.csrf_token, key_hash, session.created_at, session.expires_at),
            )

        await self.store.write(write)
        return token, session

    async def current(self, request: web.Request) -> Session | None:
        """The live session the request's cookie names (None: no cookie, expired, signed out, key gone)."""
        token = request.cookies.get(COOKIE)
        if not token or len(token) > 100:
            return None
        id_hash = _hash(token)
        row = await self.store.read(
            lambda tx: tx.fetchone(
                "SELECT csrf_token, key_hash, created_at, expires_at FROM dashboard_sessions "
                "WHERE id_hash = ? AND expires_at > ?",
                (id_hash, now_ms()),
            )
        )
        if row is None or row[1] not in self.api_keys.ids:
            return None
        return Session(id_hash, str(row[0]), str(row[1]), int(row[2]), int(row[3]))

    async def close(self, session: Session) -> None:
        await self.store.write(
            lambda tx: tx.execute("DELETE FROM dashboard_sessions WHERE id_hash = ?", (session.id_hash,))
        )

    def authenticator(self) -> Authenticator:
        """/v1 with the session cookie (and, on writes, its CSRF token)."""

        async def by_session(request: web.Request) -> str | None:
            if COOKIE not in request.cookies:
                return None
            session = await self.current(request)
            if session is None:
                raise unauthorized()
            check_csrf(request, session)
            request[SESSION] = session
            return session.key_hash

        return by_session


def check_csrf(request: web.Request, session: Session, presented: str | None = None) -> None:
    """403 `csrf_failed` unless the request comes from this origin and, if it writes, carries the token."""
    if not same_origin(request):
        raise csrf_failed("a request from another origin")
    if request.method in SAFE_METHODS:
        return
    token = presented if presented is not None else request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(token.encode(), session.csrf_token.encode()):
        raise csrf_failed(f"a dashboard write needs the header {CSRF_HEADER} (the page's csrf-token)")


def set_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=LIFETIME_SECONDS,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


def clear_cookie(response: web.StreamResponse, request: web.Request) -> None:
    response.del_cookie(COOKIE, path="/", secure=request.secure, httponly=True, samesite="Strict")
