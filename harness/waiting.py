"""Wait for a condition with a deadline: the only way the harness (and its tests) wait."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """The condition did not hold in time; the message says what was awaited and the last value seen."""


def wait_for(
    probe: Callable[[], T | None], timeout: float = 30.0, what: str = "condition", interval: float = 0.1
) -> T:
    """Call `probe` until it returns something truthy; return that, or raise WaitTimeout after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise WaitTimeout(f"timed out after {timeout} s waiting for {what}; last value: {last!r}")
