"""The operation state machine and the worker, in process, against the real store and devnet.

Each test gets a database of its own (so only its operations exist there) and, afterwards, the
harness's money audit (harness/audit) of that database's ledger against the chain's account history.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from harness.audit.chain import ChainTx, TronGrid
from harness.audit.ledger import LedgerSide, Operation
from harness.audit.run import audit_sides
from harness.clients.devnet import Devnet
from harness.waiting import wait_for
from service.config import parse_encryption_key
from service.operations import Processor, Safety, new_operation
from service.ports import Ports
from service.ports.cache import Cache
from service.ports.chain import Chain
from service.ports.store import Doc, Store
from service.ports.vault import KeyVault
from service.routes.admin import ledger_entry
from stack.local import LOCAL_SECRETS, Backends
from tests.e2e.test_payouts import new_address
from tests.support.claims import claim_next
from tests.support.ledger import assert_clean, expected_kinds, window_start

DATABASE_PREFIX = "unit_operations_"
# Short-lived transactions and a small margin, so "after the expiration" comes within a test.
TX_LIFETIME_MS = 3000
SAFETY = Safety(resign_margin_ms=1000, max_node_lag_ms=30_000)
LEASE = timedelta(seconds=30)


@dataclass
class World:
    ports: Ports
    devnet: Devnet
    usdt_contract: str

    def processor(self, name: str | None = None, safety: Safety = SAFETY) -> Processor:
        return Processor(self.ports, name or f"worker-{uuid.uuid4().hex[:6]}", LEASE, safety)

    async def wallet(self, funded: int = 0, currency: str = "TRX") -> Doc:
        wallet_id = str(uuid.uuid4())
        address, encrypted_key = self.ports.vault.new_key(wallet_id)
        wallet = {
            "_id": wallet_id,
            "user_id": "unit",
            "name": "unit",
            "currency": currency,
            "address": address,
            "encrypted_key": encrypted_key,
            "is_active": True,
            "deleted": False,
            "created_at": 0,
            "updated_at": 0,
        }
        await self.ports.store.insert_wallet(wallet)
        if funded:
            self.devnet.fund(address, funded)
        return wallet

    async def payout(
        self,
        processor: Processor | None,
        wallet: Doc,
        to: str,
        amount: int,
        currency: str = "TRX",
        submitted_at: int | None = None,
    ) -> Doc:
        """A payout as the routes store it: leased to `processor` (the request's own, signing it at
        once), or queued for any worker with None."""
        op = new_operation(
            "payout",
            str(uuid.uuid4()),
            "unit",
            wallet_id=wallet["_id"],
            from_address=wallet["address"],
            to_address=to,
            amount=amount,
            currency=currency,
        )
        if submitted_at is not None:
            op["submitted_at"] = submitted_at
        stored, created = await self.ports.store.insert_operation(processor.leased(op) if processor else op)
        assert created
        return stored

    async def new_payout(
        self, amount: int = 1_000_000, funded: int = 5_000_000
    ) -> tuple[Processor, Doc, Doc]:
        """A funded wallet and a payout out of it, leased to a new worker: (worker, wallet, payout)."""
        processor = self.processor()
        wallet = await self.wallet(funded=funded)
        return processor, wallet, await self.payout(processor, wallet, new_address(), amount)

    async def take_over(self, op: Doc) -> tuple[Processor, Doc]:
        """A new worker claims the operation once its lease ran out, as after a crash."""
        successor = self.processor()
        lease_until = successor.lease_until()
        taken = await claim_next(self.ports.store, successor.worker_name, lease_until, [op["kind"]])
        assert taken is not None and taken["_id"] == op["_id"], taken
        return successor, taken

    def assert_only_on_chain(self, wallet: Doc, txid: str) -> None:
        sent = [tx.tx_id for tx in self.sent_from(wallet["address"])]
        assert sent == [txid], f"the wallet sent {sent}, expected exactly {txid}"

    async def run(self, processor: Processor, op: Doc, until: tuple[str, ...], timeout: float = 30) -> Doc:
        """Step the operation as its worker would (when due) until its status is one of `until`."""
        deadline = time.monotonic() + timeout
        while op["status"] not in until:
            assert time.monotonic() < deadline, f"operation still {op['status']}/{op['stage']}: {op}"
            await asyncio.sleep(0.05)
            current = await self.ports.store.operation(op["_id"])
            assert current is not None
            op = await processor.step(current) if current["status"] == "processing" else current
        return op

    def fault(self, name: str, **params: Any) -> None:
        self.devnet.control("faults", {"fault": name, "ttl_s": 60, **params})

    async def due(self, op: Doc) -> Doc:
        """The operation as stored, once its next check is due (its backoff has passed)."""
        current = await self.ports.store.operation(op["_id"])
        assert current is not None
        await asyncio.sleep(max(0, current["next_check_at"] - time.time() * 1000) / 1000)
        return current

    def head_time(self) -> int:
        return int(self.devnet.node("wallet/getnowblock", {})["block_header"]["raw_data"]["timestamp"])

    def wait_head_past(self, moment_ms: int) -> None:
        wait_for(lambda: self.head_time() > moment_ms, 30, f"the node's head to pass {moment_ms}")

    def sent_from(self, address: str) -> list[ChainTx]:
        """What the address sent, from the chain's account history (as the audit reads it)."""
        with TronGrid(self.devnet.url, self.usdt_contract) as grid:
            return grid.sent(address, 0, int(time.time() * 1000) + 60_000)


async def ledger_side(store: Store) -> LedgerSide:
    """The test database's ledger as GET /admin/ledger and /admin/wallets would serve it (these tests
    run the worker in process, with no HTTP service in front of their database)."""
    operations, _ = await store.ledger({}, 0, 1_000_000)
    wallets, _ = await store.all_wallets(0, 1_000_000)
    return LedgerSide(
        tuple(Operation.from_entry(ledger_entry(op)) for op in operations),
        tuple(str(w["address"]) for w in wallets),
    )


@pytest.fixture
async def world(request: pytest.FixtureRequest, backends: Backends, devnet: Devnet) -> AsyncIterator[World]:
    since = window_start()
    store = Store(backends.store.url, f"{DATABASE_PREFIX}{uuid.uuid4().hex[:8]}")
    await store.prepare()
    ports = Ports(
        store=store,
        cache=Cache(backends.redis.url),
        chain=Chain(backends.devnet.url, backends.usdt_contract, tx_lifetime_ms=TX_LIFETIME_MS),
        vault=KeyVault(parse_encryption_key(LOCAL_SECRETS["ENCRYPTION_KEY"])),
    )
    try:
        yield World(ports, devnet, backends.usdt_contract)
        devnet.reset()
        with TronGrid(devnet.url, backends.usdt_contract) as grid:
            report = audit_sides(await ledger_side(store), grid, since_ms=since, stuck_after_ms=0)
        assert_clean(report, expected_kinds(request.node))
    finally:
        devnet.reset()
        await store.close()
        await ports.cache.close()
        await ports.chain.close()
