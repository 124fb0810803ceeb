"""The generated dashboard: up to date, with the panels the on-call doc names, following the SLO file."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from alerts import slos
from dashboards import build
from dashboards.build import OUTPUT, render
from dashboards.slo_panels import budget_remaining_title
from tests.support.oncall import PANEL_TITLES

ROWS = ["Overview", "Faults in force", "SLOs", "Pods", "Mesh", "Payout pipeline", "TRON network"]


def _titles(dashboard: dict[str, Any], rows: bool = False) -> list[str]:
    return [p["title"] for p in dashboard["panels"] if (p["type"] == "row") == rows]


def _exprs(dashboard: dict[str, Any], title: str) -> list[str]:
    (panel,) = [p for p in dashboard["panels"] if p["title"] == title]
    return [t["expr"] for t in panel["targets"]]


def test_committed_json_is_up_to_date() -> None:
    assert OUTPUT.read_text() == render(), "run: python -m dashboards.build"


def test_build_is_deterministic() -> None:
    assert render() == render()


def test_check_flag_reports_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "dashboard.json"
    stale.write_text("{}\n")
    assert build.main(["--check", "--output", str(stale)]) == 1
    assert build.main(["--output", str(stale)]) == 0
    assert build.main(["--check", "--output", str(stale)]) == 0


def test_rows_in_order(dashboard: dict[str, Any]) -> None:
    assert _titles(dashboard, rows=True) == ROWS


def test_panel_titles(dashboard: dict[str, Any]) -> None:
    expected = set(PANEL_TITLES) | {budget_remaining_title(s.kind) for s in slos.load().slos}
    assert set(_titles(dashboard)) == expected


def test_every_slo_has_its_panels(dashboard: dict[str, Any]) -> None:
    def queried(slo: slos.Slo, title: str) -> bool:
        matchers = [f'{label}="{value}"' for label, value in slo.labels.items()]
        return any(all(m in expr for m in matchers) for expr in _exprs(dashboard, title))

    for slo in slos.load().slos:
        assert queried(slo, "SLO burn rate"), slo.id
        assert queried(slo, budget_remaining_title(slo.kind)), slo.id


def test_latency_panel_has_every_route_group(dashboard: dict[str, Any]) -> None:
    exprs = " ".join(_exprs(dashboard, "Latency p95 by route group"))
    for group in slos.load().route_groups:
        assert f'route=~"/api/v1/{group}.*"' in exprs


def test_changing_an_slo_changes_the_dashboard() -> None:
    slo_file = slos.load()
    first = slo_file.slos[0]
    tighter = dataclasses.replace(first, objective=0.9995)
    changed = dataclasses.replace(slo_file, slos=[tighter, *slo_file.slos[1:]])
    before, after = json.loads(render(slo_file)), json.loads(render(changed))
    title = budget_remaining_title(first.kind)
    assert _exprs(before, title) != _exprs(after, title)
    assert any(str(tighter.error_budget) in e for e in _exprs(after, "SLO burn rate"))
