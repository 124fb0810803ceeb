"""Backups to s3:// through the S3 API, against a test double of S3 (tests/drills/s3_double.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import MongoClient

from drills import backup
from drills.locations import LocationError, open_location, split_backup
from tests.drills.s3_double import S3Double

SERVICE = "tron-payment-service"


def test_backup_to_s3_restores_and_verifies(s3: S3Double, mongo: MongoClient[Any], database: str) -> None:
    mongo[database].operations.insert_many([{"_id": f"op{i}", "amount": i} for i in range(3)])
    location = open_location("s3://lucid-backups/tron-payment")
    manifest = backup.take(mongo, database, SERVICE, location)
    keys = sorted(s3.objects["lucid-backups"])
    assert keys == [
        f"tron-payment/{manifest.archive}",
        f"tron-payment/{manifest.archive[:-11]}.manifest.json",
    ]

    where, name = split_backup(f"s3://lucid-backups/tron-payment/{manifest.archive}")
    loaded = backup.load(where, name, SERVICE)
    assert backup.verify(mongo, loaded) == []
    assert backup.load(location, None, SERVICE).archive_name == manifest.archive  # newest, by listing


def test_a_missing_bucket_is_one_line(s3: S3Double) -> None:
    with pytest.raises(
        LocationError, match=r"s3://no-such-bucket/x/: listing refused: NoSuchBucket"
    ) as caught:
        open_location("s3://no-such-bucket/x").names()
    assert "\n" not in str(caught.value)
