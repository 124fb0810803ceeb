"""A load run's verdict, said three ways: the table and `FAIL` lines an operator reads, JUnit (one case
per gate) for CI, and the run summary (harness/summary.py) the game-day report reads.

Every verdict here is harness.summary.verdict's, plus the `group` it belongs to (a route group, a pod,
or `money`); pure functions of the recorded results, so plain `locust -f` prints the same gates.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness import summary as run_summary
from loadtests import gates, mix
from loadtests.latency import ByGroup, Latencies

Verdict = dict[str, Any]


def latencies_of(results: dict[str, Any]) -> ByGroup:
    return ByGroup.from_wire(results["latencies"])


def judge_results(results: dict[str, Any], baseline: gates.Baseline | None = None) -> list[Verdict]:
    """The route groups' gates for a results file of loadtests/recorder.py."""
    offered = mix.offered(results["user_seconds"], results["pace_seconds"], results["read_only"])
    return gates.judge(latencies_of(results), offered, results["seconds"], baseline)


def overall(verdicts: list[Verdict]) -> str:
    outcomes = {v["outcome"] for v in verdicts}
    return "fail" if "fail" in outcomes else "inconclusive" if "inconclusive" in outcomes else "pass"


def verdict_of_results(results: dict[str, Any]) -> str:
    """Judge and print, for plain `locust -f`: the table, then a line per failing gate."""
    verdicts = judge_results(results)
    print(figures_table(latencies_of(results), results["seconds"], {}))
    print(gates_table(verdicts))
    for line in problem_lines(verdicts):
        print(line)
    return overall(verdicts)


def _ms(figure: float | None) -> str:
    return "-" if figure is None else f"{figure:.1f}"


def shown(figure: float | None, unit: str) -> str:
    if figure is None:
        return "-"
    if unit == "ratio":
        return f"{figure:.2%}"
    if unit == "ms":
        return f"{figure:.1f} ms"
    return f"{figure:g} {unit}".strip()


def figures_table(latencies: ByGroup, seconds: float, server_p95: dict[str, float | None]) -> str:
    """Per route group: client p50/p95/p99 of successful requests, server p95, error ratio, req/s."""
    head = (
        f"{'route group':<12} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'server p95':>10} {'errors':>8} {'req/s':>7}"
    )
    lines = [head]
    everything = Latencies()
    for group in sorted(latencies):
        entry = latencies[group]
        everything.add(entry)
        lines.append(_figures_row(group, entry, seconds, server_p95.get(group)))
    lines.append(_figures_row("all", everything, seconds, None))
    return "\n".join(lines)


def _figures_row(group: str, entry: Latencies, seconds: float, server: float | None) -> str:
    errors = entry.error_ratio()
    return (
        f"{group:<12} {entry.total:>8} {_ms(entry.percentile(0.5)):>8} {_ms(entry.percentile(0.95)):>8} "
        f"{_ms(entry.percentile(0.99)):>8} {_ms(server):>10} "
        f"{'-' if errors is None else f'{errors:.2%}':>8} {entry.total / seconds if seconds else 0:>7.1f}"
    )


def gates_table(verdicts: list[Verdict]) -> str:
    lines = [f"{'route group':<12} {'gate':<24} {'measured':>12}    {'threshold':>14}  verdict"]
    for v in verdicts:
        lines.append(
            f"{v['group']:<12} {v['name']:<24} {shown(v['measured'], v.get('unit', '')):>12} "
            f"{v['comparison']:>2} {shown(v['threshold'], v.get('unit', '')):>14}  {v['outcome'].upper()}"
        )
    return "\n".join(lines)


def problem_lines(verdicts: list[Verdict]) -> list[str]:
    """`FAIL <group>: <gate> <measured>, threshold <comparison> <threshold>` per failing gate; an
    INCONCLUSIVE line per gate that had too little to judge."""
    lines = []
    for v in verdicts:
        unit = v.get("unit", "")
        if v["outcome"] == "fail":
            lines.append(
                f"FAIL {v['group']}: {v['name']} {shown(v['measured'], unit)}, "
                f"threshold {v['comparison']} {shown(v['threshold'], unit)}"
            )
        elif v["outcome"] == "inconclusive":
            lines.append(f"INCONCLUSIVE {v['group']}: {v['name']}: too few requests to judge")
    return lines


def junit(verdicts: list[Verdict], suite: str, path: Path) -> Path:
    """One test case per gate: a failure for a failed gate, skipped for an inconclusive one."""
    failures = sum(v["outcome"] == "fail" for v in verdicts)
    skipped = sum(v["outcome"] == "inconclusive" for v in verdicts)
    root = ET.Element(
        "testsuite", name=suite, tests=str(len(verdicts)), failures=str(failures), skipped=str(skipped)
    )
    for v in verdicts:
        case = ET.SubElement(root, "testcase", classname=f"load.{v['group']}", name=v["name"])
        unit = v.get("unit", "")
        text = f"{shown(v['measured'], unit)}, threshold {v['comparison']} {shown(v['threshold'], unit)}"
        if v["outcome"] == "fail":
            ET.SubElement(case, "failure", message=text)
        elif v["outcome"] == "inconclusive":
            ET.SubElement(case, "skipped", message=f"too few requests to judge ({text})")
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def summary(
    results: dict[str, Any],
    target: str,
    verdicts: list[Verdict],
    measured: dict[str, dict[str, float]],
    artefacts: dict[str, str],
    errors: dict[str, str],
) -> dict[str, Any]:
    """The run as harness/summary.schema.json has it: one phase of steps, a step per group of gates."""
    started, ended = run_summary.timestamp(results["started_at"]), run_summary.timestamp(results["ended_at"])
    steps = []
    for group in dict.fromkeys(v["group"] for v in verdicts):
        step: dict[str, Any] = {
            "name": group,
            "started_at": started,
            "ended_at": ended,
            "measured": {k: v for k, v in measured.get(group, {}).items() if _finite(v)},
            "verdicts": [
                {k: v for k, v in entry.items() if k != "group"}
                for entry in verdicts
                if entry["group"] == group
            ],
        }
        if group in errors:
            step["error"] = errors[group]
        steps.append(step)
    document = {
        "kind": "load",
        "name": results["profile"],
        "target": target,
        "started_at": started,
        "ended_at": ended,
        "verdict": "inconclusive",  # set from the phases below, as every summary's is
        "phases": [{"name": "gates", "steps": steps}],
        "artefacts": artefacts,
    }
    document["verdict"] = run_summary.overall(document["phases"])
    return document


def _finite(figure: Any) -> bool:
    return isinstance(figure, int | float) and math.isfinite(figure)
