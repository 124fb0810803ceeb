"""The built-in USDT TRC20 contract, executed natively against the ledger (no TVM).

Calls take ABI-encoded calldata and return ABI-encoded output, logs and revert status the way
the TVM would, so tronpy's contract helpers work unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi.exceptions import DecodingError
from tronpy.abi import tron_abi
from tronpy.keys import keccak256

from stack.devnet.ledger import Ledger
from stack.devnet.transaction_codec import to_hex_address

ABI: list[dict[str, Any]] = json.loads(Path(__file__).with_name("usdt_abi.json").read_text())
NAME = "Tether USD"
SYMBOL = "USDT"
DECIMALS = 6
MAX_UINT256 = 2**256 - 1

TRANSFER_TOPIC = keccak256(b"Transfer(address,address,uint256)").hex()
APPROVAL_TOPIC = keccak256(b"Approval(address,address,uint256)").hex()
_ERROR_SELECTOR = keccak256(b"Error(string)")[:4]

# Static energy figures: mainnet's USDT before its dynamic-energy factor (about 4.4x more today); each
# call pays them (stack/devnet/energy.py).
VIEW_ENERGY = 500
TRANSFER_ENERGY = 14_650
TRANSFER_TO_NEW_HOLDER_ENERGY = 29_650
APPROVE_ENERGY = 22_000
TRANSFER_FROM_ENERGY = 19_000
REVERT_ENERGY = 300


@dataclass(frozen=True)
class Log:
    topics: tuple[str, ...]
    data: str


@dataclass(frozen=True)
class CallResult:
    output: bytes
    energy_used: int
    reverted: bool = False
    logs: tuple[Log, ...] = ()


Handler = Callable[[Ledger, str, bytes, bool], CallResult]


def call(ledger: Ledger, caller: str, data: bytes, *, commit: bool) -> CallResult:
    """Run a contract call from `caller`; state changes only land when `commit` is set."""
    handler = _HANDLERS.get(data[:4])
    if handler is None:
        return _revert("function not found")
    try:
        return handler(ledger, caller, data[4:], commit)
    except (DecodingError, ValueError):  # malformed calldata reverts, as solidity's decoder does
        return _revert("invalid arguments")


def _selector(signature: str) -> bytes:
    return keccak256(signature.encode())[:4]


def _decode(types: list[str], args: bytes) -> list[Any]:
    values = list(tron_abi.decode(types, args))
    return [to_hex_address(v) if t == "address" else v for t, v in zip(types, values, strict=True)]


def _encode(types: list[str], values: list[Any]) -> bytes:
    return bytes(tron_abi.encode(types, values))


def _topic(address: str) -> str:
    return address[2:].rjust(64, "0")  # TVM addresses drop the 41 prefix


def revert_output(reason: str) -> bytes:
    """What a solidity `revert(reason)` returns: Error(string) ABI-encoded."""
    return _ERROR_SELECTOR + _encode(["string"], [reason])


def _revert(reason: str) -> CallResult:
    return CallResult(revert_output(reason), REVERT_ENERGY, reverted=True)


def _view(value_type: str, value: Any) -> CallResult:
    return CallResult(_encode([value_type], [value]), VIEW_ENERGY)


def _move(ledger: Ledger, sender: str, to: str, value: int) -> None:
    ledger.usdt[sender] = ledger.usdt.get(sender, 0) - value
    ledger.usdt[to] = ledger.usdt.get(to, 0) + value


def _transfer_log(sender: str, to: str, value: int) -> Log:
    return Log((TRANSFER_TOPIC, _topic(sender), _topic(to)), _encode(["uint256"], [value]).hex())


def _name(ledger: Ledger, caller: str, args: bytes, commit: bool) -> CallResult:
    return _view("string", NAME)


def _symbol(ledger: Ledger, caller: str, args: bytes, commit: bool) -> CallResult:
    return _view("string", SYMBOL)


def _decimals(ledger: Ledger, caller: str, args: bytes, commit: bool) -> CallResult:
    return _view("uint8", DECIMALS)


def _total_supply(ledger: Ledger, caller: str, args: bytes, commit: bool) -> CallResult:
    return _view("uint256", ledger.usdt_total())


def _balance_of(ledger: Ledger, caller: str, args: bytes, commit: bool) -> CallResult:
    (who,) = _decode(["address"], args)
    return _view("uint256", ledger.usdt.get(who, 0))


def _allowance(ledger: Ledger, caller: str, args: bytes, commit: bool) -> CallResult:
    owner, spender = _decode(["address", "address"], args)
    return _view("uint256", ledger.allowances.get((owner, spender), 0))


def _transfer(ledger: Ledger, caller: str, args: bytes, commit: bool) -> CallResult:
    to, value = _decode(["address", "uint256"], args)
    if ledger.usdt.get(caller, 0) < value:
        return _revert("transfer amount exceeds balance")
    energy = TRANSFER_ENERGY if ledger.usdt.get(to, 0) else TRANSFER_TO_NEW_HOLDER_ENERGY
    if commit:
        _move(ledger, caller, to, value)
    return CallResult(_encode(["bool"], [True]), energy, logs=(_transfer_log(caller, to, value),))


def _approve(ledger: Ledger, caller: str, args: bytes, commit: bool) -> CallResult:
    spender, value = _decode(["address", "uint256"], args)
    if commit:
        ledger.allowances[(caller, spender)] = value
    log = Log((APPROVAL_TOPIC, _topic(caller), _topic(spender)), _encode(["uint256"], [value]).hex())
    return CallResult(_encode(["bool"], [True]), APPROVE_ENERGY, logs=(log,))


def _transfer_from(ledger: Ledger, caller: str, args: bytes, commit: bool) -> CallResult:
    sender, to, value = _decode(["address", "address", "uint256"], args)
    allowed = ledger.allowances.get((sender, caller), 0)
    if allowed < value:
        return _revert("transfer amount exceeds allowance")
    if ledger.usdt.get(sender, 0) < value:
        return _revert("transfer amount exceeds balance")
    if commit:
        if allowed != MAX_UINT256:  # an unlimited approval is never spent down, as in Tether's token
            ledger.allowances[(sender, caller)] = allowed - value
        _move(ledger, sender, to, value)
    return CallResult(
        _encode(["bool"], [True]), TRANSFER_FROM_ENERGY, logs=(_transfer_log(sender, to, value),)
    )


_HANDLERS: dict[bytes, Handler] = {
    _selector("name()"): _name,
    _selector("symbol()"): _symbol,
    _selector("decimals()"): _decimals,
    _selector("totalSupply()"): _total_supply,
    _selector("balanceOf(address)"): _balance_of,
    _selector("allowance(address,address)"): _allowance,
    _selector("transfer(address,uint256)"): _transfer,
    _selector("approve(address,uint256)"): _approve,
    _selector("transferFrom(address,address,uint256)"): _transfer_from,
}

TRANSFER_SELECTORS = (
    _selector("transfer(address,uint256)"),
    _selector("transferFrom(address,address,uint256)"),
)
