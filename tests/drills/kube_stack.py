"""A kubernetes target over a local stack for the drills' tests: the test double of the Kubernetes API
(tests/harness/kube_api_double.py) whose Deployment controller drives the stack's real pods, and a
target file pointing at the stack's mesh (base_url) and Prometheus."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from harness.clients.pods import Pods
from harness.objectives import REPO
from harness.target import StackState
from tests.harness.kube_api_double import KubeApiDouble
from tests.harness.kube_deployment_controller import LocalPodsController

NS = "lucid-payment"
NAME = "tron-payment-service"


@contextmanager
def kube_api_over(
    stack_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[KubeApiDouble]:
    # No kubeconfig: the client connects as chaostoolkit-kubernetes does, to KUBERNETES_HOST.
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    double = KubeApiDouble()
    monkeypatch.setenv("KUBERNETES_HOST", double.url)
    controller = LocalPodsController(Pods(StackState.read(stack_dir).url("pods"), timeout=60))
    double.add_deployment(yaml.safe_load((REPO / "deploy/k8s/deployment.yaml").read_text()), controller)
    try:
        yield double
    finally:
        controller.stop()
        double.stop()


def kube_target(stack_dir: Path, tmp_path: Path, **drill_keys: object) -> Path:
    """A target file for the stack's Deployment, with the drill keys given."""
    state = StackState.read(stack_dir)
    path = tmp_path / "kube.yaml"
    document = {
        "kind": "kubernetes",
        "context": "drill-test",
        "namespace": NS,
        "selector": f"app={NAME}",
        "base_url": state.service_url,
        "prometheus_url": state.url("prometheus"),
        "virtual_service": "tron-payment-vs",
        "deployment": NAME,
        **drill_keys,
    }
    path.write_text(yaml.safe_dump(document))
    return path
