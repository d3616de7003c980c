"""The exception classes of `payedge.stripe_compat` (SPEC 10).

When stripe-python is installed, `construct_event` raises stripe-python's own
`stripe.SignatureVerificationError`, so `except stripe.SignatureVerificationError`
(or `stripe.error.SignatureVerificationError`) in an app keeps working after the
switch. Without stripe-python, the classes below stand in: the same names, the
same constructor and the same attributes (`sig_header`, `http_body`,
`user_message`, `http_status`, `json_body`, `headers`, `code`, `request_id`),
rooted at `Exception` as stripe-python's are (not at `ValueError`, so an
`except ValueError` for bad JSON does not catch a bad signature).
"""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """Stand-in for `stripe.StripeError` when stripe-python is not installed."""

    def __init__(  # noqa: PLR0917  (stripe-python's positional signature)
        self,
        message: str | None = None,
        http_body: bytes | str | None = None,
        http_status: int | None = None,
        json_body: object | None = None,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        body: str | None = None
        if isinstance(http_body, bytes | bytearray) and http_body:
            try:
                body = bytes(http_body).decode("utf-8")
            except UnicodeDecodeError:
                body = "<Could not decode body as utf-8>"
        elif isinstance(http_body, str) and http_body:
            body = http_body
        self._message = message
        self.http_body = body
        self.http_status = http_status
        self.json_body = json_body
        self.headers: dict[str, str] = headers or {}
        self.code = code
        super().__init__(message, self.http_body, http_status, json_body, self.headers, code)
        self.request_id = self.headers.get("request-id")
        self.error: Any = None

    def __str__(self) -> str:
        message = self._message or "<empty message>"
        if self.request_id is not None:
            return f"Request {self.request_id}: {message}"
        return message

    @property
    def user_message(self) -> str | None:
        return self._message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self._message!r}, http_status={self.http_status!r}, "
            f"request_id={self.request_id!r})"
        )


class SignatureVerificationError(StripeError):
    """Stand-in for `stripe.SignatureVerificationError`: a webhook whose signature
    does not verify. `sig_header` is the header given, `http_body` the payload text."""

    def __init__(self, message: str, sig_header: Any, http_body: bytes | str | None = None) -> None:
        super().__init__(message, http_body)
        self.sig_header = sig_header
        self.args = (self._message, self.sig_header, self.http_body)


def resolve() -> tuple[type[StripeError], type[SignatureVerificationError]]:
    """stripe-python's classes when it is installed, else the stand-ins above."""
    try:
        from stripe import SignatureVerificationError as StripeSignatureError
        from stripe import StripeError as StripeBase
    except ImportError:
        return StripeError, SignatureVerificationError
    return StripeBase, StripeSignatureError  # type: ignore[return-value]
