"""A game day's run directory, read and checked: day.json (the day's summary, harness/summary.py's
schema), timeline.json (harness/timeline.schema.json) and the step summaries day.json links. The
report reads nothing else, so `tronops report DIR` rebuilds the same page from these files alone.

`RunDirError` names the file and what is wrong with it (`tronops report` exits 2 with it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from harness import summary as run_summary

TIMELINE_SCHEMA = Path(run_summary.__file__).with_name("timeline.schema.json")


class RunDirError(ValueError):
    """A run directory the report cannot read; the message names the file and the problem."""


def seconds(iso: str) -> float:
    """Unix seconds of a summary's time (`2026-11-30T12:00:00Z`)."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Step:
    """One thing the day ran (a day.json step), with the summary it links when it has one."""

    phase: str
    raw: dict[str, Any]
    linked: dict[str, Any] | None = None  # the step's own run summary (load, chaos, drill, audit)
    findings: list[dict[str, Any]] = field(default_factory=list)  # the money audit's, one each

    @property
    def name(self) -> str:
        return str(self.raw["name"])

    @property
    def not_run(self) -> str | None:
        return self.raw.get("not_run")

    @property
    def duration_s(self) -> float:
        return seconds(self.raw["ended_at"]) - seconds(self.raw["started_at"])

    @property
    def artefacts(self) -> dict[str, str]:
        return dict(self.raw.get("artefacts", {}))

    def verdicts(self) -> list[dict[str, Any]]:
        return [v for _, v in self.judged()]

    def judged(self) -> list[tuple[str, dict[str, Any]]]:
        """(where, verdict): the step's own verdicts (where ""); when it has none, those of every step
        of the summary it links (where: that step's name, e.g. the load run's route group)."""
        own = [("", v) for v in self.raw.get("verdicts", [])]
        return own or [(s["name"], v) for s in self.linked_steps() for v in s.get("verdicts", [])]

    def errors(self) -> list[str]:
        """What broke: the step's own error and those of the linked summary's steps."""
        errors = [self.raw["error"]] if "error" in self.raw else []
        return errors + [f"{s['name']}: {s['error']}" for s in self.linked_steps() if "error" in s]

    def measured(self) -> dict[str, float]:
        """Every figure the step and its linked summary measured (the step's own win)."""
        figures: dict[str, float] = {}
        for s in self.linked_steps():
            figures |= s.get("measured", {})
        return figures | self.raw.get("measured", {})

    def linked_steps(self) -> list[dict[str, Any]]:
        if not self.linked:
            return []
        return [s for phase in self.linked["phases"] for s in phase["steps"]]


@dataclass(frozen=True)
class RunDir:
    path: Path
    day: dict[str, Any]
    timeline: dict[str, Any]
    steps: list[Step] = field(default_factory=list)

    def phase(self, name: str) -> list[Step]:
        return [s for s in self.steps if s.phase == name]


def read(path: Path) -> RunDir:
    """The run directory, every file checked against its schema; RunDirError naming what is wrong."""
    if not path.is_dir():
        raise RunDirError(f"{path}: not a directory (give the game day's output directory)")
    day = _summary(path / "day.json", "the day's summary")
    if day["kind"] != "gameday":
        raise RunDirError(f"{path / 'day.json'}: kind is {day['kind']!r}, a game day's summary has 'gameday'")
    timeline = _json(path / "timeline.json", "the day's timeline")
    problems = sorted(_timeline_validator().iter_errors(timeline), key=lambda e: list(e.absolute_path))
    if problems:
        where = "/".join(map(str, problems[0].absolute_path)) or "(top)"
        raise RunDirError(f"{path / 'timeline.json'}: {where}: {problems[0].message}")
    steps = []
    for phase in day["phases"]:
        for raw in phase["steps"]:
            linked_name = raw.get("artefacts", {}).get("summary")
            linked = None
            if linked_name and not raw.get("not_run"):
                what = f"the summary of step {phase['name']}/{raw['name']} (day.json links it)"
                linked = _summary(_inside(path, linked_name, what), what)
            steps.append(Step(phase["name"], raw, linked, _findings(path, raw)))
    return RunDir(path, day, timeline, steps)


def _findings(root: Path, raw: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings file a money-audit step links (`tronops audit --format json`): each finding."""
    relative = raw.get("artefacts", {}).get("findings")
    if not relative or raw.get("not_run"):
        return []
    what = f"the findings of step {raw['name']} (day.json links them)"
    path = _inside(root, relative, what)
    found = _json(path, what).get("findings")
    if not isinstance(found, list) or not all(isinstance(f, dict) and "kind" in f for f in found):
        raise RunDirError(f"{path}: 'findings' must be a list of findings with a 'kind' ({what})")
    return found


def _inside(root: Path, relative: str, what: str) -> Path:
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()):
        raise RunDirError(f"{root / 'day.json'}: {what} is {relative!r}, outside the run directory")
    return target


def _json(path: Path, what: str) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise RunDirError(f"{path}: missing ({what})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RunDirError(f"{path}: unreadable ({what}): {error}") from None
    except json.JSONDecodeError as error:
        raise RunDirError(f"{path}: not JSON ({what}): {error}") from None
    if not isinstance(document, dict):
        raise RunDirError(f"{path}: {what} must be a JSON object, not {type(document).__name__}")
    return document


def _summary(path: Path, what: str) -> dict[str, Any]:
    document = _json(path, what)
    try:
        run_summary.validate(document)
    except run_summary.SummaryError as error:
        raise RunDirError(f"{path}: not a run summary ({what}): {error}") from None
    return document


@cache
def _timeline_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(TIMELINE_SCHEMA.read_text())
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
