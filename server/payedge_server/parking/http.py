"""HTTP surface of parking: sessions, audit trail, degraded modes (SPEC 4).

- `GET  /v1/parking/sessions?plate=&badge=&state=&limit=`: latest sessions first.
- `GET  /v1/parking/sessions/{id}`: the session, its payment, its timeline (audit trail).
- `GET  /v1/audit?session_id=`: the audit trail of a session ("why did the barrier open").
- `POST /v1/parking/sessions/{id}/override` `{operator, reason}`: an operator authorises the exit.
- `POST /v1/admin/fallback-mode` `{enabled, who, why}`; `GET` shows it (on every server: fallback.py).
- `GET/POST /v1/admin/parking/trusted`, `DELETE /v1/admin/parking/trusted/{id}`:
  trusted badges (`{kind: "badge", badge, label, who}`) and exit PINs
  (`{kind: "pin", pin, label, who}`; stored hashed, never shown).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from payedge_server import keys
from payedge_server.contracts import Tx
from payedge_server.errors import DomainError, NotFoundError, RequestError, json_response, read_json_object
from payedge_server.openapi import op, path_param, query_param
from payedge_server.parking import sessions as s
from payedge_server.parking import trusted as t
from payedge_server.parking.fallback import FALLBACK
from payedge_server.parking.records import audit_trail
from payedge_server.parking.service import ParkingService

MAX_TEXT = 500
PARKING = web.AppKey("parking", ParkingService)


def _text(values: Mapping[str, Any], key: str) -> str:
    """A required text field of a body or a query: not blank, at most MAX_TEXT characters."""
    value = values.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RequestError("parameter_missing", f"{key} is required", key)
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise RequestError(
            "parameter_invalid", f"{key} must be a string of at most {MAX_TEXT} characters", key
        )
    return value.strip()


def _service(request: web.Request) -> ParkingService:
    return request.app[PARKING]


def _trail(tx: Tx, session_id: str) -> list[dict[str, Any]]:
    """The session's trail, with the audit entries of every payment it requested."""
    own = audit_trail(tx, session_id)
    payment_ids = list(
        dict.fromkeys(e["payment_id"] for e in own if e["action"] == "session.payment_requested")
    )
    return audit_trail(tx, session_id, payment_ids) if payment_ids else own


async def get_session(request: web.Request) -> web.Response:
    service = _service(request)
    session_id = request.match_info["session_id"]

    def read(tx: Tx) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        return s.get_session(tx, session_id), _trail(tx, session_id)

    session, trail = await service.store.read(read)
    if session is None:
        raise NotFoundError("session_not_found", f"no parking session {session_id!r}", "session_id")
    payment = None
    if session["payment_id"]:
        payment = await request.app[keys.PAYMENTS].get(session["payment_id"])
        session["payment_state"] = s.PAYMENT_STATES.get(payment["status"])
    return json_response({"session": session, "payment": payment, "timeline": trail})


async def list_sessions(request: web.Request) -> web.Response:
    """Latest sessions first, filtered by `plate`, `badge` or `state` (how an operator finds a car)."""
    service = _service(request)
    filters: list[tuple[str, str]] = []
    for name in ("plate", "badge", "state"):
        value = request.query.get(name)
        if value:
            filters.append((name, value))
    state = request.query.get("state")
    if state is not None and state not in s.STATES:
        raise RequestError("parameter_invalid", f"state must be one of {', '.join(s.STATES)}", "state")
    raw_limit = request.query.get("limit", "20")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        raise RequestError("parameter_invalid", "limit must be an integer from 1 to 100", "limit")
    found = await service.store.read(lambda tx: s.find_sessions(tx, filters, int(raw_limit)))
    return json_response({"data": found})


async def get_audit(request: web.Request) -> web.Response:
    service = _service(request)
    session_id = _text(request.query, "session_id")
    trail = await service.store.read(lambda tx: _trail(tx, session_id))
    return json_response({"session_id": session_id, "data": trail})


async def override(request: web.Request) -> web.Response:
    service = _service(request)
    session_id = request.match_info["session_id"]
    body = await read_json_object(request)
    operator, reason = _text(body, "operator"), _text(body, "reason")
    try:
        session = await service.store.write(
            lambda tx: s.override_exit(tx, session_id, operator, reason, time.time())
        )
    except s.SessionStateError as exc:
        raise DomainError(exc.code, str(exc), "session_id") from None
    service.wake()
    service.publish_session(session)
    return json_response({"session": session})


async def fallback_get(request: web.Request) -> web.Response:
    return json_response(await request.app[FALLBACK].get())


async def fallback_set(request: web.Request) -> web.Response:
    mode = request.app[FALLBACK]
    body = await read_json_object(request)
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise RequestError("parameter_invalid", "enabled is required: true or false", "enabled")
    who, why = _text(body, "who"), _text(body, "why")
    return json_response(await mode.set(enabled, who, why))


async def trusted_list(request: web.Request) -> web.Response:
    return json_response({"data": await _service(request).store.read(t.list_trusted)})


async def trusted_add(request: web.Request) -> web.Response:
    service = _service(request)
    body = await read_json_object(request)
    kind = body.get("kind")
    label, who = _text(body, "label"), _text(body, "who")
    # A field of the other kind is refused, not ignored: {"kind": "badge", "pin": ...}
    # is a mistake the operator should see (and the stored entry must match the request).
    other = {"badge": "pin", "pin": "badge"}.get(str(kind))
    if other is not None and other in body:
        raise RequestError("parameter_invalid", f"{other} is not used by a {kind} entry", other)
    badge = pin_hash = None
    if kind == "badge":
        badge = _text(body, "badge")
        if await service.store.read(lambda tx: s.is_trusted_badge(tx, str(badge))):
            raise DomainError("badge_in_use", "this badge is already trusted", "badge")
    elif kind == "pin":
        pin = body.get("pin")
        if not isinstance(pin, str) or not pin.isdigit() or not 4 <= len(pin) <= 12:
            raise RequestError("parameter_invalid", "pin is required: a string of 4 to 12 digits", "pin")
        if await t.match_pin(service.store, pin) is not None:
            raise DomainError("pin_in_use", "this PIN is already given to another trusted user", "pin")
        pin_hash = await asyncio.to_thread(t.hash_pin, pin)
    else:
        raise RequestError("parameter_invalid", "kind is required: 'badge' or 'pin'", "kind")
    entry = await service.store.write(
        lambda tx: t.add_trusted(
            tx, kind=str(kind), badge=badge, pin_hash=pin_hash, label=label, who=who, now=time.time()
        )
    )
    return json_response(entry, 201)


async def trusted_remove(request: web.Request) -> web.Response:
    service = _service(request)
    entry_id = request.match_info["entry_id"]
    who = _text(request.query, "who")
    removed = await service.store.write(lambda tx: t.remove_trusted(tx, entry_id, who, time.time()))
    if not removed:
        raise NotFoundError("trusted_not_found", f"no trusted entry {entry_id!r}", "entry_id")
    return json_response({"id": entry_id, "deleted": True})


def add_fallback_routes(app: web.Application) -> None:
    """The degraded-mode switch: on every server, parking or not."""
    app.router.add_get("/v1/admin/fallback-mode", fallback_get)
    app.router.add_post("/v1/admin/fallback-mode", fallback_set)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/parking/sessions", list_sessions)
    app.router.add_get("/v1/parking/sessions/{session_id}", get_session)
    app.router.add_post("/v1/parking/sessions/{session_id}/override", override)
    app.router.add_get("/v1/audit", get_audit)
    app.router.add_get("/v1/admin/parking/trusted", trusted_list)
    app.router.add_post("/v1/admin/parking/trusted", trusted_add)
    app.router.add_delete("/v1/admin/parking/trusted/{entry_id}", trusted_remove)


_OBJECT: dict[str, Any] = {"type": "object"}
_TEXT: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": "\\S"}
PATHS: dict[str, dict[str, Any]] = {
    "/v1/parking/sessions": {
        "get": op(
            "Parking sessions, latest first",
            schema=_OBJECT,
            errors=("parameter_invalid",),
            params=[
                query_param("plate", {"type": "string"}),
                query_param("badge", {"type": "string"}),
                query_param("state", {"type": "string", "enum": list(s.STATES)}),
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
            ],
        )
    },
    "/v1/parking/sessions/{session_id}": {
        "get": op(
            "A parking session with its payment and timeline",
            schema=_OBJECT,
            errors=("session_not_found",),
            params=[path_param("session_id")],
        )
    },
    "/v1/parking/sessions/{session_id}/override": {
        "post": op(
            "Operator override: authorise the exit without payment (audited)",
            schema=_OBJECT,
            errors=("parameter_missing", "parameter_invalid", "session_not_found", "session_closed"),
            example={"operator": "alice", "reason": "barrier stuck"},
            params=[path_param("session_id")],
            body={
                "type": "object",
                "required": ["operator", "reason"],
                "properties": {"operator": _TEXT, "reason": _TEXT},
            },
            idempotent=True,
        )
    },
    "/v1/audit": {
        "get": op(
            "The audit trail of a parking session",
            schema=_OBJECT,
            errors=("parameter_missing", "parameter_invalid"),
            params=[query_param("session_id", _TEXT, required=True)],
        )
    },
    "/v1/admin/parking/trusted": {
        "get": op("Trusted badges and PIN entries (PINs never shown)", schema=_OBJECT),
        "post": op(
            "Add a trusted badge or exit PIN (PINs stored hashed)",
            ok=201,
            schema=_OBJECT,
            errors=("parameter_missing", "parameter_invalid", "badge_in_use", "pin_in_use"),
            example={"kind": "badge", "badge": "B-example", "label": "staff", "who": "alice"},
            body={
                "type": "object",
                "required": ["kind", "label", "who"],
                "properties": {
                    "kind": {"type": "string", "enum": ["badge", "pin"]},
                    "badge": _TEXT,
                    "pin": {"type": "string", "pattern": "^[0-9]{4,12}$"},
                    "label": _TEXT,
                    "who": _TEXT,
                },
            },
            idempotent=True,
        ),
    },
    "/v1/admin/parking/trusted/{entry_id}": {
        "delete": op(
            "Remove a trusted badge or PIN (audited)",
            schema=_OBJECT,
            errors=("parameter_missing", "parameter_invalid", "trusted_not_found"),
            params=[path_param("entry_id"), query_param("who", _TEXT, required=True)],
        )
    },
}

FALLBACK_PATHS: dict[str, dict[str, Any]] = {
    "/v1/admin/fallback-mode": {
        "get": op("The fallback (degraded) mode", schema=_OBJECT),
        "post": op(
            "Switch the fallback (degraded) mode on or off (audited, pushed live on `system`)",
            schema=_OBJECT,
            errors=("parameter_missing", "parameter_invalid"),
            example={"enabled": False, "who": "alice", "why": "back to normal"},
            body={
                "type": "object",
                "required": ["enabled", "who", "why"],
                "properties": {"enabled": {"type": "boolean"}, "who": _TEXT, "why": _TEXT},
            },
            idempotent=True,
        ),
    },
}
