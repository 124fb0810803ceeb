"""Money moves as operations: created by the routes, carried to the chain by the worker.

Every move (payout, payment, refund, USDT transfer or approval, stake, unstake, withdraw) is one
document in `operations` and goes `pending -> processing -> completed | failed` (payouts and
payments may also be `cancelled` while pending). Inside `processing` a stage records how far it got:
`queued` (nothing signed), `signed` (the signed transaction is stored), `broadcast` (the node took
it). The signed transaction is stored BEFORE it is broadcast, and a retry only ever re-sends that
same stored transaction, so a crash anywhere cannot put a second transaction on chain. A stored
transaction is replaced by a new one only once it has expired and the node has never seen it,
when it can no longer land.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from service import metrics
from service.clock import now_ms
from service.ports import Ports
from service.ports.chain import ChainUnavailable, SignedTx
from service.ports.store import Doc

log = logging.getLogger(__name__)

KINDS = ("payout", "payment", "refund", "usdt_transfer", "usdt_approve", "stake", "unstake", "withdraw")
PRIORITY_RANK = {"high": 0, "normal": 1, "low": 2}
# A signed transaction is abandoned only this long after its expiration, so clocks may differ a little.
EXPIRY_MARGIN_MS = 30_000
# Refusals after which the transaction can never land, so signing a new one is safe.
_RESIGN_CODES = ("TRANSACTION_EXPIRATION_ERROR", "TAPOS_ERROR")


def new_operation(kind: str, op_id: str, user_id: str, **fields: Any) -> Doc:
    moment = now_ms()
    priority = fields.pop("priority", "normal")
    return {
        "_id": op_id,
        "kind": kind,
        "user_id": user_id,
        "status": "pending",
        "stage": "queued",
        "signed_tx": None,
        "tx_id": None,
        "block_height": None,
        "fee": None,
        "failure_reason": None,
        "priority": priority,
        "priority_rank": PRIORITY_RANK[priority],
        "submitted_at": moment,
        "updated_at": moment,
        "completed_at": None,
        "lease_owner": None,
        "lease_until": None,
        "debits": kind in ("payout", "payment", "refund", "usdt_transfer", "stake"),
        **fields,
    }


class Processor:
    """Carries one claimed operation as far as it can go now; safe to run again at any point."""

    def __init__(self, ports: Ports, worker_name: str, lease: timedelta) -> None:
        self._ports = ports
        self.worker_name = worker_name
        self.lease = lease

    async def step(self, op: Doc) -> Doc:
        try:
            if op["stage"] == "queued":
                op = await self._sign(op)
            if op["status"] == "processing" and op["stage"] == "signed":
                op = await self._broadcast(op)
            if op["status"] == "processing" and op["stage"] == "broadcast":
                op = await self._confirm(op)
        except ChainUnavailable as exc:
            log.warning("chain unavailable; will retry", extra={"operation_id": op["_id"], "error": str(exc)})
            await self._ports.store.transition(op["_id"], {"status": "processing"}, {"lease_until": now_ms()})
        return op

    async def claim_inline(self, op: Doc) -> Doc | None:
        """Take a just-created operation into this request, so its response can carry the tx id."""
        return await self._ports.store.transition(
            op["_id"],
            {"status": "pending"},
            {"status": "processing", "lease_owner": self.worker_name, "lease_until": self.lease_until()},
        )

    async def _sign(self, op: Doc) -> Doc:
        wallet = await self._ports.store.wallets.find_one({"address": op["from_address"]})
        if wallet is None:
            return await self.finish(op, "failed", failure_reason="source wallet no longer exists")
        key = self._ports.vault.private_key(wallet["encrypted_key"], wallet["_id"])
        signed = await self._build(op, key)
        stored = await self._ports.store.transition(
            op["_id"],
            {"status": "processing", "stage": "queued"},
            {
                "stage": "signed",
                "signed_tx": signed,
                "tx_id": signed["txID"],
                "expires_at": signed["raw_data"]["expiration"],
            },
        )
        # None: another worker stored its transaction first; carry on with that one.
        return stored or await self._reload(op)

    async def _build(self, op: Doc, key: Any) -> SignedTx:
        chain, kind = self._ports.chain, op["kind"]
        if kind in ("payout", "payment", "refund", "usdt_transfer"):
            return await chain.sign_transfer(key, op["to_address"], op["amount"], op["currency"])
        if kind == "usdt_approve":
            return await chain.sign_approve(key, op["to_address"], op["amount"])
        if kind == "stake":
            return await chain.sign_stake(key, op["amount"], op["resource"])
        if kind == "unstake":
            return await chain.sign_unstake(key, op["amount"], op["resource"])
        return await chain.sign_withdraw_unstaked(key)

    async def _broadcast(self, op: Doc) -> Doc:
        result = await self._ports.chain.broadcast(op["signed_tx"])
        if result.accepted:
            updated = await self._ports.store.transition(
                op["_id"],
                {"status": "processing", "stage": "signed"},
                {"stage": "broadcast", "broadcast_at": now_ms()},
            )
            return updated or await self._reload(op)
        if result.reason.startswith(_RESIGN_CODES):
            return await self._resign(op, result.reason)
        return await self.finish(op, "failed", failure_reason=f"rejected by the network: {result.reason}")

    async def _confirm(self, op: Doc) -> Doc:
        outcome = await self._ports.chain.outcome(op["tx_id"])
        if outcome is None:
            expired = op.get("expires_at") and now_ms() > op["expires_at"] + EXPIRY_MARGIN_MS
            if expired and not await self._ports.chain.is_known(op["tx_id"]):
                return await self._resign(op, "expired before it was included in a block")
            return op
        if outcome.success:
            return await self.finish(op, "completed", block_height=outcome.block_height, fee=outcome.fee)
        return await self.finish(
            op,
            "failed",
            block_height=outcome.block_height,
            fee=outcome.fee,
            failure_reason=f"failed on chain: {outcome.reason}",
        )

    async def _resign(self, op: Doc, why: str) -> Doc:
        log.warning(
            "transaction can no longer land; signing a new one",
            extra={"operation_id": op["_id"], "tx_id": op["tx_id"], "why": why},
        )
        updated = await self._ports.store.transition(
            op["_id"],
            {"status": "processing", "tx_id": op["tx_id"]},
            {"stage": "queued", "signed_tx": None, "tx_id": None, "expires_at": None},
        )
        return updated or await self._reload(op)

    async def finish(self, op: Doc, status: str, **fields: Any) -> Doc:
        changes: Doc = {
            "status": status,
            "completed_at": now_ms(),
            "lease_owner": None,
            "lease_until": None,
            **fields,
        }
        if op.get("callback_url"):
            changes["callback"] = {"state": "pending", "attempts": 0, "next_at": now_ms()}
        updated = await self._ports.store.transition(op["_id"], {"status": op["status"]}, changes)
        if updated is None:
            return await self._reload(op)
        _count_final(updated)
        if status == "failed" and updated["kind"] == "refund":
            await self._ports.store.operations.update_one(
                {"_id": updated["payment_id"]}, {"$inc": {"refund_reserved": -updated["amount"]}}
            )
        log.info(
            "operation final",
            extra={
                "operation_id": op["_id"],
                "kind": op["kind"],
                "status": status,
                "tx_id": updated.get("tx_id"),
                "failure_reason": updated.get("failure_reason"),
            },
        )
        return updated

    async def _reload(self, op: Doc) -> Doc:
        return await self._ports.store.operation(op["_id"]) or op

    def lease_until(self) -> int:
        return now_ms() + int(self.lease.total_seconds() * 1000)


def _count_final(op: Doc) -> None:
    if op["kind"] == "payout":
        metrics.PAYOUTS_PROCESSED.labels(currency=op["currency"], status=op["status"]).inc()
    elif op["kind"] == "usdt_transfer":
        metrics.USDT_TRANSFERS.labels(
            status="confirmed" if op["status"] == "completed" else op["status"]
        ).inc()
