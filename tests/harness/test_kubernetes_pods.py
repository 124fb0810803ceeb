"""The harness's Kubernetes pod operations, through the `kubernetes` client, against a test double of
the API server (tests/harness/kube_api_double.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.clients.http import ControlError
from harness.clients.kubernetes import KubernetesPods
from tests.harness.kube_api_double import KubeApiDouble

NS = "lucid-payment"


@pytest.fixture
def api() -> Iterator[KubeApiDouble]:
    double = KubeApiDouble()
    double.add_pod(NS, "svc-a", {"app": "tron-payment-service"})
    double.add_pod(NS, "svc-b", {"app": "tron-payment-service"})
    double.add_pod(NS, "redis-0", {"app": "redis"})
    double.add_pod("other", "svc-x", {"app": "tron-payment-service"})
    yield double
    double.stop()


def test_lists_only_the_selected_pods_of_the_namespace(api: KubeApiDouble) -> None:
    pods = KubernetesPods.at(api.url, NS, "app=tron-payment-service").pods()
    assert sorted(p["name"] for p in pods) == ["svc-a", "svc-b"]
    assert all(p["ready"] and p["phase"] == "Running" for p in pods)


def test_kill_deletes_with_the_grace_period_and_proves_it(api: KubeApiDouble) -> None:
    pods = KubernetesPods.at(api.url, NS, "app=tron-payment-service")
    uid = api.pods[(NS, "svc-a")]["metadata"]["uid"]
    assert pods.kill(["svc-a"], grace_period_seconds=5) == [{"name": "svc-a", "uid": uid, "deleted": True}]
    assert api.deleted == [(NS, "svc-a", 5)]
    assert [p["name"] for p in pods.pods()] == ["svc-b"]


def test_a_missing_pod_is_a_named_error(api: KubeApiDouble) -> None:
    pods = KubernetesPods.at(api.url, NS, "app=tron-payment-service")
    with pytest.raises(ControlError, match="deleting pod svc-zz") as error:
        pods.kill(["svc-zz"])
    assert error.value.status == 404
    assert api.deleted == []
