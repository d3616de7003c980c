"""Building blocks of the OpenAPI document: operations whose error responses come from the catalogue.

An operation names the error codes it can answer with; `op` groups them by the
status the catalogue gives each code and documents every group with the list of
its codes (`code` is an enum there), so `/openapi.json` cannot promise a status or
a code the server does not use, nor miss one it does: schemathesis checks both.
Errors every operation of a kind shares are added here once: 401 (and 403
`csrf_failed`, for a dashboard session) for an operation that needs an API key,
429 `rate_limited` for every operation the rate limits apply to (all but webhooks
and health), the JSON body errors and 413 for one with a body, the Idempotency-Key
errors for an idempotent POST.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from aiohttp import web

from payedge_server.errors import CATALOGUE

OPENAPI_PATHS = web.AppKey("openapi_paths", dict[str, dict[str, Any]])

BODY_ERRORS = ("invalid_json", "parameter_unknown", "body_too_large")
IDEMPOTENCY_ERRORS = ("idempotency_key_invalid", "idempotency_key_in_flight", "idempotency_key_mismatch")
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retries with the same key replay the first response (24 hours).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def error_schema(codes: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": sorted(codes)},
                    "message": {"type": "string"},
                    "param": {"type": "string"},
                },
            }
        },
    }


def error_responses(codes: Iterable[str]) -> dict[str, Any]:
    """One response per status, listing the codes it carries and what they mean."""
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys(codes):
        by_status.setdefault(CATALOGUE[code].status, []).append(code)
    responses: dict[str, Any] = {}
    for status, group in sorted(by_status.items()):
        description = "; ".join(f"`{code}`: {CATALOGUE[code].meaning}" for code in group)
        responses[str(status)] = {"description": description, "content": json_content(error_schema(group))}
    return responses


def op(
    summary: str,
    *,
    ok: int = 200,
    schema: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
    params: Sequence[dict[str, Any]] = (),
    errors: Sequence[str] = (),
    public: bool = False,
    idempotent: bool = False,
    example: dict[str, Any] | None = None,
    responses: dict[str, Any] | None = None,
    body_required: bool = False,
    limited: bool = True,
) -> dict[str, Any]:
    """One operation object. `errors`: the codes it may answer with besides the shared ones;
    `limited`: whether the rate limits apply to it (SPEC 8; every route but webhooks and health)."""
    codes = list(errors)
    if not public:
        codes.extend(("unauthorized", "csrf_failed"))
    if limited:
        codes.append("rate_limited")
    if body is not None:
        codes.extend(BODY_ERRORS)
    if idempotent:
        codes.extend(IDEMPOTENCY_ERRORS)
    success: dict[str, Any] = {"description": "success"}
    if schema is not None:
        success["content"] = json_content(schema)
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {str(ok): success, **(responses or {}), **error_responses(codes)},
    }
    if public:
        operation["security"] = []
    parameters = [*params, IDEMPOTENCY_HEADER] if idempotent else list(params)
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        content = json_content(body)
        if example is not None:
            content["application/json"]["example"] = example
        operation["requestBody"] = {"required": body_required, "content": content}
    return operation


def path_param(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}


def query_param(name: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


def register(app: web.Application, paths: dict[str, dict[str, Any]]) -> None:
    """Document more paths (call before the app starts, next to `add_routes`)."""
    documented = app.setdefault(OPENAPI_PATHS, {})
    for path, operations in paths.items():
        documented.setdefault(path, {}).update(operations)
