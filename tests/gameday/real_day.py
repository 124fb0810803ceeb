"""A real (short) game-day run directory for the report's tests, made by the harness's own runners
against a local stack: the load runner (smoke profile, 20 s), one chaos experiment (the mesh abort on
payouts, fault held 15 s), the backup-check drill and the money audit, each as an operator runs it
(`tronops ...` in a subprocess); then day.json and timeline.json as the game-day contract has them,
the series from Prometheus range queries over the run and the alerts as the alert receiver saw them.
The smoke suite is left out on purpose and recorded as not run."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.clients.alertsink import AlertSink
from harness.clients.prometheus import Prometheus
from harness.summary import timestamp, verdict, write
from harness.target import StackState
from tests.cli.tronops_process import run_tronops

REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = "01-mesh-abort-payouts"
# The experiment's fault: from the action that puts it in force to the one that removes it.
FAULT_ACTIONS = ("abort-half-of-the-payouts", "remove-the-abort")
STEP_S = 2.0
RATE = "[20s]"  # several local scrapes
BY_GROUP = (
    'label_replace({metric}, "route_group", "$1", "route_name", "([a-z]+).*")'  # payouts-retryable -> payouts
)


def build(out: Path, state: StackState, target_file: Path) -> Path:
    started = time.time()
    env = {"TRONOPS_STACK_DIR": str(state.run_dir)}
    steps: dict[str, list[dict[str, Any]]] = {"smoke": [], "load": [], "chaos": [], "drills": [], "audit": []}
    at = timestamp(started)
    steps["smoke"].append(
        {"name": "smoke suite", "started_at": at, "ended_at": at, "not_run": "this test runs no smoke suite"}
    )

    def timed(phase: str, name: str, args: list[str], artefacts: dict[str, str], **extra: str) -> None:
        begin = time.time()
        done = run_tronops(*args, env=env | extra, timeout=300)
        step = {"name": name, "started_at": timestamp(begin), "ended_at": timestamp(time.time())}
        missing = [a for a in artefacts.values() if not (out / a).is_file()]
        if missing:  # the runner could not run: its step crashed, the report shows it red
            step["error"] = f"exit {done.code}, no {missing}: {(done.stderr or done.stdout)[-600:]}"
        else:
            step["artefacts"] = artefacts
        steps[phase].append(step)

    target = ["--target", str(target_file)]
    load = ["load", "run", "smoke", "--duration", "20", "--scale", "2"]  # every group past min_requests
    timed("load", "baseline", [*load, *target, "--out", f"{out}/load/baseline"],
          {"summary": "load/baseline/summary.json", "html": "load/baseline/locust.html"})  # fmt: skip
    timed("chaos", EXPERIMENT, ["chaos", "run", EXPERIMENT, *target, "--out", str(out / "chaos")],
          {"summary": f"chaos/{EXPERIMENT}/summary.json", "journal": f"chaos/{EXPERIMENT}/journal.json"},
          TRONOPS_CHAOS_HOLD_S="15")  # fmt: skip
    ours = [
        "--ops-file",
        str(REPO / "deploy/k8s/backup-cronjob.yaml"),
        "--ops-file",
        str(REPO / "docs/dr-runbook.md"),
    ]
    drill = ["drill", "run", "backup-check", *target, *ours]
    timed("drills", "backup-check", [*drill, "--out", f"{out}/drills"],
          {"summary": "drills/drills-summary.json"})  # fmt: skip
    steps["audit"].append(_audit(out, target, env, started))
    ended = time.time()
    day = {
        "kind": "gameday",
        "name": "quick",
        "target": "local",
        "started_at": timestamp(started),
        "ended_at": timestamp(ended),
        "verdict": "inconclusive",  # the report judges the day
        "phases": [{"name": phase, "steps": entries} for phase, entries in steps.items()],
    }
    write(day, out / "day.json")
    timeline = _timeline(out, state, started, ended, [p for p in day["phases"] if p["steps"]])
    (out / "timeline.json").write_text(json.dumps(timeline, indent=2) + "\n")
    return out


def _audit(out: Path, target: list[str], env: dict[str, str], since: float) -> dict[str, Any]:
    begin = time.time()
    since_iso = datetime.fromtimestamp(since - 60, UTC).isoformat()
    done = run_tronops("audit", *target, "--since", since_iso, "--format", "json", env=env, timeout=120)
    step: dict[str, Any] = {
        "name": "money audit",
        "started_at": timestamp(begin),
        "ended_at": timestamp(time.time()),
    }
    if done.code == 2:
        return step | {"error": done.stderr.strip()[-600:]}
    findings = json.loads(done.stdout)
    (out / "audit").mkdir(exist_ok=True)
    (out / "audit" / "findings.json").write_text(json.dumps(findings, indent=2))
    count = len(findings.get("findings", []))
    return step | {
        "measured": {"findings": count, "operations": findings["operations"]},
        "verdicts": [verdict("money audit findings", count, "==", 0, "findings")],
        "artefacts": {"findings": "audit/findings.json"},
    }


def _timeline(
    out: Path, state: StackState, started: float, ended: float, phases: list[dict[str, Any]]
) -> dict[str, Any]:
    prometheus = Prometheus(state.url("prometheus"))
    requests = BY_GROUP.format(metric=f"rate(istio_requests_total{RATE})")
    errors = BY_GROUP.format(metric=f'rate(istio_requests_total{{response_code=~"5.."}}{RATE})')
    buckets = BY_GROUP.format(metric=f"rate(istio_request_duration_milliseconds_bucket{RATE})")
    queries = {
        "requests_per_second": f"sum by (route_group) ({requests})",
        "error_ratio": f"(sum by (route_group) ({errors}) or 0 * sum by (route_group) ({requests}))"
        f" / sum by (route_group) ({requests})",
        "p95_seconds": f"histogram_quantile(0.95, sum by (le, route_group) ({buckets})) / 1000",
    }
    series = []
    for name, query in queries.items():
        found = prometheus.api.custom_query_range(
            query,
            start_time=datetime.fromtimestamp(started, UTC),
            end_time=datetime.fromtimestamp(ended, UTC),
            step=f"{STEP_S:g}s",
        )
        for entry in found:
            points = [[float(t), _number(v)] for t, v in entry["values"]]
            series.append({"name": name, "labels": dict(entry["metric"]), "query": query, "points": points})
    return {
        "started_at": timestamp(started),
        "ended_at": timestamp(ended),
        "step_seconds": STEP_S,
        "series": series,
        "phases": [
            {
                "name": p["name"],
                "started_at": p["steps"][0]["started_at"],
                "ended_at": p["steps"][-1]["ended_at"],
            }
            for p in phases
        ],
        "faults": _faults(out),
        "alerts": _alerts(AlertSink(state.url("alertsink")), started),
    }


def _number(value: str) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None  # NaN: no request in the window


def _faults(out: Path) -> list[dict[str, Any]]:
    journal_file = out / "chaos" / EXPERIMENT / "journal.json"
    if not journal_file.is_file():
        return []
    runs = {run["activity"]["name"]: run for run in json.loads(journal_file.read_text()).get("run", [])}
    put, removed = (runs.get(name) for name in FAULT_ACTIONS)
    if not put or not removed:
        return []
    return [{
        "name": "mesh aborts 50% of payouts with 503",
        "experiment": EXPERIMENT,
        "started_at": _iso(put["start"]),
        "ended_at": _iso(removed["end"]),
    }]  # fmt: skip


def _iso(journal_time: str) -> str:
    """A chaostoolkit journal's time (ISO, with an offset or naive UTC) as the schemas write times."""
    moment = datetime.fromisoformat(journal_time.replace("Z", "+00:00"))
    return timestamp((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _alerts(sink: AlertSink, since: float) -> list[dict[str, Any]]:
    """Each alert's first firing notification and the first resolved one after it (same fingerprint)."""
    records = sorted(sink.alerts(since=since), key=lambda r: r["received_at"])
    alerts: dict[str, dict[str, Any]] = {}
    for record in records:
        key = record["fingerprint"] or record["alertname"]
        if record["status"] == "firing" and key not in alerts:
            alerts[key] = {
                "alertname": record["alertname"],
                "severity": record["labels"].get("severity", ""),
                "fired_at": timestamp(record["received_at"]),
                "resolved_at": None,
            }
        elif record["status"] == "resolved" and key in alerts and alerts[key]["resolved_at"] is None:
            alerts[key]["resolved_at"] = timestamp(record["received_at"])
    return list(alerts.values())
