"""Backups of a real store (nx-27017): taken, restored, verified against the manifest like dbHash;
refused over live data; a corrupt backup or another service's named in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bson
import pytest
from pymongo import MongoClient

from drills import archive as fmt
from drills import backup
from drills.locations import DirectoryLocation, manifest_name, newest
from drills.manifest import ManifestError

SERVICE = "tron-payment-service"


def fill(mongo: MongoClient[Any], database: str) -> None:
    db = mongo[database]
    db.wallets.insert_many([{"_id": f"T{i}", "user": "u1", "key": f"enc-{i}"} for i in range(3)])
    db.operations.insert_many(
        [{"_id": f"op{i}", "amount": bson.Int64(10**15 + i), "status": "sent"} for i in range(4)]
    )
    db.operations.create_index([("status", 1), ("amount", 1)], name="by_status")
    db.idempotency.create_index("key", unique=True, name="key_unique")


def backed_up(
    mongo: MongoClient[Any], database: str, backups: Path, service: str = SERVICE
) -> DirectoryLocation:
    """A filled database, backed up to the `backups` directory."""
    fill(mongo, database)
    location = DirectoryLocation(backups)
    backup.take(mongo, database, service, location)
    return location


def test_backup_restores_to_the_same_content(mongo: MongoClient[Any], database: str, backups: Path) -> None:
    fill(mongo, database)
    location = DirectoryLocation(backups)
    manifest = backup.take(mongo, database, SERVICE, location)
    assert {name: d.count for name, d in manifest.collections.items()} == {
        "idempotency": 0,
        "operations": 4,
        "wallets": 3,
    }
    loaded = backup.load(location, None, SERVICE)
    assert backup.verify(mongo, loaded) == []
    assert not [name for name in mongo.list_database_names() if "_verify_" in name]  # scratch dropped

    mongo.drop_database(database)
    assert backup.restore(mongo, loaded, database) == {"idempotency": 0, "operations": 4, "wallets": 3}
    assert backup.snapshot(mongo, database) == manifest.collections
    # by key and options: nx-27017 names indexes itself (idx_<collection>_<fields>), MongoDB keeps ours
    idempotency = {
        tuple(ix["key"].items()): ix.get("unique") for ix in mongo[database].idempotency.list_indexes()
    }
    assert idempotency[(("key", 1),)] is True
    assert (("status", 1), ("amount", 1)) in {
        tuple(ix["key"].items()) for ix in mongo[database].operations.list_indexes()
    }


def test_restore_over_live_data_is_refused_without_force(
    mongo: MongoClient[Any], database: str, backups: Path
) -> None:
    location = backed_up(mongo, database, backups)
    mongo[database].wallets.insert_one({"_id": "Tnew", "user": "u2"})
    loaded = backup.load(location, None, SERVICE)
    with pytest.raises(backup.RestoreRefused, match="holds data"):
        backup.restore(mongo, loaded, database)
    assert mongo[database].wallets.count_documents({}) == 4  # nothing changed
    backup.restore(mongo, loaded, database, force=True)
    assert mongo[database].wallets.count_documents({}) == 3


def test_verify_finds_a_restore_that_differs(mongo: MongoClient[Any], database: str, backups: Path) -> None:
    location = backed_up(mongo, database, backups)
    loaded = backup.load(location, None, SERVICE)
    ns = loaded.archive.namespaces[[n.collection for n in loaded.archive.namespaces].index("wallets")]
    ns.documents.pop()  # what a restore that lost a document would leave
    assert backup.verify(mongo, loaded) == ["wallets: 2 documents restored, the backup holds 3"]


def test_a_corrupt_backup_is_one_line(mongo: MongoClient[Any], database: str, backups: Path) -> None:
    location = backed_up(mongo, database, backups)
    name = newest(location)
    data = bytearray((backups / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (backups / name).write_bytes(bytes(data))
    with pytest.raises(fmt.ArchiveError, match="SHA-256 differs") as caught:
        backup.load(location, None, SERVICE)
    assert "\n" not in str(caught.value)


def test_another_services_backup_is_named(mongo: MongoClient[Any], database: str, backups: Path) -> None:
    location = backed_up(mongo, database, backups, "billing-service")
    with pytest.raises(ManifestError, match="a backup of 'billing-service', not of 'tron-payment-service'"):
        backup.load(location, None, SERVICE)


def test_a_cronjob_archive_without_manifest_checks_on_its_own(
    mongo: MongoClient[Any], database: str, backups: Path
) -> None:
    location = backed_up(mongo, database, backups)
    (backups / manifest_name(newest(location))).unlink()  # as mongodump --archive --gzip leaves it
    loaded = backup.load(location, None, SERVICE)
    assert loaded.manifest is None
    assert backup.verify(mongo, loaded) == []
