"""What users saw during each fault, read off the timeline: the worst error ratio and p95 of any route
group inside the fault's window against the minute before it, and which alerts fired for it and how
long after the fault began (and resolved after it ended)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from gameday.report.charts import series_key
from gameday.report.rundir import seconds

BEFORE_S = 60.0  # the "before" a fault's window is compared with
ALERT_AFTER_FAULT_S = 300.0  # an alert firing this long after a fault ended still belongs to it


@dataclass(frozen=True)
class Worst:
    value: float
    group: str
    before: float | None  # the same group's median in the minute before the fault


@dataclass(frozen=True)
class AlertSeen:
    number: int  # A<number> on the plots
    alertname: str
    severity: str
    fired_after_s: float  # since the fault began
    resolved_after_s: float | None  # since the fault ended; None while it still fired at the end


@dataclass(frozen=True)
class FaultImpact:
    number: int  # F<number> on the plots
    name: str
    experiment: str
    started: float
    ended: float
    error_ratio: Worst | None
    p95_seconds: Worst | None
    alerts: list[AlertSeen] = field(default_factory=list)


def impacts(timeline: dict[str, Any]) -> list[FaultImpact]:
    found = []
    for number, fault in enumerate(timeline["faults"], 1):
        start, end = seconds(fault["started_at"]), seconds(fault["ended_at"])
        found.append(
            FaultImpact(
                number,
                fault["name"],
                fault.get("experiment", ""),
                start,
                end,
                _worst(timeline, "error_ratio", start, end),
                _worst(timeline, "p95_seconds", start, end),
                _alerts(timeline, start, end),
            )
        )
    return found


def unexplained_alerts(timeline: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """Alerts that fired outside every fault's window (plus its grace): noise, or a real problem."""
    windows = [(seconds(f["started_at"]), seconds(f["ended_at"])) for f in timeline["faults"]]
    return [
        (number, alert)
        for number, alert in enumerate(timeline["alerts"], 1)
        if not any(_belongs(alert, start, end) for start, end in windows)
    ]


def _belongs(alert: dict[str, Any], start: float, end: float) -> bool:
    return start <= seconds(alert["fired_at"]) <= end + ALERT_AFTER_FAULT_S


def _alerts(timeline: dict[str, Any], start: float, end: float) -> list[AlertSeen]:
    return [
        AlertSeen(
            number,
            alert["alertname"],
            alert.get("severity", ""),
            seconds(alert["fired_at"]) - start,
            seconds(alert["resolved_at"]) - end if alert["resolved_at"] else None,
        )
        for number, alert in enumerate(timeline["alerts"], 1)
        if _belongs(alert, start, end)
    ]


def _worst(timeline: dict[str, Any], metric: str, start: float, end: float) -> Worst | None:
    worst: Worst | None = None
    for s in timeline["series"]:
        if s["name"] != metric:
            continue
        inside = [v for t, v in s["points"] if v is not None and start <= t <= end]
        before = [v for t, v in s["points"] if v is not None and start - BEFORE_S <= t < start]
        if inside and (worst is None or max(inside) > worst.value):
            median = statistics.median(before) if before else None
            worst = Worst(max(inside), series_key(s["labels"]), median)
    return worst
