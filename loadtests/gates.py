"""The gates a load run is judged by, per route group, from the one source of objectives.

- the SLO ceilings: p95 of successful requests under the latency SLO's threshold, p99 under the stated
  tail ceiling, the error ratio within the availability SLO's error budget (each widened by the
  objectives' tolerances), and a throughput floor: a group must serve a stated share of the requests
  the profile offered it (a service that slows its users down must not pass by sending less);
- the regression gates, when a baseline of the same profile on the same target was recorded: p95
  within the baseline's plus a ratio plus milliseconds, the error ratio within the baseline's plus
  a figure. An SLO of 2 s cannot see a 100 ms regression; a baseline can.

Pure functions of recorded counts: the master calls them while the run goes (abort-on-fail, progress)
and the report at its end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import objectives
from harness.summary import verdict
from loadtests.latency import ByGroup, Latencies


@dataclass(frozen=True)
class Ceiling:
    """A bound on one figure of one route group; `quantile` for latencies, None for the error ratio."""

    group: str
    name: str
    threshold: float
    unit: str
    quantile: float | None = None


@dataclass(frozen=True)
class Baseline:
    """A recorded run's figures per route group, to gate a later run of the same profile against."""

    profile: str
    target: str
    scale: float
    read_only: bool  # a read-only run's mix is another load: only runs of the same mode compare
    groups: dict[str, dict[str, float]]  # group -> p95_ms, p99_ms, error_ratio

    @classmethod
    def read(cls, path: Path) -> Baseline:
        raw = json.loads(path.read_text())
        return cls(raw["profile"], raw["target"], float(raw["scale"]), bool(raw["read_only"]), raw["groups"])

    @classmethod
    def of(cls, profile: str, target: str, scale: float, read_only: bool, latencies: ByGroup) -> Baseline:
        groups = {}
        for group, entry in latencies.items():
            p95, p99, errors = entry.percentile(0.95), entry.percentile(0.99), entry.error_ratio()
            if p95 is not None and p99 is not None and errors is not None:
                groups[group] = {"p95_ms": p95, "p99_ms": p99, "error_ratio": errors}
        return cls(profile, target, scale, read_only, groups)

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "profile": self.profile,
            "target": self.target,
            "scale": self.scale,
            "read_only": self.read_only,
            "groups": self.groups,
        }
        path.write_text(json.dumps(document, indent=2) + "\n")
        return path


def ceilings(groups: list[str], baseline: Baseline | None = None) -> list[Ceiling]:
    """Every latency and error bound of `groups`: the SLO ones, then the baseline's where it has the group."""
    facts = objectives.current()
    tolerances = facts.load_gates
    by_name = {gate.name: gate for gate in facts.gates()}
    p95_ms = by_name["p95 latency"].threshold * 1000
    p99_ms = tolerances.p99_ceiling_seconds * 1000
    errors = by_name["error ratio"].threshold
    bounds: list[Ceiling] = []
    for group in groups:
        bounds += [
            Ceiling(group, "p95", p95_ms, "ms", 0.95),
            Ceiling(group, "p99", p99_ms, "ms", 0.99),
            Ceiling(group, "error ratio", errors, "ratio"),
        ]
        recorded = baseline.groups.get(group) if baseline else None
        if recorded:
            # p95 only: a short run's p99 rests on a handful of requests, too few to compare two runs by.
            allowed = (
                recorded["p95_ms"] * (1 + tolerances.regression_latency_ratio)
                + tolerances.regression_latency_ms
            )
            bounds.append(Ceiling(group, "p95 vs baseline", round(allowed, 1), "ms", 0.95))
            allowed_errors = recorded["error_ratio"] + tolerances.regression_error_ratio
            bounds.append(Ceiling(group, "error ratio vs baseline", round(allowed_errors, 6), "ratio"))
    return bounds


def measure(ceiling: Ceiling, latencies: Latencies) -> float | None:
    """The figure a ceiling bounds, or None when the group has too few requests to judge."""
    if latencies.total < objectives.current().load_gates.min_requests:
        return None
    if ceiling.quantile is None:
        return latencies.error_ratio()
    return latencies.percentile(ceiling.quantile)


def judge(
    latencies: ByGroup, offered: dict[str, float], seconds: float, baseline: Baseline | None = None
) -> list[dict[str, Any]]:
    """Every gate's verdict (harness.summary.verdict, with its `group`), in table order."""
    floor_share = objectives.current().load_gates.throughput_floor_share
    verdicts = []
    for group in sorted(offered):
        entry = latencies.get(group, Latencies())
        for ceiling in (c for c in ceilings([group], baseline) if c.group == group):
            figure = measure(ceiling, entry)
            verdicts.append(
                {"group": group} | verdict(ceiling.name, figure, "<=", ceiling.threshold, ceiling.unit)
            )
        floor = round(floor_share * offered[group] / seconds, 2) if seconds else 0.0
        served = round(entry.total / seconds, 2) if seconds and offered[group] else None
        verdicts.append({"group": group} | verdict("throughput", served, ">=", floor, "req/s"))
    return verdicts


def beyond_recovery(ceiling: Ceiling, latencies: Latencies, elapsed: float, remaining: float) -> bool:
    """True when the gate fails even if every request the rest of the run sends is fast and succeeds
    (at the rate seen so far): no later traffic can save it, so the run may stop now."""
    if latencies.total < objectives.current().load_gates.min_requests or elapsed <= 0:
        return False
    to_come = latencies.total / elapsed * remaining
    if ceiling.quantile is None:
        return latencies.failed > ceiling.threshold * (latencies.total + to_come)
    allowed_slow = (1 - ceiling.quantile) * (latencies.ok + to_come)
    return latencies.above(ceiling.threshold) > allowed_slow
