"""DIR/timeline.json (harness/timeline.schema.json): what the day looked like from outside.

- Series: Prometheus range queries over the day, per route group and for the whole service, of the
  service's own metrics as the SLOs and chaos/observe.py read them (http_requests_total,
  http_request_duration_seconds, the route label `/api/v1/<group>...`): requests per second, the
  server-error ratio (5xx over all) and p95 in seconds, over the target's rate window.
- Phases: the day's, as it ran them.
- Faults: each experiment's fault actions (from its Chaos Toolkit journal), from when the action
  started to when the rollbacks that proved it gone ended.
- Alerts: firing and resolving as the stack's alert receiver (stack/alertsink) got them from
  Alertmanager, not as Prometheus evaluated them: what on-call would have been paged with.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from harness import objectives, summary
from harness.clients.alertsink import AlertSink
from harness.clients.http import ControlError
from harness.clients.prometheus import Prometheus
from harness.target import LocalTarget, Target

SCHEMA_FILE = Path(summary.__file__).with_name("timeline.schema.json")
POINTS = 240  # per series, whatever the day's length: a step of at least the scrape interval (2 s)
MIN_STEP_S = 2.0
# Method actions that set up or keep traffic, or remove faults: the rest put a fault in force.
NOT_FAULTS = frozenset({"start_payers", "start_creators", "hold", "stop_traffic", "remove_faults"})


class TimelineError(ValueError):
    """A timeline the schema refuses; the message says where."""


@cache
def schema() -> dict[str, Any]:
    return dict(json.loads(SCHEMA_FILE.read_text()))


def queries(window: str, through_mesh: bool) -> list[tuple[str, dict[str, str], str]]:
    """(series name, labels, PromQL) for the whole service and each route group of the SLO file.

    Through the mesh (the local stack): Istio's request metrics as the mesh reports them, which count
    what clients got, the mesh's own answers too (an Istio abort never reaches the service, so the
    service's metrics would show no error while users saw 503s); a group is its VirtualService routes
    (`payouts`, `payouts-retryable`, deploy/istio/virtual-service.yaml). Without the mesh's
    `route_name` label (a cluster's Istio has none): the service's own metrics by route, as the SLOs
    and chaos/observe.py read them."""
    facts = objectives.current()
    selections: list[tuple[dict[str, str], str]]
    if through_mesh:
        service = f'destination_service_name="{facts.identity.app}"'
        selections = [({}, service)] + [
            ({"route_group": group}, f'{service},route_name=~"{group}(-retryable)?"')
            for group in facts.route_groups
        ]
        requests, buckets, seconds = (
            "istio_requests_total",
            "istio_request_duration_milliseconds_bucket",
            1000,
        )
        failed = 'response_code=~"5.."'
    else:
        base = facts.identity.base_path
        selections = [({}, f'route=~"{base}/.*"')] + [
            ({"route_group": group}, f'route=~"{base}/{group}.*"') for group in facts.route_groups
        ]
        requests, buckets, seconds = "http_requests_total", "http_request_duration_seconds_bucket", 1
        failed = 'status=~"5.."'
    found = []
    for labels, selector in selections:
        total = f"sum(rate({requests}{{{selector}}}[{window}]))"
        errors = f"(sum(rate({requests}{{{selector},{failed}}}[{window}])) or vector(0))"
        p95 = f"histogram_quantile(0.95, sum by (le) (rate({buckets}{{{selector}}}[{window}])))"
        found += [
            ("requests_per_second", labels, total),
            ("error_ratio", labels, f"{errors} / {total}"),
            ("p95_seconds", labels, p95 if seconds == 1 else f"{p95} / {seconds}"),
        ]
    return found


def series(
    prometheus: Prometheus, window: str, through_mesh: bool, start: float, end: float, step_s: float
) -> list[dict[str, Any]]:
    found = []
    for name, labels, query in queries(window, through_mesh):
        result = prometheus.query_range(query, start, end, step_s)
        values = result[0]["values"] if result else []
        points = [[float(t), _number(v)] for t, v in values]
        found.append({"name": name, "labels": labels, "query": query, "points": points})
    return found


def _number(text: str) -> float | None:
    value = float(text)
    return None if math.isnan(value) or math.isinf(value) else value


def _rfc3339(text: str) -> str:
    """A journal's time (chaoslib writes naive UTC, no zone) as the schema's date-time."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return summary.timestamp((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def fault_windows(chaos_dir: Path) -> list[dict[str, Any]]:
    """Each experiment's faults, from its journal: the fault action's start to the end of the first
    `remove_faults` after it (in the method or the rollbacks), which proves it gone."""
    windows = []
    for journal_file in sorted(chaos_dir.glob("*/journal.json")):
        journal = json.loads(journal_file.read_text())
        runs = [*(journal.get("run") or []), *(journal.get("rollbacks") or [])]
        for index, run in enumerate(runs[: len(journal.get("run") or [])]):
            activity = run["activity"]
            if activity.get("type") != "action" or activity["provider"].get("func") in NOT_FAULTS:
                continue
            removals = [
                later["end"]
                for later in runs[index + 1 :]
                if later["activity"]["provider"].get("func") == "remove_faults" and later.get("end")
            ]
            gone = removals[0] if removals else runs[-1]["end"]
            windows.append({
                "name": activity["name"], "experiment": journal_file.parent.name,
                "started_at": _rfc3339(run["start"]), "ended_at": _rfc3339(gone),
            })  # fmt: skip
    return windows


def alert_events(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Firing-to-resolved episodes per alert, from the receiver's records (Alertmanager re-sends a
    firing alert each group interval: those repeats belong to the open episode)."""
    episodes: list[dict[str, Any]] = []
    open_by_alert: dict[str, dict[str, Any]] = {}
    for record in sorted(records, key=lambda r: r["received_at"]):
        name = record.get("alertname")
        if not name:
            continue
        at = summary.timestamp(record["received_at"])
        if record.get("status") == "firing" and name not in open_by_alert:
            episode = {"alertname": name, "fired_at": at, "resolved_at": None}
            if severity := (record.get("labels") or {}).get("severity"):
                episode["severity"] = severity
            open_by_alert[name] = episode
            episodes.append(episode)
        elif record.get("status") == "resolved" and name in open_by_alert:
            open_by_alert.pop(name)["resolved_at"] = at
    return episodes


def build(
    out: Path,
    target: Target,
    phases: list[dict[str, Any]],
    start: float,
    end: float,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """The timeline of the day in `out`, from the target's Prometheus and alert receiver."""
    from chaos.settings import WINDOW

    step_s = max(MIN_STEP_S, math.ceil((end - start) / POINTS))
    document: dict[str, Any] = {
        "started_at": summary.timestamp(start),
        "ended_at": summary.timestamp(end),
        "step_seconds": step_s,
        "series": [],
        "phases": phases,
        "faults": fault_windows(out / "chaos"),
        "alerts": [],
    }
    try:
        prometheus, through_mesh = Prometheus(target.prometheus_url), isinstance(target, LocalTarget)
        document["series"] = series(prometheus, WINDOW[target.kind], through_mesh, start, end, step_s)
    except ControlError as error:
        say(f"timeline: no series, Prometheus did not answer: {error}")
    if isinstance(target, LocalTarget):
        try:
            with AlertSink(target.state().url("alertsink")) as sink:
                document["alerts"] = alert_events(sink.alerts(since=start))
        except ControlError as error:
            say(f"timeline: no alerts, the alert receiver did not answer: {error}")
    else:
        say("timeline: alerts are read from the local stack's receiver; this target has none here")
    return document


def validate(document: dict[str, Any]) -> None:
    if problems := summary.schema_problems(schema(), document):
        raise TimelineError(problems)


def write(document: dict[str, Any], path: Path) -> Path:
    """Validate, then write; TimelineError (and nothing written) when the schema refuses it."""
    validate(document)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
