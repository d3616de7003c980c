"""A drop-in for stripe-python's webhook helpers, at native speed (SPEC 10).

Switching is one line::

    event = stripe.Webhook.construct_event(payload, sig_header, secret)           # before
    event = payedge.stripe_compat.construct_event(payload, sig_header, secret)    # after

`construct_event` and `verify_header` take the same arguments as stripe-python
16's `stripe.Webhook.construct_event` and `stripe.WebhookSignature.verify_header`,
give the same verdict on every input and raise the same exceptions:

- `SignatureVerificationError` (stripe-python's own class when it is installed,
  a stand-in with the same attributes otherwise: see `_errors`) with the same
  message, `sig_header` and `http_body`;
- `ValueError` for a payload that is not a Stripe event: `json.JSONDecodeError`
  for bad JSON and `UnicodeDecodeError` for bytes that are not UTF-8, as
  stripe-python raises them, and a thin `v2.core.event` notification.

Where stripe-python itself crashes, payedge answers: `v1` values with non-ASCII
text (stripe-python: `TypeError`) give `SignatureVerificationError`; a JSON
document that is not an object (stripe-python: `AttributeError`) or that is
nested beyond Python's recursion limit (`RecursionError`) gives `ValueError`.
docs/embedding.md lists these and the other differences.

The returned `Event` reads like a `stripe.Event` (`event.type`,
`event["data"]["object"]`, `event.data.object.metadata`, `in`, `get`,
`to_dict()`); `event.to_stripe()` builds the real `stripe.Event`.
stripe-python is optional: only `to_stripe()` needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from payedge.stripe_compat import _shapes
from payedge.stripe_compat._objects import Event, ListObject, StripeObject, make_event
from payedge.stripe_compat._verify import load_event_json, native_bytes, verify_exact

if TYPE_CHECKING:
    from payedge.stripe_compat._errors import SignatureVerificationError, StripeError
else:
    from payedge.stripe_compat._verify import SignatureVerificationError, StripeError

DEFAULT_TOLERANCE: Final = 300
"""Seconds of age `construct_event` allows by default (stripe-python's)."""

STRIPE_INSTALLED: Final[bool] = _shapes.STRIPE_INSTALLED
_EVENT_SHAPE: Final = _shapes.EVENT
_EVENT_PLAIN: Final = _EVENT_SHAPE is None or not _EVENT_SHAPE.encodings
"""Whether stripe-python is importable: then its exception classes are raised and
its field coercions (Decimal for `*_decimal` fields...) are mirrored."""


def construct_event(  # noqa: PLR0917  (stripe-python's positional signature)
    payload: str | bytes | bytearray,
    sig_header: str | None,
    secret: str | None,
    tolerance: int | None = DEFAULT_TOLERANCE,
    api_key: str | None = None,
    api_requestor: Any = None,
) -> Event:
    """Verify a Stripe webhook and return its event, as `stripe.Webhook.construct_event`.

    `payload`: the raw request body (bytes, or the str it decodes to).
    `sig_header`: the `Stripe-Signature` header. `secret`: the endpoint's
    `whsec_...` secret. `tolerance`: seconds of age allowed (300; `None` or 0:
    no age check). `api_key` / `api_requestor`: only used by `Event.to_stripe()`.

    Raises `SignatureVerificationError` (signature, header or secret), and
    `ValueError` for a payload that is not a Stripe event (`json.JSONDecodeError`
    for bad JSON, `UnicodeDecodeError` for bytes that are not UTF-8, a JSON value
    that is not an object, a thin `v2.core.event`). The event's JSON is parsed
    natively; nested objects are built lazily, when first read.
    """
    raw = native_bytes(payload, sig_header, secret, tolerance)
    if raw is None:
        verify_exact(payload, sig_header, secret, tolerance)
    data = load_event_json(raw, payload)
    if api_key is None and api_requestor is None and _EVENT_PLAIN:
        return Event(data, _EVENT_SHAPE)  # make_event's common case, one call less
    return make_event(data, api_key, api_requestor)


def verify_header(
    payload: str | bytes | bytearray,
    header: str | None,
    secret: str | None,
    tolerance: int | None = None,
) -> bool:
    """Verify a `Stripe-Signature` header, as `stripe.WebhookSignature.verify_header`:
    returns True or raises `SignatureVerificationError` (or `UnicodeDecodeError` for
    bytes that are not UTF-8). `tolerance` defaults to `None`: no age check, as there."""
    raw = native_bytes(payload, header, secret, tolerance)
    if raw is None:
        return verify_exact(payload, header, secret, tolerance)
    if type(payload) is not str and not raw.isascii():
        raw.decode("utf-8")  # stripe-python refuses undecodable bytes first of all
    return True


class Webhook:
    """`stripe.Webhook`'s name for `construct_event`: `from payedge.stripe_compat import Webhook`."""

    DEFAULT_TOLERANCE: Final = DEFAULT_TOLERANCE
    construct_event = staticmethod(construct_event)


class WebhookSignature:
    """`stripe.WebhookSignature`'s name for `verify_header`."""

    EXPECTED_SCHEME: Final = "v1"
    verify_header = staticmethod(verify_header)


__all__ = [
    "DEFAULT_TOLERANCE",
    "STRIPE_INSTALLED",
    "Event",
    "ListObject",
    "SignatureVerificationError",
    "StripeError",
    "StripeObject",
    "Webhook",
    "WebhookSignature",
    "construct_event",
    "verify_header",
]
