"""Keep pymongo's async topology and pool locks whole when a store call is cancelled, on Python 3.11.

pymongo 4.20 waits on its asyncio conditions with `asyncio.wait_for(condition.wait(), timeout)`
(`pymongo.lock._async_cond_wait`). On Python 3.11 `wait_for` runs the wait as a second task: when
its timeout fires, it cancels that task and awaits it, and a cancel of the caller in that moment (a
probe's deadline, a client that hung up) returns at once while the inner wait still re-acquires the
lock. The caller's `async with lock` then releases a lock it no longer holds ("Lock is not
acquired"), and the inner wait takes the lock for good: every later server selection on that client
waits forever, and the replica stays unready after the store has come back (seen in a game day's
store stall). Python 3.12 rebuilt `wait_for` on `asyncio.timeout` (CPython gh-96764), which cancels
inside the caller's own task, so the condition has the lock back before the cancel propagates. This
module gives pymongo that same wait on 3.11; on 3.12+ it changes nothing.
"""

from __future__ import annotations

import asyncio
import sys

import pymongo.asynchronous.pool
import pymongo.asynchronous.topology
import pymongo.lock

# The modules that bound the name at import (`from pymongo.lock import _async_cond_wait`).
_USERS = (pymongo.lock, pymongo.asynchronous.topology, pymongo.asynchronous.pool)


async def cond_wait(condition: asyncio.Condition, timeout: float | None) -> bool:
    """pymongo's `_async_cond_wait` contract: True when notified, False on timeout."""
    try:
        async with asyncio.timeout(timeout):
            return await condition.wait()
    except TimeoutError:
        return False


def install() -> None:
    if sys.version_info >= (3, 12):
        return
    for module in _USERS:
        if not hasattr(module, "_async_cond_wait"):  # a pymongo that no longer has it: say so, loudly
            raise ImportError(
                f"{module.__name__}._async_cond_wait is gone: review {__name__} for this pymongo"
            )
        module._async_cond_wait = cond_wait  # type: ignore[attr-defined]
