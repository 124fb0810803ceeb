"""Money moves as operations: created by the routes, carried to the chain by the worker.

Every move (payout, payment, refund, USDT transfer or approval, stake, unstake, withdraw) is one
document in `operations` and goes `pending -> processing -> completed | failed` (payouts and
payments may also be `cancelled` while pending). Inside `processing` a stage records how far it got:
`queued` (nothing signed), `signed` (the signed transaction is stored; it may have been sent),
`broadcast` (the node took it). The rules that keep a payout at most once:

- The signed transaction is stored BEFORE it is sent, and every send is counted in the store
  before it leaves; any retry (after a crash, on another replica) re-sends that same transaction.
- Once it may have been sent, the chain is asked about it first, before any other decision.
- A second transaction is signed only when the chain shows the first can no longer land: the
  node's own head block is past its expiration plus a margin, a solidified block is past its
  expiration, the node is not lagging, and, asked after all that, the node knows no block with it.
  java-tron answers TRANSACTION_EXPIRATION_ERROR (or TAPOS_ERROR) also to a re-send of a
  transaction that is already in a block (Manager.pushTransaction checks expiration before
  duplicates), so such an answer alone proves nothing.
- An operation with a signed transaction is never `failed` (its funds released) until then, except
  when the very first send of it is refused after validation: then it entered no pool at all.
- Failures before signing (bad key, bad contract, store error) are retried a bounded number of
  times, then the operation is `failed` with the reason. An unreachable node is waited out.
- `completed` means the transaction's block is solidified.
- While the payout kill switch is on (GET|PUT /admin/payouts/freeze, kept in the store for every
  replica), nothing is signed or sent: each step reads the switch right before it would sign or
  broadcast. Checking the chain for a transaction already sent goes on (it moves no money).
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from service import metrics, refunds
from service.clock import now_ms
from service.ports import Ports
from service.ports.chain import Broadcast, ChainUnavailable, SignedTx
from service.ports.store import Doc

log = logging.getLogger(__name__)

KINDS = ("payout", "payment", "refund", "usdt_transfer", "usdt_approve", "stake", "unstake", "withdraw")
PRIORITY_RANK = {"high": 0, "normal": 1, "low": 2}
# Failures before signing (no key, a contract tronpy cannot use, a store error) get this many tries.
MAX_SIGN_ATTEMPTS = 5
# Retries after transient trouble back off from BACKOFF_FIRST_MS, doubling, up to BACKOFF_MAX_MS.
BACKOFF_FIRST_MS = 500
BACKOFF_MAX_MS = 30_000
# The memo's format is a contract with recovery: "op:<kind>:<operation id>".
MEMO_PREFIX = "op:"
# How often an operation waiting for its block (or its block's solidification) asks again.
CONFIRM_POLL_MS = 500
# An operation in a block waits for the solidified head to reach it: about 19 blocks on mainnet (a
# block is solid once 70 % of the 27 SRs built on it; java-tron's SOLIDIFIED_THRESHOLD), at one block
# per 3 s (BLOCK_PRODUCED_INTERVAL), about a minute. It sleeps until then instead of asking every
# CONFIRM_POLL_MS (a store write and two node calls each time: about 90 writes and 180 node calls per
# payout at that pace), but never longer than this, so a chain that stalls or forks is looked at again.
SOLID_WAIT_MAX_MS = 30_000
TRON_BLOCK_MS = 3000  # the pace assumed when the node's own blocks do not show one
# While the payout kill switch is on, a held operation looks again this often.
FROZEN_RECHECK_MS = 1000
# The last_error of an operation parked by the payout kill switch.
PAYOUTS_FROZEN = "payouts frozen"
# How long a send can be on its way: longer than the chain port's broadcast timeout (10 s). A mark
# older than this is a sender that died; its lease runs out and the next worker reads the switch anew.
SEND_WINDOW_MS = 15_000
SEND_SETTLED: Doc = {"sending_since": None}  # every step after a send ends its in-flight mark


@dataclass(frozen=True)
class Safety:
    """When a stored transaction may be given up for a new one (see the module's rules)."""

    resign_margin_ms: int = 30_000  # the node's head must be this far past the expiration
    max_node_lag_ms: int = 30_000  # a node whose head is older than this is lagging: its word is not enough
    exit_after_broadcast: bool = False  # TEST ONLY: crash right after the first broadcast (see Config)


def chain_memo(op: Doc) -> str:
    """What a transaction carries in raw_data.data: its operation's kind and id. Ids derive from the
    Idempotency-Key (service/idempotency.py), so after a restore that lost the operation, recovery
    (drills/chain_recovery.py) puts it back under the same id from the chain, and a client retrying
    its key is answered with it instead of being paid again. Public on chain: it names no user."""
    return f"{MEMO_PREFIX}{op['kind']}:{op['_id']}"


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
        "next_check_at": moment,
        "broadcast_attempts": 0,
        "sign_failures": 0,
        "retries": 0,
        "replaced_tx_ids": [],
        "last_error": None,
        "debits": kind in ("payout", "payment", "refund", "usdt_transfer", "stake"),
        **fields,
    }


class Processor:
    """Carries one operation it holds the lease on as far as it can go now; safe to run again at any point."""

    def __init__(
        self, ports: Ports, worker_name: str, lease: timedelta, safety: Safety | None = None
    ) -> None:
        self._ports = ports
        self.worker_name = worker_name
        self.lease = lease
        self.safety = safety or Safety()

    def leased(self, op: Doc) -> Doc:
        """A new operation already in this worker's hands: the request that creates it signs it at once
        (so its answer carries the tx id), and no other worker can race it while it does."""
        return {
            **op,
            "status": "processing",
            "lease_owner": self.worker_name,
            "lease_until": self.lease_until(),
        }

    async def step(self, op: Doc) -> Doc:
        try:
            if op["status"] == "processing" and op["stage"] == "queued":
                if await self._ports.store.payouts_frozen():
                    return await self._wait_frozen(op)
                op = await self._sign(op)
            if op["status"] == "processing" and op["stage"] in ("signed", "broadcast"):
                op = await self._advance(op)
        except ChainUnavailable as exc:
            log.warning("node unavailable; will retry", extra={"operation_id": op["_id"], "error": str(exc)})
            op = await self._later(op, f"node unavailable: {exc}")
        return op

    # -- before signing -----------------------------------------------------------------------
    async def _sign(self, op: Doc) -> Doc:
        try:
            wallet = await self._ports.store.wallets.find_one({"address": op["from_address"]})
            if wallet is None:
                return await self.finish(op, "failed", failure_reason="source wallet no longer exists")
            key = self._ports.vault.private_key(wallet["encrypted_key"], wallet["_id"])
            signed = await self._build(op, key)
        except ChainUnavailable:
            raise  # the node is away: waited out, never counted against the operation
        except Exception as exc:  # bad key, bad contract, store error: nothing signed, so bounded
            failures = op.get("sign_failures", 0) + 1
            why = f"could not sign: {type(exc).__name__}: {exc}"[:500]
            log.warning(
                "signing failed", extra={"operation_id": op["_id"], "error": why, "attempt": failures}
            )
            if failures >= MAX_SIGN_ATTEMPTS:
                return await self.finish(op, "failed", failure_reason=f"{why} (after {failures} attempts)")
            return await self._later(op, why, sign_failures=failures)
        stored = await self._ports.store.transition(
            op["_id"],
            {**self._mine(), "stage": "queued"},
            {
                "stage": "signed",
                "signed_tx": signed,
                "tx_id": signed["txID"],
                "expires_at": signed["raw_data"]["expiration"],
                "broadcast_attempts": 0,
                "retries": 0,
                "next_check_at": now_ms(),
            },
        )
        # None: this worker lost the operation meanwhile; whoever holds it carries on.
        return stored or await self._reload(op)

    async def _build(self, op: Doc, key: Any) -> SignedTx:
        chain, kind, memo = self._ports.chain, op["kind"], chain_memo(op)
        if kind in ("payout", "payment", "refund", "usdt_transfer"):
            return await chain.sign_transfer(key, op["to_address"], op["amount"], op["currency"], memo)
        if kind == "usdt_approve":
            return await chain.sign_approve(key, op["to_address"], op["amount"], memo)
        if kind == "stake":
            return await chain.sign_stake(key, op["amount"], op["resource"], memo)
        if kind == "unstake":
            return await chain.sign_unstake(key, op["amount"], op["resource"], memo)
        return await chain.sign_withdraw_unstaked(key, memo)

    # -- after signing ------------------------------------------------------------------------
    async def _advance(self, op: Doc) -> Doc:
        if op["stage"] == "broadcast" or op.get("broadcast_attempts", 0) > 0:
            # It may be on chain already (sent before a crash, an answer lost): ask before anything else.
            settled = await self._from_chain(op)
            if settled is not None:
                return settled
        if op["stage"] == "signed":
            return await self._broadcast(op)
        return await self._replace_if_dead(op, "accepted by the node but not in a block yet")

    async def _from_chain(self, op: Doc) -> Doc | None:
        """Settle the operation from what the chain shows of its transaction; None if it shows nothing."""
        chain, txid = self._ports.chain, op["tx_id"]
        outcome = await chain.outcome(txid)
        if outcome is not None and outcome.success:
            return await self.finish(op, "completed", block_height=outcome.block_height, fee=outcome.fee)
        if outcome is not None:  # it landed and failed: it can never land again, and moved nothing
            return await self.finish(
                op,
                "failed",
                block_height=outcome.block_height,
                fee=outcome.fee,
                failure_reason=f"failed on chain: {outcome.reason}",
            )
        height = await chain.included_in(txid)
        if height is None:
            return None
        wait = await self._until_solid(height)
        return await self._set(
            op, {"stage": "broadcast", "block_height": height, "next_check_at": now_ms() + wait}
        )

    async def _until_solid(self, height: int) -> int:
        """How long until the node's solidified head should reach `height`: when its head is `height -
        solid` blocks past the one it has now, at the pace its last blocks were made. One look at both
        heads per wait, not one at the transaction per CONFIRM_POLL_MS."""
        (head, head_time), (solid, solid_time) = await asyncio.gather(
            self._ports.chain.head_block(), self._ports.chain.solid_block()
        )
        per_block = (head_time - solid_time) / (head - solid) if head > solid else TRON_BLOCK_MS
        due = head_time + (height - solid) * per_block
        return int(min(SOLID_WAIT_MAX_MS, max(CONFIRM_POLL_MS, due - now_ms())))

    async def _broadcast(self, op: Doc) -> Doc:
        attempt = op.get("broadcast_attempts", 0) + 1
        # Counted before it leaves (a later reader knows it may have been sent) and marked in flight
        # before the kill switch is read: a freeze written before that read is seen here, and one
        # written after it finds the mark and waits for it (PUT /admin/payouts/freeze), so once the
        # freeze is answered nothing leaves. Write, then read, on both sides: neither can miss both.
        counted = await self._set(op, {"broadcast_attempts": attempt, "sending_since": now_ms()})
        if counted.get("broadcast_attempts") != attempt or counted.get("lease_owner") != self.worker_name:
            return counted  # no longer this worker's to send
        if await self._ports.store.payouts_frozen():
            return await self._wait_frozen(counted, broadcast_attempts=attempt - 1)  # nothing left
        result = await self._ports.chain.broadcast(op["signed_tx"])
        if self.safety.exit_after_broadcast:
            log.warning("TEST ONLY: exiting right after broadcast", extra={"operation_id": op["_id"]})
            os._exit(70)
        return await self._after_broadcast(counted, result, attempt)

    async def _after_broadcast(self, op: Doc, result: Broadcast, attempt: int) -> Doc:
        if result.verdict == "accepted":
            return await self._set(
                op,
                {
                    "stage": "broadcast",
                    "broadcast_at": now_ms(),
                    "retries": 0,
                    "last_error": None,
                    "next_check_at": now_ms() + CONFIRM_POLL_MS,
                },
            )
        if result.verdict == "refused" and attempt == 1:
            # Validated and refused on its only send: it entered no pool and no one else holds it.
            return await self.finish(op, "failed", failure_reason=f"rejected by the network: {result.reason}")
        if result.verdict in ("transient", "unknown"):
            return await self._later(op, f"broadcast {result.verdict}: {result.reason}")
        # stale, or refused after an earlier send that may have been taken: only the chain can tell.
        return await self._replace_if_dead(op, f"broadcast answered {result.reason}")

    async def _replace_if_dead(self, op: Doc, why: str) -> Doc:
        if await self._can_no_longer_land(op):
            return await self._resign(op, why)
        return await self._later(op, f"{why}; waiting until the chain shows whether it can still land")

    async def _can_no_longer_land(self, op: Doc) -> bool:
        """True only when the chain proves the stored transaction can never be in a block."""
        chain, expires = self._ports.chain, int(op["expires_at"])
        _, head_time = await chain.head_block()
        if now_ms() - head_time > self.safety.max_node_lag_ms:
            return False  # the node lags (or the clocks disagree): not a node to trust with this
        if head_time <= expires + self.safety.resign_margin_ms:
            return False
        _, solid_time = await chain.solid_block()
        if solid_time <= expires:
            return False
        # Asked last: every block that could hold it is now solidified, and the node has them all.
        return await chain.outcome(op["tx_id"]) is None and await chain.included_in(op["tx_id"]) is None

    async def _resign(self, op: Doc, why: str) -> Doc:
        log.warning(
            "transaction can no longer land; signing a new one",
            extra={"operation_id": op["_id"], "tx_id": op["tx_id"], "why": why},
        )
        updated = await self._ports.store.transition(
            op["_id"],
            {**self._mine(), "tx_id": op["tx_id"]},
            {
                "stage": "queued",
                "signed_tx": None,
                "tx_id": None,
                "expires_at": None,
                "broadcast_attempts": 0,
                "retries": 0,
                "next_check_at": now_ms(),
                "last_error": why,
                **SEND_SETTLED,
            },
            push={"replaced_tx_ids": op["tx_id"]},
        )
        return updated or await self._reload(op)

    # -- bookkeeping ----------------------------------------------------------------------------
    def _mine(self) -> Doc:
        return {"status": "processing", "lease_owner": self.worker_name}

    async def _set(self, op: Doc, changes: Doc) -> Doc:
        """Apply changes while this worker still holds the operation; the current one either way."""
        updated = await self._ports.store.transition(op["_id"], self._mine(), {**SEND_SETTLED, **changes})
        return updated or await self._reload(op)

    async def _wait_frozen(self, op: Doc, **changes: Any) -> Doc:
        """The payout kill switch is on: sign and send nothing; look again soon, without backing off,
        so the queue moves as soon as it is lifted."""
        return await self._set(
            op, {"last_error": PAYOUTS_FROZEN, "next_check_at": now_ms() + FROZEN_RECHECK_MS, **changes}
        )

    async def _later(self, op: Doc, why: str, **changes: Any) -> Doc:
        """Try again after a backoff that grows with each retry in a row."""
        retries = op.get("retries", 0) + 1
        delay = min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** min(retries - 1, 16))
        log.info("operation waits", extra={"operation_id": op["_id"], "why": why[:500], "retry_in_ms": delay})
        return await self._set(
            op, {"retries": retries, "last_error": why[:500], "next_check_at": now_ms() + delay, **changes}
        )

    async def finish(self, op: Doc, status: str, **fields: Any) -> Doc:
        changes: Doc = {
            "status": status,
            "completed_at": now_ms(),
            "lease_owner": None,
            "lease_until": None,
            **SEND_SETTLED,
            **fields,
        }
        if op.get("callback_url"):
            changes["callback"] = {"state": "pending", "attempts": 0, "next_at": now_ms()}
        updated = await self._ports.store.transition(op["_id"], self._mine(), changes)
        if updated is None:
            return await self._reload(op)
        _count_final(updated)
        if status == "failed" and updated["kind"] == "refund":
            await refunds.release(self._ports.store, updated)  # if this replica dies first, the sweep does
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
