"""Per-user, per-route-group request limits in a fixed one-minute window shared through Redis.

[decided] Without Redis each pod counts on its own (fail open, but bounded): a user gets at most the
group's limit per pod per minute, never unlimited requests, and Redis is no readiness dependency.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from quart import g, request
from redis.exceptions import RedisError

from service import metrics
from service.errors import RATE_LIMITED, ApiError
from service.ports.cache import Cache

LIMITS_PER_MINUTE = {
    "tron": 1000,
    "wallets": 500,
    "usdt": 200,
    "payouts": 100,
    "staking": 50,
    "payments": 300,
    "other": 100,
}
log = logging.getLogger(__name__)
# Every group's refusal counter exists from the start at 0, so that "none refused" reads 0 rather than no
# data, and rate() counts the first refusals too (a series first seen at N has no increase to N).
for _group in LIMITS_PER_MINUTE:
    metrics.RATE_LIMIT_EXCEEDED.labels(group=_group)


class LocalWindows:
    """This pod's own fixed one-minute windows, for while Redis is away. Only the current window is
    kept, so memory stays bounded by the users seen in one minute."""

    def __init__(self, window_seconds: int = 60) -> None:
        self._window_seconds = window_seconds
        self._window = -1
        self._counts: dict[tuple[str, str], int] = {}

    def hit(self, user: str, group: str) -> tuple[int, int]:
        """Count one request: (count so far in this window, seconds until it resets)."""
        now = time.time()
        window = int(now // self._window_seconds)
        if window != self._window:
            self._window, self._counts = window, {}
        count = self._counts[(user, group)] = self._counts.get((user, group), 0) + 1
        return count, int((window + 1) * self._window_seconds - now) + 1

    def count(self, user: str, group: str) -> int:
        """The count so far in the current window, without counting."""
        window = int(time.time() // self._window_seconds)
        return self._counts.get((user, group), 0) if window == self._window else 0


LOCAL_WINDOWS = LocalWindows()
# The callers this pod refused in the current window (however many replicas counted them there).
REFUSED = LocalWindows()
SAFE_METHODS = frozenset({"GET", "HEAD"})
T = TypeVar("T")


def route_group(path: str) -> str:
    parts = path.split("/")
    group = parts[3] if len(parts) > 3 and parts[1:3] == ["api", "v1"] else "other"
    return group if group in LIMITS_PER_MINUTE else "other"


async def enforce(cache: Cache, user_id: str, view: Callable[[], Awaitable[T]]) -> T:
    """`view()`, within the caller's limit for the request's route group, or a 429.

    The count in Redis and a read's own round trips overlap: a GET or HEAD (which changes nothing)
    runs its view while its count is out, and its answer is returned only once the count allows it; a
    refusal outranks whatever the view answered, as if it had come first. A caller this replica has
    refused in the current window waits for its count first, so a client that floods past its limit
    costs the store nothing more; so does every request that may change something.
    """
    group = route_group(request.path)
    counted, reset = cache.count_hit(user_id, group)
    if request.method not in SAFE_METHODS or REFUSED.count(user_id, group):
        await _settle(counted, reset, user_id, group)
        return await view()
    try:
        answer = await view()
    except Exception:
        await _settle(counted, reset, user_id, group)
        raise
    except BaseException:  # cancelled (the client left, the replica stops): the count is not awaited
        if not counted.cancel() and not counted.cancelled():
            counted.exception()  # retrieved: a failed count no one waits for is not an error to log
        raise
    await _settle(counted, reset, user_id, group)
    return answer


async def _settle(counted: asyncio.Future[int], reset: int, user_id: str, group: str) -> None:
    limit = LIMITS_PER_MINUTE[group]
    try:
        count = await counted
    except (RedisError, OSError):
        # A Redis outage must not take payments down, nor lift the limits: /health reports it.
        log.warning("rate limit counted per pod: redis unavailable", extra={"group": group})
        count, reset = LOCAL_WINDOWS.hit(user_id, group)
    g.rate_limit_headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(0, limit - count)),
        "X-RateLimit-Reset": str(reset),
    }
    if count > limit:
        REFUSED.hit(user_id, group)
        metrics.RATE_LIMIT_EXCEEDED.labels(group=group).inc()
        raise ApiError(
            429,
            RATE_LIMITED,
            f"rate limit of {limit} requests per minute for /{group} exceeded; retry after {reset} s",
            {"group": group, "limit": limit},
            headers={**g.rate_limit_headers, "Retry-After": str(reset)},
        )
