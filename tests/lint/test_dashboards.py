"""Dashboard checks: what `tronops dashboards lint` says, on the panel's line; one-hot gauges shown
through value mappings and label values, against the catalogue."""

from __future__ import annotations

import json
from pathlib import Path

from tests.lint.helpers import REPO, SEED, caught, of, run

GENERATED = REPO / "dashboards" / "generated" / "tron-payment-oncall.json"


def test_what_dashboards_lint_says_is_reported_on_the_panels_line() -> None:
    findings = run(SEED / "dashboard.json").findings
    caught(findings, "dashboard", "datasource-variable")
    found = caught(findings, "dashboard", "rate-interval", "panel 'Error Rate'")
    assert '"title": "Error Rate"' in (SEED / "dashboard.json").read_text().splitlines()[found.line - 1]


def test_the_seeds_network_status_panel_reads_a_one_hot_gauge_as_a_flag() -> None:
    found = caught(
        run(SEED / "dashboard.json").findings, "dashboard-meaning", "TRON Network Status", "one-hot"
    )
    assert found.line == 70


def test_a_panel_asking_for_a_label_value_that_never_occurs_is_caught(tmp_path: Path) -> None:
    dashboard = json.loads(GENERATED.read_text())
    panel = next(p for p in dashboard["panels"] if p.get("targets"))
    panel["targets"][0]["expr"] = 'sum(tron_network_status{status="up"})'
    path = tmp_path / "dashboard.json"
    path.write_text(json.dumps(dashboard, indent=2))
    caught(run(path).findings, "dashboard-meaning", 'status="up"', "selects nothing")
    assert of(run(GENERATED).findings, "dashboard-meaning") == []
