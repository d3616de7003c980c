"""API errors: one exception type rendered as `{"error": {"code", "message", "param"}}`."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

JSON = "application/json"


class ApiError(Exception):
    """An HTTP error with a stable code; raised anywhere in a handler."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers

    def as_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}

    def body(self) -> bytes:
        return orjson.dumps(self.as_dict())

    def response(self) -> web.Response:
        return web.Response(status=self.status, body=self.body(), content_type=JSON, headers=self.headers)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(data), content_type=JSON, headers=headers)


# aiohttp's own HTTP exceptions (routing, body size) mapped to stable codes.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


def from_http_exception(exc: web.HTTPException) -> ApiError:
    status = exc.status
    code = _HTTP_CODES.get(status, "http_error")
    message = exc.reason
    if status == 413:
        message = "the request body is larger than the 1 MB limit"
    elif status == 404:
        message = "no such route"
    headers = None
    if status == 405:
        allow = exc.headers.get("Allow")
        headers = {"Allow": allow} if allow else None
    return ApiError(status, code, message, headers=headers)


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 saying what is wrong."""
    body = await request.read()
    if not body:
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, "invalid_json", "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    return data
