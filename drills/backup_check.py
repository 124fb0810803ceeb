"""Drill `backup-check`: the newest backup restores and verifies (a scratch restore against its
manifest), it is younger than the RPO, the backup schedule in deploy/ can meet the RPO, and a team's
backup/restore scripts and DR plan (default: the seed's) agree with each other under the same rules
as `tronops lint` (harness/lint/operations.py), each finding with its line. On a kubernetes target the
backups are read where the target says the CronJob uploads them (`backups`, s3:// or a directory) and
the scratch restore goes to the target's `mongo_url`; nothing of the local stack is used."""

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
from drills.locations import DirectoryLocation, Location, LocationError, open_location
from drills.seed_files import SEED_DIR, extract
from drills.timeline import DrillCannotRun, Timeline
from harness.lint.run import lint
from harness.target import KubernetesTarget


def _kubernetes(ctx: DrillContext, target: KubernetesTarget) -> tuple[Location, str, float]:
    """Where the CronJob uploads (the target's `backups`), a MongoDB for the scratch restore (its
    `mongo_url`), and the schedule's time scale: 1, the cluster runs the CronJob as written."""
    spec = ctx.kube_needs(target, "backups", "backup-check (it reads the backups the CronJob uploads)")
    uri = ctx.kube_needs(
        target, "mongo_url", "backup-check (it verifies the newest backup by a scratch restore)"
    )
    try:
        return open_location(spec), uri, 1.0
    except LocationError as error:
        raise DrillCannotRun(f"{target.source}: backups: {error}") from error


def _local(ctx: DrillContext) -> tuple[Location, str, float]:
    """The local stack's backup agent's directory and store, at the agent's stated time scale."""
    stack_dir = ctx.stack_dir
    try:
        scale = float(read_status(stack_dir / "backups" / "agent-status.json")["time_scale"])
    except (OSError, ValueError) as error:
        raise DrillCannotRun(f"no backup agent status in {stack_dir}/backups ({error})") from error
    return DirectoryLocation(stack_dir / "backups"), store_uri(stack_dir), scale


def run(ctx: DrillContext, timeline: Timeline) -> dict[str, Any]:
    rpo = ctx.objectives.disaster_recovery.rpo_seconds["database"]
    target = ctx.target
    location, uri, scale = _kubernetes(ctx, target) if isinstance(target, KubernetesTarget) else _local(ctx)
    age = None
    with timeline.step("the newest backup restores and verifies", keep_going=True) as step:
        step.notes.append(f"backups at {location.url}")
        client: MongoClient[Any] = MongoClient(uri, serverSelectionTimeoutMS=5000)
        loaded = backup.load(location, None, service_name())
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
