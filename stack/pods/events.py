"""What the supervisor did and why, as JSON lines on stderr (its log), one per event."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> datetime:
    return datetime.now(UTC)


def emit(event: str, **fields: object) -> None:
    # One write per line: pods log from several threads at once.
    sys.stderr.write(json.dumps({"at": iso(utc_now()), "event": event, **fields}) + "\n")
    sys.stderr.flush()
