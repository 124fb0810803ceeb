"""Time as the store keeps it: integer milliseconds since the epoch, UTC.

Integers compare and `$set` the same on MongoDB and on the local nx-27017 store (which turns a
`$set` datetime into a string), so leases, ranges and deadlines behave identically on both.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_ms() -> int:
    return int(time.time() * 1000)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def iso(ms: int | None) -> str | None:
    """The API's timestamp format (ISO-8601, UTC)."""
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat()
