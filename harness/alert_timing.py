"""How soon an alert can fire and reach the receiver, from its rule and the intervals the stack runs.

From a fault's start, the first sample that shows it is taken by the next scrape (up to one scrape
interval away) and is stored when that scrape ends (up to the scrape timeout later: a target that
does not answer shows only then); the rule's rate window must then hold enough of the fault for the
expression to cross its threshold (at most the whole window: after it, every ratio equals the fault's);
the next evaluation (one evaluation interval) makes the alert pending and `for` later it fires.
Alertmanager holds a new group for group_wait; an alert that joins a group that still exists goes
out with that group's next flush, up to group_interval later.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from alerts.durations import parse_duration
from alerts.promql_syntax import Binary, Node, Subquery, VectorSelector, parse, unwrap, walk
from harness import objectives
from harness.clients.alertmanager import Alertmanager
from harness.clients.prometheus import Prometheus

# Process and HTTP delays on a loaded 2-core machine (three pods, mesh, devnet, Prometheus,
# Alertmanager and the traffic share it), plus the prober's own polling (every 0.25 s); and
# Prometheus -> Alertmanager -> sink: two local HTTP hops, each a few ms unless the machine is busy.
DETECTION = objectives.current().alert_detection


@dataclass(frozen=True)
class Rules:
    alerts: dict[str, dict[str, Any]]  # alert name -> its rule
    records: dict[str, list[dict[str, Any]]]  # series name -> the recording rules writing it

    @classmethod
    def load(cls, pattern: str) -> Rules:
        rules = [
            rule
            for path in sorted(glob.glob(pattern))
            for group in yaml.safe_load(Path(path).read_text())["groups"]
            for rule in group["rules"]
        ]
        records: dict[str, list[dict[str, Any]]] = {}
        for rule in rules:
            if "record" in rule:
                records.setdefault(rule["record"], []).append(rule)
        return cls({rule["alert"]: rule for rule in rules if "alert" in rule}, records)

    def for_seconds(self, alert: str) -> float:
        return parse_duration(str(self.alerts[alert].get("for", "0s")))

    def fill_seconds(self, alert: str) -> float:
        """The longest window the alert needs to fill: per `or` branch, the longest window it reads
        (through the recording rules it selects, too); the alert fires on its quickest branch."""
        return min(
            max(self._windows(branch), default=0.0) for branch in _branches(self.alerts[alert]["expr"])
        )

    def _windows(self, node: Node) -> list[float]:
        windows = []
        for child in walk(node):
            if isinstance(child, VectorSelector | Subquery) and child.range:
                windows.append(parse_duration(child.range))
            if isinstance(child, VectorSelector) and child.name in self.records:
                windows += [
                    w for rule in self.records[child.name] for w in self._windows(parse(rule["expr"]))
                ]
        return windows


def _branches(expr: str) -> list[Node]:
    def split(node: Node) -> list[Node]:
        node = unwrap(node)
        if isinstance(node, Binary) and node.op == "or":
            return [*split(node.lhs), *split(node.rhs)]
        return [node]

    return split(parse(expr))


@dataclass(frozen=True)
class Intervals:
    scrape: float
    scrape_timeout: float
    evaluation: float
    group_wait: float
    group_interval: float

    @classmethod
    def live(cls, prometheus_url: str, alertmanager_url: str) -> Intervals:
        """As the running Prometheus and Alertmanager were configured (their own status APIs)."""
        scrape = Prometheus(prometheus_url).config()["global"]
        with Alertmanager(alertmanager_url) as alertmanager:
            route = alertmanager.config()["route"]
        return cls(
            *(
                parse_duration(scrape[key])
                for key in ("scrape_interval", "scrape_timeout", "evaluation_interval")
            ),
            *(parse_duration(route[key]) for key in ("group_wait", "group_interval")),
        )


@dataclass(frozen=True)
class Bound:
    firing: float
    receipt: float


def bound(rules: Rules, alert: str, intervals: Intervals, onset_s: float, joins_group: bool) -> Bound:
    """Seconds from a fault's start within which `alert` must fire and reach the receiver; `onset_s`
    is how long the fault takes to show in what is measured (e.g. a request's duration is observed
    when it ends)."""
    firing = (
        onset_s
        + intervals.scrape
        + intervals.scrape_timeout
        + rules.fill_seconds(alert)
        + intervals.evaluation
        + rules.for_seconds(alert)
        + DETECTION.slack_seconds
    )
    receipt = (
        firing
        + intervals.group_wait
        + (intervals.group_interval if joins_group else 0.0)
        + DETECTION.notify_slack_seconds
    )
    return Bound(firing, receipt)
