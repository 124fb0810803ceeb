"""Drill `backup-check`: the newest backup restores and verifies (a scratch restore against its
manifest), it is younger than the RPO, the backup schedule in deploy/ can meet the RPO, and a team's
backup/restore scripts and DR plan (default: the seed's) agree with each other under the same rules
as `tronops lint` (harness/lint/operations.py), each finding with its line."""

from __future__ import annotations

import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from drills import backup, schedule
from drills.agent import read_status
from drills.context import DrillContext
from drills.database import service_name, store_uri
from drills.locations import DirectoryLocation
from drills.seed_files import SEED_DIR, extract
from drills.timeline import DrillCannotRun, Timeline
from harness.lint.run import lint


def run(ctx: DrillContext, timeline: Timeline) -> dict[str, Any]:
    stack_dir = ctx.stack_dir
    rpo = ctx.objectives.disaster_recovery.rpo_seconds["database"]
    try:
        scale = float(read_status(stack_dir / "backups" / "agent-status.json")["time_scale"])
    except (OSError, ValueError) as error:
        raise DrillCannotRun(f"no backup agent status in {stack_dir}/backups ({error})") from error
    age = None
    with timeline.step("the newest backup restores and verifies", keep_going=True) as step:
        client: MongoClient[Any] = MongoClient(store_uri(stack_dir), serverSelectionTimeoutMS=5000)
        loaded = backup.load(DirectoryLocation(stack_dir / "backups"), None, service_name())
        problems = backup.verify(client, loaded)
        step.notes.extend(problems or [f"{loaded.archive_name} matches its manifest"])
        step.check("collections that differ after a scratch restore", len(problems), "==", 0)
        if loaded.manifest:
            age = (
                time.time()
                - datetime.fromisoformat(loaded.manifest.taken_at.replace("Z", "+00:00")).timestamp()
            )
            step.measured["backup_age_seconds"] = round(age, 2)
            step.check("newest backup's age", age, "<=", rpo * scale, "s")
    with timeline.step("the backup schedule can meet the RPO", keep_going=True) as step:
        plan = schedule.read(ctx.cronjob)
        step.measured["worst_backup_age_seconds"] = plan.worst_backup_age_seconds
        step.check(
            "worst backup age (interval + late start + run)", plan.worst_backup_age_seconds, "<=", rpo, "s"
        )
        step.notes.append(f"{plan.cron}: {plan.interval_seconds:g} + {plan.starting_deadline_seconds:g} + "
                          f"{plan.active_deadline_seconds:g} s vs RPO {rpo:g} s")  # fmt: skip
    with (
        timeline.step("backup/restore scripts and DR plan checked together", keep_going=True) as step,
        tempfile.TemporaryDirectory() as tmp,
    ):
        files = ctx.ops_files or extract(SEED_DIR, Path(tmp))
        findings = lint(files).findings
        step.notes.extend(str(f).replace(tmp + "/", "seed:") for f in findings)
        step.check("findings in the operations files", len(findings), "==", 0)
    return {"rto": None, "rpo": {"backup age": (age, rpo * scale)}, "lost": None, "audit": "-"}
