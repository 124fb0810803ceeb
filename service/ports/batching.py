"""Calls made in one event-loop turn share one round trip to the store or to Redis.

Under load a replica runs many requests at once, and each one's read of the store (or count in Redis)
is a round trip whose client-side work (command building, server selection, pool checkout, decoding)
costs more CPU than the request's own logic. Requests that ask within the same turn of the event loop
are sent together at the end of that turn, as one command: every caller still gets its own answer,
and each one's command leaves after the caller asked, so a read never sees older data than it would
have alone (a write finished before the read began is in every batch sent after it). With one
request at a time a batch holds one call and costs one extra loop hop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")  # never hashed: a batch keeps its keys in call order
V = TypeVar("V")


class TurnBatch(Generic[K, V]):
    """`await batch(key)`: the answer for `key`, from one `send(keys)` shared by this turn's callers.

    `send` gets the keys in call order (repeats included) and returns one answer per key, in order.
    """

    def __init__(self, send: Callable[[list[K]], Awaitable[list[V]]]) -> None:
        self._send = send
        self._keys: list[K] = []
        self._waiters: list[asyncio.Future[V]] = []
        self._flights: set[asyncio.Task[None]] = set()  # held until done: the loop keeps weak refs

    async def __call__(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        if not self._keys:
            loop.call_soon(self._flush)  # after the callbacks already due in this turn
        waiter: asyncio.Future[V] = loop.create_future()
        self._keys.append(key)
        self._waiters.append(waiter)
        return await waiter

    def _flush(self) -> None:
        keys, waiters = self._keys, self._waiters
        self._keys, self._waiters = [], []
        flight = asyncio.get_running_loop().create_task(self._answer(keys, waiters))
        self._flights.add(flight)
        flight.add_done_callback(self._flights.discard)

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
