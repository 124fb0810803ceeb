"""The rule lint: every class of mistake it claims is reported, in its one-line format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts import lint

GOOD_ALERT: dict[str, Any] = {
    "alert": "TooManyErrors",
    "expr": 'sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05',
    "for": "5m",
    "labels": {"severity": "page"},
    "annotations": {"summary": "s", "description": "d", "runbook_url": "docs/runbooks/TooManyErrors.md"},
}
P95 = "histogram_quantile(0.95, sum by ({by}) (rate(http_request_duration_seconds_bucket[5m])))"
GOOD_RECORD: dict[str, Any] = {
    "record": "job:http_requests:rate5m",
    "expr": "sum by (job) (rate(http_requests_total[5m]))",
}


def _file(tmp_path: Path, *rules: dict[str, Any], prometheus_rule: bool = False, header: str = "") -> Path:
    document: dict[str, Any] = {"groups": [{"name": "g", "rules": list(rules)}]}
    if prometheus_rule:
        document = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "spec": document}
    path = tmp_path / "rules.yaml"
    path.write_text(header + yaml.safe_dump(document, sort_keys=False))
    return path


def _alert(**changes: Any) -> dict[str, Any]:
    """GOOD_ALERT with keys changed; a value of None removes the key."""
    rule = {k: dict(v) if isinstance(v, dict) else v for k, v in GOOD_ALERT.items()}
    for key, value in changes.items():
        if "." in key:
            outer, inner = key.split(".")
            rule[outer].pop(inner) if value is None else rule[outer].update({inner: value})
        elif value is None:
            rule.pop(key)
        else:
            rule[key] = value
    return rule


def test_a_sound_file_has_no_findings(tmp_path: Path) -> None:
    assert lint.lint_file(_file(tmp_path, GOOD_ALERT, GOOD_RECORD)) == []


DEFECTS = {
    "unknown metric": (_alert(expr="rate(http_request_total[5m]) > 1"), "unknown metric http_request_total"),
    "unknown label": (_alert(expr='rate(http_requests_total{code="500"}[5m]) > 1'), "has no label code"),
    "window under 4 scrapes": (
        _alert(expr="rate(http_requests_total[30s]) > 1"),
        "shorter than 4 x the scrape",
    ),
    "unaggregated quantile": (
        _alert(expr="histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m])) > 5"),
        "is not aggregated",
    ),
    "quantile without le": (
        _alert(expr=P95.format(by="route") + " > 5"),
        "drops le",
    ),
    "one-hot gauge above 1": (_alert(expr='tron_network_status{status="down"} > 1'), "can never be true"),
    "ratio above 1": (_alert(expr=GOOD_ALERT["expr"].replace("> 0.05", "> 1")), "can never be true"),
    "ratio below 0": (_alert(expr=GOOD_ALERT["expr"].replace("> 0.05", "< 0")), "can never be true"),
    "quantile above the largest bucket": (
        _alert(expr=P95.format(by="le") + " > 300"),
        "largest finite bucket",
    ),
    "rate of a gauge": (_alert(expr="rate(tron_payout_queue_depth[5m]) > 1"), "a gauge"),
    "grouping by a label nothing has": (
        _alert(expr="sum by (route_group) (rate(http_requests_total[5m])) > 1"),
        "has a label route_group",
    ),
    "not PromQL": (_alert(expr="sum(rate(http_requests_total[5m]) > 1"), "not valid PromQL"),
    "no severity": (_alert(**{"labels.severity": None}), "label severity is missing"),
    "unknown severity": (_alert(**{"labels.severity": "critical"}), "label severity is 'critical'"),
    "no summary": (_alert(**{"annotations.summary": None}), "annotation summary is missing"),
    "no description": (_alert(**{"annotations.description": None}), "annotation description is missing"),
    "no runbook": (_alert(**{"annotations.runbook_url": None}), "annotation runbook_url is missing"),
    "page without for": (_alert(**{"for": None}), "a paging alert needs a `for`"),
    "page with for 0s": (_alert(**{"for": "0s"}), "a paging alert needs a `for`"),
    "record name": (dict(GOOD_RECORD, record="http_requests_rate5m"), "level:metric:operations"),
    "neither alert nor record": ({"expr": "up"}, "either an alert or a record"),
}


@pytest.mark.parametrize("prometheus_rule", [False, True], ids=["plain", "PrometheusRule"])
@pytest.mark.parametrize("defect", DEFECTS)
def test_each_class_of_mistake_is_reported(tmp_path: Path, defect: str, prometheus_rule: bool) -> None:
    rule, problem = DEFECTS[defect]
    findings = lint.lint_file(_file(tmp_path, rule, GOOD_RECORD, prometheus_rule=prometheus_rule))
    assert findings, f"{defect} not reported"
    assert all(problem in f.problem for f in findings), [str(f) for f in findings]
    assert {f.group for f in findings} == {"g"}


def test_a_ticket_needs_no_for(tmp_path: Path) -> None:
    assert lint.lint_file(_file(tmp_path, _alert(**{"for": None, "labels.severity": "ticket"}))) == []


def test_duplicate_alert_names_are_reported(tmp_path: Path) -> None:
    findings = lint.lint_file(_file(tmp_path, GOOD_ALERT, GOOD_ALERT))
    assert [f.problem for f in findings] == ["alert TooManyErrors is defined more than once in this file"]


def test_series_recorded_in_the_same_file_are_known(tmp_path: Path) -> None:
    alert = _alert(expr="job:http_requests:rate5m > 100")
    assert lint.lint_file(_file(tmp_path, GOOD_RECORD, alert)) == []
    assert "unknown metric job:http_requests:rate5m" in lint.lint_file(_file(tmp_path, alert))[0].problem


def test_a_file_may_state_its_scrape_interval(tmp_path: Path) -> None:
    alert = _alert(expr=GOOD_ALERT["expr"].replace("[5m]", "[10s]"))
    assert lint.lint_file(_file(tmp_path, alert))
    assert lint.lint_file(_file(tmp_path, alert, header="# lint: scrape_interval=2s\n")) == []
    assert lint.lint_file(_file(tmp_path, alert), scrape_interval_s=2) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("groups: [", "not YAML"),
        ("scrape_configs: []\n", "not a rule file"),
        ("kind: PrometheusRule\n", "not a rule file"),
    ],
)
def test_files_that_are_not_rule_files(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(text)
    (finding,) = lint.lint_file(path)
    assert problem in finding.problem


def test_cli_prints_one_line_per_finding_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, _alert(**{"labels.severity": "critical", "annotations.runbook_url": None}))
    assert lint.main([str(path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{path}:g:TooManyErrors: label severity is 'critical'; it must be one of page, ticket, info",
        f"{path}:g:TooManyErrors: annotation runbook_url is missing",
    ]


def test_cli_exits_0_when_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert lint.main([str(_file(tmp_path, GOOD_ALERT))]) == 0
    assert capsys.readouterr().out == ""


def test_cli_lints_the_projects_own_rules_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert lint.main([]) == 0, capsys.readouterr().out
