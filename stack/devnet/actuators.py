"""Validate and apply one transaction's contract to a ledger, like java-tron's actuators.

Validation failures raise ContractValidateError before anything changes (the node refuses the
transaction); a reverted USDT call is a valid transaction that changes nothing but is recorded.
Messages follow java-tron's wording.
"""

from __future__ import annotations

from dataclasses import dataclass

from tronpy import keys

from stack.devnet import energy, usdt
from stack.devnet.ledger import Account, Ledger, Unfreezing
from stack.devnet.transaction_codec import (
    FREEZE,
    TRANSFER,
    TRIGGER,
    UNFREEZE,
    WITHDRAW_EXPIRE,
    RawTransaction,
)

SUN_PER_TRX = 1_000_000
MAX_FEE_LIMIT = 15_000_000_000
MAX_UNFREEZING_ENTRIES = 32
STAKEABLE_RESOURCES = ("BANDWIDTH", "ENERGY")


class ContractValidateError(Exception):
    """The contract is invalid against the current state; the node refuses the transaction."""


@dataclass(frozen=True)
class ChainRules:
    usdt_address: str  # hex
    unfreeze_delay_ms: int
    energy_fee: int  # SUN per energy unit beyond staked energy (getEnergyFee)


@dataclass(frozen=True)
class Execution:
    """What applying the contract produced, for the transaction info / receipt."""

    reverted: bool = False
    result: str = "SUCCESS"  # the receipt's contractResult: SUCCESS, REVERT or OUT_OF_ENERGY
    fee: int = 0  # SUN burned from the owner for energy (the receipt's energy_fee)
    memo_fee: int = 0  # SUN burned from the owner for the memo (Manager.consumeMemoFee)
    output: bytes = b""
    logs: tuple[usdt.Log, ...] = ()
    energy_used: int = 0  # the receipt's energy_usage_total
    energy_from_stake: int = 0  # the receipt's energy_usage: what staked ENERGY paid
    withdraw_expire_amount: int = 0


def execute(ledger: Ledger, tx: RawTransaction, now_ms: int, rules: ChainRules) -> Execution:
    if tx.contract_type == TRANSFER:
        return _transfer(ledger, tx, now_ms, rules)
    owner = _owner_account(ledger, tx.owner)
    if tx.contract_type == TRIGGER:
        return _trigger(ledger, owner, tx, now_ms, rules)
    if tx.contract_type == FREEZE:
        return _freeze(owner, tx)
    if tx.contract_type == UNFREEZE:
        return _unfreeze(owner, tx, now_ms, rules)
    if tx.contract_type == WITHDRAW_EXPIRE:
        return _withdraw_expire(owner, now_ms)
    raise ContractValidateError(f"{tx.contract_type} is not supported on the devnet")


def _owner_account(ledger: Ledger, owner: str) -> Account:
    account = ledger.accounts.get(owner)
    if account is None:
        raise ContractValidateError(f"account [{keys.to_base58check_address(owner)}] does not exist")
    return account


def _transfer(ledger: Ledger, tx: RawTransaction, now_ms: int, rules: ChainRules) -> Execution:
    to, amount = tx.params["to_address"], tx.params["amount"]
    if to == tx.owner:
        raise ContractValidateError("Cannot transfer TRX to yourself.")
    owner = ledger.accounts.get(tx.owner)
    if owner is None:
        raise ContractValidateError("Validate TransferContract error, no OwnerAccount.")
    if amount <= 0:
        raise ContractValidateError("Amount must be greater than 0.")
    if to == rules.usdt_address:
        raise ContractValidateError("Cannot transfer TRX to a smartContract.")
    if owner.balance < amount:
        raise ContractValidateError("Validate TransferContract error, balance is not sufficient.")
    owner.balance -= amount
    # Receiving TRX is what activates an account on TRON.
    ledger.accounts.setdefault(to, Account(to, create_time=now_ms)).balance += amount
    return Execution()


def _trigger(ledger: Ledger, owner: Account, tx: RawTransaction, now_ms: int, rules: ChainRules) -> Execution:
    if tx.params["contract_address"] != rules.usdt_address:
        raise ContractValidateError("No contract or not a smart contract")
    if not 0 <= tx.fee_limit <= MAX_FEE_LIMIT:
        raise ContractValidateError(f"feeLimit must be >= 0 and <= {MAX_FEE_LIMIT}")
    limit = energy.call_limit(owner, tx.fee_limit, rules.energy_fee, now_ms)
    if tx.params["call_value"] or tx.params["call_token_value"]:
        # USDT has no payable functions: sending value along reverts in the TVM.
        return _billed(ledger, owner, "REVERT", min(usdt.REVERT_ENERGY, limit), b"", (), now_ms, rules)
    data = bytes.fromhex(tx.params["data"])
    needed = usdt.call(ledger, tx.owner, data, commit=False).energy_used
    if needed > limit:  # the TVM stops where the energy runs out: nothing moves, the limit is spent
        return _billed(ledger, owner, "OUT_OF_ENERGY", limit, b"", (), now_ms, rules)
    result = usdt.call(ledger, tx.owner, data, commit=True)
    outcome = "REVERT" if result.reverted else "SUCCESS"
    logs = () if result.reverted else result.logs
    return _billed(ledger, owner, outcome, result.energy_used, result.output, logs, now_ms, rules)


def _billed(
    ledger: Ledger,
    owner: Account,
    result: str,
    energy_used: int,
    output: bytes,
    logs: tuple[usdt.Log, ...],
    now_ms: int,
    rules: ChainRules,
) -> Execution:
    """A TVM call's execution, its energy paid (stack/devnet/energy.py)."""
    bill = energy.pay(ledger, owner, energy_used, rules.energy_fee, now_ms)
    return Execution(
        reverted=result != "SUCCESS",
        result=result,
        fee=bill.burned,
        output=output,
        logs=logs,
        energy_used=energy_used,
        energy_from_stake=bill.from_stake,
    )


def is_trc20_transfer(tx: RawTransaction, rules: ChainRules) -> bool:
    return (
        tx.contract_type == TRIGGER
        and tx.params["contract_address"] == rules.usdt_address
        and bytes.fromhex(tx.params["data"])[:4] in usdt.TRANSFER_SELECTORS
    )


def failed_trc20_call(
    ledger: Ledger, tx: RawTransaction, result: str, now_ms: int, rules: ChainRules
) -> Execution:
    """A TRC20 transfer the TVM aborts (the revert_trc20 fault): no token moves, the energy is paid.

    OUT_OF_ENERGY spends the call's whole energy limit (at most fee_limit's worth), a REVERT (the
    balance gone by the time the block runs it) the energy spent up to the revert.
    """
    owner = ledger.accounts[tx.owner]
    limit = energy.call_limit(owner, tx.fee_limit, rules.energy_fee, now_ms)
    if result == "OUT_OF_ENERGY":
        return _billed(ledger, owner, result, limit, b"", (), now_ms, rules)
    output = usdt.revert_output("transfer amount exceeds balance")
    return _billed(ledger, owner, result, min(usdt.REVERT_ENERGY, limit), output, (), now_ms, rules)


def _resource(tx: RawTransaction) -> str:
    resource = str(tx.params["resource"])
    if resource not in STAKEABLE_RESOURCES:
        raise ContractValidateError("ResourceCode error, valid ResourceCode[BANDWIDTH、ENERGY]")
    return resource


def _freeze(owner: Account, tx: RawTransaction) -> Execution:
    amount, resource = tx.params["frozen_balance"], _resource(tx)
    if amount <= 0:
        raise ContractValidateError("frozenBalance must be positive")
    if amount < SUN_PER_TRX:
        raise ContractValidateError("frozenBalance must be greater than or equal to 1 TRX")
    if amount > owner.balance:
        raise ContractValidateError("frozenBalance must be less than or equal to accountBalance")
    owner.balance -= amount
    owner.frozen[resource] = owner.frozen.get(resource, 0) + amount
    return Execution()


def _unfreeze(owner: Account, tx: RawTransaction, now_ms: int, rules: ChainRules) -> Execution:
    amount, resource = tx.params["unfreeze_balance"], _resource(tx)
    frozen = owner.frozen.get(resource, 0)
    if frozen <= 0:
        raise ContractValidateError(f"no frozenBalance({resource})")
    if not 0 < amount <= frozen:
        raise ContractValidateError(f"Invalid unfreeze_balance, [{amount}] is invalid")
    pending = [u for u in owner.unfreezing if u.expire_time > now_ms]
    if len(pending) >= MAX_UNFREEZING_ENTRIES:
        raise ContractValidateError("Invalid unfreeze operation, unfreezing times is over limit")
    # Stake 2.0 sweeps already-expired unfreezes back to the balance as part of a new unfreeze.
    withdrawn = owner.expired_unfreezing(now_ms)
    owner.balance += withdrawn
    owner.frozen[resource] = frozen - amount
    owner.unfreezing = [*pending, Unfreezing(resource, amount, now_ms + rules.unfreeze_delay_ms)]
    return Execution(withdraw_expire_amount=withdrawn)


def _withdraw_expire(owner: Account, now_ms: int) -> Execution:
    withdrawn = owner.expired_unfreezing(now_ms)
    if withdrawn <= 0:
        raise ContractValidateError("no unFreeze balance to withdraw ")
    owner.balance += withdrawn
    owner.unfreezing = [u for u in owner.unfreezing if u.expire_time > now_ms]
    return Execution(withdraw_expire_amount=withdrawn)
