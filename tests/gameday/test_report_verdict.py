"""The report's verdict rules and score on small hand-built run directories: money and recovery targets
fail the day whatever the score, a step not run is shown as not run, an error step as an error."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from gameday.report import build_report
from gameday.report.judge import classify
from harness.summary import validate, verdict
from tests.gameday.report_dirs import passing_steps, restore_drill, step, write_day


def phase_of(phases: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(p for p in phases if p["name"] == name)


def row_of(html: str, step_name: str) -> str:
    """The 'Everything the day ran' table row of a step."""
    table = html[html.index("<h2>Everything the day ran</h2>") :]
    start = table.index(f"<td>{step_name}</td>")
    return table[start : table.index("</tr>", start)]


def test_a_day_where_everything_held_passes_with_full_score(tmp_path: Path) -> None:
    report = build_report(write_day(tmp_path, passing_steps(tmp_path)))
    assert (report.verdict, report.score, report.exit_code) == ("pass", 100.0, 0)
    summary = json.loads(report.summary.read_text())
    validate(summary)
    assert (summary["kind"], summary["verdict"]) == ("gameday", "pass")
    scored = phase_of(summary["phases"], "report")["steps"][0]
    assert scored["measured"]["resilience_score_percent"] == 100.0
    suite = ET.parse(report.junit).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("5", "0", "0")
    assert '<div class="badge-big">PASS</div>' in report.html.read_text()


def test_a_money_finding_fails_the_day_despite_a_high_score(tmp_path: Path) -> None:
    phases = passing_steps(tmp_path)
    audit = phase_of(phases, "audit")["steps"][0]
    audit["measured"] = {"findings": 1}
    audit["verdicts"] = [verdict("money audit findings", 1, "==", 0, "findings")]
    report = build_report(write_day(tmp_path, phases))
    assert report.score >= 80, report.judgement.formula()
    assert (report.verdict, report.exit_code) == ("fail", 1)
    assert report.judgement.reasons[0].startswith("money: audit/money audit: money audit findings")
    page = report.html.read_text()
    assert '<div class="badge-big">FAIL</div>' in page
    assert "Money moved wrongly: the day fails whatever the score." in page
    assert "Zero findings" not in page
    verdicts = phase_of(json.loads(report.summary.read_text())["phases"], "report")["steps"][0]["verdicts"]
    assert {v["name"]: v["outcome"] for v in verdicts}["money findings"] == "fail"


def test_a_missed_rto_fails_the_day_despite_a_high_score(tmp_path: Path) -> None:
    phases = passing_steps(tmp_path)
    drill = restore_drill(tmp_path, rto_s=90)
    phase_of(phases, "drills")["steps"][0]["artefacts"] = {"summary": drill}
    report = build_report(write_day(tmp_path, phases))
    assert report.score >= 80, report.judgement.formula()
    assert report.verdict == "fail"
    assert report.judgement.reasons == [
        "recovery target missed: restore: serving again: RTO (90 s, threshold <= 60)"
    ]
    assert "RTO/RPO targets missed" in report.summary.read_text()


def test_a_step_not_run_is_listed_as_not_run_and_not_counted(tmp_path: Path) -> None:
    phases = passing_steps(tmp_path)
    phase_of(phases, "chaos")["steps"] = [
        step("04-all-pods-down", 90, 90, not_run="--quick runs one experiment")
    ]
    report = build_report(write_day(tmp_path, phases))
    assert report.verdict == "pass"
    assert [s.name for s in report.judgement.not_run] == ["04-all-pods-down"]
    assert all(c.step.name != "04-all-pods-down" for c in report.judgement.checks)
    assert "All 6 checks held. 1 step did not run." in report.html.read_text()
    row = row_of(report.html.read_text(), "04-all-pods-down")
    assert "NOT RUN" in row and "PASS" not in row and "--quick runs one experiment" in row
    case = ET.parse(report.junit).getroot().find("testcase[@name='04-all-pods-down']")
    assert case is not None and case.find("skipped") is not None


def test_a_step_that_crashed_is_an_error_and_fails_the_day(tmp_path: Path) -> None:
    phases = passing_steps(tmp_path)
    phase_of(phases, "smoke")["steps"][0]["error"] = "ConnectError: the service did not answer"
    report = build_report(write_day(tmp_path, phases))
    assert report.verdict == "fail"
    row = row_of(report.html.read_text(), "smoke suite")
    assert '<span class="r error">ERROR</span>' in row and "the service did not answer" in row
    case = ET.parse(report.junit).getroot().find("testcase[@name='smoke suite']")
    assert case is not None and case.find("error") is not None


def test_the_score_is_weight_earned_over_weight_at_stake(tmp_path: Path) -> None:
    phases = [{"name": "load", "steps": [step("baseline", 0, 60, verdicts=[
        verdict("p95", 80, "<=", 500, "ms"),  # latency, 5: earned
        verdict("payouts final exactly once", 0, "==", 0),  # money, 10: earned
        verdict("error ratio", 0.2, "<=", 0.01),  # availability, 8: failed
        verdict("replays counted", None, ">=", 1),  # other, 3: unmeasured earns nothing
    ])]}]  # fmt: skip
    report = build_report(write_day(tmp_path, phases))
    assert report.score == 57.7
    assert "= 15 / 26 = 57.7%" in report.judgement.formula()
    assert "money 10/10" in report.judgement.formula()
    assert report.verdict == "fail"
    assert report.judgement.formula() in report.html.read_text()


def test_each_money_audit_finding_is_listed(tmp_path: Path) -> None:
    phases = passing_steps(tmp_path)
    audit = phase_of(phases, "audit")["steps"][0]
    audit["verdicts"] = [verdict("money audit findings", 1, "==", 0, "findings")]
    audit["artefacts"] = {"findings": "audit/findings.json"}
    (tmp_path / "audit").mkdir()
    found = {"kind": "paid_twice", "message": "two transactions for one payout", "operation_id": "op-7",
             "tx_ids": ["aa11", "bb22"], "details": {}}  # fmt: skip
    (tmp_path / "audit" / "findings.json").write_text(json.dumps({"clean": False, "findings": [found]}))
    report = build_report(write_day(tmp_path, phases))
    line = "FINDING paid_twice operation=op-7 tx=aa11,bb22: two transactions for one payout"
    assert f"money: {line}" in report.judgement.reasons
    assert f"<li>{line}</li>" in report.html.read_text()


@pytest.mark.parametrize(
    ("phase", "name", "kind"),
    [  # verdict names as the load, chaos and drill runners write them
        ("load", "payouts final exactly once", "money"),
        ("load", "ledger equals chain (tronops audit)", "money"),
        ("chaos", "money audit findings", "money"),
        ("drills", "retried idempotency keys paid twice", "money"),
        ("drills", "audit findings", "money"),
        ("audit", "anything the money audit judges", "money"),
        ("drills", "RTO", "rto/rpo"),
        ("drills", "RPO funded wallet", "rto/rpo"),
        ("load", "error ratio", "availability"),
        ("chaos", "pods ready again", "availability"),
        ("chaos", "failed retryable requests", "availability"),
        ("chaos", "TronPaymentMeshErrorRate fired (local rules)", "detection"),
        ("load", "p95 vs baseline", "latency"),
        ("drills", "findings in the operations files", "other"),  # scripts, not money
        ("chaos", "replays counted", "other"),
    ],
)
def test_each_check_weighs_by_what_it_guards(phase: str, name: str, kind: str) -> None:
    assert classify(name, phase)[0] == kind
