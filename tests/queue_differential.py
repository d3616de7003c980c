"""A hypothesis state machine that drives a terminal-queue implementation and
the sequential model (tests/queue_model.py) with the same operations and
clocks, and requires identical results, errors, positions and queue order.

Subclasses say how to build the implementation under test and how far clocks
can be compared (the Redis twin reads Redis's clock, so its expiries cannot be
driven from here and are compared structurally).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from payedge import Lease, PayedgeError

from tests.queue_model import QueueModel

PAYMENTS = [f"p{i}" for i in range(8)]
USERS = ["u0", "u1", "u2", "u3"]
TERMINALS = ["t0", "t1", "t2"]
TTL = 10.0


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """("ok", value) or ("err", class name, code, param, token)."""
    try:
        return ("ok", call())
    except PayedgeError as exc:
        return ("err", type(exc).__name__, exc.code, exc.param, getattr(exc, "token", None))


class QueueMachine(RuleBasedStateMachine):
    """Rust TerminalQueue vs model, explicit clocks (subclass for other twins)."""

    #: Does the implementation take our clock? (False: Redis time, long TTL.)
    explicit_clock = True

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0
        self.model = QueueModel(TERMINALS, TTL)
        self.real = self.make_real()

    def make_real(self) -> Any:
        from payedge import TerminalQueue

        return TerminalQueue(TERMINALS, TTL)

    def clock(self) -> float | None:
        return self.now if self.explicit_clock else None

    def model_clock(self) -> float:
        return self.now

    def norm(self, value: Any) -> Any:
        """What is compared of a result (all of it, with explicit clocks)."""
        return value

    def both(self, op: Callable[[Any, Any], Any]) -> Any:
        """Apply `op(impl, now)` to both; outcomes must match."""
        expected = outcome(lambda: op(self.model, self.model_clock()))
        got = outcome(lambda: op(self.real, self.clock()))
        assert self.norm(got) == self.norm(expected), (got, expected)
        return got

    # -- rules ---------------------------------------------------------------
    @precondition(lambda self: self.explicit_clock)
    @rule(dt=st.sampled_from([0.0, 0.5, 1.0, 4.0, TTL, TTL + 0.25]))
    def tick(self, dt: float) -> None:
        self.now += dt

    @rule(payment=st.sampled_from(PAYMENTS), user=st.sampled_from(USERS))
    def enqueue(self, payment: str, user: str) -> None:
        self.both(lambda q, now: q.enqueue(payment, user, now))

    @rule(terminal=st.sampled_from([*TERMINALS, "t9"]))
    def allocate(self, terminal: str) -> None:
        self.both(lambda q, now: q.allocate(terminal, now))

    @rule(token=st.integers(0, 12))
    def complete(self, token: int) -> None:
        self.both(lambda q, now: q.complete(token, now))

    @rule(token=st.integers(0, 12))
    def extend(self, token: int) -> None:
        self.both(lambda q, now: q.extend(token, now))

    @rule(payment=st.sampled_from(PAYMENTS))
    def cancel(self, payment: str) -> None:
        self.both(lambda q, _now: q.cancel(payment))

    @rule()
    def expire(self) -> None:
        self.both(lambda q, now: q.expire(now))

    @rule(bad=st.sampled_from(["", "user"]))
    def bad_enqueue(self, bad: str) -> None:
        # an empty id is refused after the lazy expiry
        self.both(lambda q, now: q.enqueue(bad or "", "" if bad else "u0", now))

    # -- invariants ----------------------------------------------------------
    @invariant()
    def same_positions_and_order(self) -> None:
        for payment in PAYMENTS:
            assert self.real.position(payment) == self.model.position(payment), payment
        real, model = self.real.snapshot(), self.model.snapshot()
        assert real["queue"] == model["queue"]
        assert self.norm(real["terminals"]) == self.norm(model["terminals"])


def lease_shape(value: Any) -> Any:
    """A result with every lease's clock-dependent expiry dropped."""
    if isinstance(value, Lease):
        return ("Lease", value.payment_id, value.user_id, value.terminal_id, value.token)
    if isinstance(value, tuple | list):
        return type(value)(lease_shape(v) for v in value)
    if isinstance(value, dict):
        return {k: lease_shape(v) for k, v in value.items()}
    if isinstance(value, float):
        return "float"
    return value
