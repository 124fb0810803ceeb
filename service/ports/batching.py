"""Calls made in one event-loop turn share one round trip to the store or to Redis.

Under load a replica runs many requests at once, and each one's read of the store (or count in Redis)
is a round trip whose client-side work (command building, server selection, pool checkout, decoding)
costs more CPU than the request's own logic. Requests that ask within the same turn of the event loop
are sent together at the end of that turn, as one command: every caller still gets its own answer,
and each one's command leaves after the caller asked, so a read never sees older data than it would
have alone (a write finished before the read began is in every batch sent after it). With one
request at a time a batch holds one call and costs one extra loop hop.

While a batch is out, the next one gathers instead of leaving (group commit, as databases do for
their log flushes): under load the store answers one command at a time anyway, so calls that would
have queued there as their own commands queue here and leave as one. An idle replica sends at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")  # never hashed: a batch keeps its keys in call order
V = TypeVar("V")


class TurnBatch(Generic[K, V]):
    """`await batch(key)`: the answer for `key`, from one `send(keys)` shared by this turn's callers
    (and, while a batch is out, by every caller until it returns).

    `send` gets the keys in call order (repeats included) and returns one answer per key, in order.
    """

    def __init__(self, send: Callable[[list[K]], Awaitable[list[V]]]) -> None:
        self._send = send
        self._keys: list[K] = []
        self._waiters: list[asyncio.Future[V]] = []
        self._flush_due = False
        self._flight: asyncio.Task[None] | None = None  # held until done: the loop keeps weak refs

    async def __call__(self, key: K) -> V:
        return await self.submit(key)

    def submit(self, key: K) -> asyncio.Future[V]:
        """Ask now, await later: the call joins this turn's batch before the caller's next await, so
        work the caller does meanwhile (its own round trips) overlaps this one."""
        waiter: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._keys.append(key)
        self._waiters.append(waiter)
        self._schedule_flush()
        return waiter

    def _schedule_flush(self) -> None:
        if self._keys and not self._flush_due and self._flight is None:
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self._flush)  # after the callbacks already due

    def _flush(self) -> None:
        self._flush_due = False
        keys, waiters = self._keys, self._waiters
        self._keys, self._waiters = [], []
        self._flight = asyncio.get_running_loop().create_task(self._answer(keys, waiters))
        self._flight.add_done_callback(self._landed)

    def _landed(self, flight: asyncio.Task[None]) -> None:
        self._flight = None
        if not flight.cancelled():
            self._schedule_flush()
            return
        for waiter in self._waiters:  # the replica is stopping: the gathered callers stop with it
            waiter.cancel()
        self._keys, self._waiters = [], []

    async def _answer(self, keys: list[K], waiters: list[asyncio.Future[V]]) -> None:
        try:
            answers = await self._send(keys)
        except asyncio.CancelledError:  # the replica is stopping: so are its callers
            for waiter in waiters:
                waiter.cancel()
            raise
        except Exception as exc:  # every caller sees the failure its own call would have had
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for waiter, answer in zip(waiters, answers, strict=True):
            if not waiter.done():  # a caller that gave up (cancelled, timed out) takes nothing
                waiter.set_result(answer)
