"""Operations that reached the chain after the backup point, brought back before the service takes
money moves again: every transaction sent from one of our wallets since the backup that no operation
in the restored database names is put back as an operation at stage `broadcast`, so the service's own
worker settles it from the chain (service/operations.py `_from_chain`). A TRX transfer is recovered
as a payout; anything else (a token call, a stake) cannot be told apart from here and is held for an
operator, never replayed. Chain side: the TronGrid account history (harness/audit/chain.py)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from pymongo import MongoClient

from harness.audit.chain import TronGrid

RECOVERED = uuid.UUID("0d5b8a4e-9a5e-4c47-8f0e-5f1f0f0b6a21")  # recovered ids: uuid5(RECOVERED, tx_id)


@dataclass
class Recovery:
    recovered: list[str] = field(default_factory=list)  # operation ids put back
    held: list[str] = field(default_factory=list)  # tx ids an operator must look at


def _operation(wallet: dict[str, Any], tx: Any, now_ms: int) -> dict[str, Any]:
    """The store's operation record (the service's `new_operation` layout) for a transfer seen on chain."""
    return {
        "_id": str(uuid.uuid5(RECOVERED, tx.tx_id)),
        "kind": "payout",
        "user_id": wallet["user_id"],
        "wallet_id": wallet["_id"],
        "from_address": wallet["address"],
        "to_address": tx.to_address,
        "amount": tx.trx_amount,
        "currency": "TRX",
        "memo": None,
        "batch_id": None,
        "status": "processing",
        "stage": "broadcast",  # the worker asks the chain first and settles it
        "signed_tx": None,
        "tx_id": tx.tx_id,
        "block_height": None,
        "fee": None,
        "failure_reason": None,
        "priority": "normal",
        "priority_rank": 1,
        "submitted_at": tx.block_timestamp,
        "updated_at": now_ms,
        "completed_at": None,
        "lease_owner": None,
        "lease_until": None,
        "next_check_at": now_ms,
        "broadcast_attempts": 1,
        "sign_failures": 0,
        "retries": 0,
        "replaced_tx_ids": [],
        "last_error": None,
        "debits": True,
        "recovered_from_chain": True,  # its idempotency key is unknown: the restore lost it
    }


def recover_operations(client: MongoClient[Any], database: str, grid: TronGrid, since_ms: int) -> Recovery:
    db = client[database]
    known: set[str] = set()
    for op in db.operations.find({}, {"tx_id": 1, "replaced_tx_ids": 1}):
        known.update(t for t in [op.get("tx_id"), *(op.get("replaced_tx_ids") or [])] if t)
    now_ms = int(time.time() * 1000)
    outcome = Recovery()
    for wallet in db.wallets.find({}):
        for tx in grid.sent(wallet["address"], since_ms, now_ms):
            if tx.tx_id in known or not tx.succeeded:
                continue
            if tx.currency == "TRX" and tx.trx_amount > 0 and tx.to_address:
                record = _operation(wallet, tx, now_ms)
                db.operations.insert_one(record)
                outcome.recovered.append(record["_id"])
            else:
                outcome.held.append(tx.tx_id)
            known.add(tx.tx_id)
    return outcome
