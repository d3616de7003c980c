"""payedge's exception hierarchy.

Plain Python so that an error can be both a ``PayedgeError`` and a
``ValueError``; the Rust bindings raise these classes (mapped once, in
``core-rs/bindings/src/errors.rs``) and ``payedge._core`` re-exports them.
Every error has a stable ``code`` and, where one field was at fault, ``param``
naming it.
"""

from __future__ import annotations


class PayedgeError(Exception):
    """Root of every error payedge raises."""

    code: str = "payedge_error"
    param: str | None = None

    def __init__(self, message: str = "", *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if param is not None:
            self.param = param


class SignatureError(PayedgeError, ValueError):
    """A webhook signature, or its header, was rejected."""

    code = "invalid_signature"


class PayloadError(PayedgeError, ValueError):
    """A payload whose signature is valid but which cannot be parsed as what it claims to be.

    Raised by ``parse_stripe_event`` for a verified body that is not JSON, not an
    object, or whose ``id`` or ``type`` is missing or not a string; ``param``
    names the field (``id``, ``type``, ``created``) or ``payload`` for the whole
    body. Never raised for a bad signature (that is ``SignatureError``): the
    sender did sign this, so a server should record it and answer 2xx or 4xx
    knowing the provider will not fix it by retrying.
    """

    code = "invalid_payload"


class MoneyError(PayedgeError, ValueError):
    """Unknown currency, excess precision or an amount out of range."""

    code = "invalid_money"


class TariffError(PayedgeError, ValueError):
    """Invalid tariff rules; ``param`` is the JSON path of the bad field."""

    code = "invalid_tariff"


class RoutingError(PayedgeError, ValueError):
    """Invalid routing rules (SPEC 5); ``param`` is the 0-based JSON path of the bad
    field, e.g. ``$.rules[1].when[0].op``."""

    code = "invalid_routing_rules"


class QueueError(PayedgeError):
    """A terminal-queue operation that cannot proceed (``terminal_busy``, ``unknown_terminal``)."""

    code = "queue_error"


class StaleLeaseError(QueueError):
    """A lease token that has expired, was completed or is unknown."""

    code = "stale_lease"
    token: int | None = None

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        param: str | None = None,
        token: int | None = None,
    ) -> None:
        super().__init__(message, code=code, param=param)
        self.token = token


class IdempotencyError(PayedgeError, ValueError):
    """Idempotency-key misuse, such as a key longer than 255 characters."""

    code = "invalid_idempotency_key"


class InvalidArgumentError(PayedgeError, ValueError):
    """Any other bad argument; ``param`` names it."""

    code = "invalid_argument"


__all__ = [
    "IdempotencyError",
    "InvalidArgumentError",
    "MoneyError",
    "PayedgeError",
    "PayloadError",
    "QueueError",
    "RoutingError",
    "SignatureError",
    "StaleLeaseError",
    "TariffError",
]
