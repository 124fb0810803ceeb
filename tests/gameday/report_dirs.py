"""Small hand-built game-day run directories for the report's rules: each file as the contract in
/work/notes/GAMEDAY.md and the schemas have it, with only what a rule under test needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.summary import timestamp, verdict, write

T0 = 1_790_000_000.0  # a fixed day: the same directory renders the same page


def at(offset_s: float) -> str:
    return timestamp(T0 + offset_s)


def step(name: str, start: float, end: float, **extra: Any) -> dict[str, Any]:
    return {"name": name, "started_at": at(start), "ended_at": at(end)} | extra


def linked(run_dir: Path, relative: str, kind: str, name: str, phases: list[dict[str, Any]]) -> str:
    """Write a step's own run summary under the run directory; the relative path day.json links."""
    document = {
        "kind": kind,
        "name": name,
        "target": "local",
        "started_at": at(0),
        "ended_at": at(60),
        "verdict": "pass",
        "phases": phases,
    }
    write(document, run_dir / relative)
    return relative


def timeline(
    faults: list[dict[str, Any]] | None = None, alerts: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    points = range(0, 301, 5)
    in_fault = range(100, 160)
    return {
        "started_at": at(0),
        "ended_at": at(300),
        "step_seconds": 5,
        "series": [
            {"name": "requests_per_second", "labels": {"route_group": group},
             "points": [[T0 + t, rate] for t in points]}
            for group, rate in (("payouts", 8.0), ("wallets", 12.0))
        ] + [
            {"name": "p95_seconds", "labels": {"route_group": "payouts"},
             "points": [[T0 + t, 0.9 if t in in_fault else 0.05] for t in points]},
            {"name": "error_ratio", "labels": {"route_group": "payouts"},
             "points": [[T0 + t, 0.2 if t in in_fault else (None if t == 200 else 0.0)] for t in points]},
        ],
        "phases": [{"name": "load", "started_at": at(0), "ended_at": at(300)}],
        "faults": faults if faults is not None else [
            {"name": "mesh abort 50% on payouts", "experiment": "01-mesh-abort-payouts",
             "started_at": at(100), "ended_at": at(160)}
        ],
        "alerts": alerts if alerts is not None else [
            {"alertname": "PayoutsErrorBudgetBurn", "severity": "page", "fired_at": at(130),
             "resolved_at": at(200)}
        ],
    }  # fmt: skip


def passing_steps(run_dir: Path) -> list[dict[str, Any]]:
    """A day where everything held: load, one chaos experiment, one drill, the money audit."""
    load = linked(run_dir, "load/baseline/summary.json", "load", "smoke", [{"name": "gates", "steps": [
        step("payouts", 0, 60, measured={"requests": 480, "req_per_s": 8, "p95_ms": 60, "server_p95_ms": 41,
                                         "p99_ms": 90, "error_ratio": 0, "server_error_ratio": 0},
             verdicts=[verdict("p95", 60, "<=", 500, "ms"), verdict("error ratio", 0, "<=", 0.01, "ratio")]),
    ]}])  # fmt: skip
    chaos = linked(run_dir, "chaos/01/summary.json", "chaos", "01-mesh-abort-payouts", [
        {"name": "steady state before", "steps": [step("slo holds", 90, 95)]},
        {"name": "steady state after", "steps": [step("slo holds", 170, 175)]},
        {"name": "expectations", "steps": [step("retries", 160, 160, verdicts=[
            verdict("failed retryable requests", 0, "==", 0),
            verdict("PayoutsErrorBudgetBurn fired (local rules)", 30, "<=", 60, "s"),
            verdict("PayoutsErrorBudgetBurn resolved (local rules)", 40, "<=", 120, "s"),
            verdict("money audit findings", 0, "==", 0),
        ])]},
    ])  # fmt: skip
    drill = restore_drill(run_dir, rto_s=20)
    baseline = {"summary": load, "html": "load/baseline/locust.html"}
    return [
        {"name": "smoke", "steps": [step("smoke suite", 0, 5)]},
        {"name": "load", "steps": [step("baseline", 5, 65, artefacts=baseline)]},
        {"name": "chaos", "steps": [step("01-mesh-abort-payouts", 90, 180, artefacts={
            "summary": chaos, "journal": "chaos/01/journal.json"})]},
        {"name": "drills", "steps": [step("restore", 190, 240, artefacts={"summary": drill})]},
        {"name": "audit", "steps": [step("money audit", 250, 260, measured={"findings": 0}, verdicts=[
            verdict("money audit findings", 0, "==", 0, "findings")])]},
    ]  # fmt: skip


def restore_drill(run_dir: Path, rto_s: float, rto_target_s: float = 60) -> str:
    """The restore drill's own summary (as drills/runner.py writes it); its path relative to run_dir."""
    rto = verdict("RTO", rto_s, "<=", rto_target_s, "s")
    path = "drills/restore/drills-summary.json"
    return linked(run_dir, path, "drill", "restore", [{"name": "restore", "steps": [
        step("canaries: RPO and writes lost", 200, 210, measured={"lost_payout": 0},
             verdicts=[verdict("RPO payout", 4, "<=", 30, "s")]),
        step("serving again", 210, 210 + rto_s, measured={"rto_seconds": rto_s}, verdicts=[rto]),
    ]}])  # fmt: skip


def write_day(run_dir: Path, phases: list[dict[str, Any]], series: dict[str, Any] | None = None) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    day = {
        "kind": "gameday",
        "name": "quick",
        "target": "local",
        "started_at": at(0),
        "ended_at": at(300),
        "verdict": "pass",
        "phases": phases,
    }
    write(day, run_dir / "day.json")
    (run_dir / "timeline.json").write_text(json.dumps(series or timeline(), indent=2))
    return run_dir
