"""The rate limit against the real Redis: what a refused caller's request does and does not run.

A GET runs its view while its count is out (service/ratelimit.py); these are the promises that keep
that safe: a refusal still outranks the view's answer, a caller already refused costs nothing more,
and a request that may change something never runs before its count allows it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest
from quart import Quart, g

from harness.waiting import wait_for
from service import ratelimit
from service.errors import ApiError
from service.ports.cache import Cache
from stack.local import Backends

PATH = "/api/v1/staking/rewards/x"
LIMIT = ratelimit.LIMITS_PER_MINUTE["staking"]


@pytest.fixture
async def cache(backends: Backends) -> AsyncIterator[Cache]:
    cache = Cache(backends.redis.url)
    yield cache
    await cache.close()


class View:
    """A view that counts its runs; `fail` makes it refuse as a view does (a 404 here)."""

    def __init__(self, fail: bool = False) -> None:
        self.runs, self.fail = 0, fail

    async def __call__(self) -> str:
        self.runs += 1
        if self.fail:
            raise ApiError(404, "LUCID_ERR_0404", "no such thing")
        return "answer"


async def _request(cache: Cache, user: str, method: str, view: View) -> tuple[int, str]:
    """One request through the limit: (status, what the caller got)."""
    async with Quart(__name__).test_request_context(PATH, method=method):
        try:
            answer = await ratelimit.enforce(cache, user, view)
        except ApiError as refused:
            return refused.status, refused.message
        assert g.rate_limit_headers["X-RateLimit-Limit"] == str(LIMIT)
        return 200, answer


def _fresh_window() -> None:
    # The window is a fixed minute: start early in one, so that every request of a test falls in it.
    wait_for(lambda: time.time() % 60 < 45, 20, "a fresh rate-limit window")


async def test_a_refusal_outranks_what_the_view_answered(cache: Cache) -> None:
    _fresh_window()
    user, view = f"u-{uuid.uuid4().hex[:8]}", View()
    answers = [await _request(cache, user, "GET", view) for _ in range(LIMIT)]
    assert answers == [(200, "answer")] * LIMIT and view.runs == LIMIT
    failing = View(fail=True)
    status, message = await _request(cache, user, "GET", failing)
    assert status == 429 and f"rate limit of {LIMIT} " in message, (status, message)
    assert failing.runs == 1, "the first refused GET ran its view beside its count; its answer was dropped"


async def test_a_caller_refused_in_this_window_runs_no_view(cache: Cache) -> None:
    _fresh_window()
    user, view = f"u-{uuid.uuid4().hex[:8]}", View()
    for _ in range(LIMIT + 1):
        await _request(cache, user, "GET", view)
    assert view.runs == LIMIT + 1
    later = View()
    assert [(await _request(cache, user, "GET", later))[0] for _ in range(5)] == [429] * 5
    assert later.runs == 0, "a caller already refused waits for its count, and the count refuses it"


async def test_a_request_that_may_change_something_runs_only_after_its_count(cache: Cache) -> None:
    _fresh_window()
    user, view = f"u-{uuid.uuid4().hex[:8]}", View()
    for _ in range(LIMIT):
        assert await _request(cache, user, "POST", view) == (200, "answer")
    refused = View()
    assert (await _request(cache, user, "POST", refused))[0] == 429
    assert refused.runs == 0, "a POST past the limit never reaches its view"
