"""The staff dashboard (SPEC 8, seed 000): plain HTML/JS/CSS served by the server, no build step.

- `GET /dashboard`: the sign-in form (showing nothing from the store) without a session;
  with one, the staff page (`<meta name="csrf-token">`), which dashboard.js fills from
  /v1 and keeps live over `/v1/stream`;
- `POST /dashboard/session` (form or JSON field `api_key`): opens a session, sets the
  cookie `payedge_session` and answers 303 to /dashboard (401 with the form again
  for a wrong key);
- `POST /dashboard/logout` (form field `csrf_token` or header `X-CSRF-Token`): ends it;
- `GET /dashboard/static/{name}`: dashboard.js, dashboard.css.

Sessions and CSRF: sessions.py. docs/dashboard.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from aiohttp import web

from payedge_server import keys, openapi
from payedge_server.auth import ApiKeys
from payedge_server.dashboard import views
from payedge_server.dashboard.sessions import (
    CSRF_HEADER,
    Sessions,
    check_csrf,
    clear_cookie,
    csrf_failed,
    same_origin,
    set_cookie,
)
from payedge_server.errors import DomainError, read_json_object, to_response
from payedge_server.pages import page, redirect, static_file

STATIC: Final = Path(__file__).with_name("static")
FILES: Final = frozenset({"dashboard.js", "dashboard.css"})
SESSIONS: Final = web.AppKey("dashboard_sessions", Sessions)
MAX_KEY: Final = 512


def _sessions(request: web.Request) -> Sessions:
    return request.app[SESSIONS]


FORM: Final = "application/x-www-form-urlencoded"


def _wants_json(request: web.Request) -> bool:
    return request.content_type == "application/json"


async def _form_field(request: web.Request, name: str) -> Any:
    """A field of a urlencoded form (the pages' own forms); any other body is refused (415)."""
    if request.content_type != FORM:
        raise DomainError("unsupported_media_type", f"send a form ({FORM}) or JSON")
    return (await request.post()).get(name)


async def dashboard(request: web.Request) -> web.Response:
    session = await _sessions(request).current(request)
    if session is None:
        return page(views.sign_in_page())
    return page(views.app_page(session.csrf_token))


async def _presented_key(request: web.Request) -> str | None:
    if _wants_json(request):
        value: Any = (await read_json_object(request)).get("api_key")
    else:
        value = await _form_field(request, "api_key")
    return value if isinstance(value, str) and 0 < len(value) <= MAX_KEY else None


async def sign_in(request: web.Request) -> web.Response:
    if not same_origin(request):
        raise csrf_failed("sign in from this server's own page")
    presented = await _presented_key(request)
    sessions = _sessions(request)
    key_hash = sessions.key_id_of(presented) if presented is not None else None
    if key_hash is None:
        if _wants_json(request):
            return to_response(DomainError("unauthorized", "that API key is not valid"))
        return page(views.sign_in_page("That API key is not valid."), status=401)
    token, _ = await sessions.open(key_hash)
    response = redirect("/dashboard")
    set_cookie(response, request, token)
    return response


async def sign_out(request: web.Request) -> web.Response:
    sessions = _sessions(request)
    session = await sessions.current(request)
    if session is not None:
        presented = request.headers.get(CSRF_HEADER)
        if presented is None and request.content_type == FORM:
            field = (await request.post()).get("csrf_token")
            presented = field if isinstance(field, str) else ""
        try:
            check_csrf(request, session, presented or "")
        except DomainError as exc:
            return page(views.refused_page(exc.message), status=403)
        await sessions.close(session)
    response = redirect("/dashboard")
    clear_cookie(response, request)
    return response


async def static(request: web.Request) -> web.Response:
    return static_file(STATIC, request.match_info["name"], FILES)


def setup_dashboard(app: web.Application) -> None:
    sessions = Sessions(app[keys.STORE], ApiKeys(app[keys.CONFIG].auth.api_keys))
    app[SESSIONS] = sessions
    app[keys.AUTHENTICATORS].append(sessions.authenticator())
    app.router.add_get("/dashboard", dashboard)
    app.router.add_post("/dashboard/session", sign_in)
    app.router.add_post("/dashboard/logout", sign_out)
    app.router.add_get("/dashboard/static/{name}", static)
    openapi.register(app, PATHS)


_HTML: Final = {"text/html": {"schema": {"type": "string"}}}
_LIMITED: Final = openapi.builder.error_responses(("rate_limited",))
_SEE_OTHER: Final = {"description": "to /dashboard", "headers": {"Location": {"schema": {"type": "string"}}}}
_KEY_BODY: Final = {
    "type": "object",
    "required": ["api_key"],
    "properties": {"api_key": {"type": "string", "minLength": 1, "maxLength": MAX_KEY}},
}
PATHS: Final[dict[str, dict[str, Any]]] = {
    "/dashboard": {
        "get": {
            "summary": "The staff dashboard (HTML): the sign-in form without a session",
            "security": [],
            "responses": {"200": {"description": "the page", "content": _HTML}, **_LIMITED},
        }
    },
    "/dashboard/session": {
        "post": {
            "summary": "Sign in with an API key: sets the payedge_session cookie, 303 to /dashboard",
            "security": [],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {"schema": _KEY_BODY},
                    "application/json": {"schema": _KEY_BODY},
                },
            },
            "responses": {
                "303": _SEE_OTHER,
                "401": {
                    "description": "not a valid API key: the form again (HTML), or `unauthorized` (JSON)",
                    "content": {
                        **_HTML,
                        **openapi.builder.error_responses(("unauthorized",))["401"]["content"],
                    },
                },
                **openapi.builder.error_responses(
                    ("csrf_failed", "invalid_json", "body_too_large", "unsupported_media_type")
                ),
                **_LIMITED,
            },
        }
    },
    "/dashboard/logout": {
        "post": {
            "summary": "Sign out (the form's csrf_token or the X-CSRF-Token header); 303 to /dashboard",
            "security": [],
            "responses": {
                "303": _SEE_OTHER,
                "403": {"description": "no or a wrong CSRF token", "content": _HTML},
                **_LIMITED,
            },
        }
    },
    "/dashboard/static/{name}": {
        "get": {
            "summary": "The dashboard's script and style sheet",
            "security": [],
            "parameters": [openapi.path_param("name", {"type": "string", "enum": sorted(FILES)})],
            "responses": {
                "200": {"description": "the file", "content": {"text/javascript": {}, "text/css": {}}},
                **openapi.builder.error_responses(("not_found",)),
                **_LIMITED,
            },
        }
    },
}
