"""The service's ports against the real store, Redis and devnet (no service process)."""

from __future__ import annotations

import asyncio
import copy
import uuid

from tronpy.keys import PrivateKey

from harness.clients.devnet import Devnet
from service.clock import now_ms
from service.operations import new_operation
from service.ports.cache import Cache
from service.ports.chain import Chain, Outcome
from service.ports.store import Store
from stack.local import Backends
from tests.support.claims import claim_next


async def test_only_one_worker_claims_an_operation(backends: Backends) -> None:
    await check_store_semantics(backends.store.url)


async def check_store_semantics(url: str) -> None:
    """What the worker and idempotency rely on; run against nx-27017 here and real MongoDB with Docker."""
    store = Store(url, f"ports_{uuid.uuid4().hex[:6]}")
    # As a store an earlier version prepared: with two indexes the ones made now lead with.
    await store.operations.create_index([("from_address", 1)])
    await store.operations.create_index([("status", 1), ("kind", 1)])
    await store.prepare()
    try:
        indexes = (await store.operations.index_information()).values()
        keys = [[tuple(key) for key in index["key"]] for index in indexes]
        assert [("from_address", 1)] not in keys and [("status", 1), ("kind", 1)] not in keys, keys
        assert [("from_address", 1), ("status", 1)] in keys, "the funds check's index"
        assert [("status", 1), ("kind", 1), ("submitted_at", 1)] in keys
        await store.prepare()  # the next replica to start finds nothing left to drop
        for index in range(5):
            await store.insert_operation(
                new_operation("payout", f"op-{index}", "u", from_address="A", amount=1, currency="TRX")
            )
        lease = now_ms() + 30_000
        claims = await asyncio.gather(*(claim_next(store, f"w{i}", lease, ["payout"]) for i in range(12)))
        claimed = [c["_id"] for c in claims if c is not None]
        assert sorted(claimed) == [f"op-{i}" for i in range(5)], "each operation claimed exactly once"
        assert (await store.promised("A")).trx == 5
        await store.insert_operation(
            new_operation("payout", "op-b", "u", from_address="B", amount=7, currency="TRX")
        )
        one_turn = await asyncio.gather(store.promised("A"), store.promised("B"), store.promised("C"))
        assert [(p.trx, p.transactions) for p in one_turn] == [(5, 5), (7, 1), (0, 0)], (
            "one turn's sums, one aggregation with a $unionWith per address"
        )
        again, created = await store.insert_operation(
            new_operation("payout", "op-0", "u", from_address="A", amount=99, currency="TRX")
        )
        assert not created and again["amount"] == 1, "an id derived from an idempotency key is never reused"
    finally:
        await store.close()


async def test_work_is_found_in_the_order_to_take_it_and_each_claim_is_won_once(backends: Backends) -> None:
    store = Store(backends.store.url, f"ports_{uuid.uuid4().hex[:6]}")
    await store.prepare()
    try:
        start = now_ms()
        for index, priority in enumerate(("low", "normal", "high", "normal", "low", "high")):
            op = new_operation(
                "payout", f"op-{index}", "u", from_address="A", amount=1, currency="TRX", priority=priority
            )
            op["submitted_at"] = start + index
            await store.insert_operation(op)
        found = await store.claimable(["payout"], 3)
        assert [c.condition["_id"] for c in found] == ["op-2", "op-5", "op-1"], "high first, oldest first"
        lease = now_ms() + 30_000
        assert await store.claim("a", lease, found[0]) is not None
        assert await store.claim("b", lease, found[0]) is None, "a taken operation is not taken again"
        assert await store.claim("c", now_ms() - 1, found[1]) is not None  # its lease has run out
        again = await store.claimable(["payout"], 2)
        assert [(c.condition["_id"], c.abandoned) for c in again] == [("op-5", True), ("op-1", False)], (
            "an operation whose worker's lease ran out comes first"
        )
        taken_over = await store.claim("d", lease, again[0])
        assert taken_over is not None and taken_over["lease_owner"] == "d"
    finally:
        await store.close()


async def test_a_page_counts_every_match_not_only_its_own(backends: Backends) -> None:
    store = Store(backends.store.url, f"ports_{uuid.uuid4().hex[:6]}")
    await store.prepare()
    try:
        ids = [str(uuid.uuid4()) for _ in range(4)]
        for user, op_id in zip(("a", "a", "a", "b"), ids, strict=True):
            await store.insert_operation(
                new_operation("payout", op_id, user, from_address="A", amount=1, currency="TRX")
            )
        page, total = await store.find_operations({"kind": "payout", "user_id": "a"}, 0, 2)
        assert (len(page), total) == (2, 3)
        await store.transition(ids[0], {"status": "pending"}, {"status": "cancelled"})
        # A wallet's transactions (routes/wallets.py): `$or` first, a field after it.
        either = {"$or": [{"from_address": "A"}, {"to_address": "A"}], "status": {"$ne": "cancelled"}}
        page, total = await store.find_operations(either, 0, 10)
        assert (len(page), total) == (3, 3)
        assert await store.find_operations({"kind": "payout", "user_id": "nobody"}, 0, 2) == ([], 0)
        assert await store.sends_in_flight(0) == 0
    finally:
        await store.close()


async def test_rate_limit_window_is_shared(backends: Backends) -> None:
    first, second = Cache(backends.redis.url), Cache(backends.redis.url)  # as two replicas
    user = f"u-{uuid.uuid4().hex[:6]}"
    try:
        counts = [await (first if i % 2 else second).count_hit(user, "payouts")[0] for i in range(6)]
        assert counts == [1, 2, 3, 4, 5, 6]
        counted, reset = first.count_hit(user, "payouts")
        assert await counted == 7 and 1 <= reset <= 61
        assert await first.count_hit(user, "wallets")[0] == 1, "groups count separately"
    finally:
        await first.close()
        await second.close()


async def test_chain_signs_broadcasts_and_confirms_once(backends: Backends, devnet: Devnet) -> None:
    chain = Chain(backends.devnet.url, backends.usdt_contract)
    key, recipient = PrivateKey.random(), PrivateKey.random().public_key.to_base58check_address()
    owner = key.public_key.to_base58check_address()
    devnet.fund(owner, 5_000_000)
    devnet.fund(owner, 5_000_000, "USDT")
    try:
        assert await chain.trx_balance(owner) == 5_000_000
        assert await chain.usdt_balance(owner) == 5_000_000
        for currency in ("TRX", "USDT"):
            signed = await chain.sign_transfer(key, recipient, 1_234_567, currency)
            assert (await chain.broadcast(signed)).accepted
            assert (await chain.broadcast(signed)).accepted, "re-sending the same transaction is harmless"
            outcome = await wait_for_outcome(chain, signed["txID"])
            assert outcome.success and outcome.block_height > 0
            assert await chain.balance(recipient, currency) == 1_234_567

        tampered = copy.deepcopy(await chain.sign_transfer(key, recipient, 1, "TRX"))
        tampered["raw_data"]["contract"][0]["parameter"]["value"]["amount"] = 2_000_000
        refused = await chain.broadcast(tampered)
        assert not refused.accepted and refused.reason

        overspend = await chain.sign_transfer(key, recipient, 10_000_000, "USDT")
        assert (await chain.broadcast(overspend)).accepted, "a TRC20 overspend is included, then reverts"
        reverted = await wait_for_outcome(chain, overspend["txID"])
        assert not reverted.success
        assert await chain.usdt_balance(recipient) == 1_234_567
    finally:
        await chain.close()


async def wait_for_outcome(chain: Chain, txid: str, timeout: float = 10.0) -> Outcome:
    deadline = asyncio.get_running_loop().time() + timeout
    while (outcome := await chain.outcome(txid)) is None:
        assert asyncio.get_running_loop().time() < deadline, f"{txid} was not confirmed within {timeout} s"
        await asyncio.sleep(0.05)
    return outcome
