"""The network monitor as a scrape uses it: fresh when the node answers, never held up when it is slow."""

from __future__ import annotations

import asyncio
import time
from typing import cast

from service import metrics
from service.network import NetworkMonitor
from service.ports.chain import Chain, ChainUnavailable


class FakeChain:
    """head_block only, answering `height` after `delay` seconds (or failing at once when `down`)."""

    def __init__(self, delay: float = 0.0, down: bool = False, height: int = 4242) -> None:
        self.delay = delay
        self.down = down
        self.height = height
        self.probes = 0

    async def head_block(self) -> tuple[int, int]:
        self.probes += 1
        if self.down:
            raise ChainUnavailable("node down")
        await asyncio.sleep(self.delay)
        return self.height, int(time.time() * 1000)


def _gauge(name: str, **labels: str) -> float | None:
    return metrics.REGISTRY.get_sample_value(name, labels)


async def test_refresh_waits_no_longer_than_asked_and_the_slow_probe_lands_later() -> None:
    # The gauge is process-wide: a height no other test reports, so that what other tests left in it
    # cannot pass for this probe's answer.
    chain = FakeChain(delay=0.5, height=5151)
    monitor = NetworkMonitor(cast(Chain, chain))
    started = time.perf_counter()
    await monitor.refresh(0.05)
    assert time.perf_counter() - started < 0.3, "a slow node held the caller up"
    assert _gauge("tron_block_height") != 5151
    await monitor.refresh(0.05)  # a second scrape while the probe runs starts no other
    assert chain.probes == 1
    observed = await monitor.observe()  # waits for the background probe, and reuses it
    assert (observed.height, chain.probes) == (5151, 1)
    assert _gauge("tron_block_height") == 5151


async def test_refresh_reports_a_node_that_answers_quickly_in_the_same_call() -> None:
    await NetworkMonitor(cast(Chain, FakeChain(down=True))).refresh(1.0)
    assert _gauge("tron_network_status", status="down") == 1
    await NetworkMonitor(cast(Chain, FakeChain())).refresh(1.0)
    assert _gauge("tron_network_status", status="down") == 0
    assert _gauge("tron_network_status", status="healthy") == 1
