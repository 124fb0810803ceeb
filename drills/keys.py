"""Keys recovered independently of the backup's age: every wallet the service created was escrowed
(service/ports/vault.py, KEY_ESCROW_DIR) before it was returned, its key still encrypted with
ENCRYPTION_KEY. After a restore, each escrowed wallet the restored database lacks is put back, so a
wallet created after the last backup, and the funds sent to it, are not lost."""

from __future__ import annotations

import json
from typing import Any

from pymongo import MongoClient

from drills.locations import Location

WALLETS = "wallets"


class KeyRecoveryError(RuntimeError):
    """An escrow that cannot be read or does not match the database; the message names the wallet."""


def escrowed(escrow: Location) -> list[dict[str, Any]]:
    """Every escrowed wallet: a directory here, the backup bucket's keys/ prefix on a cluster."""
    names = [name for name in escrow.names() if name.endswith(".json")]
    if not names:
        raise KeyRecoveryError(f"{escrow.url}: no key escrow there (is KEY_ESCROW_DIR set on the service?)")
    records = []
    for name in names:
        try:
            records.append(dict(json.loads(escrow.get(name) or b"")))
        except ValueError as error:
            raise KeyRecoveryError(f"{escrow.url}/{name}: escrow record unreadable ({error})") from error
    return records


def recover_wallets(client: MongoClient[Any], database: str, escrow: Location) -> list[str]:
    """Insert every escrowed wallet the database lacks; the ids put back. A wallet present under the same
    id with another address or key is a conflict for an operator, never overwritten."""
    wallets = client[database][WALLETS]
    recovered = []
    for record in escrowed(escrow):
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
