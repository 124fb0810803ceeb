"""The experiments' Kubernetes path against a test double of the Kubernetes API server
(tests/harness/kube_api_double.py): Istio faults on the VirtualService by route name, restored as it
was; pods deleted through chaostoolkit-kubernetes with the asked grace; the blast radius; a target
marked production refused."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from chaoslib.exceptions import ActivityFailed

from chaos import actions, guard, session
from chaos.settings import settings
from harness.objectives import REPO
from stack.processes import free_port
from tests.harness.kube_api_double import MERGE_PATCH, KubeApiDouble

NS = "lucid-payment"
VS_NAME = "tron-payment-vs"
SERVICE_PODS = ("svc-a", "svc-b", "svc-c")
PAYOUT_ROUTES = ["payouts-retryable", "payouts"]


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[KubeApiDouble]:
    # No kubeconfig: chaostoolkit-kubernetes then connects to KUBERNETES_HOST from the secrets.
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    double = KubeApiDouble()
    for name in SERVICE_PODS:
        double.add_pod(NS, name, {"app": "tron-payment-service"})
    double.add_pod(NS, "redis-0", {"app": "redis"})
    double.add_virtual_service(yaml.safe_load((REPO / "deploy/istio/virtual-service.yaml").read_text()))
    yield double
    double.stop()
    session.finished()


def _target(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    document = {
        "kind": "kubernetes",
        "context": "staging",
        "namespace": NS,
        "selector": "app=tron-payment-service",
        "base_url": "https://payments.staging.example.com",
        "prometheus_url": "https://prometheus.staging.example.com",
        "virtual_service": VS_NAME,
    } | changes
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(document))
    return {"target_file": str(path), "fault_ttl_s": "60"}


def _secrets(api: KubeApiDouble) -> dict[str, Any]:
    return {"kubernetes": {"KUBERNETES_HOST": api.url}}


def _routes(api: KubeApiDouble) -> dict[str, dict[str, Any]]:
    return {route["name"]: route for route in api.virtual_services[(NS, VS_NAME)]["spec"]["http"]}


def test_an_abort_patches_only_the_named_routes_and_the_rollback_restores_the_original(
    api: KubeApiDouble, tmp_path: Path
) -> None:
    original = copy.deepcopy(api.virtual_services[(NS, VS_NAME)]["spec"])
    config, secrets = _target(tmp_path), _secrets(api)
    actions.abort_routes(PAYOUT_ROUTES, 50, 503, configuration=config, secrets=secrets)

    routes = _routes(api)
    fault = {"abort": {"httpStatus": 503, "percentage": {"value": 50.0}}}
    assert {name for name, route in routes.items() if "fault" in route} == set(PAYOUT_ROUTES)
    assert all(routes[name]["fault"] == fault for name in PAYOUT_ROUTES)
    patch = api.writes()[0]
    assert (patch.method, patch.content_type) == ("PATCH", MERGE_PATCH)
    assert patch.body["metadata"]["resourceVersion"], "the patch is conditional on the version read"

    assert actions.remove_faults(configuration=config, secrets=secrets) == [
        "abort 503 on 50 % of payouts-retryable, payouts"
    ]
    assert api.virtual_services[(NS, VS_NAME)]["spec"] == original
    assert guard.problems(settings(config, secrets), pods_timeout_s=1) == []


def test_a_fault_that_was_there_before_is_restored_not_dropped(api: KubeApiDouble, tmp_path: Path) -> None:
    earlier = {"delay": {"fixedDelay": "1s", "percentage": {"value": 1.0}}}
    api.virtual_services[(NS, VS_NAME)]["spec"]["http"][0]["fault"] = earlier
    first = api.virtual_services[(NS, VS_NAME)]["spec"]["http"][0]["name"]
    config, secrets = _target(tmp_path), _secrets(api)
    actions.abort_routes([first], 100, 503, configuration=config, secrets=secrets)
    assert _routes(api)[first]["fault"]["abort"]["httpStatus"] == 503
    actions.remove_faults(configuration=config, secrets=secrets)
    assert _routes(api)[first]["fault"] == earlier


def test_a_conflicting_update_is_answered_409_and_the_restore_keeps_it(
    api: KubeApiDouble, tmp_path: Path
) -> None:
    config, secrets = _target(tmp_path), _secrets(api)
    actions.abort_routes(PAYOUT_ROUTES, 50, 503, configuration=config, secrets=secrets)

    def someone_else_edits() -> None:  # e.g. a deploy changing another route meanwhile
        stored = api.virtual_services[(NS, VS_NAME)]
        next(r for r in stored["spec"]["http"] if r["name"] == "tron")["timeout"] = "31s"
        stored["metadata"]["resourceVersion"] = api.next_version()

    api.before_next_write = someone_else_edits
    actions.remove_faults(configuration=config, secrets=secrets)

    puts = [c for c in api.writes() if c.method == "PUT"]
    assert len(puts) == 2, "the first restore conflicted (409), the second read again and won"
    routes = _routes(api)
    assert routes["tron"]["timeout"] == "31s", "the other writer's change is kept"
    assert not any("fault" in routes[name] for name in PAYOUT_ROUTES)


def test_a_missing_virtual_service_or_route_fails_the_action_and_writes_nothing(
    api: KubeApiDouble, tmp_path: Path
) -> None:
    with pytest.raises(ActivityFailed, match="404"):
        actions.abort_routes(PAYOUT_ROUTES, configuration=_target(tmp_path, virtual_service="nope"),
                             secrets=_secrets(api))  # fmt: skip
    with pytest.raises(ActivityFailed, match=r"no route \['payoutz'\]"):
        actions.abort_routes(["payoutz"], configuration=_target(tmp_path), secrets=_secrets(api))
    assert api.writes() == []


def test_pods_are_deleted_through_chaostoolkit_kubernetes_with_the_grace_asked(
    api: KubeApiDouble, tmp_path: Path
) -> None:
    proof = actions.kill_pods(1, 30, configuration=_target(tmp_path), secrets=_secrets(api))
    assert len(api.deleted) == 1
    namespace, name, grace = api.deleted[0]
    assert (namespace, grace) == (NS, 30) and name in SERVICE_PODS
    assert proof["killed"] == [{"name": name, "deleted": True}]


def test_the_blast_radius_is_replicas_minus_one_unless_declared(api: KubeApiDouble, tmp_path: Path) -> None:
    config, secrets = _target(tmp_path), _secrets(api)
    with pytest.raises(ActivityFailed, match="blast radius"):
        actions.kill_pods(3, configuration=config, secrets=secrets)
    assert api.deleted == []
    actions.kill_pods(3, allow_all_pods=True, configuration=config, secrets=secrets)
    assert sorted(name for _, name, _ in api.deleted) == list(SERVICE_PODS)


def test_a_target_marked_production_is_refused_unless_allowed(api: KubeApiDouble, tmp_path: Path) -> None:
    config, secrets = _target(tmp_path, production=True), _secrets(api)
    with pytest.raises(ActivityFailed, match="marked production"):
        actions.abort_routes(PAYOUT_ROUTES, configuration=config, secrets=secrets)
    assert api.writes() == []
    actions.abort_routes(PAYOUT_ROUTES, configuration=config | {"allow_production": "true"}, secrets=secrets)
    actions.remove_faults(configuration=config | {"allow_production": "true"}, secrets=secrets)


def test_the_guard_names_a_fault_left_on_the_virtual_service(api: KubeApiDouble, tmp_path: Path) -> None:
    api.virtual_services[(NS, VS_NAME)]["spec"]["http"][0]["fault"] = {"abort": {"httpStatus": 500}}
    problems = guard.problems(settings(_target(tmp_path), _secrets(api)), pods_timeout_s=1)
    assert problems == ["VirtualService tron-payment-vs routes with a fault: ['tron-retryable']"]


def test_payers_on_a_cluster_need_wallets_from_the_target_and_it_says_what_to_set(
    api: KubeApiDouble, tmp_path: Path
) -> None:
    """A cluster's node has no faucet the harness may use: without `payer_wallets` in the target file
    the action names that key, how many and how much, and starts nothing."""
    config, secrets = _target(tmp_path), _secrets(api)
    with pytest.raises(ActivityFailed) as error:
        actions.start_payers(payers=2, configuration=config, secrets=secrets)
    message = str(error.value)
    assert "add payer_wallets: [{user_id: ..., wallet_id: ...}] to the target file" in message
    assert "need 2 pre-funded TRX wallets" in message and "the target lists 0" in message
    assert f"at least {actions.WALLET_FUNDS_SUN // 1_000_000} TRX" in message
    assert session.current(settings(config, secrets)).payers is None


def test_payers_on_a_cluster_take_the_targets_wallets_and_check_them_through_the_contract(
    api: KubeApiDouble, tmp_path: Path
) -> None:
    """The target's wallets are checked as their owners see them (GET /wallets/{id}/balance) before any
    payout: a service that does not answer stops the action, naming the wallet and the request."""
    wallets = [{"user_id": "ops-chaos-1", "wallet_id": "w-1"}, {"user_id": "ops-chaos-2", "wallet_id": "w-2"}]
    base_url = f"http://127.0.0.1:{free_port()}"  # nothing listens: the service is not reachable
    config, secrets = _target(tmp_path, payer_wallets=wallets, base_url=base_url), _secrets(api)
    with pytest.raises(ActivityFailed, match=rf"payer wallet w-1: GET {base_url}/api/v1/wallets/w-1/balance"):
        actions.start_payers(payers=1, configuration=config, secrets=secrets)
    assert api.writes() == [], "nothing on the cluster changed"


def test_a_stalled_dependency_is_refused_on_a_cluster(api: KubeApiDouble, tmp_path: Path) -> None:
    with pytest.raises(ActivityFailed, match="acts on the local stack only"):
        actions.stall_dependency("redis", configuration=_target(tmp_path), secrets=_secrets(api))
    assert api.writes() == [] and api.deleted == []
