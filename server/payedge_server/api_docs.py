"""GET /docs: the HTTP reference, Swagger UI reading this server's own `/openapi.json`.

Every file the page needs is served from here: Swagger UI's bundle and stylesheet come
from the `swagger-ui-py` package's own copy (Swagger UI 5, which reads OpenAPI 3.1),
and the few lines that start it from `static/docs.js`, so the page works offline and
loads nothing from another host. The page is answered through `pages.page()`, so it
sends the security headers of every HTML page of the server (`pages.SECURITY_HEADERS`):
a Content-Security-Policy allowing scripts, styles and requests to this origin only (no
inline script, hence the separate start file), and no framing. Only its `Cache-Control`
differs: `no-cache` rather than `no-store`, as it shows no payment and no secret.
Swagger UI's validator badge is off (it would call an outside service).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from payedge_server import pages
from payedge_server.openapi import register
from payedge_server.openapi.builder import error_responses

START_SCRIPT: Final = Path(__file__).with_name("static") / "docs.js"
# Only these files of the package are served (it also ships Swagger Editor, unused here).
BUNDLE_FILES: Final = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
FILES: Final = (*BUNDLE_FILES, "docs.js")
# Set, not guessed: the system's MIME table may say application/javascript.
TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}

PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>payedge HTTP API</title>
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/docs.js"></script>
</body>
</html>
"""


def bundle_dir() -> Path:
    """The `static` folder of the installed `swagger-ui-py` (found without importing it)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("GET /docs needs the swagger-ui-py package (a payedge-server dependency)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


async def _page(request: web.Request) -> web.Response:
    # Public and secret-free: revalidated (an upgrade shows at once) rather than never stored.
    return pages.page(PAGE, headers={"Cache-Control": "no-cache"})


def _file_handler(directory: Path) -> Any:
    async def handler(request: web.Request) -> web.FileResponse:
        name = request.match_info["name"]
        path = START_SCRIPT if name == "docs.js" else directory / name
        # Revalidated each time (ETag, Last-Modified): an upgrade of the package shows at once.
        headers = {
            "Content-Type": TYPES[path.suffix],
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache",
        }
        return web.FileResponse(path, headers=headers)

    return handler


# The rate limits apply to these pages too (SPEC 8; ratelimit/): 429 when configured and exceeded.
_LIMITED: Final = error_responses(("rate_limited",))
PATHS: Final[dict[str, dict[str, Any]]] = {
    "/docs": {
        "get": {
            "summary": "This reference, browsable (Swagger UI over /openapi.json, served locally)",
            "security": [],
            "responses": {"200": {"description": "the page", "content": {"text/html": {}}}, **_LIMITED},
        }
    },
    "/docs/{name}": {
        "get": {
            "summary": "The files of the /docs page (Swagger UI's bundle and stylesheet, its start script)",
            "security": [],
            "parameters": [
                {
                    "name": "name",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": list(FILES)},
                }
            ],
            "responses": {
                "200": {
                    "description": "the file",
                    "content": {"text/javascript": {}, "text/css": {}, "image/png": {}},
                },
                "404": {
                    "description": "no such file",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                **_LIMITED,
            },
        }
    },
}


def setup_api_docs(app: web.Application) -> None:
    """Add GET /docs and its files (documented in /openapi.json like every route)."""
    directory = bundle_dir()
    missing = [name for name in BUNDLE_FILES if not (directory / name).is_file()]
    if missing:
        raise RuntimeError(f"swagger-ui-py at {directory} lacks {', '.join(missing)}")
    app.router.add_get("/docs", _page)
    names = "|".join(name.replace(".", r"\.") for name in FILES)
    app.router.add_get(f"/docs/{{name:(?:{names})}}", _file_handler(directory))
    register(app, PATHS)
