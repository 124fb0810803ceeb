"""The backup schedule, read from the backup CronJob in deploy/ (the production truth), and when its
runs fall: at the cron minutes, or, on the local stack, at the same pace times a stated scale (as the
pods' probes are scaled), so the RPO a drill measures is the one the schedule gives."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.lint.workloads import schedule_interval_seconds
from harness.objectives import REPO

CRONJOB = REPO / "deploy" / "k8s" / "backup-cronjob.yaml"


class ScheduleError(ValueError):
    """A backup CronJob that cannot be read; the message names the file and what to fix."""


@dataclass(frozen=True)
class Schedule:
    cron: str
    interval_seconds: float  # the longest gap between two runs
    starting_deadline_seconds: float  # how late a run may start
    active_deadline_seconds: float  # how long a run may take

    @property
    def worst_backup_age_seconds(self) -> float:
        """How old the newest complete backup can be when disaster strikes: the RPO this schedule gives."""
        return self.interval_seconds + self.starting_deadline_seconds + self.active_deadline_seconds

    def scaled(self, time_scale: float) -> Schedule:
        return Schedule(
            f"{self.cron} (x{time_scale:g})",
            self.interval_seconds * time_scale,
            self.starting_deadline_seconds * time_scale,
            self.active_deadline_seconds * time_scale,
        )

    def next_run(self, now: float) -> float:
        """The next run after `now`, on the schedule's grid from the epoch (cron's `*/N` from minute 0)."""
        return (math.floor(now / self.interval_seconds) + 1) * self.interval_seconds


def read(path: Path = CRONJOB) -> Schedule:
    for document in yaml.safe_load_all(path.read_text()):
        if not isinstance(document, dict) or document.get("kind") != "CronJob":
            continue
        spec = document.get("spec") or {}
        try:
            return Schedule(
                str(spec["schedule"]),
                float(schedule_interval_seconds(str(spec["schedule"]))),
                float(spec.get("startingDeadlineSeconds", 0)),
                float(spec["jobTemplate"]["spec"].get("activeDeadlineSeconds", 0)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ScheduleError(f"{path}: spec.schedule cannot be read ({error})") from error
    raise ScheduleError(f"{path}: no CronJob in it")
