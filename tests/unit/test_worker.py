"""The worker: whose operations it works on, and how it lets go of them."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo import monitoring
from pymongo.errors import PyMongoError

from harness.waiting import wait_for_async
from service.clock import now_ms
from service.operations import PAYOUTS_FROZEN, Processor
from service.ports.store import SOCKET_TIMEOUT_MS, Store
from service.worker import CARRY_AT_ONCE, CLAIM_BATCH, Worker
from stack.local import Backends
from stack.processes import Part, store_part
from tests.e2e.test_payouts import new_address
from tests.support.claims import claim_next
from tests.unit.conftest import LEASE, SAFETY, World


def worker_for(world: World, name: str | None = None, stop_seconds: float = 10.0) -> Worker:
    return Worker(world.ports, world.processor(name), 0.05, stop_seconds=stop_seconds)


async def test_an_operation_created_for_a_request_is_leased_to_it_so_no_worker_can_race_it(
    world: World,
) -> None:
    request, _, stored = await world.new_payout()  # stored as the routes do: leased to the request
    assert await world.ports.store.claimable(["payout"], 5) == [], "no other worker can take it"
    signed = await request.step(stored)
    assert signed["tx_id"], "the request that created it signs it: its 202 carries the tx id"
    await world.run(request, signed, ("completed",))


async def test_a_worker_rechecks_only_the_operations_it_holds_the_lease_on(world: World) -> None:
    holder, bystander = worker_for(world), worker_for(world)
    wallet = await world.wallet(funded=5_000_000)
    op = await world.payout(holder._processor, wallet, new_address(), 1_000_000)
    sent = await holder._processor.step(op)
    assert sent["stage"] == "broadcast"
    world.wait_head_past(world.head_time() + 1500)  # its block is solid now: the next check completes it
    await bystander._tick()
    after = await world.ports.store.operation(op["_id"])
    assert after is not None and after["status"] == "processing", "another replica's lease is left alone"
    assert after["lease_owner"] == holder._processor.worker_name
    await holder._tick()
    done = await world.ports.store.operation(op["_id"])
    assert done is not None and done["status"] == "completed", done


async def test_stopping_is_bounded_and_hands_every_lease_back(world: World) -> None:
    worker = worker_for(world, stop_seconds=1.0)
    wallet = await world.wallet(funded=5_000_000)
    op = await world.payout(worker._processor, wallet, new_address(), 1_000_000)
    world.devnet.control("latency", {"ms": 8000, "ttl_s": 30})  # every node call now hangs 8 s
    worker.start()
    await asyncio.sleep(0.5)  # its first round begins and hangs on the node: nothing to wait on but time
    started = time.monotonic()
    await worker.stop()
    assert time.monotonic() - started < 3, "stop waits at most stop_seconds for the current step"
    await worker.release_leases()
    released = await world.ports.store.operation(op["_id"])
    assert released is not None and released["lease_owner"] is None and released["lease_until"] == 0
    world.devnet.reset()
    successor = world.processor()
    taken = await claim_next(world.ports.store, successor.worker_name, successor.lease_until(), ["payout"])
    assert taken is not None and taken["_id"] == op["_id"], "taken over at once, not after the lease"
    await world.run(successor, taken, ("completed",))


@pytest.fixture
def private_store(tmp_path: Path) -> Iterator[Part]:
    part = store_part(tmp_path).start()
    try:
        yield part
    finally:
        part.signal(signal.SIGCONT)
        part.stop()


async def _queued(world: World, wallet: dict[str, Any], count: int) -> list[str]:
    """Payouts queued for any worker, oldest first (distinct times): the order a worker takes them."""
    start = now_ms()
    return [
        (await world.payout(None, wallet, new_address(), 1_000_000, submitted_at=start + index))["_id"]
        for index in range(count)
    ]


async def _stored(world: World, ids: list[str]) -> list[dict[str, Any]]:
    found = [await world.ports.store.operation(op_id) for op_id in ids]
    assert all(op is not None for op in found), found
    return [op for op in found if op is not None]


async def test_one_round_carries_a_batch_of_queued_operations_to_the_chain(world: World) -> None:
    worker = worker_for(world)
    wallet = await world.wallet(funded=10_000_000)
    ids = await _queued(world, wallet, 3)
    assert await worker._tick(), "it took work"
    sent = await _stored(world, ids)
    assert [(op["stage"], op["lease_owner"]) for op in sent] == [
        ("broadcast", worker._processor.worker_name)
    ] * 3, "each sent in the one round, not one per round"
    for op in sent:
        await world.run(worker._processor, op, ("completed",))
    assert len(world.sent_from(wallet["address"])) == 3


async def test_a_round_the_node_holds_up_stops_taking_work_after_half_a_lease(world: World) -> None:
    slow = Processor(world.ports, f"slow-{uuid.uuid4().hex[:6]}", timedelta(seconds=2), SAFETY)
    wallet = await world.wallet(funded=100_000_000)
    ids = await _queued(world, wallet, CARRY_AT_ONCE + 2)
    world.devnet.control("latency", {"ms": 1200, "ttl_s": 30})  # a payout alone outlasts 1 s
    try:
        await Worker(world.ports, slow, 0.05)._tick()
    finally:
        world.devnet.reset()
    stored = await _stored(world, ids)
    taken, rest = stored[:CARRY_AT_ONCE], stored[CARRY_AT_ONCE:]
    assert [(op["stage"], op["lease_owner"]) for op in taken] == [("broadcast", slow.worker_name)] * len(
        taken
    ), "the first lanes' worth were carried at once"
    assert [(op["status"], op["lease_owner"]) for op in rest] == [("pending", None)] * 2, (
        "the rest never taken: any worker's to take, not held by a round that has run long"
    )
    successor = world.processor()
    while next_op := await claim_next(
        world.ports.store, successor.worker_name, successor.lease_until(), ["payout"]
    ):
        await world.run(successor, next_op, ("completed",))
    for op in taken:  # unless its lease ran out and the successor took it
        await world.run(slow, op, ("completed",))
    assert [op["status"] for op in await _stored(world, ids)] == ["completed"] * len(ids)
    assert len(world.sent_from(wallet["address"])) == len(ids), "each sent once"


async def test_a_freeze_during_a_round_leaves_the_rest_of_its_batch_pending(world: World) -> None:
    worker = worker_for(world)
    wallet = await world.wallet(funded=100_000_000)
    ids = await _queued(world, wallet, CARRY_AT_ONCE + 2)
    taken_ids, rest_ids = ids[:CARRY_AT_ONCE], ids[CARRY_AT_ONCE:]
    world.devnet.control("latency", {"ms": 1000, "ttl_s": 30})  # signing hangs 1 s
    try:
        round_ = asyncio.create_task(worker._tick())
        await wait_for_async(
            lambda: _held_by(world, taken_ids, worker._processor.worker_name),
            10,
            f"the first {CARRY_AT_ONCE} payouts taken by the round",
            0.02,
        )
        await world.ports.store.set_payout_freeze(True, "unit: frozen mid-round", "unit")
    finally:
        world.devnet.reset()
        await round_  # also when an assertion failed: the round ends before the store closes
    taken, rest = await _stored(world, taken_ids), await _stored(world, rest_ids)
    assert [op["last_error"] for op in taken] == [PAYOUTS_FROZEN] * len(taken), "those in flight are held"
    assert not world.sent_from(wallet["address"]), "nothing sent once the switch is on"
    assert [(op["status"], op["lease_owner"]) for op in rest] == [("pending", None)] * 2, (
        "the rest stay queued (any worker's once the switch is lifted), not parked under this round's lease"
    )
    await world.ports.store.set_payout_freeze(False, "unit: lifted", "unit")
    for op in taken:
        await world.run(worker._processor, op, ("completed",))
    while next_op := await claim_next(
        world.ports.store, worker._processor.worker_name, worker._processor.lease_until(), ["payout"]
    ):
        await world.run(worker._processor, next_op, ("completed",))
    assert [op["status"] for op in await _stored(world, ids)] == ["completed"] * len(ids)
    assert len(world.sent_from(wallet["address"])) == len(ids), "each sent once"


async def _held_by(world: World, op_ids: list[str], worker_name: str) -> bool:
    held = [await world.ports.store.operation(op_id) for op_id in op_ids]
    return all(op is not None and op["lease_owner"] == worker_name for op in held)


async def test_an_idle_replicas_worker_carries_several_operations_at_once(world: World) -> None:
    worker = worker_for(world)
    wallet = await world.wallet(funded=100_000_000)
    ids = await _queued(world, wallet, CARRY_AT_ONCE + 1)
    world.devnet.control("latency", {"ms": 2000, "ttl_s": 30})  # each node call hangs 2 s: time to look
    try:
        round_ = asyncio.create_task(worker._tick())
        await wait_for_async(
            lambda: _held_by(world, ids[:CARRY_AT_ONCE], worker._processor.worker_name),
            5,
            f"{CARRY_AT_ONCE} payouts taken at once, while the node holds up the first",
            0.02,
        )
        last = await world.ports.store.operation(ids[-1])
        assert last is not None and last["status"] == "pending", "no more than that at once"
    finally:
        world.devnet.reset()
        await round_  # also when an assertion failed: the round ends before the store closes
    assert [op["stage"] for op in await _stored(world, ids)] == ["broadcast"] * len(ids), "all in one round"
    for op in await _stored(world, ids):
        await world.run(worker._processor, op, ("completed",))
    assert len(world.sent_from(wallet["address"])) == len(ids), "each sent once"


async def test_a_replica_serving_requests_has_its_worker_carry_one_operation_at_a_time(
    world: World,
) -> None:
    worker = Worker(world.ports, world.processor(), 0.05, requests_in_flight=lambda: 1)
    wallet = await world.wallet(funded=100_000_000)
    first, *rest = await _queued(world, wallet, 3)
    world.devnet.control("latency", {"ms": 2000, "ttl_s": 30})  # each node call hangs 2 s: time to look
    try:
        round_ = asyncio.create_task(worker._tick())
        # Signed after its first node call, sent after its second: in between, it alone is held.
        await wait_for_async(lambda: _stage(world, first, "signed"), 10, "the first payout signed", 0.02)
        assert [op["status"] for op in await _stored(world, rest)] == ["pending"] * 2, "one at a time"
    finally:
        world.devnet.reset()
        await round_  # also when an assertion failed: the round ends before the store closes
    for op in await _stored(world, [first, *rest]):
        await world.run(worker._processor, op, ("completed",))
    assert len(world.sent_from(wallet["address"])) == 3, "each sent once"


@pytest.mark.parametrize(
    ("in_flight", "taken"),
    [(0, CLAIM_BATCH + 2), (1, CLAIM_BATCH)],
    ids=["idle: more than a batch a round", "serving: one batch a round"],
)
async def test_a_round_takes_a_batch_per_lane(world: World, in_flight: int, taken: int) -> None:
    """An idle replica's round takes a batch per lane; one serving requests, one batch, and the rest
    of the queue waits for the next round (its higher priorities first)."""
    worker = Worker(world.ports, world.processor(), 0.05, requests_in_flight=lambda: in_flight)
    wallet = await world.wallet(funded=100_000_000)
    ids = await _queued(world, wallet, CLAIM_BATCH + 2)
    assert await worker._tick(), "it took work"
    stored = await _stored(world, ids)
    assert [op["stage"] for op in stored[:taken]] == ["broadcast"] * taken, "sent in the one round"
    assert [op["status"] for op in stored[taken:]] == ["pending"] * (len(ids) - taken), "left for later"
    if taken < len(ids):
        assert await worker._tick(), "the next round takes the rest"
    for op in await _stored(world, ids):
        await world.run(worker._processor, op, ("completed",))
    assert len(world.sent_from(wallet["address"])) == len(ids), "each sent once"


async def _stage(world: World, op_id: str, stage: str) -> bool:
    op = await world.ports.store.operation(op_id)
    return op is not None and op["stage"] == stage


async def test_a_store_that_stops_answering_fails_calls_within_its_timeout(
    private_store: Part,
) -> None:
    store = Store(private_store.url, "unit_store_timeouts")
    try:
        await store.prepare()
        private_store.signal(signal.SIGSTOP)  # alive, connected, silent
        started = time.monotonic()
        with pytest.raises(PyMongoError):
            await store.operations.find_one({"status": "pending"})
        assert time.monotonic() - started < SOCKET_TIMEOUT_MS / 1000 + 5
    finally:
        private_store.signal(signal.SIGCONT)
        await store.close()


class _OperationQueries(monitoring.CommandListener):
    """Every filter the store sends to `operations`, as the server receives it."""

    def __init__(self) -> None:
        self.filters: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        command = event.command
        if command.get(event.command_name) != "operations":
            return
        if event.command_name == "find":
            self.filters.append(command.get("filter", {}))
        elif event.command_name == "findAndModify":
            self.filters.append(command.get("query", {}))
        elif event.command_name == "update":
            self.filters.extend(update["q"] for update in command.get("updates", []))
        elif event.command_name == "aggregate":
            self.filters.extend(s["$match"] for s in command.get("pipeline", [])[:1] if "$match" in s)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_every_query_the_worker_sends_is_served_by_an_index(world: World, backends: Backends) -> None:
    queries = _OperationQueries()
    monitoring.register(queries)  # applies to clients made from now on
    store = Store(backends.store.url, world.ports.store.operations.database.name)
    try:
        watched = replace(world.ports, store=store)
        processor = Processor(watched, "watched-worker", LEASE, SAFETY)
        wallet = await world.wallet(funded=5_000_000)
        op = await world.payout(processor, wallet, new_address(), 1_000_000)
        await world.run(processor, op, ("completed",))
        await Worker(watched, processor, 0.05)._tick()
        await store.oldest_unfinished()
        await store.release_leases(processor.worker_name)
        indexes = [list(dict(i["key"])) for i in (await store.operations.index_information()).values()]
    finally:
        monitoring._LISTENERS.command_listeners.remove(queries)
        await store.close()
    assert queries.filters, "the worker sent no queries"
    unserved = [f for f in queries.filters if not any(_serves(index, f) for index in indexes)]
    assert not unserved, f"queries no index serves: {unserved}"


def _serves(index: list[str], query: dict[str, Any]) -> bool:
    """The index's leading keys (two, or as many as the query or the index has) are all query fields:
    an index led by `status` alone does not serve a query on `lease_owner` and `status`."""
    fields = set(query)
    return set(index[: min(len(index), len(fields), 2)]) <= fields
