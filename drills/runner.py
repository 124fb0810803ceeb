"""Runs drills by name, prints progress and the table (drill, RTO vs target, RPO vs target per write
kind, writes lost, audit, PASS/FAIL), and writes the run summary (harness/summary.py, with every step's
timeline) and JUnit. Exit 0 when every target held, 1 when one was missed, 2 when a drill could not run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from drills.context import DrillContext
from drills.timeline import DrillCannotRun, Timeline
from harness import summary

DrillFunction = Callable[[DrillContext, Timeline], dict[str, Any]]


@dataclass(frozen=True)
class Drill:
    name: str
    description: str
    module: str  # imported when the drill runs: `drill list` loads none of them

    def function(self) -> DrillFunction:
        from importlib import import_module

        run: DrillFunction = import_module(self.module).run
        return run


DRILLS = {
    d.name: d
    for d in (
        Drill("restore", "database lost just before the next backup: restore it, recover keys, serve again",
              "drills.restore_drill"),
        Drill("region-loss", "primary region lost whole: the secondary restores its shipped backups, serves",
              "drills.region_loss_drill"),
        Drill("maintenance", "the seed's scale-to-0 maintenance, then a rolling one, drained, under load",
              "drills.maintenance_drill"),
        Drill("backup-check", "newest backup verifies; schedule meets the RPO; scripts and DR plan agree",
              "drills.backup_check"),
    )
}  # fmt: skip


@dataclass
class Result:
    name: str
    timeline: Timeline
    figures: dict[str, Any] = field(default_factory=dict)
    cannot_run: str | None = None
    started: float = 0.0
    ended: float = 0.0

    @property
    def outcome(self) -> str:
        """PASS, FAIL (a target missed or a step failed), INCONCLUSIVE (nothing missed, something unmeasured)
        or ERROR (could not run)."""
        if self.cannot_run:
            return "ERROR"
        verdicts = self.timeline.verdicts()
        if any(v["outcome"] == "fail" for v in verdicts) or any(s.error for s in self.timeline.steps):
            return "FAIL"
        return "INCONCLUSIVE" if any(v["outcome"] == "inconclusive" for v in verdicts) else "PASS"


def run(names: list[str], ctx: DrillContext) -> list[Result]:
    results = []
    for name in names:
        timeline = Timeline(name, ctx.say)
        result = Result(name, timeline, started=time.time())
        try:
            result.figures = DRILLS[name].function()(ctx, timeline)
        except DrillCannotRun as error:
            result.cannot_run = str(error)
            ctx.say(f"[{name}] cannot run: {error}")
        except Exception as error:  # a step that broke: recorded on its step, the drill failed
            ctx.say(f"[{name}] failed: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
        result.ended = time.time()
        results.append(result)
    return results


def exit_code(results: list[Result]) -> int:
    outcomes = {r.outcome for r in results}
    if "ERROR" in outcomes:
        return 2
    return 1 if outcomes & {"FAIL", "INCONCLUSIVE"} else 0


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _why(result: Result) -> str:
    missed = [v["name"] for v in result.timeline.verdicts() if v["outcome"] != "pass"]
    broken = [f"{s.name} ({s.error})" for s in result.timeline.steps if s.error]
    return f": {'; '.join(broken + missed)}" if broken or missed else ""


def table(results: list[Result]) -> str:
    rows = [("drill", "RTO (target)", "RPO per kind (target)", "writes lost", "audit", "result")]
    for r in results:
        rto = r.figures.get("rto")
        rpo = r.figures.get("rpo") or {}
        rows.append(
            (
                r.name,
                f"{_seconds(rto[0])} ({_seconds(rto[1])})" if rto else "-",
                "; ".join(f"{kind} {_seconds(got)} ({_seconds(want)})" for kind, (got, want) in rpo.items())
                or "-",
                "-" if r.figures.get("lost") is None else str(r.figures["lost"]),
                str(r.figures.get("audit", "-")),
                r.outcome + (f": {r.cannot_run}" if r.cannot_run else _why(r)),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    )


def write_outputs(results: list[Result], target: str, out: Path) -> tuple[Path, Path]:
    """The run summary (drills-summary.json) and JUnit (drills-junit.xml) in `out`."""
    phases = [{"name": r.name, "steps": [s.as_dict() for s in r.timeline.steps]} for r in results]
    junit = out / "drills-junit.xml"
    run_summary = {
        "kind": "drill",
        "name": "+".join(r.name for r in results) or "none",
        "target": target,
        "started_at": summary.timestamp(min((r.started for r in results), default=time.time())),
        "ended_at": summary.timestamp(max((r.ended for r in results), default=time.time())),
        "verdict": "fail" if exit_code(results) else "pass",
        "phases": phases,
        "artefacts": {"junit": str(junit)},
    }
    if any(r.outcome == "INCONCLUSIVE" for r in results) and not any(r.outcome == "FAIL" for r in results):
        run_summary["verdict"] = "inconclusive"
    path = summary.write(run_summary, out / "drills-summary.json")
    suite = ElementTree.Element("testsuite", name="drills", tests=str(len(results)))
    suite.set("failures", str(sum(r.outcome in ("FAIL", "INCONCLUSIVE") for r in results)))
    suite.set("errors", str(sum(r.outcome == "ERROR" for r in results)))
    for r in results:
        case = ElementTree.SubElement(
            suite, "testcase", classname="drills", name=r.name, time=f"{r.ended - r.started:.2f}"
        )
        missed = [f"{v['name']}: {v['measured']} {v['comparison']} {v['threshold']} ({v['outcome']})"
                  for v in r.timeline.verdicts() if v["outcome"] != "pass"]  # fmt: skip
        broken = [f"{s.name}: {s.error}" for s in r.timeline.steps if s.error]
        if r.cannot_run:
            ElementTree.SubElement(case, "error", message=r.cannot_run)
        elif missed or broken:
            ElementTree.SubElement(case, "failure", message="; ".join(broken + missed))
    out.mkdir(parents=True, exist_ok=True)
    ElementTree.ElementTree(suite).write(junit, encoding="unicode", xml_declaration=True)
    return path, junit
