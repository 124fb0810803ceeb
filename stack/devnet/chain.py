"""The chain: blocks, the pending pool, transaction records and the broadcast checks.

One lock guards everything. Two ledgers are kept: `head` is the state after the latest block
(what queries see) and `pending` is head plus the pool, which broadcasts validate against so two
pooled spends of the same TRX cannot both be accepted.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from tronpy import keys

from stack.devnet import usdt
from stack.devnet.actuators import ChainRules, ContractValidateError, Execution, execute
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


class BroadcastError(Exception):
    """The node refuses a transaction; code is a java-tron response_code."""

    def __init__(self, code: str, message: str, txid: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.txid = txid


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


class Chain:
    def __init__(
        self,
        genesis: Genesis,
        *,
        confirmations: int,
        unfreeze_delay_ms: int,
    ) -> None:
        self._lock = threading.Lock()
        self._included = threading.Condition(self._lock)
        self.confirmations = confirmations
        self.genesis = genesis
        self.treasury = to_hex_address(genesis.treasury_address)
        self.usdt_address = to_hex_address(genesis.usdt_contract_address)
        self.rules = ChainRules(self.usdt_address, unfreeze_delay_ms)
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

    def submit(self, tx_json: Any) -> str:
        """Check a signed transaction and pool it; returns the txid or raises BroadcastError."""
        signed = decode_signed(tx_json)
        txid, raw = signed.txid, signed.raw
        now = self._now_ms()
        with self._lock:
            if txid in self._txs:
                raise BroadcastError("DUP_TRANSACTION_ERROR", "dup transaction", txid)
            if not self._tapos_ok(raw):
                raise BroadcastError("TAPOS_ERROR", "Tapos check error", txid)
            if not now < raw.expiration <= now + MAX_EXPIRATION_MS:
                raise BroadcastError("TRANSACTION_EXPIRATION_ERROR", "transaction expired", txid)
            _check_signatures(signed)
            try:
                execute(self._pending_ledger, raw, now, self.rules)
            except ContractValidateError as exc:
                raise BroadcastError(
                    "CONTRACT_VALIDATE_ERROR", f"contract validate error : {exc}", txid
                ) from exc
            self._txs[txid] = TxRecord(txid, raw, raw.encode().hex(), signed.signatures)
            self._pending.append(txid)
        return txid

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
                    execution = execute(self._head, record.raw, timestamp, self.rules)
                except ContractValidateError:
                    # Like java-tron, a pooled tx that no longer applies is dropped, never mined.
                    del self._txs[txid]
                    continue
                self._txs[txid] = replace(
                    record, block_number=number, block_timestamp=timestamp, execution=execution
                )
                included.append(txid)
            if self._pending:
                self._pending.clear()
                self._pending_ledger = self._head.clone()
            block = self._append_block(timestamp, tuple(included))
            self._included.notify_all()
            return block

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

    def _tapos_ok(self, raw: RawTransaction) -> bool:
        block_id = self._tapos.get(int(raw.ref_block_bytes, 16))
        return block_id is not None and block_id[16:32] == raw.ref_block_hash

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

    def head_block(self) -> Block:
        with self._lock:
            return self._blocks[-1]

    def solid_block(self) -> Block:
        with self._lock:
            return self._blocks[self._solid_height()]

    def block(self, number: int, *, solid: bool = False) -> Block | None:
        with self._lock:
            top = self._solid_height() if solid else len(self._blocks) - 1
            return self._blocks[number] if 0 <= number <= top else None

    def block_by_id(self, block_id: str) -> Block | None:
        number = int(block_id[:16], 16)
        block = self.block(number)
        return block if block is not None and block.block_id == block_id else None

    def block_transactions(self, block: Block) -> list[TxRecord]:
        with self._lock:
            return [self._txs[txid] for txid in block.txids]

    def transaction(self, txid: str, *, solid: bool = False) -> TxRecord | None:
        """A transaction once it is in a block (in a solidified block when `solid`)."""
        with self._lock:
            record = self._txs.get(txid)
            if record is None or record.block_number is None:
                return None
            if solid and record.block_number > self._solid_height():
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
