"""Magic amounts and armed faults: how a test makes a fake decline, hang, fail or drop.

A magic amount is read from the integer part of the amount as the provider sees it
(PayPal ``"9155.00"`` and CinetPay ``9155`` are both 9155), so one table serves the
four fakes and every amount in it is valid everywhere (an integer, a multiple of 5,
at least 100). The hundreds digit names the operation, the last two digits the fault:

======  ==========================  ======================================================
digits  operation                   which call
======  ==========================  ======================================================
91xx    ``pay``                     the call that takes the money: PayPal capture,
                                    CinetPay/Orange payment init, MoMo requesttopay
92xx    ``create``                  PayPal order creation (the others have no separate one)
93xx    ``refund``                  PayPal capture refund (keyed on the captured amount)
======  ==========================  ======================================================

``xx``: 00 decline, 05/10/15 answer 5xx / time out / drop the connection BEFORE the
operation is applied, 55/60/65 the same AFTER it was applied (the money moved, the
answer is lost). Any other amount behaves normally.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal


class Operation(enum.Enum):
    PAY = "pay"
    CREATE = "create"
    REFUND = "refund"


class Fault(enum.Enum):
    DECLINE = "decline"
    SERVER_ERROR = "5xx"
    TIMEOUT = "timeout"
    DROP = "drop"


class Phase(enum.Enum):
    """Whether the fault strikes before the operation is applied, or after (state changed)."""

    BEFORE = "before"
    AFTER = "after"


@dataclass(frozen=True)
class Injection:
    fault: Fault
    phase: Phase

    def as_json(self) -> dict[str, str]:
        return {"fault": self.fault.value, "phase": self.phase.value}


MAGIC_BASE = 9000
_OPERATION_DIGIT = {1: Operation.PAY, 2: Operation.CREATE, 3: Operation.REFUND}
_FAULT_CODES = {
    0: Injection(Fault.DECLINE, Phase.BEFORE),
    5: Injection(Fault.SERVER_ERROR, Phase.BEFORE),
    10: Injection(Fault.TIMEOUT, Phase.BEFORE),
    15: Injection(Fault.DROP, Phase.BEFORE),
    55: Injection(Fault.SERVER_ERROR, Phase.AFTER),
    60: Injection(Fault.TIMEOUT, Phase.AFTER),
    65: Injection(Fault.DROP, Phase.AFTER),
}


def magic(operation: Operation, amount: Decimal) -> Injection | None:
    """The injection a magic amount asks for on `operation`, or None for an ordinary amount."""
    whole = int(amount)
    if not MAGIC_BASE <= whole < MAGIC_BASE + 1000:
        return None
    if _OPERATION_DIGIT.get((whole - MAGIC_BASE) // 100) is not operation:
        return None
    return _FAULT_CODES.get(whole % 100)


def magic_table() -> list[dict[str, object]]:
    """Every magic amount with its meaning (served by the admin API, printed in the docs)."""
    rows: list[dict[str, object]] = []
    for digit, operation in _OPERATION_DIGIT.items():
        for code, injection in _FAULT_CODES.items():
            rows.append(
                {
                    "amount": MAGIC_BASE + digit * 100 + code,
                    "operation": operation.value,
                    **injection.as_json(),
                }
            )
    return rows


@dataclass(frozen=True)
class Armed:
    """A fault armed through the admin API for the next `times` calls of `operation`."""

    operation: Operation
    injection: Injection
    times: int


class Faults:
    """Armed faults (admin API) first, then the magic amount."""

    def __init__(self) -> None:
        self._armed: list[Armed] = []

    def arm(self, armed: Armed) -> None:
        self._armed.append(armed)

    def clear(self) -> None:
        self._armed.clear()

    def listing(self) -> list[dict[str, object]]:
        return [
            {"operation": a.operation.value, "times": a.times, **a.injection.as_json()} for a in self._armed
        ]

    def pick(self, operation: Operation, amount: Decimal) -> Injection | None:
        for index, armed in enumerate(self._armed):
            if armed.operation is operation:
                if armed.times <= 1:
                    del self._armed[index]
                else:
                    self._armed[index] = Armed(operation, armed.injection, armed.times - 1)
                return armed.injection
        return magic(operation, amount)
