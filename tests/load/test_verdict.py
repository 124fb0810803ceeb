"""How a verdict is said: a FAIL line per failing gate naming group, figure and threshold; JUnit with
one case per gate; a run summary the schema accepts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness import summary as run_summary
from harness.summary import verdict as one
from loadtests import verdict
from loadtests.latency import ByGroup, Latencies

VERDICTS = [
    {"group": "tron"} | one("p95", 331.4, "<=", 2000.0, "ms"),
    {"group": "tron"} | one("p95 vs baseline", 331.4, "<=", 112.0, "ms"),
    {"group": "payouts"} | one("error ratio", 0.05, "<=", 0.001, "ratio"),
    {"group": "staking"} | one("p99", None, "<=", 5000.0, "ms"),
]


def test_each_failing_gate_gets_one_line_naming_group_figure_and_threshold() -> None:
    assert verdict.problem_lines(VERDICTS) == [
        "FAIL tron: p95 vs baseline 331.4 ms, threshold <= 112.0 ms",
        "FAIL payouts: error ratio 5.00%, threshold <= 0.10%",
        "INCONCLUSIVE staking: p99: too few requests to judge",
    ]
    assert verdict.overall(VERDICTS) == "fail"


def test_junit_has_one_case_per_gate(tmp_path: Path) -> None:
    root = ET.parse(verdict.junit(VERDICTS, "load smoke", tmp_path / "junit.xml")).getroot()
    cases = root.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("load.tron", "p95"),
        ("load.tron", "p95 vs baseline"),
        ("load.payouts", "error ratio"),
        ("load.staking", "p99"),
    ]
    assert [c.find("failure") is not None for c in cases] == [False, True, True, False]
    assert cases[3].find("skipped") is not None and root.get("failures") == "2"


def test_the_summary_is_one_the_schema_accepts(tmp_path: Path) -> None:
    latencies = ByGroup(tron=Latencies())
    latencies["tron"].record(12.0)
    results = {"profile": "smoke", "started_at": 1_700_000_000.0, "ended_at": 1_700_000_060.0}
    document = verdict.summary(
        results, "local", VERDICTS, {"tron": {"p95_ms": 331.4}}, {"junit": "j.xml"}, {}
    )
    run_summary.write(document, tmp_path / "summary.json")  # raises when the schema refuses it
    assert document["verdict"] == "fail"
    assert [step["name"] for step in document["phases"][0]["steps"]] == ["tron", "payouts", "staking"]
