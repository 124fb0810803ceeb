"""Redis: rate-limit windows shared across replicas, and short-lived read caches."""

from __future__ import annotations

import time

import redis.asyncio as aioredis


class Cache:
    def __init__(self, url: str) -> None:
        self._redis = aioredis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2, decode_responses=True
        )

        # One round trip, atomic in Redis: count, and set the expiry when the window opens.
        self._count = self._redis.register_script(
            "local n = redis.call('INCR', KEYS[1]) "
            "if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n"
        )

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def hit_rate_limit(self, user: str, group: str, window_seconds: int = 60) -> tuple[int, int]:
        """Count one request in the current fixed window: (count so far, seconds until reset)."""
        now = time.time()
        window = int(now // window_seconds)
        key = f"rl:{group}:{user}:{window}"
        count = await self._count(keys=[key], args=[window_seconds + 1])
        reset = int((window + 1) * window_seconds - now) + 1
        return int(count), reset

    async def get(self, key: str) -> str | None:
        value = await self._redis.get(key)
        return None if value is None else str(value)

    async def put(self, key: str, value: str, ttl_seconds: float) -> None:
        await self._redis.set(key, value, px=max(1, int(ttl_seconds * 1000)))

    async def forget(self, key: str) -> None:
        await self._redis.delete(key)

    async def close(self) -> None:
        await self._redis.aclose()
