"""Experiment 1 can fail: on a stack alerting as the seed did, on the service's own 5xx rate only
(no TronPaymentMeshErrorRate), an abort in the mesh never reaches the service, nothing pages, and the
experiment deviates saying so. About 1.5 minutes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.objectives import REPO
from tests.chaos.live import LiveStack, chaos_run, live_stack

EXPERIMENT = "01-mesh-abort-payouts"
DROPPED = "TronPaymentMeshErrorRate"


def _rules_without_mesh_alert(folder: Path) -> str:
    for path in sorted((REPO / "alerts" / "generated" / "local").glob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        for group in document["groups"]:
            group["rules"] = [rule for rule in group["rules"] if rule.get("alert") != DROPPED]
        (folder / path.name).write_text(yaml.safe_dump(document))
    return str(folder / "*.yaml")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    rules = _rules_without_mesh_alert(tmp_path_factory.mktemp("seed-alerting"))
    yield from live_stack(tmp_path_factory.mktemp("chaos-mesh-abort-variant"), rule_files=(rules,))


def test_without_the_mesh_error_alert_the_experiment_deviates_and_says_why(
    stack: LiveStack, tmp_path: Path
) -> None:
    runner = chaos_run(stack, EXPERIMENT, out=tmp_path)
    stdout, stderr = runner.communicate(timeout=300)
    assert runner.returncode == 1, stdout + stderr[-4000:]
    assert f"{EXPERIMENT}: deviated" in stdout
    assert f"expectation not met: {DROPPED} fired never after the fault" in stdout
    assert "held: retries with the same key reached the service again" in stdout, "the money part held"
    assert stack.mesh.faults() == {}
