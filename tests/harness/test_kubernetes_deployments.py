"""The harness's Deployment operations (harness/clients/deployments.py) through the `kubernetes` client,
against the test double of the API server (tests/harness/kube_api_double.py) with a controller whose
status the test sets: what kubectl's scale and rollout restart send, and how rollout status reads it."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from harness.clients.deployments import MERGE_PATCH, RESTARTED_AT, KubernetesDeployment
from harness.clients.http import ControlError
from harness.objectives import REPO
from tests.harness.kube_api_double import KubeApiDouble

NS, NAME = "lucid-payment", "tron-payment-service"
SETTLED = {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3}


class SetStatusController:
    """Records each spec it is given; reports the status the test sets (no pods)."""

    def __init__(self) -> None:
        self.applied: list[dict[str, Any]] = []
        self.now: dict[str, Any] = {"observedGeneration": 1, **SETTLED}

    def apply(self, deployment: dict[str, Any]) -> None:
        self.applied.append(copy.deepcopy(deployment))

    def status(self, deployment: dict[str, Any]) -> dict[str, Any]:
        return dict(self.now)

    def pods(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        return []

    def pod_url(self, name: str) -> str | None:
        return None


@pytest.fixture
def controller() -> SetStatusController:
    return SetStatusController()


@pytest.fixture
def api(controller: SetStatusController) -> Iterator[KubeApiDouble]:
    double = KubeApiDouble()
    double.add_deployment(yaml.safe_load((REPO / "deploy/k8s/deployment.yaml").read_text()), controller)
    yield double
    double.stop()


def _deployment(api: KubeApiDouble, name: str = NAME) -> KubernetesDeployment:
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = api.url
    return KubernetesDeployment(NS, name, client.ApiClient(configuration))


def test_scale_patches_the_scale_subresource_and_the_spec_follows(
    api: KubeApiDouble, controller: SetStatusController
) -> None:
    deployment = _deployment(api)
    assert deployment.replicas() == 3
    assert deployment.scale(0) == 0
    patch = next(c for c in api.calls if c.method == "PATCH")
    assert patch.path == f"/apis/apps/v1/namespaces/{NS}/deployments/{NAME}/scale"
    assert (patch.content_type, patch.body) == (MERGE_PATCH, {"spec": {"replicas": 0}})
    assert controller.applied[-1]["spec"]["replicas"] == 0
    assert deployment.status()["generation"] == 2  # a spec change, through the subresource too
    scale = httpx.get(f"{api.url}{patch.path}").json()
    assert scale["kind"] == "Scale" and scale["status"]["selector"] == "app=tron-payment-service"


def test_rollout_status_reads_a_restart_through_to_its_end_as_kubectl_does(
    api: KubeApiDouble, controller: SetStatusController
) -> None:
    deployment = _deployment(api)
    stamp = deployment.restart()
    annotations = controller.applied[-1]["spec"]["template"]["metadata"]["annotations"]
    assert annotations[RESTARTED_AT] == stamp
    stages = [
        ({"observedGeneration": 1, **SETTLED}, "waiting for deployment spec update to be observed"),
        ({"observedGeneration": 2, **SETTLED, "updatedReplicas": 1, "replicas": 4}, "1 out of 3 new"),
        ({"observedGeneration": 2, **SETTLED, "replicas": 4}, "1 old replicas are pending termination"),
        (
            {"observedGeneration": 2, **SETTLED, "availableReplicas": 2},
            "2 of 3 updated replicas are available",
        ),
        ({"observedGeneration": 2, **SETTLED}, f'deployment "{NAME}" successfully rolled out'),
    ]
    for status, said in stages:
        controller.now = status
        done, message = deployment.rollout_status()
        assert said in message and done == (status == stages[-1][0])


def test_a_missing_deployment_is_a_named_error(api: KubeApiDouble) -> None:
    with pytest.raises(ControlError, match=f"scaling deployment {NS}/absent: Not Found") as error:
        _deployment(api, "absent").scale(0)
    assert error.value.status == 404


def test_the_double_refuses_a_json_patch_and_negative_replicas(
    api: KubeApiDouble, controller: SetStatusController
) -> None:
    url = f"{api.url}/apis/apps/v1/namespaces/{NS}/deployments/{NAME}/scale"
    json_patch = httpx.patch(
        url, content=b'{"spec": {"replicas": 0}}', headers={"Content-Type": "application/json-patch+json"}
    )
    assert json_patch.status_code == 415 and json_patch.json()["reason"] == "UnsupportedMediaType"
    negative = httpx.patch(url, json={"spec": {"replicas": -1}}, headers={"Content-Type": MERGE_PATCH})
    assert negative.status_code == 422 and negative.json()["reason"] == "Invalid"
    assert controller.applied[-1]["spec"]["replicas"] == 3 and len(controller.applied) == 1  # unchanged
