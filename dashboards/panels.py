"""Panel builders. Every panel is made here, so each one queries the datasource variable, carries a unit
and gets lettered refIds without any of it being written out by hand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from string import ascii_uppercase
from typing import Any

from grafanalib import core as G

from dashboards.variables import DATASOURCE

# Threshold steps as (from value, colour); the first starts at -infinity (None).
Steps = Sequence[tuple[float | None, str]]
NO_THRESHOLDS: Steps = ((None, "green"),)


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


def _targets(queries: Sequence[Query], instant: bool) -> list[G.Target]:
    if len(queries) > len(ascii_uppercase):
        raise ValueError(f"at most {len(ascii_uppercase)} queries per panel, got {len(queries)}")
    return [
        G.Target(
            expr=q.expr,
            legendFormat=q.legend,
            refId=ref_id,
            datasource=DATASOURCE,
            instant=instant,
            intervalFactor=1,  # full resolution: grafanalib's default of 2 halves it
        )
        for q, ref_id in zip(queries, ascii_uppercase, strict=False)
    ]


def _steps(steps: Steps) -> list[dict[str, Any]]:
    return [{"color": color, "value": value} for value, color in steps]


def timeseries(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[Query],
    *,
    thresholds: Steps = NO_THRESHOLDS,
    stacked: bool = False,
) -> G.TimeSeries:
    return G.TimeSeries(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(queries, instant=False),
        unit=unit,
        thresholds=_steps(thresholds),
        # A threshold here is an SLO or alert line worth seeing against the data.
        thresholdsStyleMode="line" if len(thresholds) > 1 else "off",
        stacking={"mode": "normal", "group": "A"} if stacked else {},
        fillOpacity=30 if stacked else 0,
        valueMin=0,
        tooltipMode="multi",
        legendDisplayMode="table",
        legendCalcs=["lastNotNull", "max"],
    )


def stat(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[Query],
    *,
    thresholds: Steps = NO_THRESHOLDS,
    mappings: Sequence[G.StatValueMappingItem] = (),
) -> G.Stat:
    """A single current value: queried as an instant vector, so no range is wasted on it."""
    return G.Stat(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(queries, instant=True),
        format=unit,
        thresholds=_steps(thresholds),
        mappings=[G.StatValueMappings(*mappings)] if mappings else [],
        colorMode="background",
        graphMode="none",
        reduceCalc="lastNotNull",
        noValue="no data",
    )


def state_timeline(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[Query],
    states: Sequence[tuple[float, float, str, str]],
) -> G.StateTimeline:
    """One lane per series, coloured by state over time: `states` maps value ranges (from, to, text,
    colour) to what they mean, so a window of a fault shows as a labelled band."""
    return G.StateTimeline(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(queries, instant=False),
        thresholds=_steps(NO_THRESHOLDS),
        mappings=[
            {"type": "range", "options": {"from": low, "to": high, "result": {"text": text, "color": color}}}
            for low, high, text, color in states
        ],
        mergeValues=True,
        showValue="never",
        tooltipMode="multi",
        extraJson={"fieldConfig": {"defaults": {"unit": unit}}},  # grafanalib has no unit for this panel
    )
