"""Custodial keys: generated here, encrypted at rest with AES-256-GCM, never returned."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tronpy.keys import PrivateKey


class KeyVault:
    def __init__(self, encryption_key: bytes) -> None:
        self._aead = AESGCM(encryption_key)

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
