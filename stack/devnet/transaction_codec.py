"""TRON transaction JSON <-> protobuf: parse raw_data, compute the txID, recover signers.

The txID is sha256 of the protobuf-encoded raw_data, exactly as java-tron (and tronpy's offline
builder) computes it, so a transaction tronpy signed hashes to the same id here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from google.protobuf import any_pb2
from tronpy import keys
from tronpy.proto import tron_pb2

TRANSFER = "TransferContract"
TRIGGER = "TriggerSmartContract"
FREEZE = "FreezeBalanceV2Contract"
UNFREEZE = "UnfreezeBalanceV2Contract"
WITHDRAW_EXPIRE = "WithdrawExpireUnfreezeContract"
SUPPORTED_TYPES = (TRANSFER, TRIGGER, FREEZE, UNFREEZE, WITHDRAW_EXPIRE)

RESOURCE_CODES = {"BANDWIDTH": 0, "ENERGY": 1, "TRON_POWER": 2}
ADDRESS_FIELDS = frozenset({"owner_address", "to_address", "contract_address"})
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
OWNER_PERMISSION_ID = 0
ACTIVE_PERMISSION_ID = 2


class MalformedTransaction(ValueError):
    """The JSON is not a well-formed transaction."""


class UnsupportedContract(ValueError):
    """A contract type the devnet does not execute."""


@dataclass(frozen=True)
class RawTransaction:
    """A parsed raw_data; params are normalised (hex addresses, ints, hex bytes)."""

    contract_type: str
    params: dict[str, Any]
    type_url: str
    permission_id: int
    ref_block_bytes: str
    ref_block_hash: str
    expiration: int
    timestamp: int
    fee_limit: int
    data: str

    @property
    def owner(self) -> str:
        return str(self.params["owner_address"])

    def encode(self) -> bytes:
        contract = tron_pb2.Transaction.Contract(
            type=tron_pb2.Transaction.Contract.ContractType.Value(self.contract_type),
            parameter=any_pb2.Any(type_url=self.type_url, value=self._encode_params()),
            Permission_id=self.permission_id,
        )
        raw = tron_pb2.Transaction.raw(
            ref_block_bytes=bytes.fromhex(self.ref_block_bytes),
            ref_block_hash=bytes.fromhex(self.ref_block_hash),
            expiration=self.expiration,
            timestamp=self.timestamp,
            fee_limit=self.fee_limit,
            data=bytes.fromhex(self.data),
            contract=[contract],
        )
        return bytes(raw.SerializeToString())

    def txid(self) -> str:
        return hashlib.sha256(self.encode()).hexdigest()

    def to_json(self, visible: bool) -> dict[str, Any]:
        value = {
            key: keys.to_base58check_address(val) if visible and key in ADDRESS_FIELDS else val
            for key, val in self.params.items()
        }
        contract: dict[str, Any] = {
            "parameter": {"value": value, "type_url": self.type_url},
            "type": self.contract_type,
        }
        if self.permission_id:
            contract["Permission_id"] = self.permission_id
        raw: dict[str, Any] = {
            "contract": [contract],
            "ref_block_bytes": self.ref_block_bytes,
            "ref_block_hash": self.ref_block_hash,
            "expiration": self.expiration,
            "timestamp": self.timestamp,
        }
        if self.data:
            raw["data"] = self.data
        if self.fee_limit:
            raw["fee_limit"] = self.fee_limit
        return raw

    def _encode_params(self) -> bytes:
        p = self.params
        owner = keys.to_raw_address(p["owner_address"])
        if self.contract_type == TRANSFER:
            msg: Any = tron_pb2.TransferContract(
                owner_address=owner, to_address=keys.to_raw_address(p["to_address"]), amount=p["amount"]
            )
            return bytes(msg.SerializeToString())
        if self.contract_type == TRIGGER:
            msg = tron_pb2.TriggerSmartContract(
                owner_address=owner,
                contract_address=keys.to_raw_address(p["contract_address"]),
                data=bytes.fromhex(p["data"]),
                call_value=p["call_value"],
                call_token_value=p["call_token_value"],
                token_id=p["token_id"],
            )
            return bytes(msg.SerializeToString())
        # Stake 2.0 messages are missing from tronpy's trimmed tron.proto; field numbers follow
        # java-tron's balance_contract.proto.
        if self.contract_type == FREEZE:
            return _encode_fields([(1, owner), (2, p["frozen_balance"]), (3, RESOURCE_CODES[p["resource"]])])
        if self.contract_type == UNFREEZE:
            return _encode_fields(
                [(1, owner), (2, p["unfreeze_balance"]), (3, RESOURCE_CODES[p["resource"]])]
            )
        return _encode_fields([(1, owner)])


def parse_raw_data(raw: Any) -> RawTransaction:
    """Validate and normalise a raw_data object as the HTTP API receives it."""
    if not isinstance(raw, dict):
        raise MalformedTransaction("raw_data must be an object")
    contracts = raw.get("contract")
    if not isinstance(contracts, list) or len(contracts) != 1 or not isinstance(contracts[0], dict):
        raise MalformedTransaction("raw_data.contract must hold exactly one contract")
    contract = contracts[0]
    contract_type = contract.get("type")
    if contract_type not in SUPPORTED_TYPES:
        raise UnsupportedContract(f"contract type {contract_type} is not supported on the devnet")
    parameter = contract.get("parameter")
    if not isinstance(parameter, dict) or not isinstance(parameter.get("value"), dict):
        raise MalformedTransaction("contract.parameter.value must be an object")
    return RawTransaction(
        contract_type=contract_type,
        params=_parse_params(contract_type, parameter["value"]),
        type_url=str(parameter.get("type_url") or f"type.googleapis.com/protocol.{contract_type}"),
        permission_id=_int(contract, "Permission_id", 0),
        ref_block_bytes=_hex(raw, "ref_block_bytes", 2),
        ref_block_hash=_hex(raw, "ref_block_hash", 8),
        expiration=_int(raw, "expiration"),
        timestamp=_int(raw, "timestamp", 0),
        fee_limit=_int(raw, "fee_limit", 0),
        data=_hex(raw, "data", None, ""),
    )


def recover_signer(txid: str, signature: str) -> str:
    """The hex address whose key produced `signature` over the txID; ValueError if unusable."""
    sig = keys.Signature(bytes.fromhex(signature))
    return str(sig.recover_public_key_from_msg_hash(bytes.fromhex(txid)).to_hex_address())


def to_hex_address(value: Any) -> str:
    """Base58 or hex address -> lowercase hex with the 41 prefix; ValueError if not an address."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"not an address: {value!r}")
    try:
        return str(keys.to_hex_address(value)).lower()
    except Exception as exc:  # tronpy raises BadAddress or base58/binascii errors
        raise ValueError(f"not an address: {value!r}") from exc


def _parse_params(contract_type: str, value: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"owner_address": _address(value, "owner_address")}
    if contract_type == TRANSFER:
        params["to_address"] = _address(value, "to_address")
        params["amount"] = _int(value, "amount", 0)
    elif contract_type == TRIGGER:
        params["contract_address"] = _address(value, "contract_address")
        params["data"] = _hex(value, "data", None, "")
        params["call_value"] = _int(value, "call_value", 0)
        params["call_token_value"] = _int(value, "call_token_value", 0)
        params["token_id"] = _int(value, "token_id", 0)
    elif contract_type in (FREEZE, UNFREEZE):
        amount_field = "frozen_balance" if contract_type == FREEZE else "unfreeze_balance"
        params[amount_field] = _int(value, amount_field, 0)
        params["resource"] = _resource(value.get("resource", "BANDWIDTH"))
    return params


def _resource(value: Any) -> str:
    if isinstance(value, str) and value in RESOURCE_CODES:
        return value
    for name, code in RESOURCE_CODES.items():
        if value == code and not isinstance(value, bool):
            return name
    raise MalformedTransaction(f"unknown resource {value!r}")


def _address(obj: dict[str, Any], field: str) -> str:
    try:
        return to_hex_address(obj.get(field))
    except ValueError as exc:
        raise MalformedTransaction(f"{field}: {exc}") from exc


def _int(obj: dict[str, Any], field: str, default: int | None = None) -> int:
    value = obj.get(field, default)
    if value is None:
        raise MalformedTransaction(f"{field} is required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedTransaction(f"{field} must be an integer")
    if not INT64_MIN <= value <= INT64_MAX:
        raise MalformedTransaction(f"{field} does not fit an int64")
    return value


def _hex(obj: dict[str, Any], field: str, size: int | None, default: str | None = None) -> str:
    value = obj.get(field, default)
    if not isinstance(value, str):
        raise MalformedTransaction(f"{field} must be a hex string")
    try:
        raw = bytes.fromhex(value)
    except ValueError as exc:
        raise MalformedTransaction(f"{field} must be a hex string") from exc
    if size is not None and len(raw) != size:
        raise MalformedTransaction(f"{field} must be {size} bytes")
    return raw.hex()


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 goes on the wire as 10-byte two's complement
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if not value:
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def _encode_fields(fields: list[tuple[int, int | bytes]]) -> bytes:
    out = bytearray()
    for number, value in fields:
        if isinstance(value, bytes):
            if value:  # proto3 leaves default (empty / zero) fields off the wire
                out += _varint(number << 3 | 2) + _varint(len(value)) + value
        elif value:
            out += _varint(number << 3) + _varint(value)
    return bytes(out)
