"""`tronops backup` and `tronops restore` as an operator runs them, against a real store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

TRONOPS = [sys.executable, "-m", "tronops.cli"]


def tronops(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRONOPS, *argv], capture_output=True, text=True, timeout=60, check=False)


def test_backup_then_restore_into_an_empty_database(
    mongo: MongoClient[Any], database: str, backups: Path
) -> None:
    uri = f"mongodb://{mongo.address[0]}:{mongo.address[1]}"
    mongo[database].wallets.insert_many([{"_id": "T1"}, {"_id": "T2"}])
    took = tronops("backup", "--to", str(backups), "--db", database, "--mongodb-uri", uri)
    assert took.returncode == 0, took.stderr
    assert f"backed up {database} to {backups}/tron-payment-" in took.stdout
    assert "(wallets 2)" in took.stdout

    verified = tronops("restore", str(backups), "--verify", "--mongodb-uri", uri)
    assert verified.returncode == 0, verified.stderr
    assert "a scratch restore matches its manifest" in verified.stdout

    refused = tronops("restore", str(backups), "--into", database, "--mongodb-uri", uri)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "holds data (wallets)" in refused.stderr

    mongo[database].wallets.delete_many({})
    restored = tronops("restore", str(backups), "--into", database, "--mongodb-uri", uri)
    assert restored.returncode == 0, restored.stderr
    assert mongo[database].wallets.count_documents({}) == 2


def test_a_corrupt_backup_exits_2_with_one_line(mongo: MongoClient[Any], backups: Path) -> None:
    uri = f"mongodb://{mongo.address[0]}:{mongo.address[1]}"
    backups.mkdir()
    (backups / "tron-payment-20260101T000000.000Z.archive.gz").write_bytes(b"\x1f\x8b garbage")
    result = tronops("restore", str(backups), "--verify", "--mongodb-uri", uri)
    assert result.returncode == 2
    assert result.stderr.startswith("tronops restore: not a gzip'd mongodump archive")
    assert result.stderr.count("\n") == 1


def test_no_backup_at_the_location_is_named(tmp_path: Path) -> None:
    result = tronops("restore", str(tmp_path), "--verify", "--mongodb-uri", "mongodb://127.0.0.1:1")
    assert result.returncode == 2
    assert "no backup there" in result.stderr


def test_drill_list_names_each_drill_first() -> None:
    listed = tronops("drill", "list")
    assert listed.returncode == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "restore",
        "region-loss",
        "maintenance",
        "backup-check",
    ]


def test_an_unknown_drill_exits_2_saying_what_to_run() -> None:
    result = tronops("drill", "run", "meteor")
    assert result.returncode == 2
    assert "no such drill: meteor (`tronops drill list`)" in result.stderr


STAGING = (
    "kind: kubernetes\ncontext: staging\nnamespace: lucid-payment\nselector: app=tron-payment-service\n"
    "base_url: https://staging.example.com\nprometheus_url: https://prometheus.example.com\n"
    "virtual_service: tron-payment-service\n"
)


SECONDARY = (
    "secondary:\n  context: dr\n  namespace: lucid-payment\n  selector: app=tron-payment-service\n"
    "  base_url: https://dr.example.com\n  prometheus_url: https://prometheus.dr.example.com\n"
    "  virtual_service: tron-payment-service\n  deployment: tron-payment-service\n"
)
SECONDARY_RESTORES = (
    "  mongo_url: mongodb://127.0.0.1:1\n  allow_data_loss: true\n  chain_url: https://api.trongrid.io\n"
    "  usdt_contract: TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t\n"
)


def test_on_a_kubernetes_target_each_drill_names_what_it_lacks_and_exits_2(tmp_path: Path) -> None:
    target = tmp_path / "staging.yaml"
    target.write_text(STAGING)
    out = tmp_path / "out"
    drills = ("restore", "region-loss", "maintenance", "backup-check")
    result = tronops("drill", "run", *drills, "--target", str(target), "--out", str(out))
    assert result.returncode == 2
    said = {line.split("]")[0][1:]: line for line in result.stdout.splitlines() if "] cannot run: " in line}
    assert sorted(said) == sorted(drills)
    assert f"{target}: restore (it drops the service's database) needs `mongo_url`" in said["restore"]
    assert f"{target}: region-loss needs the second region: add a `secondary:` block" in said["region-loss"]
    # the drills that run on Kubernetes name the key the file lacks and what to write
    assert (
        f"{target}: the maintenance drill (it scales and restarts the Deployment) needs `deployment`"
        in said["maintenance"]
    )
    assert "add deployment: tron-payment-service" in said["maintenance"]
    assert "needs `backups` in a kubernetes target; add backups: s3://BUCKET/PREFIX/" in said["backup-check"]
    assert (out / "drills-junit.xml").read_text().count("<error") == 4


@pytest.mark.parametrize(
    ("keys", "line"),
    [
        (
            "mongo_url: mongodb://127.0.0.1:1\n",
            "restore drops the service's database at mongodb://127.0.0.1:1; it runs only with "
            "`allow_data_loss: true` in the target (never on a database whose loss is not meant)",
        ),
        (
            "mongo_url: mongodb://127.0.0.1:1\nallow_data_loss: true\n",
            "restore (it recovers operations from the chain) needs `chain_url` in a kubernetes target; "
            "add chain_url: https://api.trongrid.io",
        ),
        (
            "mongo_url: mongodb://127.0.0.1:1\nallow_data_loss: true\nchain_url: https://api.trongrid.io\n",
            "restore (it recovers USDT transfers from the chain) needs `usdt_contract` in a kubernetes "
            "target; add usdt_contract: T...",
        ),
        (
            SECONDARY,
            "secondary: region-loss (it restores the primary's backup over the service's database) needs "
            "`mongo_url` in a kubernetes target; add mongo_url: mongodb://HOST:27017",
        ),
        (
            SECONDARY + SECONDARY_RESTORES,
            "region-loss (it funds a wallet on the primary) needs `chain_url` in a kubernetes target",
        ),
    ],
)
def test_a_data_loss_drill_on_kubernetes_exits_2_naming_the_key_before_it_touches_anything(
    tmp_path: Path, keys: str, line: str
) -> None:
    target = tmp_path / "staging.yaml"
    target.write_text(STAGING + "deployment: tron-payment-service\n" + keys)
    drill = line.removeprefix("secondary: ").split()[0]
    result = tronops("drill", "run", drill, "--target", str(target))
    assert result.returncode == 2
    assert f"[{drill}] cannot run: {target}: {line}" in result.stdout


def test_a_region_whose_shared_chain_does_not_answer_starts_nothing(tmp_path: Path) -> None:
    from stack.processes import free_port

    closed = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run(
        [*TRONOPS, "up", "--port", str(free_port()), "--chain-url", closed],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "TRONOPS_STACK_DIR": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 1
    assert f"no devnet answers at {closed}" in result.stderr
    assert not (tmp_path / "stack.json").exists() and not (tmp_path / "logs").exists()
