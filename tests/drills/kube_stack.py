"""A kubernetes target over a local stack for the drills' tests: the test double of the Kubernetes API
(tests/harness/kube_api_double.py) whose Deployment controller drives the stack's real pods, and a
target file pointing at the stack's mesh (base_url) and Prometheus. Over several stacks (regions), one
double each, a cluster of its own, reached through its own context of a kubeconfig."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

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
def _double_over(stack_dir: Path) -> Iterator[KubeApiDouble]:
    double = KubeApiDouble()
    controller = LocalPodsController(Pods(StackState.read(stack_dir).url("pods"), timeout=60))
    double.add_deployment(yaml.safe_load((REPO / "deploy/k8s/deployment.yaml").read_text()), controller)
    try:
        yield double
    finally:
        controller.stop()
        double.stop()


@contextmanager
def kube_api_over(
    stack_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[KubeApiDouble]:
    # No kubeconfig: the client connects as chaostoolkit-kubernetes does, to KUBERNETES_HOST.
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    with _double_over(stack_dir) as double:
        monkeypatch.setenv("KUBERNETES_HOST", double.url)
        yield double


@contextmanager
def kube_clusters_over(
    stacks: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[dict[str, KubeApiDouble]]:
    """One double per stack, each its own cluster: a kubeconfig with a context per stack (named as in
    `stacks`), which chaostoolkit-kubernetes loads by the target's `context`."""
    from kubernetes import client
    from kubernetes.config import kube_config

    with ExitStack() as running:
        doubles = {name: running.enter_context(_double_over(d)) for name, d in stacks.items()}
        config = tmp_path / "kubeconfig"
        config.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": next(iter(doubles)),
            "clusters": [{"name": n, "cluster": {"server": d.url}} for n, d in doubles.items()],
            "contexts": [{"name": n, "context": {"cluster": n, "user": "drill"}} for n in doubles],
            "users": [{"name": "drill", "user": {}}],
        }))  # fmt: skip
        monkeypatch.setenv("KUBECONFIG", str(config))
        # the client reads KUBECONFIG once, when imported (kubernetes/config/kube_config.py), and keeps the
        # context it loads last as the default configuration: put back after the test
        monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(config))
        monkeypatch.setattr(client.Configuration, "_default", client.Configuration._default)
        monkeypatch.delenv("KUBERNETES_HOST", raising=False)
        yield doubles


def kube_target_document(
    stack_dir: Path, context: str = "drill-test", **drill_keys: object
) -> dict[str, Any]:
    """A kubernetes target for the stack's Deployment, with the drill keys given."""
    state = StackState.read(stack_dir)
    return {
        "kind": "kubernetes",
        "context": context,
        "namespace": NS,
        "selector": f"app={NAME}",
        "base_url": state.service_url,
        "prometheus_url": state.url("prometheus"),
        "virtual_service": "tron-payment-vs",
        "deployment": NAME,
        **drill_keys,
    }


def kube_target(stack_dir: Path, tmp_path: Path, **drill_keys: object) -> Path:
    """A target file for the stack's Deployment, with the drill keys given."""
    path = tmp_path / "kube.yaml"
    path.write_text(yaml.safe_dump(kube_target_document(stack_dir, **drill_keys)))
    return path
