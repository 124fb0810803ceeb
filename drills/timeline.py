"""A drill's timeline: named, timed steps with their measured figures and verdicts, printed as they
happen (progress) and kept for the run summary (harness/summary.py) and the game-day report."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from harness.summary import timestamp, verdict


class DrillCannotRun(RuntimeError):
    """The drill could not be carried out (no target, a fault that would not apply): exit 2, not a miss."""


@dataclass
class Step:
    name: str
    started: float
    ended: float = 0.0
    measured: dict[str, float] = field(default_factory=dict)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def check(
        self, name: str, measured: float | None, comparison: str, threshold: float, unit: str = ""
    ) -> bool:
        self.verdicts.append(verdict(name, measured, comparison, threshold, unit))
        return bool(self.verdicts[-1]["outcome"] == "pass")

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": self.name,
            "started_at": timestamp(self.started),
            "ended_at": timestamp(self.ended),
        }
        if self.measured:
            entry["measured"] = self.measured
        if self.verdicts:
            entry["verdicts"] = self.verdicts
        if self.error:
            entry["error"] = self.error
        return entry


@dataclass
class Timeline:
    drill: str
    say: Callable[[str], object] = print
    steps: list[Step] = field(default_factory=list)

    @contextmanager
    def step(self, name: str, keep_going: bool = False) -> Iterator[Step]:
        """A timed step; an exception is recorded on it so the timeline shows where, and re-raised
        unless the next steps do not depend on this one (`keep_going`)."""
        current = Step(name, time.time())
        self.steps.append(current)
        self.say(f"[{self.drill}] {name} ...")
        try:
            yield current
        except Exception as error:
            current.error = str(error).splitlines()[0] if str(error) else type(error).__name__
            if not keep_going:
                raise
        finally:
            current.ended = time.time()
            failed = [v["name"] for v in current.verdicts if v["outcome"] == "fail"]
            outcome = "error" if current.error else ("FAIL " + ", ".join(failed) if failed else "ok")
            extra = "".join(f"; {note}" for note in current.notes)
            self.say(f"[{self.drill}] {name}: {outcome} ({current.ended - current.started:.1f} s){extra}")

    def verdicts(self) -> list[dict[str, Any]]:
        return [v for step in self.steps for v in step.verdicts]
