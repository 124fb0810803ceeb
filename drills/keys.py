"""Keys recovered independently of the backup's age: every wallet the service created was escrowed
(service/ports/vault.py, KEY_ESCROW_DIR) before it was returned, its key still encrypted with
ENCRYPTION_KEY. After a restore, each escrowed wallet the restored database lacks is put back, so a
wallet created after the last backup, and the funds sent to it, are not lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pymongo import MongoClient

WALLETS = "wallets"


class KeyRecoveryError(RuntimeError):
    """An escrow that cannot be read or does not match the database; the message names the wallet."""


def escrowed(escrow_dir: Path) -> list[dict[str, Any]]:
    if not escrow_dir.is_dir():
        raise KeyRecoveryError(f"{escrow_dir}: no key escrow there (is KEY_ESCROW_DIR set on the service?)")
    records = []
    for path in sorted(escrow_dir.glob("*.json")):
        try:
            records.append(dict(json.loads(path.read_text())))
        except ValueError as error:
            raise KeyRecoveryError(f"{path}: escrow record unreadable ({error})") from error
    return records


def recover_wallets(client: MongoClient[Any], database: str, escrow_dir: Path) -> list[str]:
    """Insert every escrowed wallet the database lacks; the ids put back. A wallet present under the same
    id with another address or key is a conflict for an operator, never overwritten."""
    wallets = client[database][WALLETS]
    recovered = []
    for record in escrowed(escrow_dir):
        present = wallets.find_one({"_id": record["_id"]})
        if present is None:
            wallets.insert_one(record)
            recovered.append(str(record["_id"]))
        elif (present.get("address"), present.get("encrypted_key")) != (
            record["address"],
            record["encrypted_key"],
        ):
            raise KeyRecoveryError(f"wallet {record['_id']}: the database and the escrow hold different keys")
    return recovered
