"""deploy/ is the production truth: every kind the service needs is there, every file says what it
fixed, and `tronops lint` finds nothing in it (schemas, probes, security, shutdown timing, env, PDB,
HPA, routes, backup schedule, ...). Each lint check's own test, feeding it a broken copy, is in
tests/lint."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.lint.run import lint

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
FILES = sorted(p for p in DEPLOY.rglob("*") if p.suffix in {".yaml", ".yml"})


def test_the_manifests_are_all_there() -> None:
    kinds = {doc["kind"] for path in FILES for doc in yaml.safe_load_all(path.read_text()) if doc}
    assert kinds >= {
        "Namespace", "Deployment", "Service", "ServiceAccount", "Secret", "ConfigMap",
        "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "CronJob", "VirtualService",
        "DestinationRule", "ServiceMonitor", "PrometheusRule", "Kustomization",
    }  # fmt: skip


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_each_file_starts_with_a_comment_saying_what_changed(path: Path) -> None:
    assert path.read_text().startswith("#"), f"{path} must start with a comment: what was fixed and why"


def test_tronops_lint_finds_nothing_in_deploy() -> None:
    report = lint([DEPLOY])
    assert report.findings == [], "\n".join(map(str, report.findings))
    assert set(report.checked) == {"istio", "kubernetes", "prometheus-rules"} and not report.skipped


def test_replicas_match_the_seed() -> None:
    deployment = yaml.safe_load((DEPLOY / "k8s" / "deployment.yaml").read_text())
    assert deployment["spec"]["replicas"] == 3
