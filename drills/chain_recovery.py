"""Operations that reached the chain after the backup point, brought back before the service takes
money moves again. Every transaction sent from one of our wallets since the backup that no operation
in the restored database names is looked at (chain side: the TronGrid account history,
harness/audit/chain.py):

- It carries its operation in its memo (`op:<kind>:<id>`, service/operations.py `chain_memo`):
  a transfer (payout, USDT transfer) is put back under that very id at stage `broadcast`, so the
  service's own worker settles it from the chain (service/operations.py `_from_chain`). Operation ids
  derive from the client's Idempotency-Key, so a client retrying its key after the restore is answered
  with this operation (its idempotency record is written again by that retry), never paid again. An
  operation the backup holds unsent (queued or signed) that the chain shows sent is moved onto that
  transaction, or its worker would sign a second one.
- It carries no memo (a deployment with OPERATION_ID_ON_CHAIN off, or older transactions): a TRX
  transfer is recovered as a payout under a new id; the idempotency key that made it is unknown, so a
  retry of that key pays again. The restore drill shows that red.
- Anything else (another kind, a token call that is no transfer, an operation already final with
  another transaction) is held for an operator, never replayed.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database

from harness.audit.chain import ChainTx, TronGrid

RECOVERED = uuid.UUID("0d5b8a4e-9a5e-4c47-8f0e-5f1f0f0b6a21")  # memo-less ids: uuid5(RECOVERED, tx_id)
MEMO_PREFIX = "op:"  # the service's memo format (service/operations.py MEMO_PREFIX): op:<kind>:<id>
TRANSFER_KINDS = ("payout", "usdt_transfer")  # what a transfer's chain record fully describes
UNSENT_STAGES = ("queued", "signed")


@dataclass
class Recovery:
    recovered: list[str] = field(default_factory=list)  # operation ids put back or moved onto the chain
    by_memo: list[str] = field(default_factory=list)  # of those, the ones named by their memo
    held: list[str] = field(default_factory=list)  # tx ids an operator must look at


def operation_in(memo: str) -> tuple[str, str] | None:
    """(kind, operation id) a memo names, or None."""
    kind, _, op_id = memo.removeprefix(MEMO_PREFIX).partition(":")
    if not memo.startswith(MEMO_PREFIX) or not kind:
        return None
    try:
        return kind, str(uuid.UUID(op_id))
    except ValueError:
        return None


def _at_broadcast(tx: ChainTx, now_ms: int) -> dict[str, Any]:
    """The fields that put an operation at stage `broadcast` on this transaction: the worker asks the
    chain first and settles it."""
    return {
        "status": "processing",
        "stage": "broadcast",
        "signed_tx": None,
        "tx_id": tx.tx_id,
        "updated_at": now_ms,
        "lease_owner": None,
        # A lease that ran out, as a replica that gives its work up leaves it (store.release_leases):
        # any worker takes it over at once. None would never match the worker's `lease_until < now`.
        "lease_until": 0,
        "next_check_at": now_ms,
        "broadcast_attempts": 1,
        "retries": 0,
        "recovered_from_chain": True,
    }


def _operation(wallet: dict[str, Any], tx: ChainTx, op_id: str, kind: str, now_ms: int) -> dict[str, Any]:
    """The store's operation record (the service's `new_operation` layout) for a transfer seen on chain."""
    return {
        "_id": op_id,
        "kind": kind,
        "user_id": wallet["user_id"],
        "wallet_id": wallet["_id"],
        "from_address": wallet["address"],
        "to_address": tx.to_address,
        "amount": tx.trx_amount if tx.currency == "TRX" else tx.usdt_amount,
        "currency": tx.currency,
        "memo": None,
        "batch_id": None,
        "block_height": None,
        "fee": None,
        "failure_reason": None,
        "priority": "normal",
        "priority_rank": 1,
        "submitted_at": tx.block_timestamp,
        "completed_at": None,
        "sign_failures": 0,
        "replaced_tx_ids": [],
        "last_error": None,
        "debits": True,
        **_at_broadcast(tx, now_ms),
    }


def _recover(db: Database[Any], wallet: dict[str, Any], tx: ChainTx, now_ms: int, outcome: Recovery) -> None:
    named = operation_in(tx.memo)
    moved = tx.currency is not None and tx.to_address and (tx.trx_amount or tx.usdt_amount) > 0
    if named is None:
        if tx.currency == "TRX" and moved:
            record = _operation(wallet, tx, str(uuid.uuid5(RECOVERED, tx.tx_id)), "payout", now_ms)
            db.operations.insert_one(record)
            outcome.recovered.append(record["_id"])
        else:
            outcome.held.append(tx.tx_id)
        return
    kind, op_id = named
    existing = db.operations.find_one({"_id": op_id}, {"status": 1, "stage": 1})
    if existing is not None:
        if existing["status"] in ("pending", "processing") and existing["stage"] in UNSENT_STAGES:
            db.operations.update_one({"_id": op_id}, {"$set": _at_broadcast(tx, now_ms)})
            outcome.recovered.append(op_id)
            outcome.by_memo.append(op_id)
        else:
            outcome.held.append(tx.tx_id)  # final, or on another transaction already: an operator's call
        return
    if kind in TRANSFER_KINDS and moved and (tx.currency == "USDT") == (kind == "usdt_transfer"):
        db.operations.insert_one(_operation(wallet, tx, op_id, kind, now_ms))
        outcome.recovered.append(op_id)
        outcome.by_memo.append(op_id)
    else:
        outcome.held.append(tx.tx_id)


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
            _recover(db, wallet, tx, now_ms, outcome)
            known.add(tx.tx_id)
    return outcome
