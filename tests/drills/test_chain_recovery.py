"""Chain recovery on a real store: a transfer whose memo names its operation comes back under that id
(so a retried Idempotency-Key finds it), an operation the backup holds unsent is moved onto the
transaction the chain shows, and what cannot be told apart is held for an operator, never replayed.
The chain side is a TronGrid test double (TronGrid cannot run here) answering `sent` as the real one."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

from pymongo import MongoClient

from drills.chain_recovery import operation_in, recover_operations
from harness.audit.chain import ChainTx
from service.ports.store import Store
from tests.support.claims import claim_next

WALLET = {"_id": "w-1", "user_id": "u-1", "address": "TSourceWallet", "currency": "TRX"}


@dataclass
class TronGridDouble:
    """Stands in for harness.audit.chain.TronGrid: the transactions each address sent."""

    sent_by: dict[str, list[ChainTx]]

    def sent(self, address: str, since_ms: int, until_ms: int) -> list[ChainTx]:
        return [tx for tx in self.sent_by.get(address, []) if since_ms <= tx.block_timestamp <= until_ms]


def _tx(memo: str, amount: int = 1_000_000, currency: str = "TRX") -> ChainTx:
    return ChainTx(
        tx_id=uuid.uuid4().hex * 2, owner=WALLET["address"], succeeded=True, result="SUCCESS", fee=1_000_000,
        block_timestamp=1_000, to_address="TRecipient", trx_amount=amount if currency == "TRX" else 0,
        currency=currency, usdt_amount=amount if currency == "USDT" else 0, memo=memo,
    )  # fmt: skip


def test_the_memo_names_the_operation() -> None:
    op_id = str(uuid.uuid4())
    assert operation_in(f"op:payout:{op_id}") == ("payout", op_id)
    assert operation_in("op:payout:not-a-uuid") is None
    assert operation_in("hello") is None and operation_in("") is None


def test_recovery_puts_back_moves_and_holds(mongo: MongoClient[Any], database: str) -> None:
    db = mongo[database]
    db.wallets.insert_one(WALLET)
    lost, unsent, paid_usdt = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    db.operations.insert_one({"_id": unsent, "kind": "payout", "status": "pending", "stage": "queued"})
    named = _tx(f"op:payout:{lost}")
    sent_after_backup = _tx(f"op:payout:{unsent}")
    usdt = _tx(f"op:usdt_transfer:{paid_usdt}", 2_500_000, "USDT")
    memoless = _tx("")
    stake = _tx(f"op:stake:{uuid.uuid4()}", 0, "TRX")
    grid = TronGridDouble({WALLET["address"]: [named, sent_after_backup, usdt, memoless, stake]})

    outcome = recover_operations(mongo, database, grid, since_ms=0)  # type: ignore[arg-type]

    assert set(outcome.by_memo) == {lost, unsent, paid_usdt}
    assert len(outcome.recovered) == 4 and outcome.held == [stake.tx_id]
    back = db.operations.find_one({"_id": lost})
    assert back is not None
    assert (back["stage"], back["tx_id"], back["amount"], back["user_id"]) == (
        "broadcast",
        named.tx_id,
        1_000_000,
        "u-1",
    )
    moved = db.operations.find_one({"_id": unsent})
    assert moved is not None and (moved["stage"], moved["tx_id"]) == ("broadcast", sent_after_backup.tx_id)
    token = db.operations.find_one({"_id": paid_usdt})
    assert token is not None and (token["currency"], token["amount"]) == ("USDT", 2_500_000)
    # the service's workers take every recovered operation over at once, to settle it from the chain
    assert asyncio.run(_claimed_by_a_worker(mongo, database)) == set(outcome.recovered)
    # run again: everything is known now, nothing is recovered twice
    again = recover_operations(mongo, database, grid, since_ms=0)  # type: ignore[arg-type]
    assert again.recovered == [] and again.held == [stake.tx_id]


async def _claimed_by_a_worker(mongo: MongoClient[Any], database: str) -> set[str]:
    host, port = mongo.address or ("127.0.0.1", 27017)
    store = Store(f"mongodb://{host}:{port}", database)
    claimed: set[str] = set()
    try:
        lease_until = int(time.time() * 1000) + 60_000
        kinds = ["payout", "usdt_transfer"]
        while (op := await claim_next(store, "worker-after-restore", lease_until, kinds)) is not None:
            claimed.add(op["_id"])
    finally:
        await store.close()
    return claimed
