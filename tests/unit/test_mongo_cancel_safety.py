"""A store call cancelled while pymongo re-takes its lock must leave the lock free (Python 3.11).

The scenario is the one that left a replica unready for good after a store stall: a call waits on
pymongo's condition, its wait times out while another task holds the lock, and the caller is
cancelled in the same turn the lock is released.
"""

from __future__ import annotations

import asyncio
from types import ModuleType

import pymongo.asynchronous.pool
import pymongo.asynchronous.topology
import pytest
from pymongo.lock import _async_create_condition, _async_create_lock

import service.ports.store  # noqa: F401  (installs the cancel-safe wait, as the service does)


async def _cancelled_while_retaking_the_lock(module: ModuleType) -> tuple[bool, list[str]]:
    lock = _async_create_lock()
    condition = _async_create_condition(lock)

    async def caller() -> None:
        async with lock:
            await module._async_cond_wait(condition, 0.05)

    async def other_task() -> None:
        await asyncio.sleep(0.01)  # the caller is waiting on the condition: the lock is free
        async with lock:
            await asyncio.sleep(0.1)  # the caller's wait times out while this holds the lock
            waiting.cancel()  # its deadline: cancelled in the turn this releases the lock

    waiting = asyncio.create_task(caller())
    results = await asyncio.gather(waiting, other_task(), return_exceptions=True)
    await asyncio.sleep(0.05)  # anything still re-taking the lock has run
    return lock.locked(), [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]


@pytest.mark.parametrize("module", [pymongo.asynchronous.topology, pymongo.asynchronous.pool])
def test_a_cancelled_wait_leaves_the_lock_free_and_raises_only_the_cancel(module: ModuleType) -> None:
    locked, errors = asyncio.run(_cancelled_while_retaking_the_lock(module))
    assert errors == ["CancelledError: "], "only the caller's own cancel, no 'Lock is not acquired'"
    assert not locked, "a lock left held makes every later server selection wait forever"


def test_the_wait_still_reports_a_timeout_and_a_notify() -> None:
    async def scenario() -> tuple[bool, bool]:
        lock = _async_create_lock()
        condition = _async_create_condition(lock)
        async with lock:
            timed_out = await pymongo.asynchronous.topology._async_cond_wait(condition, 0.01)

        async def notify() -> None:
            async with lock:
                condition.notify_all()

        async with lock:
            asyncio.get_running_loop().call_soon(asyncio.ensure_future, notify())
            notified = await pymongo.asynchronous.topology._async_cond_wait(condition, 5)
        return timed_out, notified

    assert asyncio.run(scenario()) == (False, True)
