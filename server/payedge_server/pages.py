"""HTML pages and their files (SPEC 8): the security headers every page sends, escaping, static files.

Every HTML page of the server (dashboard, hosted checkout, the live-status demo) is
answered through `page()` or `static_page()`, so each carries the same headers:

- `Content-Security-Policy`: scripts, styles, images and connections from this origin
  only (no inline script, no CDN: every file is served by the server itself), no
  plugins, forms post only here, no `<base>`, and `frame-ancestors 'none'` (no page
  can be framed: clickjacking);
- `X-Frame-Options: DENY` (the same, for browsers without CSP 2);
- `X-Content-Type-Options: nosniff`;
- `Referrer-Policy: same-origin`: a checkout address holds a client secret, which must
  not leave for another site in a Referer header (`no-referrer` would also make the
  browser send `Origin: null` on the pages' own form posts, which the CSRF check refuses);
- `Cache-Control: no-store` (pages show payments and secrets), and
  `Cross-Origin-Opener-Policy: same-origin`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from aiohttp import web

CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Final[Mapping[str, str]] = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_TYPES: Final = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}


def esc(text: object) -> str:
    """Text for HTML (element content and quoted attributes)."""
    return html.escape(str(text), quote=True)


def page(body: str, *, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """A whole HTML document (`body` is the markup, already escaped where it holds data)."""
    response = web.Response(status=status, text=body, content_type="text/html", charset="utf-8")
    response.headers.update(SECURITY_HEADERS)
    if headers:
        response.headers.update(headers)
    return response


def static_file(directory: Path, name: str, names: frozenset[str]) -> web.Response:
    """One of `names` from `directory` (read per request: a few KB, no build step); 404 JSON otherwise."""
    if name not in names:
        raise web.HTTPNotFound()
    path = directory / name
    response = web.Response(body=path.read_bytes(), content_type=_TYPES.get(path.suffix, "text/plain"))
    if path.suffix == ".html":
        response.headers.update(SECURITY_HEADERS)
    else:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-cache"
    if path.suffix in (".js", ".css", ".html"):
        response.charset = "utf-8"
    return response


def redirect(location: str, *, headers: Mapping[str, str] | None = None) -> web.Response:
    """303 See Other (after a form post), with the page headers."""
    response = web.Response(status=303, headers={"Location": location, **SECURITY_HEADERS})
    if headers:
        response.headers.update(headers)
    return response
