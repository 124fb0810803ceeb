"""The TRON network as this service sees it: healthy, degraded (blocks lagging) or down."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from service import metrics
from service.ports.chain import Chain, ChainUnavailable


@dataclass(frozen=True)
class Observation:
    status: str  # healthy | degraded | down
    height: int
    block_time_ms: int
    sync_lag_seconds: float
    error: str = ""


class NetworkMonitor:
    """Probes the node at most once per `max_age` seconds; every reader shares the last probe."""

    def __init__(self, chain: Chain, degraded_lag_seconds: float = 30.0, max_age: float = 1.0) -> None:
        self._chain = chain
        self._degraded_lag = degraded_lag_seconds
        self._max_age = max_age
        self._last: Observation | None = None
        self._taken_at = 0.0
        self._lock = asyncio.Lock()
        self._refreshing: asyncio.Task[Observation] | None = None

    async def observe(self) -> Observation:
        async with self._lock:
            if self._last is None or time.monotonic() - self._taken_at > self._max_age:
                self._last = await self._probe()
                self._taken_at = time.monotonic()
                metrics.set_network_status(self._last.status)
                if self._last.height:
                    metrics.BLOCK_HEIGHT.set(self._last.height)
            return self._last

    def last_status(self) -> str | None:
        """The last probe's status without probing (None before the first)."""
        return None if self._last is None else self._last.status

    async def refresh(self, wait_seconds: float) -> None:
        """Bring the metrics up to date if the node answers within `wait_seconds`; a slower probe goes on
        in the background (one at a time) and updates them when it ends.

        For the scrape: a node slower than Prometheus's scrape timeout must show as slow, not as a
        service that does not answer (which would page TronPaymentServiceDown and hide every metric).
        """
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self.observe())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._refreshing), wait_seconds)

    async def _probe(self) -> Observation:
        try:
            height, block_time_ms = await self._chain.head_block()
        except ChainUnavailable as exc:
            return Observation("down", 0, 0, 0.0, str(exc))
        lag = max(0.0, time.time() - block_time_ms / 1000)
        status = "degraded" if lag > self._degraded_lag else "healthy"
        return Observation(status, height, block_time_ms, round(lag, 3))
