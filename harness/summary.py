"""A run's summary (harness/summary.schema.json): phases of timed steps, their measured figures and
verdicts against thresholds, and links to artefacts. Load, chaos, drills and the game-day report all
write it through `write`, which refuses a summary the schema does not accept."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_FILE = Path(__file__).with_name("summary.schema.json")
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
}


class SummaryError(ValueError):
    """A summary the schema refuses; the message says where and why."""


@cache
def schema() -> dict[str, Any]:
    return dict(json.loads(SCHEMA_FILE.read_text()))


def timestamp(unix_seconds: float) -> str:
    return datetime.fromtimestamp(unix_seconds, UTC).isoformat().replace("+00:00", "Z")


def verdict(
    name: str, measured: float | None, comparison: str, threshold: float, unit: str = ""
) -> dict[str, Any]:
    """One verdict: pass when `measured comparison threshold` holds; inconclusive when none was measured."""
    if measured is None:
        outcome = "inconclusive"
    else:
        outcome = "pass" if COMPARISONS[comparison](measured, threshold) else "fail"
    entry = {"name": name, "measured": measured, "threshold": threshold, "comparison": comparison}
    return entry | ({"unit": unit} if unit else {}) | {"outcome": outcome}


def overall(phases: list[dict[str, Any]]) -> str:
    """fail if any step failed or errored, else inconclusive if any verdict was, else pass."""
    steps = [step for phase in phases for step in phase["steps"]]
    outcomes = [v["outcome"] for step in steps for v in step.get("verdicts", [])]
    if "fail" in outcomes or any("error" in step for step in steps):
        return "fail"
    return "inconclusive" if "inconclusive" in outcomes else "pass"


def schema_problems(json_schema: dict[str, Any], document: dict[str, Any]) -> str:
    """Where and why `document` breaks `json_schema`, in one line; "" when it matches."""
    validator = jsonschema.Draft202012Validator(json_schema, format_checker=jsonschema.FormatChecker())
    problems = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return "; ".join(f"{'/'.join(map(str, p.absolute_path)) or '(top)'}: {p.message}" for p in problems)


def validate(summary: dict[str, Any]) -> None:
    if problems := schema_problems(schema(), summary):
        raise SummaryError(problems)


def write(summary: dict[str, Any], path: Path) -> Path:
    """Validate, then write `summary` as JSON; SummaryError (and nothing written) when invalid."""
    validate(summary)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return path
