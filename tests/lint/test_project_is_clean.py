"""The project's own config passes every check (`tronops lint deploy alerts dashboards
docker-compose.yml`, as CI runs it), and the fixed versions of the seed's scripts and plan do too:
together these are the quiet side of every check's test."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from harness.lint.run import load_checks
from tests.lint.helpers import DEPLOY, FIXED, REPO, run

PROJECT = (DEPLOY, REPO / "alerts", REPO / "dashboards", REPO / "docker-compose.yml")


def test_the_project_is_clean() -> None:
    report = run(*PROJECT)
    assert report.findings == [], "\n".join(map(str, report.findings))
    assert report.exit_code == 0
    assert set(report.checked) == {"compose", "grafana-dashboard", "istio", "kubernetes", "prometheus-rules"}


def test_the_fixed_scripts_and_plan_are_clean_beside_deploy() -> None:
    report = run(FIXED, DEPLOY)
    assert report.findings == [], "\n".join(map(str, report.findings))
    assert report.checked["shell"] == 2 and report.checked["dr-plan"] == 1


@pytest.mark.parametrize("check", [c.name for c in load_checks()])
def test_every_check_has_a_failing_fixture_or_test(check: str) -> None:
    """Every registered check has a test that shows it catching its mistake (it names the check)."""
    assert f'"{check}"' in check_test_sources(), f"no test in tests/lint names the check {check}"


@cache
def check_test_sources() -> str:
    return "".join(
        p.read_text() for p in (REPO / "tests" / "lint").glob("test_*.py") if p.name != Path(__file__).name
    )
