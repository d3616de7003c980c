"""Parking sessions: the state machine of SPEC 4 as plain functions over a `Tx`.

States: `active -> pending_payment -> paid -> closed`, or `flagged`. Every function
here runs inside one write transaction of the store: the session change, its
audit entries and its outgoing MQTT messages (outbox) commit together or not at
all. Nothing here does I/O or awaits.

`paid` means "exit authorised": by a payment that reached `succeeded` through the
gateway's server-side proof, by an operator override, by a trusted badge or PIN
(fallback mode), or because the stay cost nothing (grace period). The
`authorisation` column says which, and the `parking/payment/success` message
carries it as `reason`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import payedge

from payedge_server.contracts import Tx
from payedge_server.parking.messages import TOPIC_ENTRY, TOPIC_REQUEST, TOPIC_SUCCESS, Inbound
from payedge_server.parking.records import SRC, audit, dumps, enqueue, loads, new_msg_id

ACTIVE, PENDING, PAID, CLOSED, FLAGGED = "active", "pending_payment", "paid", "closed", "flagged"
STATES = (ACTIVE, PENDING, PAID, CLOSED, FLAGGED)
OPEN_STATES = (ACTIVE, PENDING, PAID)
# States an exit detection can land on when it identifies by plate or badge.
AT_EXIT_STATES = (ACTIVE, PENDING, PAID, FLAGGED)
SYSTEM = "system"

COLUMNS = (
    "id, plate, badge, identity, state, entry_ts, exit_detected_ts, exit_ts, payment_id, payment_status,"
    " amount, currency, quote, request, authorisation, authorised_by, flag_reason, created_at, updated_at,"
    " version"
)


CreatePayment = Callable[[Tx, int, str, dict[str, Any]], dict[str, Any]]
"""`(tx, amount, currency, metadata) -> payment` (the API view, with `id`), in the caller's transaction."""


@dataclass
class Outcome:
    """What a handler did: for the processed-message record, the reply and live events."""

    outcome: str
    session_id: str | None = None
    session: dict[str, Any] | None = None
    touched: list[str] = field(default_factory=list)


@dataclass
class Context:
    """What the handlers need besides the transaction."""

    tariff: payedge.Tariff
    create_payment: CreatePayment
    fallback: Callable[[Tx], bool]
    clock: Callable[[], float] = time.time


def new_session_id() -> str:
    # Letters only (~94 bits): a run of digits in payment metadata is refused as card-like.
    return "ps_" + bytes(97 + byte % 26 for byte in os.urandom(20)).decode()


_KEYS = tuple(name.strip() for name in COLUMNS.split(","))

# SPEC 4's payment states, as the exit lane sees the payments API's statuses.
PAYMENT_STATES = {
    "requires_payment_method": "requested",
    "requires_confirmation": "requested",
    "processing": "pending",
    "succeeded": "paid",
    "partially_refunded": "paid",
    "refunded": "refunded",
    "failed": "failed",
    "canceled": "canceled",
}


def ms(seconds: float) -> int:
    """Stored times are UNIX milliseconds; the API shows UNIX seconds."""
    return int(seconds * 1000)


def row_to_session(row: tuple[Any, ...]) -> dict[str, Any]:
    session = dict(zip(_KEYS, row, strict=True))
    session["created_at"] //= 1000
    session["updated_at"] //= 1000
    for key in ("quote", "request", "authorisation"):
        session[key] = loads(session[key]) if session[key] else None
    session["payment_state"] = PAYMENT_STATES.get(session["payment_status"] or "")
    return session


def get_session(tx: Tx, session_id: str) -> dict[str, Any] | None:
    row = tx.fetchone(f"SELECT {COLUMNS} FROM parking_sessions WHERE id = ?", (session_id,))
    return row_to_session(row) if row else None


def find_sessions(tx: Tx, filters: list[tuple[str, str]], limit: int) -> list[dict[str, Any]]:
    where = " AND ".join(f"{column} = ?" for column, _ in filters if column in ("plate", "badge", "state"))
    rows = tx.fetchall(
        f"SELECT {COLUMNS} FROM parking_sessions {'WHERE ' + where if where else ''}"
        " ORDER BY created_at DESC LIMIT ?",
        (*(value for _, value in filters), limit),
    )
    return [row_to_session(row) for row in rows]


def _find_by(tx: Tx, column: str, value: str, states: tuple[str, ...]) -> dict[str, Any] | None:
    marks = ", ".join("?" for _ in states)
    row = tx.fetchone(
        f"SELECT {COLUMNS} FROM parking_sessions WHERE {column} = ? AND state IN ({marks})"
        " ORDER BY entry_ts DESC, created_at DESC LIMIT 1",
        (value, *states),
    )
    return row_to_session(row) if row else None


def _update(tx: Tx, session: dict[str, Any], now: float, **changes: Any) -> None:
    for key in ("quote", "request", "authorisation"):
        if key in changes and changes[key] is not None:
            changes[key] = dumps(changes[key])
    sets = ", ".join(f"{key} = ?" for key in changes)
    tx.execute(
        f"UPDATE parking_sessions SET {sets}, updated_at = ?, version = version + 1 WHERE id = ?",
        (*changes.values(), ms(now), session["id"]),
    )
    for key in ("quote", "request", "authorisation"):
        if key in changes and isinstance(changes[key], str):
            changes[key] = loads(changes[key])
    session.update(changes, updated_at=int(now), version=session["version"] + 1)
    if "payment_status" in changes:
        session["payment_state"] = PAYMENT_STATES.get(changes["payment_status"] or "")


def _open(
    tx: Tx,
    msg: Inbound,
    *,
    identity: str,
    now: float,
    reason: str | None = None,
    flag_reason: str | None = None,
) -> dict[str, Any]:
    """A new session for the vehicle of `msg` (entry time: the message's `ts`), audited.

    With `flag_reason` it starts `flagged` (an exit with no entry on record).
    """
    session_id = new_session_id()
    state = FLAGGED if flag_reason else ACTIVE
    exit_detected = msg.ts if msg.topic != TOPIC_ENTRY else None
    tx.execute(
        "INSERT INTO parking_sessions (id, plate, badge, identity, state, entry_ts, exit_detected_ts,"
        " flag_reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            session_id,
            msg.plate,
            msg.badge,
            identity,
            state,
            msg.ts,
            exit_detected,
            flag_reason,
            ms(now),
            ms(now),
        ),
    )
    audit(
        tx,
        "session.flagged" if flag_reason else "session.opened",
        session_id=session_id,
        actor=f"device:{msg.src}",
        reason=flag_reason or reason,
        data={"msg_id": msg.msg_id, "entry_ts": msg.ts, **msg.identity()},
    )
    session = dict.fromkeys(_KEYS)
    session.update(
        id=session_id,
        plate=msg.plate,
        badge=msg.badge,
        identity=identity,
        state=state,
        entry_ts=msg.ts,
        exit_detected_ts=exit_detected,
        flag_reason=flag_reason,
        created_at=int(now),
        updated_at=int(now),
        version=1,
        payment_state=None,
    )
    return session


def _seen(tx: Tx, msg_id: str) -> tuple[str | None, str] | None:
    row = tx.fetchone("SELECT session_id, outcome FROM processed_messages WHERE msg_id = ?", (msg_id,))
    return (row[0], row[1]) if row else None


def _mark(tx: Tx, msg: Inbound, outcome: Outcome, now: float) -> Outcome:
    tx.execute(
        "INSERT INTO processed_messages (msg_id, topic, session_id, outcome, processed_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (msg.msg_id, msg.topic, outcome.session_id, outcome.outcome, ms(now)),
    )
    return outcome


def record_rejected(tx: Tx, topic: str, msg_id: str | None, *, param: str, error: str, now: float) -> bool:
    """Audit a message that could not be parsed; False when its msg_id was already recorded."""
    if msg_id is not None:
        if _seen(tx, msg_id) is not None:
            return False
        tx.execute(
            "INSERT INTO processed_messages (msg_id, topic, session_id, outcome, processed_at)"
            " VALUES (?, ?, NULL, 'rejected', ?)",
            (msg_id, topic, ms(now)),
        )
    audit(
        tx,
        "mqtt.message_rejected",
        session_id=None,
        actor=f"mqtt:{topic}",
        reason=error,
        data={"topic": topic, "msg_id": msg_id, "param": param},
    )
    return True


# --- entry -----------------------------------------------------------------------------------


def handle_entry(ctx: Context, tx: Tx, msg: Inbound) -> Outcome:
    now = ctx.clock()
    seen = _seen(tx, msg.msg_id)
    if seen is not None:
        return Outcome("duplicate", seen[0])
    existing = None
    if msg.plate is not None:
        existing = _find_by(tx, "plate", msg.plate, OPEN_STATES)
    if existing is None and msg.badge is not None:
        existing = _find_by(tx, "badge", msg.badge, OPEN_STATES)
    if existing is not None:
        audit(
            tx,
            "session.entry_repeated",
            session_id=existing["id"],
            actor=f"device:{msg.src}",
            reason="an open session already exists for this vehicle",
            data={"msg_id": msg.msg_id, "ts": msg.ts, **msg.identity()},
        )
        return _mark(tx, msg, Outcome("entry_repeated", existing["id"], existing), now)
    session = _open(tx, msg, identity="plate" if msg.plate else "badge", now=now)
    return _mark(tx, msg, Outcome("opened", session["id"], session, [session["id"]]), now)


# --- exit detected ---------------------------------------------------------------------------


def _republish(tx: Tx, session: dict[str, Any]) -> str:
    """Send again what the exit lane should already have: the same request or authorisation."""
    if session["state"] == PENDING and session["request"]:
        enqueue(tx, TOPIC_REQUEST, session["request"])
        return "request_republished"
    if session["state"] == PAID and session["authorisation"]:
        enqueue(tx, TOPIC_SUCCESS, session["authorisation"])
        return "authorisation_republished"
    return "no_effect"


def authorise(
    tx: Tx,
    session: dict[str, Any],
    *,
    reason: str,
    actor: str,
    provider_ref: str | None,
    amount: int,
    currency: str | None,
    now: float,
    why: str | None = None,
    data: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Session -> paid (exit authorised), with its audit entry and its `parking/payment/success`.

    `changes`: more columns to set in the same UPDATE.
    """
    message = {
        "msg_id": new_msg_id(),
        "ts": int(now),
        "src": SRC,
        "session_id": session["id"],
        "provider_ref": provider_ref,
        "amount": amount,
        "currency": currency,
        "reason": reason,
    }
    if session.get("payment_id"):
        message["payment_id"] = session["payment_id"]
    _update(
        tx,
        session,
        now,
        **(changes or {}),
        state=PAID,
        authorisation=message,
        authorised_by=actor,
        flag_reason=None,
    )
    enqueue(tx, TOPIC_SUCCESS, message)
    audit(
        tx,
        "session.exit_authorised",
        session_id=session["id"],
        actor=actor,
        reason=why or reason,
        payment_id=session.get("payment_id"),
        data={
            "authorisation": reason,
            "provider_ref": provider_ref,
            "amount": amount,
            "currency": currency,
            "msg_id": message["msg_id"],
            **(data or {}),
        },
    )


def flag(tx: Tx, session: dict[str, Any], reason: str, actor: str, now: float, **data: Any) -> None:
    _update(tx, session, now, state=FLAGGED, flag_reason=reason)
    audit(tx, "session.flagged", session_id=session["id"], actor=actor, reason=reason, data=data)


def _duration_label(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}"


def request_payment(
    ctx: Context,
    tx: Tx,
    session: dict[str, Any],
    actor: str,
    now: float,
    *,
    changes: dict[str, Any] | None = None,
) -> None:
    """Create an ordinary payment for the quoted amount and publish `parking/payment/req`.

    `changes` (the quote, when pricing now) are applied to `session` and written in the same UPDATE.
    """
    session.update(changes or {})
    amount, currency = session["amount"], session["currency"]
    payment = ctx.create_payment(tx, amount, currency, {"session_id": session["id"]})
    duration = session["exit_detected_ts"] - session["entry_ts"]
    request: dict[str, Any] = {
        "msg_id": new_msg_id(),
        "ts": int(now),
        "src": SRC,
        "session_id": session["id"],
        "amount": amount,
        "currency": currency,
        "payment_id": payment["id"],
        "label": f"Parking {_duration_label(duration)}",
        "duration": duration,
    }
    if session["plate"]:
        request["plate"] = session["plate"]
    _update(
        tx,
        session,
        now,
        **(changes or {}),
        state=PENDING,
        payment_id=payment["id"],
        payment_status=payment.get("status"),
        request=request,
    )
    enqueue(tx, TOPIC_REQUEST, request)
    audit(
        tx,
        "session.payment_requested",
        session_id=session["id"],
        actor=actor,
        payment_id=payment["id"],
        data={"amount": amount, "currency": currency, "msg_id": request["msg_id"], "duration": duration},
    )


def handle_exit(ctx: Context, tx: Tx, msg: Inbound, trusted_pin: str | None = None) -> Outcome:
    """An exit detection. `trusted_pin` is the id of the trusted PIN the message's `pin` matched
    (checked by the caller before the transaction: PIN hashing is slow by design)."""
    now = ctx.clock()
    seen = _seen(tx, msg.msg_id)
    if seen is not None:
        return _redelivered(tx, seen[0])
    session, unknown = _identify(tx, msg)
    if unknown:
        return _mark(tx, msg, Outcome("unknown_session"), now)
    trusted_by = _trusted_exit(ctx, tx, msg, session, trusted_pin)
    if trusted_by is not None:
        return _mark(tx, msg, _exit_trusted(ctx, tx, msg, session, trusted_by), now)
    if session is None:
        # A vehicle at the exit with no entry on record: nothing to charge, nothing to open.
        identity = "plate" if msg.plate else "badge" if msg.badge else "unknown"
        session = _open(tx, msg, identity=identity, now=now, flag_reason="no_entry_on_record")
        return _mark(tx, msg, _touched("flagged", session), now)
    if session["state"] == ACTIVE:
        return _mark(tx, msg, _exit_active(ctx, tx, msg, session), now)
    if session["state"] == PENDING and session["payment_status"] in ("failed", "canceled"):
        # The last attempt failed: a new detection at the exit starts a new attempt.
        request_payment(ctx, tx, session, f"device:{msg.src}", now)
        return _mark(tx, msg, _touched("payment_retried", session), now)
    return _mark(tx, msg, _exit_again(tx, msg, session), now)


def _touched(outcome: str, session: dict[str, Any]) -> Outcome:
    return Outcome(outcome, session["id"], session, [session["id"]])


def _redelivered(tx: Tx, session_id: str | None) -> Outcome:
    """A redelivery: re-publish the same request (or authorisation), never a second payment."""
    known = get_session(tx, session_id) if session_id else None
    if known is None:
        return Outcome("duplicate", None)
    return Outcome(f"duplicate:{_republish(tx, known)}", known["id"], known)


def _identify(tx: Tx, msg: Inbound) -> tuple[dict[str, Any] | None, bool]:
    """The session the detection is about (by id, plate, then badge); True when a named id is unknown."""
    if msg.session_id is not None:
        session = get_session(tx, msg.session_id)
        if session is None:
            audit(
                tx,
                "exit.unknown_session",
                session_id=None,
                actor=f"device:{msg.src}",
                reason="no session with this id",
                data={"msg_id": msg.msg_id, **msg.identity()},
            )
            return None, True
        return session, False
    if msg.plate is not None:
        found = _find_by(tx, "plate", msg.plate, AT_EXIT_STATES)
        if found is not None:
            return found, False
    if msg.badge is not None:
        return _find_by(tx, "badge", msg.badge, AT_EXIT_STATES), False
    return None, False


def _trusted_exit(
    ctx: Context, tx: Tx, msg: Inbound, session: dict[str, Any] | None, trusted_pin: str | None
) -> tuple[str, str] | None:
    """Degraded mode: a trusted badge or PIN opens without a card payment (reason, actor)."""
    if msg.badge is None and trusted_pin is None:
        return None
    if not ctx.fallback(tx) or (session is not None and session["state"] in (PAID, CLOSED)):
        return None
    if msg.badge is not None and is_trusted_badge(tx, msg.badge):
        return ("trusted_badge", f"badge:{msg.badge}")
    if trusted_pin is not None:
        return ("pin", f"pin:{trusted_pin}")
    return None


def _exit_trusted(
    ctx: Context, tx: Tx, msg: Inbound, session: dict[str, Any] | None, trusted_by: tuple[str, str]
) -> Outcome:
    now = ctx.clock()
    reason, actor = trusted_by
    if session is None:
        session = _open(
            tx, msg, identity=reason, now=now, reason="exit of a trusted user without a known entry"
        )
    if session["exit_detected_ts"] is None:
        _update(tx, session, now, exit_detected_ts=msg.ts)
    authorise(
        tx,
        session,
        reason=reason,
        actor=actor,
        provider_ref=None,
        amount=0,
        currency=session["currency"] or ctx.tariff.quote(0, 0).currency,
        now=now,
        why="fallback mode: trusted user exit",
        data={"msg_id": msg.msg_id, **msg.identity()},
    )
    return _touched("authorised_trusted", session)


def _exit_active(ctx: Context, tx: Tx, msg: Inbound, session: dict[str, Any]) -> Outcome:
    """The first detection of an active session: price it, then open for free or request a payment."""
    now, actor = ctx.clock(), f"device:{msg.src}"
    data = {"msg_id": msg.msg_id, "exit_ts": msg.ts, **msg.identity()}
    audit(tx, "session.exit_detected", session_id=session["id"], actor=actor, data=data)
    if msg.ts < session["entry_ts"]:
        flag(tx, session, "exit_before_entry", actor, now, exit_ts=msg.ts, entry_ts=session["entry_ts"])
        return _touched("flagged", session)
    quote = ctx.tariff.quote(session["entry_ts"], msg.ts)
    priced = {
        "exit_detected_ts": msg.ts,
        "amount": quote.amount,
        "currency": quote.currency,
        "quote": {
            "amount": quote.amount,
            "currency": quote.currency,
            "units": quote.units,
            "lines": quote.lines,
        },
    }
    if quote.amount > 0:
        request_payment(ctx, tx, session, actor, now, changes=priced)
        return _touched("payment_requested", session)
    authorise(
        tx,
        session,
        reason="no_charge",
        actor=SYSTEM,
        provider_ref=None,
        amount=0,
        currency=quote.currency,
        now=now,
        why="the stay costs nothing (grace period or free tariff)",
        changes=priced,
    )
    return _touched("authorised_free", session)


def _exit_again(tx: Tx, msg: Inbound, session: dict[str, Any]) -> Outcome:
    """A later detection: announce again what is owed or authorised; otherwise audit that nothing happens."""
    outcome = _republish(tx, session)
    if outcome == "no_effect":
        flagged = f" ({session['flag_reason']})" if session["flag_reason"] else ""
        audit(
            tx,
            "session.exit_ignored",
            session_id=session["id"],
            actor=f"device:{msg.src}",
            reason=f"session is {session['state']}{flagged}",
            data={"msg_id": msg.msg_id, **msg.identity()},
        )
    return Outcome(outcome, session["id"], session)


def fallback_enabled(tx: Tx) -> bool:
    """Read inside the transaction: whichever worker switched it, the relay's worker sees it."""
    row = tx.fetchone("SELECT value FROM parking_settings WHERE name = 'fallback_mode'")
    return bool(row and loads(row[0]).get("enabled"))


def is_trusted_badge(tx: Tx, badge: str) -> bool:
    return (
        tx.fetchone("SELECT 1 FROM parking_trusted WHERE kind = 'badge' AND badge = ?", (badge,)) is not None
    )


# --- barrier ---------------------------------------------------------------------------------


def handle_barrier(ctx: Context, tx: Tx, msg: Inbound) -> Outcome:
    now = ctx.clock()
    seen = _seen(tx, msg.msg_id)
    if seen is not None:
        return Outcome("duplicate", seen[0])
    assert msg.session_id is not None and msg.result is not None
    actor = f"device:{msg.src}"
    session = get_session(tx, msg.session_id)
    data = {"msg_id": msg.msg_id, "result": msg.result, "ts": msg.ts, "src": msg.src}
    if session is None:
        audit(
            tx, "barrier.unknown_session", session_id=None, actor=actor, reason="no such session", data=data
        )
        return _mark(tx, msg, Outcome("unknown_session", msg.session_id), now)
    state = session["state"]
    audit(tx, f"barrier.{msg.result}", session_id=session["id"], actor=actor, data=data)
    if state == CLOSED:
        return _mark(tx, msg, Outcome("already_closed", session["id"], session), now)
    if msg.result == "opened":
        if state == PAID:
            _update(tx, session, now, state=CLOSED, exit_ts=msg.ts)
            audit(
                tx,
                "session.closed",
                session_id=session["id"],
                actor=actor,
                reason=f"barrier opened after authorisation ({session['authorisation']['reason']})",
                payment_id=session["payment_id"],
                data={"exit_ts": msg.ts},
            )
            return _mark(tx, msg, Outcome("closed", session["id"], session, [session["id"]]), now)
        _update(tx, session, now, exit_ts=msg.ts)
        flag(tx, session, "opened_without_authorisation", actor, now, previous_state=state)
        return _mark(tx, msg, Outcome("flagged", session["id"], session, [session["id"]]), now)
    if state == FLAGGED:
        return _mark(tx, msg, Outcome("already_flagged", session["id"], session), now)
    flag(tx, session, f"barrier_{msg.result}", actor, now, previous_state=state)
    return _mark(tx, msg, Outcome("flagged", session["id"], session, [session["id"]]), now)


# --- payments (transition hook) --------------------------------------------------------------


def on_payment_transition(
    tx: Tx, payment: dict[str, Any], previous_status: str, now: float
) -> dict[str, Any] | None:
    """A payment with `metadata.session_id` changed status; returns the session it touched.

    Only `succeeded` authorises the exit; the server reaches it only through the
    gateway's server-side proof (sandbox confirm, verified Stripe webhook).
    """
    status = payment.get("status")
    if status not in ("processing", "succeeded", "failed", "canceled"):
        return None  # requires_* states: still "requested" for the exit lane
    metadata = payment.get("metadata") or {}
    session_id = metadata.get("session_id") if isinstance(metadata, dict) else None
    if not isinstance(session_id, str):
        return None
    session = get_session(tx, session_id)
    if session is None:
        return None
    current = session["payment_id"] == payment["id"]
    provider_ref = payment.get("provider_ref") or payment.get("gateway_ref") or payment["id"]
    if status == "succeeded" and current and session["state"] == PENDING:
        authorise(
            tx,
            session,
            reason="payment",
            actor=f"gateway:{payment.get('gateway', 'unknown')}",
            provider_ref=str(provider_ref),
            amount=int(payment["amount"]),
            currency=str(payment["currency"]).upper(),
            now=now,
            why="payment validated server-side by the gateway",
            changes={"payment_status": status},
        )
        return session
    if current:
        _update(tx, session, now, payment_status=status)
    if status == "processing":
        return session if current else None
    if status == "succeeded":
        audit(
            tx,
            "payment.succeeded_not_needed",
            session_id=session_id,
            actor=f"gateway:{payment.get('gateway', 'unknown')}",
            payment_id=payment["id"],
            reason=f"session is {session['state']} (authorisation: {session['authorised_by']})",
            data={"amount": payment.get("amount"), "provider_ref": provider_ref},
        )
        return session
    # failed or canceled: the session stays as it is; the trail says why.
    error = payment.get("last_error") or payment.get("error") or payment.get("failure_code")
    audit(
        tx,
        f"payment.{status}",
        session_id=session_id,
        actor=f"gateway:{payment.get('gateway', 'unknown')}",
        payment_id=payment["id"],
        reason=dumps(error) if isinstance(error, dict) else (str(error) if error else str(status)),
        data={"previous_status": previous_status, "session_state": session["state"]},
    )
    return session


# --- operator actions ------------------------------------------------------------------------


class SessionStateError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def override_exit(tx: Tx, session_id: str, operator: str, reason: str, now: float) -> dict[str, Any]:
    """An operator authorises an exit without payment; audited with who, why and when."""
    session = get_session(tx, session_id)
    if session is None:
        raise SessionStateError("session_not_found", f"no parking session {session_id!r}")
    if session["state"] == CLOSED:
        raise SessionStateError("session_closed", "the session is closed: the vehicle has left")
    if session["state"] == PAID:
        # Already authorised (a repeated override, or the lane missed the message): announce the
        # same authorisation again; no new effect.
        enqueue(tx, TOPIC_SUCCESS, session["authorisation"])
        audit(
            tx,
            "session.override_repeated",
            session_id=session_id,
            actor=f"operator:{operator}",
            reason=reason,
            data={"authorisation": session["authorisation"]["reason"], "at": now},
        )
        return session
    currency = session["currency"]
    authorise(
        tx,
        session,
        reason="operator_override",
        actor=f"operator:{operator}",
        provider_ref=None,
        amount=0,
        currency=currency,
        now=now,
        why=reason,
        data={"operator": operator, "previous_state": session["state"], "at": now},
    )
    return session
