"""Produces a block every interval unless the stall fault is on."""

from __future__ import annotations

import threading
import time

from stack.devnet.chain import Chain
from stack.devnet.faults import Faults


class BlockProducer:
    def __init__(self, chain: Chain, faults: Faults, interval: float) -> None:
        self._chain = chain
        self._faults = faults
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="devnet-block-producer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()

    def _run(self) -> None:
        # Slots are scheduled on the monotonic clock so slow blocks do not make the interval drift.
        next_slot = time.monotonic() + self._interval
        while not self._stopping.wait(max(0.0, next_slot - time.monotonic())):
            if not self._faults.stalled:
                self._chain.produce_block()
            # A slot missed (suspended process, slow block) is skipped rather than caught up in a burst.
            next_slot = max(next_slot + self._interval, time.monotonic())
