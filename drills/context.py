"""What every drill gets: where the target is, what it may measure against, and how to say progress."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from drills.schedule import CRONJOB
from drills.timeline import DrillCannotRun
from harness.objectives import Objectives, current
from harness.target import DEFAULT_STACK_DIR, KubernetesTarget, LocalTarget, Target, TargetError
from harness.target import load as load_target

# Locally the backup schedule runs x0.05 (stack/topology.py); RTO is held to the local bound.
LOCAL_RTO_SECONDS = 60.0
RTO_WINDOW = 10  # consecutive requests within the latency SLO that make "serving again"


@dataclass
class DrillContext:
    target: Target
    objectives: Objectives = field(default_factory=current)
    say: Callable[[str], object] = print
    ops_files: list[Path] = field(default_factory=list)  # backup-check: a team's scripts and DR plan
    cronjob: Path = CRONJOB  # backup-check: the backup CronJob whose schedule must meet the RPO
    shipped: str | None = None  # region-loss: where the secondary reads the primary's backups (a
    # directory or s3://; default: where the primary's agent ships them)

    @property
    def local(self) -> LocalTarget:
        if not isinstance(self.target, LocalTarget):
            raise DrillCannotRun("this drill acts on the local stack only so far (its store and backups)")
        return self.target

    def kube_needs(self, target: KubernetesTarget, key: str, what_for: str) -> str:
        """An optional key of the kubernetes target this drill needs; DrillCannotRun (exit 2) naming the
        file, the key and what to write when it is missing."""
        try:
            return target.needs(key, what_for)
        except TargetError as error:
            raise DrillCannotRun(str(error)) from error

    @property
    def stack_dir(self) -> Path:
        return self.local.stack_dir

    def secret(self) -> str:
        from stack.local import LOCAL_SECRETS

        return os.environ.get("JWT_SECRET") or LOCAL_SECRETS["JWT_SECRET"]

    def latency_slo_seconds(self) -> float:
        threshold = next(s.threshold_seconds for s in self.objectives.slos if s.kind == "latency")
        return float(threshold or 2.0)


def target_from(path: Path | None) -> Target:
    try:
        return load_target(path) if path else LocalTarget(DEFAULT_STACK_DIR)
    except TargetError as error:
        raise DrillCannotRun(str(error)) from error
