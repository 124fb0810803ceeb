"""The backup-check drill on a kubernetes target: the backups where the target says the CronJob uploads
them (s3://, the S3 test double), the scratch restore into the target's mongo_url (a real store), the
schedule from deploy/'s CronJob; no local stack runs or is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pymongo import MongoClient

from drills import backup
from drills.context import DrillContext
from drills.database import service_name
from drills.locations import open_location
from drills.runner import run
from harness.target import load
from tests.drills.runs import verdicts
from tests.drills.s3_double import S3Double

BACKUPS = "s3://lucid-backups/tron-payment/"


def _context(tmp_path: Path, mongo: MongoClient[Any]) -> DrillContext:
    path = tmp_path / "kube.yaml"
    document = {
        "kind": "kubernetes",
        "context": "staging",
        "namespace": "lucid-payment",
        "selector": "app=tron-payment-service",
        "base_url": "https://payments.staging.example.com",
        "prometheus_url": "https://prometheus.staging.example.com",
        "virtual_service": "tron-payment-vs",
        "backups": BACKUPS,
        "mongo_url": "mongodb://{}:{}".format(*mongo.address or ("unknown", 0)),
    }
    path.write_text(yaml.safe_dump(document))
    return DrillContext(load(path), say=print)


def test_the_newest_backup_in_s3_verifies_by_a_scratch_restore_into_the_targets_database(
    s3: S3Double, mongo: MongoClient[Any], database: str, tmp_path: Path
) -> None:
    mongo[database].wallets.insert_many([{"_id": f"w{i}", "n": i} for i in range(5)])
    taken = backup.take(mongo, database, service_name(), open_location(BACKUPS))
    before = set(mongo.list_database_names())

    result = run(["backup-check"], _context(tmp_path, mongo))[0]

    found = verdicts(result)
    assert result.cannot_run is None
    assert found["collections that differ after a scratch restore"]["outcome"] == "pass", found
    assert found["newest backup's age"]["outcome"] == "pass"  # just taken; the cluster's schedule, x1
    assert float(found["newest backup's age"]["threshold"]) == 300  # type: ignore[arg-type]
    notes = result.timeline.steps[0].notes
    assert notes == [f"backups at {BACKUPS}", f"{taken.archive} matches its manifest"]
    assert "worst backup age (interval + late start + run)" in found  # from deploy/'s CronJob
    assert set(mongo.list_database_names()) == before  # the scratch database is dropped


def test_a_backup_in_s3_that_differs_from_its_manifest_turns_it_red(
    s3: S3Double, mongo: MongoClient[Any], database: str, tmp_path: Path
) -> None:
    mongo[database].wallets.insert_one({"_id": "w1"})
    taken = backup.take(mongo, database, service_name(), open_location(BACKUPS))
    key = f"tron-payment/{taken.archive}"
    s3.objects["lucid-backups"][key] = s3.objects["lucid-backups"][key][:-7] + b"corrupt"

    result = run(["backup-check"], _context(tmp_path, mongo))[0]

    step = result.timeline.steps[0]
    assert result.outcome == "FAIL" and step.error is not None
    assert "corrupt, its SHA-256 differs from the manifest's" in step.error
