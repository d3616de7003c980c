"""Inbound MQTT messages of SPEC 4: parsing and validation.

A message that cannot be parsed is refused with a `BadMessage` naming the field;
the relay records it, audits it and acknowledges it (a poison message must not be
redelivered forever), without any effect on sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard

import orjson

TOPIC_ENTRY = "parking/entry"
TOPIC_EXIT = "parking/exit/detected"
TOPIC_BARRIER = "parking/barrier/status"
TOPIC_REQUEST = "parking/payment/req"
TOPIC_SUCCESS = "parking/payment/success"
INBOUND_TOPICS = (TOPIC_ENTRY, TOPIC_EXIT, TOPIC_BARRIER)

BARRIER_RESULTS = ("opened", "timeout", "fault")
MAX_TEXT = 128


class BadMessage(ValueError):
    def __init__(self, param: str, message: str, msg_id: str | None = None) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.msg_id = msg_id


@dataclass(frozen=True)
class Inbound:
    topic: str
    msg_id: str
    ts: int
    src: str
    plate: str | None = None
    badge: str | None = None
    session_id: str | None = None
    pin: str | None = None
    result: str | None = None

    def identity(self) -> dict[str, str]:
        """What identified the vehicle (for the audit trail; never the PIN)."""
        out = {"src": self.src}
        for key in ("plate", "badge", "session_id"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.pin is not None:
            out["pin"] = "(given)"
        return out


def _printable(value: object) -> TypeGuard[str]:
    """A non-empty string of at most MAX_TEXT printable characters.

    Control characters are refused: U+0000 cannot be stored in PostgreSQL's text (the write
    would fail and the message be redelivered forever), and the others have no place in an
    identifier an operator reads.
    """
    return isinstance(value, str) and bool(value.strip()) and len(value) <= MAX_TEXT and value.isprintable()


def _text(body: dict[str, Any], key: str, msg_id: str | None, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise BadMessage(key, "is required", msg_id)
        return None
    if not _printable(value):
        raise BadMessage(
            key, f"must be a non-empty printable string of at most {MAX_TEXT} characters", msg_id
        )
    return value.strip()


def parse(topic: str, payload: bytes) -> Inbound:
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise BadMessage("payload", f"is not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise BadMessage("payload", "must be a JSON object")
    raw_id = body.get("msg_id")
    msg_id = raw_id if _printable(raw_id) else None
    if msg_id is None:
        raise BadMessage(
            "msg_id", f"is required: a non-empty printable string of at most {MAX_TEXT} characters"
        )
    ts = body.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not 0 <= ts < 2**40:
        raise BadMessage("ts", "is required: UNIX seconds (a non-negative number)", msg_id)
    src = _text(body, "src", msg_id) or "unknown"
    common: dict[str, Any] = {"topic": topic, "msg_id": msg_id, "ts": int(ts), "src": src}
    if topic == TOPIC_ENTRY:
        plate, badge = _text(body, "plate", msg_id), _text(body, "badge", msg_id)
        if plate is None and badge is None:
            raise BadMessage("plate", "an entry needs a plate or a badge", msg_id)
        return Inbound(**common, plate=plate, badge=badge)
    if topic == TOPIC_EXIT:
        plate, badge = _text(body, "plate", msg_id), _text(body, "badge", msg_id)
        session_id = _text(body, "session_id", msg_id)
        pin = body.get("pin")
        if pin is not None and (
            not isinstance(pin, str) or not (pin.isascii() and pin.isdigit()) or not 4 <= len(pin) <= 12
        ):
            raise BadMessage("pin", "must be a string of 4 to 12 digits (0-9)", msg_id)
        if plate is None and badge is None and session_id is None and pin is None:
            raise BadMessage("plate", "an exit needs a plate, a badge, a session_id or a pin", msg_id)
        return Inbound(**common, plate=plate, badge=badge, session_id=session_id, pin=pin)
    if topic == TOPIC_BARRIER:
        session_id = _text(body, "session_id", msg_id, required=True)
        result = body.get("result")
        if result not in BARRIER_RESULTS:
            raise BadMessage("result", f"must be one of {', '.join(BARRIER_RESULTS)}", msg_id)
        return Inbound(**common, session_id=session_id, result=str(result))
    raise BadMessage("topic", f"{topic!r} is not a parking topic", msg_id)
