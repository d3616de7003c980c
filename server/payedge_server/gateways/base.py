"""The one gateway interface every payment provider implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from payedge_server.contracts import Tx


@dataclass(frozen=True, slots=True)
class GatewayResult:
    """What a gateway says about a payment after an operation.

    `status` is a payedge payment status; `error_code`/`error_message` explain a
    `failed` outcome (e.g. `card_declined`).
    """

    status: str
    gateway_ref: str | None = None
    amount_captured: int | None = None
    error_code: str | None = None
    error_message: str | None = None


class GatewayUnavailableError(Exception):
    """The gateway could not be reached or answered 5xx: nothing happened, retry later."""


class GatewayRejectedError(Exception):
    """The gateway refused the request itself (bad parameters): a 4xx for the client."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


class Gateway(Protocol):
    name: str

    def check_payment_method(self, payment_method: str) -> str | None:
        """None if the id is acceptable for this gateway, else a message saying why not."""
        ...

    async def create(self, payment: dict[str, Any], *, idempotency_key: str) -> GatewayResult:
        """Register the payment at the provider (may be local: no I/O)."""
        ...

    async def confirm(self, payment: dict[str, Any], *, idempotency_key: str) -> GatewayResult: ...

    async def cancel(self, payment: dict[str, Any], *, idempotency_key: str) -> GatewayResult: ...

    async def refund(
        self, payment: dict[str, Any], amount: int, *, refund_id: str, idempotency_key: str
    ) -> str | None:
        """Refund `amount`; returns the provider's refund id."""
        ...

    async def ready(self) -> bool: ...

    async def close(self) -> None: ...


@runtime_checkable
class LocalGateway(Protocol):
    """A gateway that decides in-process, without I/O (the sandbox).

    The payment service then confirms in ONE store write: `confirm_now` runs
    inside the write, then `after_confirm_in_tx` with the same transaction, so a
    follow-up the gateway owes (the sandbox's async webhook, written to its
    delivery table) commits or rolls back together with the status change.
    """

    def confirm_now(self, payment: dict[str, Any]) -> GatewayResult:
        """The outcome, or raise GatewayUnavailableError."""
        ...

    def after_confirm_in_tx(self, tx: Tx, payment: dict[str, Any], result: GatewayResult) -> None: ...
