"""stripe-python's webhook verdicts, natively where that is exact (SPEC 10).

Two paths give one verdict:

- native: when the arguments have the shapes a web app passes (a `bytes`,
  `bytearray` or encodable `str` payload, an ASCII `str` header, a `str`
  secret, an `int` or `None` tolerance), `payedge.verify_stripe` (the Rust
  core, SPEC 2.1) checks the signature. Where it *accepts*, stripe-python
  accepts too: its rules are stripe-python's for every UTF-8 payload and every
  header whose `t` is ASCII digits, and it refuses every other `t`, payloads
  that are not UTF-8 and blank secrets (a `t` with more digits than `int()`
  takes fails when the core hands it back as an `int`).
- exact: anything else, including every input the native check refuses, goes
  through `verify_exact`, a step-by-step emulation of stripe-python 16.1's
  `WebhookSignature.verify_header` (stripe/_webhook.py): the same checks in the
  same order, the same messages, `int()` on the `t` value (so `t=+1_700`
  and non-ASCII digits verify as there), the same `%d` timestamp in the
  signed text.

Where stripe-python itself crashes, the emulation answers instead: a header
whose `v1` candidates hold non-ASCII text makes stripe-python's
`hmac.compare_digest` raise `TypeError`; here it is a
`SignatureVerificationError` (no signature matched). Undecodable `bytes`
raise `UnicodeDecodeError` in both, before any other check: a `ValueError`,
which is what apps catch for a bad payload.

The clock is `time.time()`, read the way stripe-python reads it, so a frozen
clock in an app's tests (freezegun and the like) freezes both.
"""

from __future__ import annotations

import hmac
import json
import math
import time
from hashlib import sha256
from typing import Any, Final

import orjson

from payedge._core import _json_has_wide_integer, verify_stripe
from payedge.stripe_compat import _errors

_BLANK: Final = " \t\r\n\f\v"
_SCHEME: Final = "v1"

StripeError, SignatureVerificationError = _errors.resolve()


def native_bytes(payload: object, header: object, secret: object, tolerance: object) -> bytes | None:
    """The payload's bytes when the native check accepts the webhook, else `None`
    (not verified natively: the exact path decides, and raises what stripe-python raises)."""
    if type(payload) is bytes:
        raw = payload
    elif type(payload) is str:
        try:
            raw = payload.encode()
        except UnicodeEncodeError:
            return None
    elif type(payload) is bytearray:
        raw = bytes(payload)
    else:
        return None
    if type(header) is not str or not header.isascii() or type(secret) is not str:
        return None
    if tolerance is None:
        now = None
    elif type(tolerance) is int and tolerance >= 0:
        # stripe-python: timestamp < time.time() - tolerance; for whole seconds
        # that is timestamp < ceil(time.time()) - tolerance (0: no age check)
        now = math.ceil(time.time()) if tolerance else None
    else:
        return None
    try:
        verify_stripe(raw, header, secret, tolerance=tolerance, now=now)
    except ValueError:  # payedge.SignatureError, or a `t` longer than int() takes
        return None
    return raw


def verify_exact(payload: Any, header: Any, secret: Any, tolerance: Any) -> bool:
    """stripe-python's `WebhookSignature.verify_header`, step by step."""
    if isinstance(payload, bytes | bytearray):
        payload = payload.decode("utf-8")
    if not header:
        raise SignatureVerificationError(
            "No Stripe-Signature header value was provided. Read it from the incoming request's "
            "headers and pass it in; if this webhook has already been verified (or came from a trusted "
            "source), use one of the `*_without_verification` methods instead.",
            header,
            payload,
        )
    if secret is None or secret.strip(_BLANK) == "":
        raise SignatureVerificationError(
            "No webhook secret value was provided. It should start with `whsec_`", header, payload
        )
    try:
        timestamp, signatures = _timestamp_and_signatures(header)
    except Exception:
        raise SignatureVerificationError(
            "Unable to extract timestamp and signatures from header", header, payload
        ) from None
    if not signatures:
        raise SignatureVerificationError(
            f"No signatures found with expected scheme {_SCHEME}", header, payload
        )
    signed = "%d.%s" % (timestamp, payload)  # noqa: UP031  (the same formatting as stripe-python)
    expected = hmac.new(secret.encode("utf-8"), msg=signed.encode("utf-8"), digestmod=sha256).hexdigest()
    try:
        matched = any(hmac.compare_digest(expected, candidate) for candidate in signatures)
    except TypeError:  # a non-ASCII candidate: stripe-python crashes here
        matched = False
    if not matched:
        raise SignatureVerificationError(
            "No signatures found matching the expected signature for payload", header, payload
        )
    if tolerance and timestamp < time.time() - tolerance:
        raise SignatureVerificationError(
            "Timestamp outside the tolerance zone (%d)" % timestamp,  # noqa: UP031
            header,
            payload,
        )
    return True


def _timestamp_and_signatures(header: Any) -> tuple[int, list[Any]]:
    # Python's own split and int(), as stripe-python: any failure (no `t`, an item
    # `t` or `v1` with no "=", an int() refusal, a header of another type) is a
    # malformed header for the caller.
    items = [item.split("=", 2) for item in header.split(",")]
    # every `t` item is indexed, not only the first: a later bare `t` fails too
    timestamp = int([item[1] for item in items if item[0] == "t"][0])  # noqa: RUF015
    signatures = [item[1] for item in items if item[0] == _SCHEME]
    return timestamp, signatures


# ---------------------------------------------------------------- JSON


def load_event_json(raw: bytes | None, payload: Any) -> dict[str, Any]:
    """The verified payload as a dict, with stripe-python's content and errors.

    orjson parses it (natively) unless it holds an integer wider than 64 bits
    (orjson would make it a float) or orjson refuses it; then Python's `json`
    does, as stripe-python: the same `json.JSONDecodeError` for bad JSON. A
    document that is not an object raises `ValueError` (stripe-python crashes
    with `AttributeError`); one nested deeper than Python's recursion limit
    raises `ValueError` (stripe-python: `RecursionError`)."""
    data: Any
    if raw is not None and not _json_has_wide_integer(raw):
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            data = _load_with_json(payload)
    else:
        data = _load_with_json(payload)
    if type(data) is not dict:
        raise ValueError(f"A Stripe webhook payload is a JSON object; this one is a JSON {_json_kind(data)}.")
    if data.get("object") == "v2.core.event":
        raise ValueError(
            "You passed a thin event notification to a method that expects a webhook body. Use the "
            "corresponding parse_event_notification* method instead."
        )
    return data


def _load_with_json(payload: Any) -> Any:
    if isinstance(payload, bytes | bytearray):
        # stripe-python decodes (strictly) before anything else; json.loads alone
        # would let UTF-8-encoded surrogates through
        payload.decode("utf-8")
    try:
        return json.loads(payload)
    except RecursionError:
        raise ValueError("The webhook payload's JSON is nested too deeply to parse.") from None


def _json_kind(value: object) -> str:
    kinds = {list: "array", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), "number")
