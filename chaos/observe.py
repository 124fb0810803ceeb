"""What an experiment watches through Prometheus and the alert receiver: the SLOs per route group,
and when each expected alert fired, reached the receiver and resolved, against its bound
(harness/alert_timing.py). Times are measured under the rule profile the target runs: the local
profile divides every window and `for` by 30, so these are not production detection times."""

from __future__ import annotations

import contextlib
import math
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from harness import objectives
from harness.alert_timing import Bound, Intervals, Rules, bound
from harness.clients.alertsink import AlertSink
from harness.clients.prometheus import Prometheus
from harness.objectives import REPO
from harness.waiting import WaitTimeout, wait_for

LOCAL_RULES = str(REPO / "alerts" / "generated" / "local" / "*.yaml")
PRODUCTION_RULES = str(REPO / "alerts" / "generated" / "production" / "*.yaml")
QUIET_GRACE_S = 10.0  # past the resolution bound, as AlertWatch.done allows a late alert


@dataclass(frozen=True)
class GroupState:
    group: str
    error_ratio: float | None  # None: no request in the window
    p95_s: float | None


def _number(result: list[dict[str, Any]]) -> float | None:
    if not result:
        return None
    value = float(result[0]["value"][1])
    return None if math.isnan(value) else value


def _error_ratio(routes: str, window: str) -> str:
    """Server errors over all requests of the selected routes, as the availability SLI counts them."""
    return (
        f'(sum(rate(http_requests_total{{{routes},status=~"5.."}}[{window}])) or vector(0))'
        f" / sum(rate(http_requests_total{{{routes}}}[{window}]))"
    )


def slo_state(prometheus: Prometheus, window: str) -> list[GroupState]:
    """Each route group's server-error ratio and p95 over `window`, as the SLOs define them (the
    service's own http_requests_total and http_request_duration_seconds, alerts/slos.yaml)."""
    facts = objectives.current()
    base = facts.identity.base_path
    states = []
    for group in facts.route_groups:
        routes = f'route=~"{base}/{group}.*"'
        errors = _number(prometheus.query(_error_ratio(routes, window)))
        buckets = f"rate(http_request_duration_seconds_bucket{{{routes}}}[{window}])"
        p95 = _number(prometheus.query(f"histogram_quantile(0.95, sum by (le) ({buckets}))"))
        states.append(GroupState(group, errors, p95))
    return states


def slo_breaches(states: list[GroupState], skip: tuple[str, ...] = ()) -> list[str]:
    """What breaks the SLO file's objectives, one line each; groups in `skip` are not judged."""
    facts = objectives.current()
    budget = facts.slo("availability").error_budget
    latency = float(facts.slo("latency").threshold_seconds or 0)
    lines = []
    for state in states:
        if state.group in skip:
            continue
        if state.error_ratio is not None and state.error_ratio > budget:
            lines.append(f"{state.group}: error ratio {state.error_ratio:.4f} over the budget {budget}")
        if state.p95_s is not None and state.p95_s > latency:
            lines.append(f"{state.group}: p95 {state.p95_s:.2f} s over {latency:g} s")
    return lines


def burn_rate(prometheus: Prometheus, window: str, skip: tuple[str, ...]) -> float | None:
    """How fast the availability budget burns now on the route groups not in `skip`: the error ratio
    over the budget (1 = exactly on budget; the fast-burn page is 14.4)."""
    base = objectives.current().identity.base_path
    groups = "|".join(g for g in objectives.current().route_groups if g not in skip)
    if not groups:
        return None  # every group is under fault: nothing is spared to watch
    routes = f'route=~"{base}/({groups}).*"'
    ratio = _number(prometheus.query(_error_ratio(routes, window)))
    budget = objectives.current().slo("availability").error_budget
    return None if ratio is None else ratio / budget


@dataclass
class AlertTiming:
    """One expected alert, seconds from the fault's start (fired, received) and from the rollback
    (resolved, resolved_received); `bound` from the rule and the stack's intervals."""

    alert: str
    bound: Bound | None
    resolve_bound_s: float | None
    fired_s: float | None = None
    received_s: float | None = None
    resolved_s: float | None = None
    resolved_received_s: float | None = None


@dataclass
class AlertWatch:
    """Polls Prometheus (and the receiver, where the target has one) for the expected alerts."""

    prometheus: Prometheus
    sink: AlertSink | None
    timings: dict[str, AlertTiming]
    fault_at: float
    rollback_at: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> AlertWatch:
        self._thread = threading.Thread(target=self._watch, name="alert-watch", daemon=True)
        self._thread.start()
        return self

    def rolled_back(self) -> None:
        self.rollback_at = time.time()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)

    def done(self, grace_s: float = 10.0) -> bool:
        """Every alert measured, or past its bound by `grace_s` (a late one is still measured, and
        fails; a missing one is not waited for forever)."""
        now = time.time()

        def settled(t: AlertTiming) -> bool:
            if t.bound is None or t.resolve_bound_s is None:
                return t.resolved_s is not None
            if t.fired_s is None or (self.sink is not None and t.received_s is None):
                return now - self.fault_at > t.bound.receipt + grace_s
            if self.rollback_at is None:
                return False
            resolved = t.resolved_s is not None and (self.sink is None or t.resolved_received_s is not None)
            return resolved or now - self.rollback_at > t.resolve_bound_s + t.bound.receipt + grace_s

        return all(settled(t) for t in self.timings.values())

    def _watch(self) -> None:
        deadline = time.monotonic() + 1800  # bounded: a watch never outlives a run by much
        while not self._stop.wait(0.5) and time.monotonic() < deadline:
            try:
                self._poll()
            except Exception:  # a Prometheus hiccup is retried at the next poll; the verdict says "never"
                continue

    def _poll(self) -> None:
        now = time.time()
        firing = {name for name, state in self.prometheus.alert_states() if state == "firing"}
        received = self.sink.first_received("firing", since=self.fault_at) if self.sink else {}
        resolved = (
            self.sink.first_received("resolved", since=self.rollback_at)
            if self.sink and self.rollback_at
            else {}
        )
        for t in self.timings.values():
            if t.fired_s is None and t.alert in firing:
                t.fired_s = now - self.fault_at
            if t.received_s is None and t.alert in received:
                t.received_s = received[t.alert] - self.fault_at
            if self.rollback_at and t.fired_s is not None and t.alert not in firing and t.resolved_s is None:
                t.resolved_s = now - self.rollback_at
            if self.rollback_at and t.resolved_received_s is None and t.alert in resolved:
                t.resolved_received_s = resolved[t.alert] - self.rollback_at


def still_active(prometheus: Prometheus, sink: AlertSink | None, alerts: list[str]) -> dict[str, str]:
    """Each of `alerts` that a fault started now could not be timed against, with why: pending or
    firing in Prometheus (it would count as detected at once), or last delivered to the receiver as
    firing. Alertmanager does not notify again a group whose firing alerts are those its last
    notification carried (until its repeat_interval), so such an alert would never be received after
    the fault; its resolution must have gone out first."""
    states = prometheus.alert_states()
    active = {}
    for alert in alerts:
        reasons = sorted(f"{state} in Prometheus" for name, state in states if name == alert)
        if sink is not None:
            last_status = {r["fingerprint"]: r["status"] for r in sink.alerts(alertname=alert)}
            if "firing" in last_status.values():
                reasons.append("last delivered to the receiver as firing")
        if reasons:
            active[alert] = ", ".join(reasons)
    return active


def wait_until_quiet(prometheus: Prometheus, sink: AlertSink | None, timings: dict[str, AlertTiming]) -> None:
    """Wait until no expected alert is still active from before (an earlier run's fault, another
    experiment's), as long as its resolution may take where its bounds are known; ValueError, before
    any fault, if one stays active. Otherwise it would be "detected" at once and never received."""
    active: dict[str, str] = {}

    def quiet() -> bool:
        nonlocal active
        active = still_active(prometheus, sink, list(timings))
        return not active

    if quiet():
        return
    known = [t.resolve_bound_s + t.bound.receipt for t in timings.values() if t.bound and t.resolve_bound_s]
    wait_s = max(known) + QUIET_GRACE_S if known else 0.0
    print(
        f"[chaos] waiting up to {wait_s:.0f} s for {', '.join(active)} to resolve before the fault "
        f"(still active: {'; '.join(active.values())})",
        file=sys.stderr,
        flush=True,
    )
    if wait_s > 0:
        with contextlib.suppress(WaitTimeout):
            wait_for(quiet, wait_s, "the expected alerts to resolve", interval=1.0)
    if active:
        lines = "; ".join(f"{alert} still active ({why})" for alert, why in active.items())
        raise ValueError(
            f"{lines} {wait_s:.0f} s on, before the fault: a fault started now could not be timed "
            "against it; run again once it has resolved"
        )


def timings_for(
    alerts: list[str], rules_glob: str, intervals: Intervals | None, onset_s: float
) -> dict[str, AlertTiming]:
    """Each alert with its detection bound, and its resolution bound: after the fault ends, the rule's
    window must empty of it, then one evaluation (a resolved alert has no `for`)."""
    rules = Rules.load(rules_glob)
    timings = {}
    for alert in alerts:
        if alert not in rules.alerts:
            raise ValueError(f"no alert rule {alert!r} in {rules_glob}; rules: {sorted(rules.alerts)}")
        if intervals is None:
            timings[alert] = AlertTiming(alert, None, None)
            continue
        resolve = (
            intervals.scrape + intervals.scrape_timeout + rules.fill_seconds(alert) + intervals.evaluation
            + objectives.current().alert_detection.slack_seconds
        )  # fmt: skip
        timings[alert] = AlertTiming(alert, bound(rules, alert, intervals, onset_s, True), resolve)
    return timings
