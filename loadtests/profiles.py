"""The load profiles: stage tables from loadtests/profiles.yaml, scaled in users and stretched in time.

Locust's `LoadTestShape` (loadtests/locustfile.py) asks `Profile.at(run_time)` every second; the gates
ask `offered_requests` what the profile meant to send. Bad input (an unknown profile, a scale that is
not positive) raises `ProfileError` with one line naming what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import yaml

PROFILES_FILE = Path(__file__).with_name("profiles.yaml")


class ProfileError(ValueError):
    """A profile that cannot be run as asked; the message says what to fix."""


@dataclass(frozen=True)
class Stage:
    seconds: float
    users: int
    spawn_rate: float


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    stages: tuple[Stage, ...]
    pace_seconds: float
    memory_gate: bool = False
    judge_each_stage: bool = False

    @property
    def seconds(self) -> float:
        return sum(stage.seconds for stage in self.stages)

    @property
    def peak_users(self) -> int:
        return max(stage.users for stage in self.stages)

    def at(self, run_time: float) -> tuple[int, Stage] | None:
        """(stage index, stage) in force `run_time` seconds into the run; None once it is over."""
        end = 0.0
        for index, stage in enumerate(self.stages):
            end += stage.seconds
            if run_time < end:
                return index, stage
        return None

    def scaled(self, scale: float = 1.0, duration: float | None = None) -> Profile:
        """Users times `scale` (at least one each stage), and the stages stretched to `duration` s."""
        if not scale > 0:
            raise ProfileError(f"--scale must be a positive number, not {scale}")
        if duration is not None and not duration > 0:
            raise ProfileError(f"--duration must be a positive number of seconds, not {duration}")
        stretch = duration / self.seconds if duration else 1.0
        stages = tuple(
            Stage(
                seconds=stage.seconds * stretch,
                users=max(1, round(stage.users * scale)),
                spawn_rate=max(0.1, stage.spawn_rate * scale / min(stretch, 1.0)),
            )
            for stage in self.stages
        )
        return replace(self, stages=stages)

    def summary(self) -> str:
        """One line: name first, then what it does (`tronops load list`)."""
        return (
            f"{self.name:<8} {self.seconds / 60:5.1f} min, up to {self.peak_users:>3} users "
            f"({self.peak_users / self.pace_seconds:.0f} req/s): {self.description}"
        )


@cache
def profiles() -> dict[str, Profile]:
    raw = yaml.safe_load(PROFILES_FILE.read_text())
    pace = float(raw["pace_seconds"])
    return {
        name: Profile(
            name=name,
            description=str(entry["description"]),
            stages=tuple(
                Stage(float(s["seconds"]), int(s["users"]), float(s["spawn_rate"])) for s in entry["stages"]
            ),
            pace_seconds=pace,
            memory_gate=bool(entry.get("memory_gate", False)),
            judge_each_stage=bool(entry.get("judge_each_stage", False)),
        )
        for name, entry in raw["profiles"].items()
    }


def get(name: str, scale: float = 1.0, duration: float | None = None) -> Profile:
    """The profile `name`, scaled; ProfileError names the known ones when it is not one of them."""
    known = profiles()
    if name not in known:
        raise ProfileError(f"unknown profile {name!r}: choose one of {', '.join(known)}")
    return known[name].scaled(scale, duration)
