"""Wait for a condition with a deadline: the only way the harness (and its tests) wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
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
    raise _timed_out(timeout, what, last)


async def wait_for_async(
    probe: Callable[[], Awaitable[T | None]],
    timeout: float = 30.0,
    what: str = "condition",
    interval: float = 0.1,
) -> T:
    """`wait_for` with a coroutine probe, for code on an event loop: the loop runs on between calls."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise _timed_out(timeout, what, last)


def _timed_out(timeout: float, what: str, last: object) -> WaitTimeout:
    return WaitTimeout(f"timed out after {timeout} s waiting for {what}; last value: {last!r}")
