"""The report of a real short day on a local stack of its own (tests/gameday/real_day.py: load for
20 s at 16 users, one chaos experiment with its fault held 15 s, the backup-check drill, the money
audit; about 1.5 min in all): it tells what happened from the run's own files, renders in headless
Chromium with data in every plot (the screenshot is kept), and `tronops report DIR` rebuilds it from
the JSON alone."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gameday.report import Report, build_report
from gameday.report.browser import check_in_browser
from harness.summary import validate
from harness.target import LocalTarget
from stack import topology
from stack.processes import free_port
from tests.cli.tronops_process import run_tronops
from tests.gameday import real_day

SCREENSHOT = Path(__file__).parents[2] / "var" / "artefacts" / "gameday" / "report.png"


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    stack_dir = tmp_path_factory.mktemp("gameday-stack")
    options = topology.StackOptions(run_dir=stack_dir, port=free_port(), block_interval=0.5, confirmations=2)
    topology.up(options, progress=lambda _line: None)
    target_file = stack_dir / "target.yaml"
    target_file.write_text(yaml.safe_dump({"kind": "local", "stack_dir": str(stack_dir)}))
    try:
        yield real_day.build(tmp_path_factory.mktemp("gameday"), LocalTarget(stack_dir).state(), target_file)
    finally:
        topology.down(stack_dir)


@pytest.fixture(scope="module")
def report(day: Path) -> Report:
    return build_report(day)


def test_the_report_tells_what_the_day_did(day: Path, report: Report) -> None:
    summary = json.loads(report.summary.read_text())
    validate(summary)
    assert (summary["kind"], summary["verdict"]) == ("gameday", report.verdict)
    judged = {c.step.name for c in report.judgement.checks}
    assert {"baseline", real_day.EXPERIMENT, "backup-check", "money audit"} <= judged
    failed = [c for c in report.judgement.checks if c.outcome == "fail"]
    assert (report.verdict == "fail") == bool(failed), report.judgement.reasons
    load = json.loads((day / "load/baseline/summary.json").read_text())
    for gate in [(s["name"], v["name"]) for s in load["phases"][0]["steps"] for v in s["verdicts"]]:
        assert any(
            c.step.name == "baseline" and c.name == ": ".join(gate) for c in report.judgement.checks
        ), gate
    page = report.html.read_text()
    assert "NOT RUN</span> smoke/smoke suite" in page  # left out, and said so
    for group in ("payouts", "wallets"):  # the load runner's own route groups, client and server p95
        assert f"<tr><td>{group}</td>" in page
    timeline = json.loads((day / "timeline.json").read_text())
    assert timeline["faults"] and timeline["faults"][0]["experiment"] == real_day.EXPERIMENT
    assert "mesh aborts 50% of payouts with 503" in page and "F1" in page
    assert any(a["alertname"] == "TronPaymentMeshErrorRate" for a in timeline["alerts"]), timeline["alerts"]
    assert 'href="chaos/01-mesh-abort-payouts/journal.json"' in page
    assert 'href="load/baseline/locust.html"' in page
    assert report.judgement.weight_total > 0 and f"{report.score:.1f}%" in page


def test_the_report_renders_in_a_browser_with_data_in_every_plot(report: Report) -> None:
    check = check_in_browser(report.html, SCREENSHOT)
    print(f"screenshot: {check.screenshot}")
    assert check.script_errors == []
    assert check.external_requests == []
    assert check.plots_with_data == 3


def test_tronops_report_rebuilds_it_from_the_json_alone(day: Path, report: Report, tmp_path: Path) -> None:
    copy = shutil.copytree(day, tmp_path / "copied-day")  # elsewhere: nothing but the directory is read
    for name in ("report.html", "summary.json", "junit.xml"):
        (copy / name).unlink()
    done = run_tronops("report", str(copy))
    assert done.code == report.exit_code, done.stdout + done.stderr
    assert (copy / "report.html").read_text() == report.html.read_text()
    assert (copy / "junit.xml").read_text() == report.junit.read_text()
