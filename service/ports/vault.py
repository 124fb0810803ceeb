"""Custodial keys: generated here, encrypted at rest with AES-256-GCM, never returned.

Escrow (KEY_ESCROW_DIR): each new wallet, its key still encrypted with ENCRYPTION_KEY, is also written
to a directory outside the database before the wallet is returned, so a restore from a backup older
than the wallet loses no key (drills/keys.py puts escrowed wallets back; docs/dr-runbook.md). In
Kubernetes the directory is a volume synced to the backup bucket, or an object-store mount.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tronpy.keys import PrivateKey


class KeyVault:
    def __init__(self, encryption_key: bytes, escrow_dir: Path | None = None) -> None:
        self._aead = AESGCM(encryption_key)
        self._escrow_dir = escrow_dir

    async def escrow(self, wallet: dict[str, Any]) -> None:
        """Durably store the wallet (key encrypted) outside the database; raises OSError if it cannot."""
        if self._escrow_dir is not None:
            await asyncio.to_thread(_write_durably, self._escrow_dir / f"{wallet['_id']}.json", wallet)

    def new_key(self, wallet_id: str) -> tuple[str, str]:
        """A fresh key pair: (base58 address, encrypted private key as hex)."""
        key = PrivateKey.random()
        return key.public_key.to_base58check_address(), self._encrypt(key.hex(), wallet_id)

    def private_key(self, encrypted: str, wallet_id: str) -> PrivateKey:
        return PrivateKey(bytes.fromhex(self._decrypt(encrypted, wallet_id)))

    def _encrypt(self, plaintext: str, wallet_id: str) -> str:
        nonce = os.urandom(12)
        # The wallet id is authenticated data: a ciphertext moved to another wallet fails to decrypt.
        return (nonce + self._aead.encrypt(nonce, plaintext.encode(), wallet_id.encode())).hex()

    def _decrypt(self, blob_hex: str, wallet_id: str) -> str:
        blob = bytes.fromhex(blob_hex)
        return self._aead.decrypt(blob[:12], blob[12:], wallet_id.encode()).decode()


def _write_durably(path: Path, record: dict[str, Any]) -> None:
    """Write, fsync, rename, fsync the directory: once this returns, the record survives a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w") as out:
        json.dump(record, out, sort_keys=True)
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
