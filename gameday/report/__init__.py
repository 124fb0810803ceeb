"""The game day's report, rebuilt from a run directory's JSON alone: report.html for people,
summary.json and junit.xml for machines. `build_report` raises RunDirError (naming the file and the
problem) when the directory cannot be read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gameday.report import outputs, page
from gameday.report.judge import Judgement, judge
from gameday.report.rundir import RunDirError, read
from harness import summary as run_summary

__all__ = ["Report", "RunDirError", "build_report"]


@dataclass(frozen=True)
class Report:
    verdict: str  # pass, fail, inconclusive
    score: float  # percent
    judgement: Judgement
    html: Path
    summary: Path
    junit: Path

    @property
    def exit_code(self) -> int:
        """0 when the day passed; 1 otherwise (failed, or something left unmeasured)."""
        return 0 if self.verdict == "pass" else 1


def build_report(run_dir: Path) -> Report:
    run = read(run_dir)
    judgement = judge(run)
    html = run_dir / "report.html"
    summary = run_summary.write(outputs.summary(run, judgement, html), run_dir / "summary.json")
    junit = outputs.junit(run, judgement, run_dir / "junit.xml")
    html.write_text(page.render(run, judgement))
    return Report(judgement.verdict, judgement.score, judgement, html, summary, junit)
