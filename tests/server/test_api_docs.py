"""GET /docs: the browsable HTTP reference (Swagger UI over /openapi.json), served by the server itself.

In headless Chromium the page must list every operation of /openapi.json, load nothing from
another host, and break none of its own Content-Security-Policy; the screenshot is saved to
test-artifacts/api-docs.png.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from payedge_server.api_docs import FILES
from payedge_server.app import create_app
from payedge_server.config import Config
from payedge_server.config.sections.auth import AuthConfig
from payedge_server.config.sections.server import ServerConfig
from payedge_server.config.sections.store import StoreConfig
from payedge_server.pages import SECURITY_HEADERS
from yarl import URL

from tests.server.browser import chromium_page

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(120)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Every operation Swagger UI rendered: "METHOD path", from its DOM.
RENDERED = """
Array.from(document.querySelectorAll('.opblock')).map(b =>
  b.querySelector('.opblock-summary-method').textContent.trim().toLowerCase() + ' ' +
  b.querySelector('.opblock-summary-path').getAttribute('data-path'))
"""
# Recorded before any script of the page runs.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    config = Config(
        auth=AuthConfig(api_keys=("sk_docs",)),
        store=StoreConfig(database_url=f"sqlite:///{tmp_path}/db.sqlite3"),
        server=ServerConfig(data_dir=tmp_path),
    )
    test_server = TestServer(create_app(config), host="127.0.0.1")
    async with test_server:
        yield test_server


def _operations(document: dict[str, Any]) -> set[str]:
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return {
        f"{method} {path}" for path, item in document["paths"].items() for method in item if method in methods
    }


async def test_docs_page_and_files_are_served_with_the_page_headers(server: TestServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.make_url("/docs")) as resp:
            assert resp.status == 200
            assert resp.content_type == "text/html"
            csp = resp.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
            # The headers of every HTML page; only the cache rule differs (no secret here).
            expected = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
            assert {name: resp.headers.get(name) for name in expected} == expected
            page = await resp.text()
        assert "<script>" not in page  # the CSP allows no inline script
        for name in FILES:
            assert f"docs/{name}" in page or name == "docs.js" or name.endswith(".png")
            async with http.get(server.make_url(f"/docs/{name}")) as resp:
                assert resp.status == 200, name
                suffix = name.rsplit(".", 1)[1]
                assert (
                    resp.content_type
                    == {"js": "text/javascript", "css": "text/css", "png": "image/png"}[suffix]
                )
                assert resp.headers["X-Content-Type-Options"] == "nosniff"
                assert len(await resp.read()) > 100
        for name in ("swagger-editor-bundle.js", "..%2Fapp.py", "index.html"):
            async with http.get(server.make_url(f"/docs/{name}")) as resp:
                assert resp.status == 404, name
        async with http.get(server.make_url("/docs"), headers={"Authorization": "Bearer nope"}) as resp:
            assert resp.status == 200  # public, as /openapi.json is


async def test_docs_lists_every_operation_in_chromium(server: TestServer) -> None:
    async with aiohttp.ClientSession() as http, http.get(server.make_url("/openapi.json")) as resp:
        expected = _operations(await resp.json())
    assert {"get /docs", "post /v1/payments", "post /v1/webhooks/{provider}"} <= expected
    origin = str(server.make_url("/"))
    async with chromium_page() as page:
        await page.call("Page.addScriptToEvaluateOnNewDocument", source=WATCH_CSP)
        await page.call(
            "Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False
        )
        await page.call("Page.navigate", url=str(server.make_url("/docs")))
        await page.wait_for(
            f"document.querySelectorAll('.opblock').length >= {len(expected)}", True, within=30
        )
        rendered = await page.evaluate(RENDERED)
        assert sorted(rendered) == sorted(expected)
        title = await page.evaluate("document.querySelector('.info .title').textContent")
        assert title.startswith("payedge")
        assert await page.evaluate("window.__cspViolations") == []
        loaded = await page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
        assert loaded and all(url.startswith(origin) for url in loaded), loaded
        height = await page.evaluate("document.documentElement.scrollHeight")
        shot = await page.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": 1280, "height": min(int(height), 8000), "scale": 1},
        )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "api-docs.png").write_bytes(base64.b64decode(shot["data"]))


def _raw(server: TestServer, path: str) -> URL:
    """The server's URL with `path` exactly as written (double slashes kept, never another host)."""
    return URL(f"http://{server.host}:{server.port}{path}", encoded=True)


async def test_a_trailing_slash_is_redirected_to_the_page(server: TestServer) -> None:
    """`GET /docs/` (as a user types it) is a 308 to /docs, query kept; what is not a page stays 404."""
    async with aiohttp.ClientSession() as http:
        for path, location in (("/docs/", "/docs"), ("/docs//?x=1", "/docs?x=1"), ("//docs/", "/docs")):
            async with http.get(_raw(server, path), allow_redirects=False) as resp:
                assert (resp.status, resp.headers.get("Location")) == (308, location), path
        async with http.get(server.make_url("/docs/")) as resp:
            assert resp.status == 200 and resp.content_type == "text/html"
        # Not a route without its slash, another host, the root, a POST: no redirect.
        for method, path in (
            ("GET", "/nothing/"),
            ("GET", "//example.com/"),
            ("GET", "/"),
            ("POST", "/docs/"),
        ):
            async with http.request(method, _raw(server, path), allow_redirects=False) as resp:
                assert resp.status in (404, 405) and "Location" not in resp.headers, (method, path)


async def test_every_page_route_answers_its_trailing_slash_with_a_redirect(server: TestServer) -> None:
    pages = sorted(
        route.resource.canonical
        for route in server.app.router.routes()
        if route.method == "GET"
        and isinstance(route.resource, web.PlainResource)
        and route.resource.canonical != "/"
    )
    assert "/docs" in pages and "/v1/payments" in pages
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer sk_docs"}) as http:
        for page in pages:
            async with http.get(server.make_url(page + "/"), allow_redirects=False) as resp:
                assert (resp.status, resp.headers.get("Location")) == (308, page), page
