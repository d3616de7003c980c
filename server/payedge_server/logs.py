"""Structured logs: one JSON object per line on stderr, secrets and card numbers redacted.

Nothing on the request path logs at INFO; secrets are never passed to a logger,
and as a second line of defence the formatter masks every configured secret and
anything shaped like a card number before a line is written.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Iterable

import orjson

_CARD = re.compile(r"\b(?:\d[ -]?){13,19}\b")


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "[redacted]")
        return _CARD.sub("[redacted-card]", text)

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": self.redact(record.getMessage()),
        }
        if record.exc_info:
            entry["exc"] = self.redact(self.formatException(record.exc_info))
        return orjson.dumps(entry).decode()


def setup(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's access log would log every request (and its headers on errors): off.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # stripe-python logs request details at INFO/DEBUG.
    logging.getLogger("stripe").setLevel(logging.WARNING)
