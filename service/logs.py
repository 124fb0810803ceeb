"""Structured JSON logs, one object a line, with the request id; secrets never reach them."""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from quart import g, has_request_context

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# Anything shaped like a key, token or secret is masked, whichever field it arrives in.
_SECRET_FIELDS = re.compile(r"(secret|password|private|token|authorization|key|signature)", re.I)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._\-]+")


@functools.lru_cache(maxsize=1024)
def _secret_field(name: str) -> bool:
    """Field names repeat on every line (the access log's are the same each request): decide once."""
    return bool(_SECRET_FIELDS.search(name)) and name != "tx_id"


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _BEARER.sub(r"\1[redacted]", value)
    return value


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str, pod: str) -> None:
        super().__init__()
        self._service, self._pod = service, pod

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _scrub(record.getMessage()),
            "service": self._service,
            "pod": self._pod,
        }
        if has_request_context():
            entry["request_id"] = getattr(g, "request_id", None)
        for name, value in record.__dict__.items():
            if name in _STANDARD or name.startswith("_"):
                continue
            entry[name] = "[redacted]" if _secret_field(name) else _scrub(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(service: str, pod: str, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service, pod))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "pymongo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
