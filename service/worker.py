"""The background worker each replica runs: claims operations and carries them to the chain (callbacks
have their own loop, service/callbacks.py, so a slow receiver never holds money up)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from service import metrics, refunds
from service.operations import KINDS, PAYOUTS_FROZEN, PRIORITY_RANK, Processor
from service.ports import Ports
from service.ports.store import Doc

log = logging.getLogger(__name__)
# Operations looked up per round and lane, and taken one by one: the round's chores (lease renewal,
# due re-checks, refund recovery, the queue depth) and the sorted query for work are paid once per
# batch, not once per operation. Per lane, so a round takes 20 operations while requests are served
# and 160 while none are: an operation queued meanwhile with a higher priority waits for about 20
# steps of a lane either way, and an idle replica draining a backlog does not pay the chores every
# 20 (`tronops bench`, after a write run, two paired runs: 52.7 to 71.3 payouts a second against
# 30.5 to 38.0 with 20 a round; the write runs level, 0.87x and 1.17x).
CLAIM_BATCH = 20
# Operations a worker steps at once while its replica serves no request. A step mostly waits, on
# about seven store round trips and the node in turn, so one at a time left the CPU idle between
# them. Each step holds its own operation's lease and is safe beside any other (requests that sign
# inline already step beside the worker). Small, as a freeze that lands mid-round parks what is in
# flight. While requests are being served the worker steps one at a time: carrying a payout costs
# about what accepting four does (docs/performance.md, "What a replica accepts"), and requests have
# a latency to keep.
CARRY_AT_ONCE = 8


class Worker:
    """Takes new and abandoned operations, and re-checks the ones it holds the lease on (only those:
    another replica's operations are its own business until its lease runs out)."""

    def __init__(
        self,
        ports: Ports,
        processor: Processor,
        poll_seconds: float,
        *,
        stop_seconds: float = 10.0,
        requests_in_flight: Callable[[], int] = lambda: 0,
    ) -> None:
        self._ports = ports
        self._processor = processor
        self._poll = poll_seconds
        self._stop_seconds = stop_seconds
        self._requests_in_flight = requests_in_flight
        self._accepting = True
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="operations-worker")

    async def stop(self) -> None:
        """Stop taking new work and let the current step finish, for at most `stop_seconds` (then it
        is cancelled: every step is safe to interrupt). Then `release_leases`."""
        self._accepting = False
        if self._task is not None:
            _, pending = await asyncio.wait({self._task}, timeout=self._stop_seconds)
            if pending:
                log.warning("worker step still running at shutdown; cancelling it")
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)

    async def release_leases(self) -> None:
        """Hand every lease back, so another replica takes the work over at once instead of after the
        lease runs out. Unbounded here: the replica's shutdown bounds it (service/app.py)."""
        try:
            released = await self._ports.store.release_leases(self._processor.worker_name)
            log.info("worker stopped", extra={"released_leases": released})
        except Exception:
            log.exception("could not release leases at shutdown; they run out by themselves")

    def drain(self) -> None:
        self._accepting = False

    async def _run(self) -> None:
        while self._accepting:
            try:
                busy = await self._tick()
            except Exception:
                log.exception("worker tick failed")
                busy = False
            if not busy:
                await asyncio.sleep(self._poll)

    async def _tick(self) -> bool:
        """One round; True if it took new work (then the next round starts at once)."""
        processor, store = self._processor, self._ports.store
        lease_until = processor.lease_until()
        renew_before = lease_until - int(processor.lease.total_seconds() * 500)  # half the lease left
        await store.renew_leases(processor.worker_name, lease_until, renew_before)
        busy = False
        # While frozen, new work stays pending (and counted in the queue depth) instead of being held.
        frozen = await store.payouts_frozen()
        candidates = [] if frozen else await store.claimable(list(KINDS), self._batch())
        # A round that runs long (a hung node takes up to its timeout per step) stops taking new work
        # after half a lease, so the leases it holds are renewed in time; the rest stays for anyone.
        loop = asyncio.get_running_loop()
        stop_taking_at = loop.time() + processor.lease.total_seconds() / 2
        async with Lanes(processor, self._lanes) as lanes:
            for taken, candidate in enumerate(candidates):
                await lanes.free()
                if not self._accepting or lanes.froze or loop.time() > stop_taking_at:
                    break  # froze: the switch went on mid-round: the rest stays pending, not parked here
                if taken >= self._batch():
                    break  # requests came in mid-round: the rest stays pending for the next round
                op = await store.claim(processor.worker_name, processor.lease_until(), candidate)
                if op is None:
                    continue  # another worker took it since
                busy = True
                lanes.carry(op)
        async with Lanes(processor, self._lanes) as lanes:
            for held in await store.due_operations(processor.worker_name, limit=50):
                await lanes.free()
                if not self._accepting:
                    break
                lanes.carry(held)
        await refunds.recover(store)
        await self._publish_queue_depth()
        return busy

    def _lanes(self) -> int:
        return 1 if self._requests_in_flight() else CARRY_AT_ONCE

    def _batch(self) -> int:
        return CLAIM_BATCH * self._lanes()

    async def _publish_queue_depth(self) -> None:
        depth = await self._ports.store.queue_depth("payout")
        for priority in PRIORITY_RANK:
            metrics.PAYOUT_QUEUE_DEPTH.labels(priority=priority).set(depth.get(priority, 0))


class Lanes:
    """Steps operations in the background, as many at a time as `width()` says. Leaving the `async with`
    waits for every step; cancelling it (the worker stopping) cancels them, as each is safe to cut.
    One step failing is logged and does not stop the others."""

    def __init__(self, processor: Processor, width: Callable[[], int]) -> None:
        self._processor = processor
        self._width = width
        self._steps = asyncio.TaskGroup()
        self._running: set[asyncio.Task[None]] = set()
        self.froze = False  # a step came back parked by the payout kill switch

    async def __aenter__(self) -> Lanes:
        await self._steps.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._steps.__aexit__(*exc_info)

    async def free(self) -> None:
        """Return once a lane is free."""
        while len(self._running) >= self._width():
            await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)

    def carry(self, op: Doc) -> None:
        task = self._steps.create_task(self._step(op))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _step(self, op: Doc) -> None:
        try:
            self.froze |= (await self._processor.step(op)).get("last_error") == PAYOUTS_FROZEN
        except Exception:
            log.exception("worker step failed", extra={"operation_id": op["_id"]})
