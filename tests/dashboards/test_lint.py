"""The dashboard lint: quiet on the generated dashboard, and each kind of mistake it claims is caught."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dashboards.lint import RULES, lint_dashboard, main

Dashboard = dict[str, Any]


def _panel(dashboard: Dashboard, title: str) -> dict[str, Any]:
    (panel,) = [p for p in dashboard["panels"] if p["title"] == title]
    return panel


def _variable(dashboard: Dashboard, name: str) -> dict[str, Any]:
    (variable,) = [v for v in dashboard["templating"]["list"] if v["name"] == name]
    return variable


def _set_expr(title: str, expr: str) -> Callable[[Dashboard], None]:
    def mutate(dashboard: Dashboard) -> None:
        _panel(dashboard, title)["targets"][0]["expr"] = expr

    return mutate


def _set_panel(title: str, key: str, value: Any) -> Callable[[Dashboard], None]:
    def mutate(dashboard: Dashboard) -> None:
        _panel(dashboard, title)[key] = value

    return mutate


def _set_variable(name: str, key: str, value: Any) -> Callable[[Dashboard], None]:
    def mutate(dashboard: Dashboard) -> None:
        _variable(dashboard, name)[key] = value

    return mutate


def _drop_datasource_variable(dashboard: Dashboard) -> None:
    dashboard["templating"]["list"] = [
        v for v in dashboard["templating"]["list"] if v["type"] != "datasource"
    ]


def _hardcode_target_datasource(dashboard: Dashboard) -> None:
    _panel(dashboard, "Request rate")["targets"][0]["datasource"] = {"type": "prometheus", "uid": "prod-prom"}


def _set_unit(unit: str | None) -> Callable[[Dashboard], None]:
    def mutate(dashboard: Dashboard) -> None:
        defaults = _panel(dashboard, "Block height")["fieldConfig"]["defaults"]
        if unit is None:
            del defaults["unit"]
        else:
            defaults["unit"] = unit

    return mutate


def _duplicate_ref_id(dashboard: Dashboard) -> None:
    for target in _panel(dashboard, "Error ratio (5xx)")["targets"]:
        target["refId"] = "A"


def _drop_ref_id(dashboard: Dashboard) -> None:
    del _panel(dashboard, "Request rate")["targets"][0]["refId"]


SEED_P95 = "histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[$__rate_interval]))"
CASES: list[tuple[str, str, Callable[[Dashboard], None]]] = [
    ("datasource-variable", "no datasource variable", _drop_datasource_variable),
    ("datasource-variable", "datasource variable for loki", _set_variable("datasource", "query", "loki")),
    (
        "panel-datasource",
        "hard-coded panel datasource",
        _set_panel("Request rate", "datasource", "Prometheus"),
    ),
    ("panel-datasource", "panel without datasource", _set_panel("USDT transfers", "datasource", None)),
    ("panel-datasource", "hard-coded target datasource", _hardcode_target_datasource),
    (
        "rate-interval",
        "fixed rate window (the seed's)",
        _set_expr("Request rate", 'sum(rate(http_requests_total{job=~"$job"}[5m]))'),
    ),
    (
        "rate-interval",
        "fixed increase window",
        _set_expr("Pod restarts", "sum(increase(kube_pod_container_status_restarts_total[1h]))"),
    ),
    ("panel-unit", "no unit", _set_unit(None)),
    ("panel-unit", "empty unit", _set_unit("")),
    ("panel-unit", "unknown unit", _set_unit("blocks")),
    ("panel-title", "duplicate title", _set_panel("Pod restarts", "title", "Pods ready")),
    ("panel-title", "empty title", _set_panel("Pod restarts", "title", "")),
    ("panel-targets", "no targets", _set_panel("Payout queue depth", "targets", [])),
    ("target-refid", "duplicate refId", _duplicate_ref_id),
    ("target-refid", "missing refId", _drop_ref_id),
    ("template-query", "job variable not a query", _set_variable("job", "type", "custom")),
    (
        "template-query",
        "job variable lists another label",
        _set_variable("job", "query", "label_values(up, pod)"),
    ),
    ("template-query", "instance variable is not label_values", _set_variable("instance", "query", "up")),
    (
        "template-query",
        "instance variable on a fixed datasource",
        _set_variable("instance", "datasource", "Prom"),
    ),
    (
        "template-query",
        "job variable over a metric that does not exist",
        _set_variable("job", "query", "label_values(http_requests, job)"),
    ),
    (
        "template-undefined",
        "undefined variable",
        _set_expr("Block height", 'max(tron_block_height{cluster="$cluster"})'),
    ),
    (
        "promql",
        "unknown metric",
        _set_expr("USDT transfers", "sum(rate(tron_usdt_transfer_total[$__rate_interval]))"),
    ),
    (
        "promql",
        "unknown label",
        _set_expr(
            "USDT transfers", 'sum(rate(tron_usdt_transfers_total{currency="USDT"}[$__rate_interval]))'
        ),
    ),
    ("promql", "quantile not summed by le (the seed's)", _set_expr("Node call latency p95", SEED_P95)),
    ("promql", "empty expression", _set_expr("Payouts processed", "")),
]


def test_generated_dashboard_is_clean(dashboard: Dashboard) -> None:
    assert [str(f) for f in lint_dashboard(dashboard)] == []


def test_every_rule_has_a_case() -> None:
    assert {rule for rule, _, _ in CASES} == set(RULES)


@pytest.mark.parametrize(("rule", "mutate"), [(r, m) for r, _, m in CASES], ids=[d for _, d, _ in CASES])
def test_mistake_is_reported(dashboard: Dashboard, rule: str, mutate: Callable[[Dashboard], None]) -> None:
    mutate(dashboard)
    assert rule in {f.rule for f in lint_dashboard(dashboard)}


def test_cli_exit_codes(dashboard: Dashboard, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    _set_unit(None)(dashboard)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"dashboard": dashboard}))  # the API's wrapping is read too
    capsys.readouterr()
    assert main([str(broken)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{broken}: [panel-unit] panel 'Block height': has no unit"
    ]
    unreadable = tmp_path / "unreadable.json"
    unreadable.write_text("{not json")
    assert main([str(unreadable)]) == 1
