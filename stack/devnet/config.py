"""Devnet settings and the genesis file that pre-funds the treasury."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tronpy.keys import PrivateKey

from stack.devnet.transaction_codec import to_hex_address

DEFAULT_GENESIS_PATH = Path(__file__).with_name("genesis.json")
MAINNET_BLOCK_INTERVAL = 3.0
MAINNET_SOLIDIFICATION = 19  # blocks until a block is irreversible on mainnet
MAINNET_UNFREEZE_DELAY = 14 * 24 * 3600.0
BROADCAST_CACHE_TTL = 3600.0  # Manager.transactionIdCache: expireAfterWrite(1, TimeUnit.HOURS)
# DynamicPropertiesStore MEMO_FEE: 0 until the committee proposal sets it (java-tron's default), as here
# by default; mainnet's proposal set it to 1 TRX, which the local stack runs with (stack/topology.py).
MAINNET_MEMO_FEE = 1_000_000  # SUN
# DynamicPropertiesStore ENERGY_FEE, SUN per energy unit: 100 on mainnet since proposal #104 (210 before,
# 420 until 2024). java-tron has no free energy: with 0 it charges SUN_PER_ENERGY, also 100.
MAINNET_ENERGY_FEE = 100


class GenesisError(ValueError):
    """The genesis file is missing a field or holds a bad value."""


@dataclass(frozen=True)
class Genesis:
    treasury_private_key: str
    trx_balance: int  # SUN
    usdt_supply: int  # USDT base units (6 decimals)
    usdt_contract_address: str  # base58

    @property
    def treasury_key(self) -> PrivateKey:
        return PrivateKey(bytes.fromhex(self.treasury_private_key))

    @property
    def treasury_address(self) -> str:
        return str(self.treasury_key.public_key.to_base58check_address())

    @classmethod
    def load(cls, path: Path) -> Genesis:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise GenesisError(f"cannot read genesis {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise GenesisError("genesis must be a JSON object")
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Genesis:
        genesis = cls(
            treasury_private_key=_field(data, "treasury_private_key", str),
            trx_balance=_field(data, "trx_balance", int),
            usdt_supply=_field(data, "usdt_supply", int),
            usdt_contract_address=_field(data, "usdt_contract_address", str),
        )
        try:
            treasury = genesis.treasury_address
        except Exception as exc:  # bad hex or a key outside the curve order
            raise GenesisError(f"treasury_private_key is not a valid key: {exc}") from exc
        try:
            contract = to_hex_address(genesis.usdt_contract_address)
        except ValueError as exc:
            raise GenesisError(f"usdt_contract_address: {exc}") from exc
        if contract == to_hex_address(treasury):
            raise GenesisError("usdt_contract_address must differ from the treasury address")
        if genesis.trx_balance <= 0 or genesis.usdt_supply <= 0:
            raise GenesisError("trx_balance and usdt_supply must be positive")
        return genesis


@dataclass(frozen=True)
class DevnetConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0 picks a free port; the ready line and handle report the real one
    block_interval: float = MAINNET_BLOCK_INTERVAL  # seconds
    confirmations: int = MAINNET_SOLIDIFICATION
    unfreeze_delay: float = MAINNET_UNFREEZE_DELAY  # seconds
    genesis_path: Path = DEFAULT_GENESIS_PATH
    broadcast_cache_ttl: float = BROADCAST_CACHE_TTL  # seconds a node remembers a broadcast id
    memo_fee: int = 0  # SUN burned per contract of a transaction whose raw_data.data is not empty
    energy_fee: int = MAINNET_ENERGY_FEE  # SUN burned per energy unit a call uses beyond staked energy

    def __post_init__(self) -> None:
        if self.block_interval <= 0:
            raise ValueError("block_interval must be positive")
        if self.confirmations < 0:
            raise ValueError("confirmations must be >= 0")
        if self.unfreeze_delay < 0:
            raise ValueError("unfreeze_delay must be >= 0")
        if self.broadcast_cache_ttl <= 0:
            raise ValueError("broadcast_cache_ttl must be positive")
        if self.memo_fee < 0:
            raise ValueError("memo_fee must be >= 0 (SUN)")
        if self.energy_fee <= 0:
            raise ValueError("energy_fee must be > 0 (SUN per energy unit; java-tron has no free energy)")


def _field(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise GenesisError(f"genesis field {name} must be a {kind.__name__}")
    return value
