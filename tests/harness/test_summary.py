"""A run's summary: the schema accepts what load, chaos and drills write, and the writer refuses the rest
(writing nothing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness import summary
from harness.summary import SummaryError


def _summary() -> dict[str, Any]:
    steps = [
        {
            "name": "restore the database",
            "started_at": summary.timestamp(1_700_000_000),
            "ended_at": summary.timestamp(1_700_000_420),
            "measured": {"rto_seconds": 420.0, "rpo_seconds": 120.0},
            "verdicts": [
                summary.verdict("RTO (critical)", 420.0, "<=", 900, "s"),
                summary.verdict("RPO (database)", 120.0, "<=", 300, "s"),
            ],
            "artefacts": {"log": "var/drills/restore.log"},
        }
    ]
    phases = [{"name": "restore", "steps": steps}]
    return {
        "kind": "drill",
        "name": "database restore",
        "target": "local",
        "started_at": steps[0]["started_at"],
        "ended_at": steps[0]["ended_at"],
        "verdict": summary.overall(phases),
        "phases": phases,
        "artefacts": {"junit": "var/drill-junit.xml"},
    }


def _step(written: dict[str, Any]) -> dict[str, Any]:
    step: dict[str, Any] = written["phases"][0]["steps"][0]
    return step


def test_a_drill_summary_is_written(tmp_path: Path) -> None:
    written = summary.write(_summary(), tmp_path / "summary.json")
    assert json.loads(written.read_text())["verdict"] == "pass"


def test_verdicts() -> None:
    assert summary.verdict("p95", 2.5, "<=", 2.0)["outcome"] == "fail"
    assert summary.verdict("p95", None, "<=", 2.0)["outcome"] == "inconclusive"
    failed = _summary()["phases"]
    failed[0]["steps"][0]["verdicts"].append(summary.verdict("RTO (standard)", 2000, "<=", 1800, "s"))
    assert summary.overall(failed) == "fail"


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda s: s.pop("phases"), "'phases' is a required property"),
        (lambda s: s.update(kind="party"), "kind: 'party' is not one of"),
        (lambda s: s.update(started_at="yesterday"), "started_at: 'yesterday' is not a 'date-time'"),
        (
            lambda s: s["phases"][0]["steps"][0]["measured"].update(rto_seconds="7 min"),
            "measured/rto_seconds",
        ),
        (lambda s: s["phases"][0]["steps"][0]["verdicts"][0].pop("threshold"), "'threshold' is a required"),
    ],
)
def test_an_invalid_summary_is_refused_and_nothing_written(
    tmp_path: Path, break_it: Any, message: str
) -> None:
    broken = _summary()
    break_it(broken)
    path = tmp_path / "summary.json"
    with pytest.raises(SummaryError) as error:
        summary.write(broken, path)
    assert message in str(error.value)
    assert not path.exists()
