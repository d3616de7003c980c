"""SPEC 8 dashboard sessions over plain HTTP (SQLite and PostgreSQL): sign-in, the cookie, CSRF,
origins, sign-out, key rotation; and the security headers of every HTML page the server answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from payedge_server.dashboard.sessions import COOKIE, clear_cookie, set_cookie

from tests.server.support import API_KEY, Server, running_server

pytestmark = pytest.mark.timeout(120)

OTHER_KEY = "pek_test_second_key_abcdef0123"


@pytest.fixture(scope="module")
def board(store_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("board")
    with running_server(work / "data", "--terminals", "T1", "--api-key", OTHER_KEY) as srv:
        yield srv


def _jar() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _sign_in(http: aiohttp.ClientSession, url: str, key: str = API_KEY) -> str:
    """Sign in as the page's form does; returns the CSRF token of the staff page."""
    async with http.post(f"{url}/dashboard/session", data={"api_key": key}, allow_redirects=False) as resp:
        assert resp.status == 303 and resp.headers["Location"] == "/dashboard"
        cookie = resp.headers["Set-Cookie"]
        assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert "Path=/" in cookie and "Secure" not in cookie  # plain http here: see the unit test below
    async with http.get(f"{url}/dashboard") as resp:
        page = await resp.text()
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert found, page[:300]
    return found.group(1)


async def test_sign_in_page_shows_nothing_and_a_wrong_key_is_refused(board: Server) -> None:
    async with _jar() as http:
        async with http.post(f"{board.url}/v1/payments", json={"amount": 4321, "currency": "EUR"},
                             headers={"Authorization": f"Bearer {API_KEY}"}):  # fmt: skip
            pass
        async with http.get(f"{board.url}/dashboard") as resp:
            page = await resp.text()
        assert resp.status == 200 and 'id="sign-in"' in page
        assert "csrf-token" not in page and "pay_" not in page and "4321" not in page
        async with http.post(f"{board.url}/dashboard/session", data={"api_key": "pek_wrong"}) as resp:
            assert resp.status == 401 and "not valid" in await resp.text()
            assert COOKIE not in resp.cookies
        async with http.post(f"{board.url}/dashboard/session", json={"api_key": "pek_wrong"}) as resp:
            assert (resp.status, (await resp.json())["error"]["code"]) == (401, "unauthorized")
        async with http.post(
            f"{board.url}/dashboard/session",
            data={"api_key": API_KEY},
            headers={"Origin": "https://evil.example"},
        ) as resp:
            assert (resp.status, (await resp.json())["error"]["code"]) == (403, "csrf_failed")


async def test_the_session_reads_and_writes_with_its_csrf_token_only(board: Server) -> None:
    async with _jar() as http:
        csrf = await _sign_in(http, board.url)
        async with http.get(f"{board.url}/v1/terminals") as resp:
            assert resp.status == 200  # a read needs the cookie only
        body = {"payment_id": "pay_csrf_1", "user_id": "u1"}
        for headers in (
            {},
            {"X-CSRF-Token": "forged"},
            {"X-CSRF-Token": csrf, "Origin": "https://evil.example"},
        ):
            async with http.post(f"{board.url}/v1/terminals/queue", json=body, headers=headers) as resp:
                answer = await resp.json()
                assert (resp.status, answer["error"]["code"]) == (403, "csrf_failed"), headers
        async with http.get(f"{board.url}/v1/terminals", headers={"Origin": "https://evil.example"}) as resp:
            assert resp.status == 403  # a cross-origin read (a hijacked WebSocket's handshake too)
        async with http.post(
            f"{board.url}/v1/terminals/queue", json=body, headers={"X-CSRF-Token": csrf}
        ) as resp:
            assert resp.status == 200
        async with http.get(f"{board.url}/v1/terminals") as resp:
            assert "pay_csrf_1" in (await resp.json())["queue"]
        # Without its token a sign-out is refused too; with it, the session is over everywhere.
        async with http.post(f"{board.url}/dashboard/logout", data={"csrf_token": "forged"}) as resp:
            assert resp.status == 403
        async with http.post(
            f"{board.url}/dashboard/logout", data={"csrf_token": csrf}, allow_redirects=False
        ) as resp:
            assert resp.status == 303 and f"{COOKIE}=" in resp.headers["Set-Cookie"]
        async with http.get(f"{board.url}/v1/terminals") as resp:
            assert resp.status == 401


async def test_a_stolen_cookie_is_worth_nothing_after_sign_out(board: Server) -> None:
    async with _jar() as http:
        csrf = await _sign_in(http, board.url)
        cookie = next(c.value for c in http.cookie_jar if c.key == COOKIE)
        async with http.post(f"{board.url}/dashboard/logout", headers={"X-CSRF-Token": csrf}):
            pass
    async with aiohttp.ClientSession(cookies={COOKIE: cookie}) as thief:
        async with thief.get(f"{board.url}/v1/terminals") as resp:
            assert resp.status == 401
        async with thief.get(f"{board.url}/dashboard") as resp:
            assert 'id="sign-in"' in await resp.text()


async def test_removing_a_key_ends_the_sessions_opened_with_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_server(data, "--api-key", OTHER_KEY) as srv:
        async with _jar() as http:
            await _sign_in(http, srv.url, OTHER_KEY)
            cookie = next(c.value for c in http.cookie_jar if c.key == COOKIE)
            async with http.get(f"{srv.url}/v1/payments") as resp:
                assert resp.status == 200
    # The same store, restarted without that key (rotated out): the cookie no longer opens anything.
    with running_server(data) as srv:
        async with (
            aiohttp.ClientSession(cookies={COOKIE: cookie}) as http,
            http.get(f"{srv.url}/v1/payments") as resp,
        ):
            assert resp.status == 401


def test_the_cookie_is_secure_over_https() -> None:
    for scheme, secure in (("https", True), ("http", False)):
        request = make_mocked_request("POST", "/dashboard/session").clone(scheme=scheme)
        response = web.Response()
        set_cookie(response, request, "token")
        morsel = response.cookies[COOKIE]
        assert bool(morsel["secure"]) is secure
        assert morsel["httponly"] and morsel["samesite"] == "Strict" and morsel["path"] == "/"
        clear_cookie(response, request)
        assert response.cookies[COOKIE]["max-age"] == "0"


SECURITY = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


async def test_every_html_page_sends_the_security_headers(board: Server) -> None:
    pages = [
        "/dashboard",  # the sign-in form
        "/static/status.html",
        "/checkout/ord_0123456789abcdef01234567?client_secret=x",
        "/checkout/ord_0123456789abcdef01234567/receipt",
        "/checkout/payments/pay_0123456789abcdef01234567",
        "/docs",
        "signed in: /dashboard",  # the staff page
    ]
    async with _jar() as http:
        for entry in pages:
            path = entry.removeprefix("signed in: ")
            if path != entry:
                await _sign_in(http, board.url)
            async with http.get(f"{board.url}{path}") as resp:
                assert resp.content_type == "text/html", path
                text = await resp.text()
                for name, value in SECURITY.items():
                    assert resp.headers.get(name) == value, (path, name)
            # No inline script, nothing from elsewhere: every script is a file of this server.
            sources = re.findall(r'<script src="([^"]*)"', text)
            assert not any(re.match(r"[a-z]+:|//", src) for src in sources), (path, sources)
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) and " onclick=" not in text, path
        for path in ("/static/payedge.js", "/dashboard/static/dashboard.js", "/checkout/static/checkout.css"):
            async with http.get(f"{board.url}{path}") as resp:
                assert resp.status == 200 and resp.headers["X-Content-Type-Options"] == "nosniff", path
