"""The panels that follow from alerts/slos.yaml: change an SLO there and these change with it.

They read the recording rules the burn-rate alerts are built on (alerts/generated), so the dashboard
shows the very numbers the alerts fire on.
"""

from __future__ import annotations

from collections.abc import Sequence

from grafanalib import core as G
from grafanalib import formatunits as UNITS

from alerts.slos import BurnWindows, Slo, SloFile
from dashboards.layout import Row
from dashboards.panels import Query, Steps, stat, timeseries
from dashboards.queries import p95
from dashboards.variables import SERVICE_FILTER


def budget_remaining_title(kind: str) -> str:
    return f"SLO: {kind} error budget remaining"


def _legend(slo: Slo) -> str:
    return slo.route_group or slo.name


def _budget_remaining(kind: str, slos: Sequence[Slo], slo_file: SloFile) -> G.Stat:
    # The shortest recorded window, sampled once per window: disjoint slices of the SLO window. A slice
    # without traffic records 0/0 = NaN, which `>= 0` drops so that one quiet slice cannot blank it all.
    step = slo_file.windows[0]
    descriptions = " ".join(dict.fromkeys(s.description for s in slos))
    objectives = " ".join(f"{s.id}: objective {s.objective:.2%}." for s in slos)
    return stat(
        budget_remaining_title(kind),
        f"Share of the {slo_file.window} error budget left; below 0 the SLO is missed. {descriptions} "
        f"{objectives}",
        UNITS.PERCENT_UNIT,
        [
            Query(
                f"1 - avg_over_time(({s.recorded_error_ratio(step)} >= 0)[{slo_file.window}:{step}])"
                f" / {s.error_budget}",
                _legend(s),
            )
            for s in slos
        ],
        thresholds=((None, "red"), (0, "orange"), (0.25, "green")),
    )


def _burn_rate(slo_file: SloFile) -> G.TimeSeries:
    """Each SLO's burn over the long window of the fastest-burn page, against that page's threshold."""
    pairs = [pair for alert in slo_file.burn_rate_alerts for pair in alert.windows]
    fastest = max(pairs, key=lambda pair: pair.burn_rate)
    return timeseries(
        "SLO burn rate",
        f"How fast each SLO spends its error budget over the last {fastest.long}: 1 spends exactly the "
        f"budget in {slo_file.window}. The alerts fire at {_pairs(pairs)}.",
        UNITS.SHORT,
        [Query(f"{s.recorded_error_ratio(fastest.long)} / {s.error_budget}", s.id) for s in slo_file.slos],
        thresholds=((None, "green"), (fastest.burn_rate, "red")),
    )


def _pairs(pairs: Sequence[BurnWindows]) -> str:
    return ", ".join(f"{p.burn_rate:g}x over {p.long} and {p.short}" for p in pairs)


def slo_row(slo_file: SloFile) -> Row:
    by_kind: dict[str, list[Slo]] = {}
    for slo in slo_file.slos:
        by_kind.setdefault(slo.kind, []).append(slo)
    budgets = [_budget_remaining(kind, slos, slo_file) for kind, slos in by_kind.items()]
    return Row("SLOs", [*budgets, _burn_rate(slo_file)])


def availability_budget_steps(slo_file: SloFile) -> Steps:
    """A line on the 5xx ratio at each availability SLO's error budget."""
    budgets = sorted({s.error_budget for s in slo_file.slos if s.kind == "availability"})
    return ((None, "green"), *((budget, "red") for budget in budgets))


def latency_by_route_group(slo_file: SloFile) -> G.TimeSeries:
    """One p95 per route group of the latency SLOs, against their threshold."""
    groups = [s for s in slo_file.slos if s.kind == "latency" and s.route_group]
    thresholds = sorted({s.threshold_seconds for s in groups if s.threshold_seconds is not None})
    return timeseries(
        "Latency p95 by route group",
        "95th percentile of /api/v1 request duration per route group; the line is the latency SLO's "
        "threshold.",
        UNITS.SECONDS,
        [
            Query(p95("http_request_duration_seconds", SERVICE_FILTER, s.route_selector()), _legend(s))
            for s in groups
        ],
        thresholds=((None, "green"), *((t, "red") for t in thresholds)),
    )
