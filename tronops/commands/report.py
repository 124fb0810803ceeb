"""`tronops report DIR`: rebuild a game day's report (report.html, summary.json, junit.xml) from the
run directory's JSON alone (gameday/report)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tronops.commands import Commands


def cmd_report(args: argparse.Namespace) -> int:
    from gameday.report import RunDirError, build_report
    from gameday.report.judge import headline

    try:
        report = build_report(args.dir)
    except RunDirError as error:
        print(f"tronops report: {error}", file=sys.stderr)
        return 2
    judgement = report.judgement
    print(f"verdict: {report.verdict.upper()}, resilience score {report.score:.1f}% ({judgement.formula()})")
    print(headline(judgement))
    for reason in judgement.reasons:
        print(f"  {reason}")
    for step in judgement.not_run:
        print(f"  not run: {step.phase}/{step.name}: {step.not_run}")
    print(f"report: {report.html}\nsummary: {report.summary}\njunit: {report.junit}")
    return report.exit_code


def register(commands: Commands) -> None:
    report = commands.add_parser(
        "report",
        help="rebuild a game day's report from its run directory: exit 0 pass, 1 fail, 2 unreadable",
    )
    report.add_argument(
        "dir", type=Path, metavar="DIR", help="the game day's output directory (day.json, timeline.json)"
    )
    report.set_defaults(func=cmd_report)
