"""An operation in a block waits for the solidified head to reach it. Each look at it is a store
write and node calls, so it looks again about when its block should be solid, at the pace the node's
blocks come, instead of every CONFIRM_POLL_MS; and it is settled no later for it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from harness.audit.chain import TronGrid
from harness.audit.run import audit_sides
from harness.clients.devnet import Devnet
from harness.waiting import wait_for, wait_for_async
from service.config import parse_encryption_key
from service.operations import CONFIRM_POLL_MS
from service.ports import Ports
from service.ports.cache import Cache
from service.ports.chain import Chain
from service.ports.store import FINAL_STATES, Doc, Store
from service.ports.vault import KeyVault
from service.worker import Worker
from stack.local import LOCAL_SECRETS, Backends, devnet_info
from stack.processes import devnet_part
from tests.e2e.test_payouts import new_address
from tests.support.ledger import assert_clean, window_start
from tests.unit.conftest import DATABASE_PREFIX, World, ledger_side

BLOCK_SECONDS = 0.1
CONFIRMATIONS = 60  # 6 s from a block to its solidification: 12 looks at CONFIRM_POLL_MS
SOLID_LOOKUP = "/walletsolidity/gettransactioninfobyid"
# What a payout's worker asks for the heads and the reference block: the header alone (getblock with
# detail false), never a whole block with its transactions or the node's report of its peers.
HEADER_ONLY = ("/wallet/getblock", "/walletsolidity/getblock")
WHOLE_BLOCK = ("/wallet/getnowblock", "/walletsolidity/getnowblock", "/wallet/getnodeinfo")


@pytest.fixture
async def slow_world(backends: Backends, tmp_path: Path) -> AsyncIterator[World]:
    """The session's store and Redis, and a devnet of its own whose blocks take 6 s to solidify."""
    part = devnet_part(tmp_path, block_interval=BLOCK_SECONDS, confirmations=CONFIRMATIONS).start()
    devnet = Devnet(part.url)
    # As a live chain is: its solidified head already trailing the head by CONFIRMATIONS blocks and
    # moving with it (a new chain's stays at block 0 until it has that many).
    wait_for(lambda: devnet.info()["solid_height"] > 0, 30, "the devnet's solidified head to move")
    since = window_start()
    usdt = str(devnet_info(part.url)["usdt_contract_address"])
    store = Store(backends.store.url, f"{DATABASE_PREFIX}{uuid.uuid4().hex[:8]}")
    await store.prepare()
    ports = Ports(
        store=store,
        cache=Cache(backends.redis.url),
        chain=Chain(part.url, usdt),
        vault=KeyVault(parse_encryption_key(LOCAL_SECRETS["ENCRYPTION_KEY"])),
    )
    try:
        yield World(ports, devnet, usdt)
        with TronGrid(part.url, usdt) as grid:
            report = audit_sides(await ledger_side(store), grid, since_ms=since, stuck_after_ms=0)
        assert_clean(report, {"payout"})
    finally:
        await store.close()
        await ports.cache.close()
        await ports.chain.close()
        part.stop()


async def test_a_payout_in_a_block_looks_again_when_the_block_should_be_solid(slow_world: World) -> None:
    world = slow_world
    wallet = await world.wallet(funded=5_000_000)
    processor = world.processor()
    op = await world.payout(None, wallet, new_address(), 1_000_000)
    looks_before = world.devnet.requests_to(SOLID_LOOKUP)
    asked_before = {path: world.devnet.requests_to(path) for path in HEADER_ONLY + WHOLE_BLOCK}
    worker = Worker(world.ports, processor, 0.05)
    worker.start()
    try:
        await wait_for_async(lambda: _final(world, op["_id"]), 30, "the payout to be final")
    finally:
        await worker.stop()
    done = await world.ports.store.operation(op["_id"])
    assert done is not None and done["status"] == "completed", done
    looks = world.devnet.requests_to(SOLID_LOOKUP) - looks_before
    polled = int(CONFIRMATIONS * BLOCK_SECONDS * 1000 / CONFIRM_POLL_MS)
    # Usually 2 or 3: before the wait, at its end, and once more if the head ran a block late.
    assert looks <= 5, f"{looks} looks at the solidified chain (every {CONFIRM_POLL_MS} ms: {polled})"
    asked = {path: world.devnet.requests_to(path) - before for path, before in asked_before.items()}
    assert all(asked[path] > 0 for path in HEADER_ONLY), asked  # signed against, and waited on
    assert all(asked[path] == 0 for path in WHOLE_BLOCK), asked
    # Settled soon after its block became solid (when the block CONFIRMATIONS later was made): within
    # a look or two, with room for a busy machine.
    solid_at = world.devnet.node("wallet/getblockbynum", {"num": done["block_height"] + CONFIRMATIONS})
    solidified_ms = int(solid_at["block_header"]["raw_data"]["timestamp"])
    assert done["completed_at"] - solidified_ms <= 2000, (done["completed_at"], solidified_ms)
    world.assert_only_on_chain(wallet, done["tx_id"])


async def _final(world: World, op_id: str) -> Doc | None:
    current = await world.ports.store.operation(op_id)
    return current if current is not None and current["status"] in FINAL_STATES else None
