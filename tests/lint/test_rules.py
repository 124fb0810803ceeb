"""Rule checks: what `tronops alerts lint` says, with lines; thresholds beyond the run's resource
limits; absolute error rates; label values and one-hot states against the catalogue."""

from __future__ import annotations

from pathlib import Path

from tests.lint.helpers import DEPLOY, SEED, caught, of, run

SEED_RULES = SEED / "tron-payment-rules.yml"


def _rule(tmp_path: Path, expr: str, name: str = "Broken") -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "groups:\n- name: g\n  rules:\n"
        f"  - alert: {name}\n    expr: '{expr}'\n    for: 5m\n    labels: {{severity: ticket}}\n"
        "    annotations: {summary: s, description: d, runbook_url: https://runbooks/x}\n"
    )
    return path


def test_what_alerts_lint_says_is_reported_on_the_rules_line() -> None:
    findings = run(SEED_RULES).findings
    assert caught(findings, "rules", "severity is 'critical'").line == 5  # the first alert's line
    caught(findings, "rules", "histogram_quantile", "not aggregated")


def test_a_prometheus_rule_object_is_linted_too() -> None:
    assert of(run(DEPLOY / "monitoring" / "prometheusrule.yaml").findings, "rules") == []


def test_a_cpu_threshold_beyond_the_limit_is_caught_only_with_the_manifests() -> None:
    with_limits = run(SEED_RULES, SEED / "deployment.yaml").findings
    found = caught(with_limits, "threshold-beyond-limit", "TronPaymentHighCPUUsage", "0.5 cores")
    assert found.path.endswith("tron-payment-rules.yml") and found.line == 42
    assert of(run(SEED_RULES).findings, "threshold-beyond-limit") == []  # no manifests, no limits


def test_a_memory_threshold_beyond_the_limit_is_caught(tmp_path: Path) -> None:
    over = _rule(tmp_path, 'container_memory_working_set_bytes{container="tron-payment-service"} > 2e9')
    caught(run(over, DEPLOY).findings, "threshold-beyond-limit", "memory limit", "OOM")
    under = _rule(tmp_path, 'container_memory_working_set_bytes{container="tron-payment-service"} > 8e8')
    assert of(run(under, DEPLOY).findings, "threshold-beyond-limit") == []


def test_a_usage_to_limit_ratio_above_one_is_caught(tmp_path: Path) -> None:
    ratio = _rule(
        tmp_path,
        'max(container_memory_working_set_bytes{container="x"}) / max(kube_pod_container_resource_limits'
        '{container="x",resource="memory",unit="byte"}) > 1',
    )
    caught(run(ratio, DEPLOY).findings, "threshold-beyond-limit", "usage / limit > 1")


def test_an_absolute_error_rate_is_caught() -> None:
    found = caught(run(SEED_RULES).findings, "error-ratio", "TronPaymentHighErrorRate", "absolute rate")
    assert found.line == 15


def test_an_error_ratio_is_not_an_absolute_rate(tmp_path: Path) -> None:
    ratio = _rule(
        tmp_path,
        'sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05',
    )
    assert of(run(ratio).findings, "error-ratio") == []


def test_a_label_value_the_metric_never_has_is_caught(tmp_path: Path) -> None:
    wrong = _rule(tmp_path, 'tron_network_status{status="unhealthy"} == 1')
    caught(run(wrong).findings, "metric-meaning", 'status="unhealthy"', "one of degraded, down, healthy")
    regex = _rule(tmp_path, 'kube_pod_status_ready{condition=~"True|TRUE"} == 0')
    caught(run(regex).findings, "metric-meaning", "condition", "selects nothing")


def test_a_one_hot_gauge_read_as_a_flag_is_caught(tmp_path: Path) -> None:
    flag = _rule(tmp_path, "min(tron_network_status) == 0")
    caught(run(flag).findings, "metric-meaning", "one-hot over status")
    chosen = _rule(tmp_path, 'min(tron_network_status{status="down"}) == 1')
    assert of(run(chosen).findings, "metric-meaning") == []
