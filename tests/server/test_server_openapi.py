"""In-process: /openapi.json documents exactly the routes the app serves."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from payedge_server.app import create_app
from payedge_server.config import Config
from payedge_server.config.sections.auth import AuthConfig
from payedge_server.config.sections.server import ServerConfig
from payedge_server.config.sections.store import StoreConfig


def _routes(app: object) -> set[tuple[str, str]]:
    from aiohttp import web

    assert isinstance(app, web.Application)
    found = set()
    for route in app.router.routes():
        if route.method == "HEAD":  # added automatically beside every GET
            continue
        resource = route.resource
        assert resource is not None
        found.add((route.method.lower(), resource.canonical))
    return found


async def test_openapi_matches_routes(tmp_path: Path) -> None:
    config = Config(
        auth=AuthConfig(api_keys=("k",)),
        store=StoreConfig(database_url=f"sqlite:///{tmp_path}/db.sqlite3"),
        server=ServerConfig(data_dir=tmp_path),
    )
    app = create_app(config)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/openapi.json")
        assert resp.status == 200
        doc = await resp.json()
    documented = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    assert documented == _routes(app)
    assert doc["openapi"].startswith("3.")
    for path, ops in doc["paths"].items():
        for method, operation in ops.items():
            assert operation["summary"], (method, path)
            assert operation["responses"], (method, path)
