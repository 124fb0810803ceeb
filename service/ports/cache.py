"""Redis: rate-limit windows shared across replicas, and short-lived read caches."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from service.ports.batching import TurnBatch

WINDOW_SECONDS = 60


class Cache:
    def __init__(self, url: str) -> None:
        self._redis = aioredis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2, decode_responses=True
        )

        # One round trip, atomic in Redis, for every count asked in one event-loop turn: each key
        # (repeats too) is counted, and its expiry set when its window opens. One Redis, not a cluster:
        # a cluster would need every key of a call in one hash slot.
        self._count = self._redis.register_script(
            "local counts = {} for i, key in ipairs(KEYS) do "
            "local n = redis.call('INCR', key) "
            "if n == 1 then redis.call('EXPIRE', key, ARGV[1]) end counts[i] = n end return counts"
        )
        self._counts = TurnBatch(self._count_all)

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    def count_hit(self, user: str, group: str) -> tuple[asyncio.Future[int], int]:
        """Count one request in the current fixed window: (the count so far, to await; seconds until
        reset). It is asked now and joins this turn's round trip, so the caller may make its own
        meanwhile; cancel the future to give up on the answer."""
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        reset = int((window + 1) * WINDOW_SECONDS - now) + 1
        return self._counts.submit(f"rl:{group}:{user}:{window}"), reset

    async def _count_all(self, keys: list[str]) -> list[int]:
        return [int(n) for n in await self._count(keys=keys, args=[WINDOW_SECONDS + 1])]

    async def get(self, key: str) -> str | None:
        value = await self._redis.get(key)
        return None if value is None else str(value)

    async def put(self, key: str, value: str, ttl_seconds: float) -> None:
        await self._redis.set(key, value, px=max(1, int(ttl_seconds * 1000)))

    async def forget(self, key: str) -> None:
        await self._redis.delete(key)

    async def close(self) -> None:
        await self._redis.aclose()
