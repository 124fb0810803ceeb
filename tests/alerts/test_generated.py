"""The generated rules: up to date, accepted and unit-tested by promtool, valid as a PrometheusRule,
lint-clean, the local profile a faithful scaled copy, and every alert documented for on-call."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from alerts import generate, lint, slos
from alerts.durations import parse_duration
from alerts.promql import check_expression, read
from tests.support.oncall import PANEL_TITLES

REPO = generate.REPO
SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared" / "schemas"
UNIT_TESTS = sorted(generate.UNIT_TESTS.glob("*.yaml"))


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _rule_files(profile: str) -> list[Path]:
    return sorted((generate.GENERATED / profile).glob("*.yaml"))


def _rules(profile: str) -> list[dict[str, Any]]:
    return [
        rule for path in _rule_files(profile) for group in _load(path)["groups"] for rule in group["rules"]
    ]


def _alerts(profile: str = "production") -> list[dict[str, Any]]:
    return [rule for rule in _rules(profile) if "alert" in rule]


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        print("promtool not found (Debian package `prometheus`): skipping the promtool checks")
        pytest.skip("promtool is not installed (Debian package `prometheus`)")
    return found


def test_generated_files_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "alerts.generate", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_check_names_what_is_out_of_date() -> None:
    files = generate.outputs()
    changed = next(iter(files))
    files[changed] += "# edited\n"
    assert generate.stale(files) == [f"{changed.relative_to(REPO)}: out of date"]


def test_output_is_deterministic() -> None:
    assert generate.outputs() == generate.outputs()


@pytest.mark.parametrize("path", lint.project_rule_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_lint_passes_on_every_generated_file(path: Path) -> None:
    assert [str(f) for f in lint.lint_file(path)] == []


@pytest.mark.parametrize("path", lint.project_rule_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_promtool_check_rules(promtool: str, path: Path, tmp_path: Path) -> None:
    document = _load(path)
    if document.get("kind") == "PrometheusRule":  # promtool reads plain rule files: check what it wraps
        path = tmp_path / "spec.yaml"
        path.write_text(yaml.safe_dump(document["spec"]))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("path", UNIT_TESTS, ids=lambda p: p.name)
def test_promtool_test_rules(promtool: str, path: Path) -> None:
    result = subprocess.run(
        [promtool, "test", "rules", path.name], cwd=path.parent, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    cases = [
        case
        for path in UNIT_TESTS
        for test in _load(path)["tests"]
        for case in test.get("alert_rule_test", [])
    ]
    for alert in (rule["alert"] for rule in _alerts()):
        mine = [case for case in cases if case["alertname"] == alert]
        assert any(case.get("exp_alerts") for case in mine), f"{alert}: no test where it fires"
        assert any(not case.get("exp_alerts") for case in mine), f"{alert}: no test where it must not fire"
        for case in mine:
            for expected in case.get("exp_alerts", []):
                assert "severity" in expected["exp_labels"] and expected["exp_annotations"], (alert, case)


def test_prometheus_rule_is_valid_and_wraps_the_production_groups() -> None:
    schema = json.loads((SCHEMAS / "monitoring.coreos.com" / "prometheusrule_v1.json").read_text())
    document = _load(generate.PROMETHEUS_RULE)
    errors = [str(error) for error in jsonschema_rs.validator_for(schema).iter_errors(document)]
    assert errors == []
    assert (document["apiVersion"], document["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    production = [group for path in _rule_files("production") for group in _load(path)["groups"]]
    assert document["spec"]["groups"] == production


def _windows(rule: dict[str, Any]) -> list[float]:
    return [parse_duration(window) for window in read(rule["expr"]).windows]


def test_local_rules_are_the_production_rules_30_times_quicker_and_say_so() -> None:
    production, local = _rules("production"), _rules("local")
    assert [r.get("alert") or r["record"] for r in production] == [
        r.get("alert") or r["record"] for r in local
    ]
    for prod, loc in zip(production, local, strict=True):
        assert loc["labels"] == prod.get("labels", {}) | {"rules_profile": "local"}
        assert _windows(loc) == [w / generate.LOCAL.factor for w in _windows(prod)]
        assert all(window >= 4 * 2 for window in _windows(loc)), "a window under 4 local scrapes (2 s)"
        if "for" in prod:
            assert parse_duration(loc["for"]) == parse_duration(prod["for"]) / generate.LOCAL.factor
        assert loc.get("annotations") == prod.get("annotations")
    for path in _rule_files("local"):
        assert all(group["name"].endswith("-local") for group in _load(path)["groups"])


def test_each_slo_selects_the_series_recorded_for_it() -> None:
    records = {
        (r["record"], tuple(sorted(r["labels"].items()))) for r in _rules("production") if "record" in r
    }
    for slo in slos.load().slos:
        selector = slo.recorded_error_ratio("1h")
        assert check_expression(selector) == []
        (selected,) = read(selector).selectors
        assert (selected.name, tuple(sorted((m.label, m.value) for m in selected.matchers))) in records


def test_burn_rate_alerts_page_and_ticket_for_every_slo() -> None:
    severities = {rule["alert"]: rule["labels"]["severity"] for rule in _alerts()}
    for slo in ("ApiAvailability", "ApiLatency", "PayoutSuccess"):
        assert severities[f"{slo}FastBurn"] == "page"
        assert severities[f"{slo}SlowBurn"] == "ticket"
    windows = {rule["record"] for rule in _rules("production") if "record" in rule}
    assert windows == {f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")}


@pytest.mark.parametrize("alert", [rule["alert"] for rule in _alerts()])
def test_every_alert_has_a_runbook_that_names_a_dashboard_panel(alert: str) -> None:
    (rule,) = [rule for rule in _alerts() if rule["alert"] == alert]
    runbook = REPO / rule["annotations"]["runbook_url"]
    assert runbook.is_file(), f"{runbook} is missing"
    text = runbook.read_text()
    flowing = " ".join(text.split())  # a panel name may wrap across lines
    assert text.startswith(f"# {alert}\n")
    assert any(f'"{panel}"' in flowing for panel in PANEL_TITLES), "the runbook names no dashboard panel"
    for section in ("## What it means", "## First checks", "## Mitigation"):
        assert section in text
    named = set(re.findall(r'\*\*"([^"]+)"\*\*', flowing))
    assert named <= set(PANEL_TITLES), f"panels that the dashboard does not have: {named - set(PANEL_TITLES)}"


def test_oncall_page_lists_every_alert_with_severity_runbook_and_panel() -> None:
    page = (REPO / "docs" / "oncall.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in page.splitlines() if line.startswith("| ")}
    for rule in _alerts():
        row = rows[rule["alert"]]
        assert f"| {rule['labels']['severity']} |" in row
        assert f"(runbooks/{rule['alert']}.md)" in row
        assert any(f'"{panel}"' in row for panel in PANEL_TITLES)
    assert set(re.findall(r'"([^"]+)"', page)) - set(PANEL_TITLES) == set()
