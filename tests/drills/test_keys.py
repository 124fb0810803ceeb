"""No key lost to a restore: the vault escrows each new wallet; recovery puts back what a restore lacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from drills.keys import KeyRecoveryError, recover_wallets
from drills.locations import DirectoryLocation
from service.ports.vault import KeyVault

KEY = b"k" * 32


def wallet(vault: KeyVault, wallet_id: str) -> dict[str, Any]:
    address, encrypted = vault.new_key(wallet_id)
    return {
        "_id": wallet_id,
        "user_id": "u1",
        "address": address,
        "encrypted_key": encrypted,
        "currency": "TRX",
    }


async def test_escrowed_wallet_comes_back_with_a_key_that_signs(
    mongo: MongoClient[Any], database: str, tmp_path: Path
) -> None:
    vault = KeyVault(KEY, tmp_path / "keys")
    kept, lost = wallet(vault, "w-kept"), wallet(vault, "w-lost")
    for record in (kept, lost):
        await vault.escrow(record)
    mongo[database].wallets.insert_one(kept)  # what the restored backup holds: only the older wallet
    assert recover_wallets(mongo, database, DirectoryLocation(tmp_path / "keys")) == ["w-lost"]
    back = mongo[database].wallets.find_one({"_id": "w-lost"})
    assert back is not None
    key = vault.private_key(back["encrypted_key"], "w-lost")
    assert key.public_key.to_base58check_address() == lost["address"]
    assert recover_wallets(mongo, database, DirectoryLocation(tmp_path / "keys")) == []  # idempotent


async def test_an_escrow_that_cannot_be_written_raises(tmp_path: Path) -> None:
    (tmp_path / "keys").write_text("a file where the escrow directory should be")
    vault = KeyVault(KEY, tmp_path / "keys")
    with pytest.raises(OSError):
        await vault.escrow(wallet(vault, "w1"))


async def test_a_conflicting_key_is_held_for_an_operator(
    mongo: MongoClient[Any], database: str, tmp_path: Path
) -> None:
    vault = KeyVault(KEY, tmp_path / "keys")
    record = wallet(vault, "w1")
    await vault.escrow(record)
    mongo[database].wallets.insert_one(wallet(vault, "w1"))  # same id, another key
    with pytest.raises(KeyRecoveryError, match="w1: the database and the escrow hold different keys"):
        recover_wallets(mongo, database, DirectoryLocation(tmp_path / "keys"))


def test_no_escrow_is_named(mongo: MongoClient[Any], database: str, tmp_path: Path) -> None:
    with pytest.raises(KeyRecoveryError, match="no key escrow there"):
        recover_wallets(mongo, database, DirectoryLocation(tmp_path / "nowhere"))
