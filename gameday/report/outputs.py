"""The report's machine-readable side: summary.json (harness/summary.py's schema, kind "gameday", the
verdict and score as the page shows them) and junit.xml (one case per step; not run = skipped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from gameday.report.judge import Judgement, checks_of
from gameday.report.page import outcome
from gameday.report.rundir import RunDir
from harness import summary as run_summary


def summary(run: RunDir, judgement: Judgement, html: Path) -> dict[str, Any]:
    """The day's summary with the report's verdict, plus a `report` phase holding the score and the
    two rules that fail a day whatever its score."""
    day = run.day
    money = sum(c.kind == "money" and c.outcome == "fail" for c in judgement.checks)
    recovery = sum(c.kind == "rto/rpo" and c.outcome == "fail" for c in judgement.checks)
    report_step = {
        "name": "resilience score",
        "started_at": day["started_at"],
        "ended_at": day["ended_at"],
        "measured": {
            "resilience_score_percent": judgement.score,
            "weight_earned": float(judgement.earned_total),
            "weight_total": float(judgement.weight_total),
            "checks": float(len(judgement.checks)),
            "steps_not_run": float(len(judgement.not_run)),
        },
        "verdicts": [
            run_summary.verdict("money findings", float(money), "==", 0.0, "findings"),
            run_summary.verdict("RTO/RPO targets missed", float(recovery), "==", 0.0, "targets"),
        ],
    }
    return {
        "kind": "gameday",
        "name": day["name"],
        "target": day["target"],
        "started_at": day["started_at"],
        "ended_at": day["ended_at"],
        "verdict": judgement.verdict,
        "phases": [*day["phases"], {"name": "report", "steps": [report_step]}],
        "artefacts": {
            "report": html.name,
            "day": "day.json",
            "timeline": "timeline.json",
            "junit": "junit.xml",
        },
    }


def junit(run: RunDir, judgement: Judgement, path: Path) -> Path:
    suite = ElementTree.Element("testsuite", name=f"gameday {run.day['name']}", tests=str(len(run.steps)))
    counts = {"fail": 0, "error": 0, "not-run": 0}
    for step in run.steps:
        case = ElementTree.SubElement(
            suite,
            "testcase",
            classname=f"gameday.{step.phase}",
            name=step.name,
            time=f"{max(step.duration_s, 0.0):.2f}",
        )
        result = outcome(step)
        if result in counts:
            counts[result] += 1
        if result == "not-run":
            ElementTree.SubElement(case, "skipped", message=f"not run: {step.not_run}")
        elif result == "error":
            ElementTree.SubElement(case, "error", message="; ".join(step.errors())[:2000])
        elif result in ("fail", "inconclusive"):
            missed = [f"{c.name}: {c.detail} ({c.outcome})" for c in checks_of(step) if c.outcome != "pass"]
            ElementTree.SubElement(case, "failure", message="; ".join(missed)[:2000])
    suite.set("failures", str(counts["fail"]))
    suite.set("errors", str(counts["error"]))
    suite.set("skipped", str(counts["not-run"]))
    properties = ElementTree.Element("properties")
    for name, value in (
        ("verdict", judgement.verdict),
        ("resilience_score_percent", f"{judgement.score:.1f}"),
    ):
        ElementTree.SubElement(properties, "property", name=name, value=value)
    suite.insert(0, properties)
    ElementTree.ElementTree(suite).write(path, encoding="unicode", xml_declaration=True)
    return path
