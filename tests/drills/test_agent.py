"""The local backup agent runs the CronJob's schedule (deploy/), scaled, and records each run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from drills import backup, schedule
from drills.agent import read_status
from drills.locations import DirectoryLocation, archives
from stack.processes import Part, backup_agent_command, wait_until

SERVICE = "tron-payment-service"
SCALE = 0.01  # */4 min -> every 2.4 s


def test_the_cronjob_schedule_is_read_from_deploy() -> None:
    plan = schedule.read()
    assert plan.cron == "*/4 * * * *"
    assert plan.worst_backup_age_seconds == 300  # 240 + startingDeadlineSeconds 20 + activeDeadlineSeconds 40
    assert plan.scaled(0.05).interval_seconds == 12
    assert plan.next_run(1000.0) == 1200.0 and plan.next_run(1200.0) == 1440.0


def test_agent_backs_up_on_schedule(mongo: MongoClient[Any], database: str, tmp_path: Path) -> None:
    mongo[database].wallets.insert_one({"_id": "T1"})
    uri = f"mongodb://{mongo.address[0]}:{mongo.address[1]}"
    status = tmp_path / "status.json"
    argv = [*backup_agent_command(uri, tmp_path / "backups", status, SCALE), "--db", database]
    agent = Part("backup", argv, tmp_path / "agent.log", status.exists).start()
    try:
        wait_until(
            lambda: (read_status(status)["last_success"] or {}).get("archive") is not None, 15, "a backup"
        )
        first = read_status(status)
        wait_until(lambda: read_status(status)["runs"] >= first["runs"] + 1, 15, "a second run")
    finally:
        agent.stop()
    interval = schedule.read().interval_seconds * SCALE
    started = first["last_success"]["started_at"]
    assert abs(started / interval - round(started / interval)) * interval < 0.5  # on the grid, not drifting
    location = DirectoryLocation(tmp_path / "backups")
    assert len(archives(location)) >= 2
    assert backup.verify(mongo, backup.load(location, None, SERVICE)) == []


def test_a_store_that_does_not_answer_fails_the_run(tmp_path: Path) -> None:
    status = tmp_path / "status.json"
    argv = backup_agent_command("mongodb://127.0.0.1:1", tmp_path / "backups", status, SCALE)
    agent = Part("backup", argv, tmp_path / "agent.log", status.exists).start()
    try:
        wait_until(lambda: read_status(status)["last_failure"] is not None, 20, "a failed run")
    finally:
        agent.stop()
    assert read_status(status)["last_success"] is None
    assert time.time() - read_status(status)["last_failure"]["started_at"] < 30
