"""The chain: blocks, the pending pool, transaction records and the broadcast checks.

Broadcasts are checked in java-tron's order (Wallet.broadcastTransaction, then
Manager.pushTransaction -> processTransaction): the node's cache of recently seen transaction ids
first, then expiration against the next block slot, TaPoS, the expiration window against the head
block time (Manager.validateCommon), and only then the transactions already in blocks or the pool
(Manager.validateDup), the signatures and the contract. So a transaction re-sent after its
expiration to a node that has not cached its id is TRANSACTION_EXPIRATION_ERROR even when it is in
a block, as on a real node behind a load balancer.

One lock guards everything. Two ledgers are kept: `head` is the state after the latest block
(what queries see) and `pending` is head plus the pool, which broadcasts validate against so two
pooled spends of the same TRX cannot both be accepted.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from tronpy import keys

from stack.devnet import usdt
from stack.devnet.actuators import (
    ChainRules,
    ContractValidateError,
    Execution,
    execute,
    failed_trc20_call,
    is_trc20_transfer,
)
from stack.devnet.config import Genesis
from stack.devnet.ledger import Account, Ledger
from stack.devnet.transaction_codec import (
    ACTIVE_PERMISSION_ID,
    OWNER_PERMISSION_ID,
    MalformedTransaction,
    RawTransaction,
    UnsupportedContract,
    parse_raw_data,
    recover_signer,
    to_hex_address,
)

MAX_EXPIRATION_MS = 24 * 3600 * 1000  # java-tron refuses expirations further out than a day
TAPOS_WINDOW = 1 << 16  # ref_block_bytes carries the low 16 bits of the block number
# Manager.transactionIdCache: CacheBuilder.maximumSize(TX_ID_CACHE_SIZE).expireAfterWrite(1, HOURS).
BROADCAST_CACHE_TTL_S = 3600.0
BROADCAST_CACHE_SIZE = 100_000


class BroadcastError(Exception):
    """The node refuses a transaction; code is a java-tron response_code."""

    def __init__(self, code: str, message: str, txid: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.txid = txid


class MemoFeeUnpaid(Exception):
    """Manager.consumeMemoFee: the owner cannot pay the memo fee (AccountResourceInsufficientException)."""


@dataclass(frozen=True)
class Block:
    number: int
    block_id: str
    parent_id: str
    timestamp: int
    txids: tuple[str, ...]
    tx_trie_root: str


@dataclass(frozen=True)
class TxRecord:
    txid: str
    raw: RawTransaction
    raw_hex: str
    signatures: tuple[str, ...]
    block_number: int | None = None
    block_timestamp: int = 0
    execution: Execution | None = None


@dataclass(frozen=True)
class SignedTransaction:
    """A decoded broadcast: the raw transaction, its computed id and who signed it."""

    raw: RawTransaction
    txid: str
    signatures: tuple[str, ...]
    signers: tuple[str | None, ...]  # None where a signature does not recover
    claimed_txid: str


def decode_signed(tx_json: Any) -> SignedTransaction:
    """Parse a broadcast body and recover signers (outside the lock: it is the costly part)."""
    if not isinstance(tx_json, dict):
        raise BroadcastError("OTHER_ERROR", "other error : transaction must be a JSON object")
    try:
        raw = parse_raw_data(tx_json.get("raw_data"))
    except UnsupportedContract as exc:
        raise BroadcastError("CONTRACT_VALIDATE_ERROR", f"contract validate error : {exc}") from exc
    except MalformedTransaction as exc:
        raise BroadcastError("OTHER_ERROR", f"other error : {exc}") from exc
    txid = raw.txid()
    signatures = tx_json.get("signature") or []
    if not isinstance(signatures, list) or not all(isinstance(s, str) for s in signatures):
        raise BroadcastError("SIGERROR", "validate signature error signature must be a list of hex", txid)
    signers: list[str | None] = []
    for signature in signatures:
        try:
            signers.append(recover_signer(txid, signature))
        except Exception:  # wrong length, bad hex, unrecoverable point: all plain signature errors
            signers.append(None)
    claimed = tx_json.get("txID")
    return SignedTransaction(
        raw, txid, tuple(signatures), tuple(signers), claimed if isinstance(claimed, str) else ""
    )


class RecentBroadcasts:
    """Manager.transactionIdCache: ids this node saw broadcast or in a block, forgotten after a TTL.

    Wallet.broadcastTransaction puts the id BEFORE validating (a refused transaction is remembered
    too) and Manager.updateTransHashCache adds the ids of each applied block. It lives in one node's
    memory: another node behind the same load balancer, or this one after a restart, has not seen
    the id. Not locked itself: the chain's lock guards it.
    """

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._written: OrderedDict[str, float] = OrderedDict()  # txid -> monotonic write time

    def seen(self, txid: str) -> bool:
        written = self._written.get(txid)
        return written is not None and time.monotonic() - written < self.ttl_s

    def put(self, txid: str) -> None:
        self._written[txid] = time.monotonic()
        self._written.move_to_end(txid)
        while len(self._written) > BROADCAST_CACHE_SIZE:
            self._written.popitem(last=False)

    def clear(self) -> None:
        self._written.clear()


class Chain:
    def __init__(
        self,
        genesis: Genesis,
        *,
        confirmations: int,
        unfreeze_delay_ms: int,
        energy_fee: int,  # the DevnetConfig's (getEnergyFee)
        block_interval_ms: int = 3000,
        broadcast_cache_ttl_s: float = BROADCAST_CACHE_TTL_S,
        memo_fee: int = 0,
        forced_trc20_failure: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._lock = threading.Lock()
        self._included = threading.Condition(self._lock)
        self.confirmations = confirmations
        self.genesis = genesis
        self.treasury = to_hex_address(genesis.treasury_address)
        self.usdt_address = to_hex_address(genesis.usdt_contract_address)
        self.rules = ChainRules(self.usdt_address, unfreeze_delay_ms, energy_fee)
        self._block_interval_ms = block_interval_ms
        self.memo_fee = memo_fee
        self._recent = RecentBroadcasts(broadcast_cache_ttl_s)
        # The revert_trc20 fault: asked once per TRC20 transfer as a block executes it.
        self._forced_trc20_failure = forced_trc20_failure
        now = self._now_ms()
        self.genesis_time = now
        self._head = Ledger(
            accounts={self.treasury: Account(self.treasury, create_time=now, balance=genesis.trx_balance)},
            usdt={self.treasury: genesis.usdt_supply},
        )
        self._pending_ledger = self._head.clone()
        self._pending: list[str] = []
        self._txs: dict[str, TxRecord] = {}
        self._blocks: list[Block] = []
        self._tapos: dict[int, str] = {}
        self._append_block(now, ())

    # -- broadcast ----------------------------------------------------------------------------

    def submit(self, tx_json: Any, head: int | None = None) -> str:
        """Check a signed transaction and pool it; returns the txid or raises BroadcastError.

        `head` is the block a lagging node is at: it checks TaPoS, expiration and duplicates
        against what it had by then. A transaction already in a later block is taken again
        (answered as accepted) but not pooled: the node drops it once it catches up.
        """
        signed = decode_signed(tx_json)
        txid, raw = signed.txid, signed.raw
        now = self._now_ms()
        with self._lock:
            top = len(self._blocks) - 1 if head is None else head
            head_time = self._blocks[top].timestamp
            # Wallet.broadcastTransaction: the id cache answers before any other check.
            if self._recent.seen(txid):
                raise BroadcastError("DUP_TRANSACTION_ERROR", "Transaction already exists.", txid)
            self._recent.put(txid)
            # TransactionCapsule.checkExpiration(nextBlockSlotTime), still in broadcastTransaction.
            if raw.expiration < head_time + self._block_interval_ms:
                raise BroadcastError("TRANSACTION_EXPIRATION_ERROR", "Transaction expired", txid)
            # Manager.processTransaction: validateTapos, validateCommon, validateDup, in that order.
            if not self._tapos_ok(raw, top):
                raise BroadcastError("TAPOS_ERROR", "Tapos check error.", txid)
            if not head_time < raw.expiration <= head_time + MAX_EXPIRATION_MS:
                raise BroadcastError("TRANSACTION_EXPIRATION_ERROR", "Transaction expired", txid)
            known = self._txs.get(txid)
            if known is not None and (known.block_number is None or known.block_number <= top):
                raise BroadcastError("DUP_TRANSACTION_ERROR", "Dup transaction.", txid)
            _check_signatures(signed)
            if known is not None:
                return txid  # in a block this lagging node has not reached (its old state is not kept)
            try:
                self._execute_charged(
                    self._pending_ledger, raw, lambda: execute(self._pending_ledger, raw, now, self.rules)
                )
            except MemoFeeUnpaid as exc:
                # Wallet.broadcastTransaction answers AccountResourceInsufficientException so.
                raise BroadcastError("BANDWITH_ERROR", "Account resource insufficient error.", txid) from exc
            except ContractValidateError as exc:
                raise BroadcastError(
                    "CONTRACT_VALIDATE_ERROR", f"contract validate error : {exc}", txid
                ) from exc
            self._txs[txid] = TxRecord(txid, raw, raw.encode().hex(), signed.signatures)
            self._pending.append(txid)
        return txid

    def forget_broadcasts(self) -> None:
        """Empty the recent-id cache, as a node that never saw these transactions would have it."""
        with self._lock:
            self._recent.clear()

    @property
    def broadcast_cache_ttl_s(self) -> float:
        return self._recent.ttl_s

    def wait_included(self, txid: str, timeout: float) -> int | None:
        """Block until the transaction is in a block; its block number, or None on timeout."""

        def included() -> bool:
            record = self._txs.get(txid)
            return record is not None and record.block_number is not None

        with self._included:
            if not self._included.wait_for(included, timeout):
                return None
            return self._txs[txid].block_number

    # -- block production ---------------------------------------------------------------------

    def produce_block(self) -> Block:
        with self._lock:
            timestamp = max(self._now_ms(), self._blocks[-1].timestamp + 1)
            number = len(self._blocks)
            included: list[str] = []
            for txid in self._pending:
                record = self._txs[txid]
                try:
                    if record.raw.expiration <= timestamp:
                        raise ContractValidateError("expired in the pool")
                    execution = self._execute_charged(
                        self._head, record.raw, partial(self._execute_in_block, record.raw, timestamp)
                    )
                except (ContractValidateError, MemoFeeUnpaid):
                    # Like java-tron, a pooled tx that no longer applies is dropped, never mined.
                    del self._txs[txid]
                    continue
                self._txs[txid] = replace(
                    record, block_number=number, block_timestamp=timestamp, execution=execution
                )
                included.append(txid)
                self._recent.put(txid)  # Manager.updateTransHashCache
            if self._pending:
                self._pending.clear()
                self._pending_ledger = self._head.clone()
            block = self._append_block(timestamp, tuple(included))
            self._included.notify_all()
            return block

    def _execute_charged(
        self, ledger: Ledger, raw: RawTransaction, run: Callable[[], Execution]
    ) -> Execution:
        """Manager.processTransaction: consumeMemoFee burns the memo fee from the owner BEFORE the
        contract runs (so a transfer must leave room for it), and the whole transaction is undone when
        the contract does not validate (its revoking session). It shows in the info's `fee`
        (TransactionInfoCapsule adds the receipt's memo fee to it), not in the receipt's energy_fee."""
        fee = self.memo_fee if raw.data else 0
        owner = ledger.accounts.get(raw.owner)
        if owner is None or fee == 0:  # java-tron charges an existing owner only
            return run()
        if owner.balance < fee:
            raise MemoFeeUnpaid(
                f"account {keys.to_base58check_address(raw.owner)} insufficient balance[{fee}] to memo fee"
            )
        owner.balance -= fee
        ledger.burned += fee
        try:
            execution = run()
        except ContractValidateError:
            owner.balance += fee
            ledger.burned -= fee
            raise
        return replace(execution, memo_fee=fee)

    def _execute_in_block(self, raw: RawTransaction, timestamp: int) -> Execution:
        # The faucet (the treasury) is the control plane's, not a client: the fault spares it.
        if raw.owner != self.treasury and is_trc20_transfer(raw, self.rules):
            failure = self._forced_trc20_failure()
            if failure is not None:
                return failed_trc20_call(self._head, raw, failure, timestamp, self.rules)
        return execute(self._head, raw, timestamp, self.rules)

    def _append_block(self, timestamp: int, txids: tuple[str, ...]) -> Block:
        number = len(self._blocks)
        parent_id = self._blocks[-1].block_id if self._blocks else "00" * 32
        tx_root = (
            hashlib.sha256(b"".join(bytes.fromhex(t) for t in txids)).hexdigest() if txids else "00" * 32
        )
        digest = hashlib.sha256(
            bytes.fromhex(parent_id)
            + number.to_bytes(8, "big")
            + timestamp.to_bytes(8, "big")
            + bytes.fromhex(tx_root)
        ).digest()
        # Real block ids start with the 8-byte block number; tronpy takes TaPoS fields from it.
        block_id = (number.to_bytes(8, "big") + digest[8:]).hex()
        block = Block(number, block_id, parent_id, timestamp, txids, tx_root)
        self._blocks.append(block)
        self._tapos[number % TAPOS_WINDOW] = block_id
        return block

    def _tapos_ok(self, raw: RawTransaction, top: int) -> bool:
        """Manager.validateTapos: the referenced block is in this node's recent-block store."""
        block_id = self._tapos.get(int(raw.ref_block_bytes, 16))
        return (
            block_id is not None and int(block_id[:16], 16) <= top and block_id[16:32] == raw.ref_block_hash
        )

    def _now_ms(self) -> int:
        return int(time.time() * 1000)

    # -- queries ------------------------------------------------------------------------------

    @property
    def height(self) -> int:
        with self._lock:
            return len(self._blocks) - 1

    @property
    def solid_height(self) -> int:
        with self._lock:
            return self._solid_height()

    def _solid_height(self) -> int:
        return max(0, len(self._blocks) - 1 - self.confirmations)

    @property
    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending)

    def visible_height(self, lag_ms: int = 0) -> int:
        """The head a node `lag_ms` behind the network serves: the last block it had by then."""
        with self._lock:
            if lag_ms <= 0:
                return len(self._blocks) - 1
            cutoff = self._now_ms() - lag_ms
            return max(0, bisect.bisect_right(self._blocks, cutoff, key=lambda b: b.timestamp) - 1)

    def solid_below(self, height: int) -> int:
        """The solidified block of a node whose head is `height`."""
        return max(0, height - self.confirmations)

    def solid_block(self) -> Block:
        with self._lock:
            return self._blocks[self._solid_height()]

    def block_at(self, number: int) -> Block:
        """A block known to exist (a height this chain reported)."""
        with self._lock:
            return self._blocks[number]

    def block(self, number: int, top: int) -> Block | None:
        """Block `number` if it is at most `top` (a lagging or solidity view stops there)."""
        with self._lock:
            return self._blocks[number] if 0 <= number <= min(top, len(self._blocks) - 1) else None

    def block_by_id(self, block_id: str, top: int) -> Block | None:
        block = self.block(int(block_id[:16], 16), top)
        return block if block is not None and block.block_id == block_id else None

    def block_transactions(self, block: Block) -> list[TxRecord]:
        with self._lock:
            return [self._txs[txid] for txid in block.txids]

    def history(self, min_ms: int, max_ms: int, top: int) -> list[TxRecord]:
        """Every transaction in a block stamped within [min_ms, max_ms] and at most `top`, oldest
        first: what an indexer (TronGrid) built from the blocks holds for that window."""
        with self._lock:
            blocks = self._blocks[: min(top, len(self._blocks) - 1) + 1]
            first = bisect.bisect_left(blocks, min_ms, key=lambda b: b.timestamp)
            last = bisect.bisect_right(blocks, max_ms, key=lambda b: b.timestamp)
            return [self._txs[txid] for block in blocks[first:last] for txid in block.txids]

    def transaction(self, txid: str, top: int) -> TxRecord | None:
        """A transaction once it is in a block at most `top` (a pooled one is not shown)."""
        with self._lock:
            record = self._txs.get(txid)
            if record is None or record.block_number is None or record.block_number > top:
                return None
            return record

    def account(self, address: str) -> Account | None:
        with self._lock:
            account = self._head.accounts.get(address)
            return account.clone() if account is not None else None

    def usdt_call(self, caller: str, data: bytes) -> usdt.CallResult:
        """A constant (read-only) call against the head state."""
        with self._lock:
            return usdt.call(self._head, caller, data, commit=False)

    def ledger_totals(self) -> dict[str, int]:
        with self._lock:
            return {
                "trx_total": self._head.trx_total(),
                "trx_burned": self._head.burned,
                "usdt_total": self._head.usdt_total(),
                "accounts": len(self._head.accounts),
                "height": len(self._blocks) - 1,
            }


def _check_signatures(signed: SignedTransaction) -> None:
    """Only the owner key signs, through the owner or default active permission (weight 1 of 1)."""
    raw, txid = signed.raw, signed.txid
    if raw.permission_id not in (OWNER_PERMISSION_ID, ACTIVE_PERMISSION_ID):
        raise BroadcastError("SIGERROR", "validate signature error permission isn't exit", txid)
    if signed.claimed_txid and signed.claimed_txid.lower() != txid:
        raise BroadcastError("SIGERROR", "validate signature error txID does not match raw_data", txid)
    if not signed.signatures:
        raise BroadcastError("SIGERROR", "validate signature error miss sig or contract", txid)
    seen: set[str] = set()
    for signature, signer in zip(signed.signatures, signed.signers, strict=True):
        if signer is None:
            raise BroadcastError("SIGERROR", "validate signature error sig error", txid)
        if signer != raw.owner:
            raise BroadcastError(
                "SIGERROR",
                f"validate signature error {signature} is signed by {keys.to_base58check_address(signer)} "
                "but it is not contained of permission.",
                txid,
            )
        if signer in seen:
            raise BroadcastError(
                "SIGERROR",
                f"validate signature error {keys.to_base58check_address(signer)} has signed twice!",
                txid,
            )
        seen.add(signer)
