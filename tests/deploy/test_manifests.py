"""Every document under deploy/ validates against its kind's schema (Kubernetes core kinds with
kubernetes-validate in strict mode, Istio and prometheus-operator kinds with the CRD JSON Schemas in
../shared/schemas), and the settings that matter hold. Each check is also fed a deliberately broken
copy, to show it catches the mistake it exists for.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from harness import manifest_checks as mc
from harness import objectives

DOCUMENTS = mc.all_documents()
# The service's own workload and Service (deploy/loadtests holds Locust's beside them).
SERVICE = objectives.current().identity.app


def _id(entry: tuple[Path, int, dict[str, Any]]) -> str:
    path, index, doc = entry
    return f"{path.relative_to(mc.DEPLOY)}#{index}:{doc.get('kind')}"


def test_the_manifests_are_all_there() -> None:
    kinds = {doc["kind"] for _, _, doc in DOCUMENTS}
    assert kinds >= {
        "Namespace",
        "Deployment",
        "Service",
        "ServiceAccount",
        "Secret",
        "ConfigMap",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "CronJob",
        "VirtualService",
        "DestinationRule",
        "ServiceMonitor",
        "Kustomization",
    }


def test_the_crd_schemas_are_read_from_shared() -> None:
    assert mc.SCHEMA_DIR.is_dir(), (
        f"{mc.SCHEMA_DIR} is missing: CI and developers have shared/ beside the clone; "
        "the schemas are read from there, never copied"
    )
    for filename in mc.CRD_SCHEMAS.values():
        assert (mc.SCHEMA_DIR / filename).is_file(), filename


@pytest.mark.parametrize("entry", DOCUMENTS, ids=[_id(e) for e in DOCUMENTS])
def test_document_validates_against_its_schema(entry: tuple[Path, int, dict[str, Any]]) -> None:
    path, _, doc = entry
    assert mc.schema_problems(doc, path) == []


@pytest.mark.parametrize("path", mc.yaml_files(), ids=lambda p: str(p.relative_to(mc.DEPLOY)))
def test_each_file_starts_with_a_comment_saying_what_changed(path: Path) -> None:
    assert path.read_text().startswith("#"), f"{path} must start with a comment: what was fixed and why"


def test_every_namespaced_resource_is_in_lucid_payment() -> None:
    assert mc.namespace_problems(doc for _, _, doc in DOCUMENTS) == []


def _deployment_problems(deployment: dict[str, Any]) -> list[str]:
    return mc.deployment_problems(
        deployment,
        env_names=mc.service_env_names(),
        secret=mc.find("Secret", "tron-payment-secrets"),
        config_map=mc.find("ConfigMap", "tron-payment-config"),
    )


def test_deployment_probes_security_shutdown_and_env() -> None:
    assert _deployment_problems(mc.find("Deployment", SERVICE)) == []


def test_pdb_keeps_two_of_three() -> None:
    assert mc.pdb_problems(mc.find("PodDisruptionBudget"), mc.find("Deployment", SERVICE)) == []


def test_hpa_keeps_at_least_three() -> None:
    assert mc.hpa_problems(mc.find("HorizontalPodAutoscaler"), mc.find("Deployment", SERVICE)) == []


def test_virtual_service_timeouts_retries_and_no_faults() -> None:
    assert mc.virtual_service_problems(mc.find("VirtualService")) == []


def test_backup_schedule_holds_the_database_rpo() -> None:
    assert mc.backup_cronjob_problems(mc.find("CronJob")) == []


def test_service_monitor_scrapes_the_service() -> None:
    assert mc.service_monitor_problems(mc.find("ServiceMonitor"), mc.find("Service", SERVICE)) == []


def test_replicas_match_the_seed() -> None:
    assert mc.find("Deployment", SERVICE)["spec"]["replicas"] == 3


# ------------------------------------------------------------------ each check catches its mistake
def _one_problem_mentions(problems: list[str], *words: str) -> None:
    assert any(all(w in p for w in words) for p in problems), problems


def test_schema_catches_a_wrong_field_in_a_core_kind() -> None:
    deployment = mc.find("Deployment", SERVICE)
    deployment["spec"]["replica"] = deployment["spec"].pop("replicas")
    _one_problem_mentions(mc.schema_problems(deployment), "replica")
    probe = mc.find("Deployment", SERVICE)
    probe["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/x"
    _one_problem_mentions(mc.schema_problems(probe), "paht")


def test_schema_catches_a_wrong_type_in_a_core_kind() -> None:
    pdb = mc.find("PodDisruptionBudget")
    pdb["spec"]["minAvailable"] = {"pods": 2}
    assert mc.schema_problems(pdb) != []


def test_schema_catches_a_wrong_field_in_istio_and_prometheus_kinds() -> None:
    vs = mc.find("VirtualService")
    vs["spec"]["http"][0]["retries"]["attemps"] = 3
    _one_problem_mentions(mc.schema_problems(vs), "attemps")
    dr = mc.find("DestinationRule")
    dr["spec"]["trafficPolicy"]["circuitBreaker"] = {"consecutiveErrors": 5}  # the seed's mistake
    _one_problem_mentions(mc.schema_problems(dr), "circuitBreaker")
    monitor = mc.find("ServiceMonitor")
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    _one_problem_mentions(mc.schema_problems(monitor), "intervall")


def test_a_kind_without_a_validator_fails() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}}
    _one_problem_mentions(mc.schema_problems(widget), "no validator", "Widget")


def test_kustomization_catches_a_missing_or_unlisted_file(tmp_path: Path) -> None:
    kustomization = mc.load_documents(mc.DEPLOY / "kustomization.yaml")[0]
    dropped = kustomization["resources"].pop()
    _one_problem_mentions(mc.kustomization_problems(kustomization, mc.DEPLOY), dropped, "not listed")
    kustomization["resources"].append("k8s/nope.yaml")
    _one_problem_mentions(mc.kustomization_problems(kustomization, mc.DEPLOY), "nope.yaml", "does not exist")
    kustomization["resources"].append("k8s/secret.template.yaml")
    _one_problem_mentions(mc.kustomization_problems(kustomization, mc.DEPLOY), "template")


def test_liveness_on_the_deep_health_is_caught() -> None:
    deployment = mc.find("Deployment", SERVICE)
    mc._container(deployment)["livenessProbe"]["httpGet"]["path"] = "/health"  # the seed's mistake
    _one_problem_mentions(_deployment_problems(deployment), "liveness", "/health")


def test_wrong_readiness_path_is_caught() -> None:
    deployment = mc.find("Deployment", SERVICE)
    mc._container(deployment)["readinessProbe"]["httpGet"]["path"] = "/health"
    _one_problem_mentions(_deployment_problems(deployment), "readiness")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("readOnlyRootFilesystem", False, "readOnlyRootFilesystem"),
        ("allowPrivilegeEscalation", True, "allowPrivilegeEscalation"),
        ("capabilities", {"drop": ["NET_RAW"]}, "drop ALL"),
    ],
)
def test_container_security_mistakes_are_caught(field: str, value: Any, expected: str) -> None:
    deployment = mc.find("Deployment", SERVICE)
    mc._container(deployment)["securityContext"][field] = value
    _one_problem_mentions(_deployment_problems(deployment), expected)


def test_running_as_root_is_caught() -> None:
    deployment = mc.find("Deployment", SERVICE)
    pod = deployment["spec"]["template"]["spec"]
    pod["securityContext"]["runAsNonRoot"] = False
    mc._container(deployment)["securityContext"]["runAsNonRoot"] = False
    _one_problem_mentions(_deployment_problems(deployment), "root")


def test_short_grace_period_is_caught() -> None:
    deployment = mc.find("Deployment", SERVICE)
    deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 30  # the default
    _one_problem_mentions(_deployment_problems(deployment), "terminationGracePeriodSeconds")
    no_prestop = mc.find("Deployment", SERVICE)
    del mc._container(no_prestop)["lifecycle"]
    _one_problem_mentions(_deployment_problems(no_prestop), "preStop")


def test_env_mistakes_are_caught() -> None:
    deployment = mc.find("Deployment", SERVICE)
    env = mc._container(deployment)["env"]
    webhook = next(e for e in env if e["name"] == "WEBHOOK_SECRET")
    webhook["name"] = "WEBHOOK_SECRETS"  # a typo: the service would never see it
    problems = _deployment_problems(deployment)
    _one_problem_mentions(problems, "WEBHOOK_SECRETS", "not read")
    _one_problem_mentions(problems, "WEBHOOK_SECRET", "missing")
    wrong_key = mc.find("Deployment", SERVICE)
    uri = next(e for e in mc._container(wrong_key)["env"] if e["name"] == "MONGODB_URI")
    uri["valueFrom"]["secretKeyRef"]["key"] = "mongo-uri"
    _one_problem_mentions(_deployment_problems(wrong_key), "mongo-uri")


def test_small_pdb_is_caught() -> None:
    pdb = mc.find("PodDisruptionBudget")
    pdb["spec"]["minAvailable"] = 1
    _one_problem_mentions(mc.pdb_problems(pdb, mc.find("Deployment", SERVICE)), "keeps 1 of 3")
    by_max = mc.find("PodDisruptionBudget")
    del by_max["spec"]["minAvailable"]
    by_max["spec"]["maxUnavailable"] = "50%"
    _one_problem_mentions(mc.pdb_problems(by_max, mc.find("Deployment", SERVICE)), "keeps 1 of 3")


def test_small_hpa_is_caught() -> None:
    hpa = mc.find("HorizontalPodAutoscaler")
    hpa["spec"]["minReplicas"] = 2
    _one_problem_mentions(mc.hpa_problems(hpa, mc.find("Deployment", SERVICE)), "minReplicas 2")


def _route(vs: dict[str, Any], name: str) -> dict[str, Any]:
    route: dict[str, Any] = next(r for r in vs["spec"]["http"] if r.get("name") == name)
    return route


def test_a_fault_in_a_route_is_caught() -> None:
    vs = mc.find("VirtualService")
    _route(vs, "tron-retryable")["fault"] = {"abort": {"percentage": {"value": 0.1}, "httpStatus": 500}}
    _one_problem_mentions(mc.virtual_service_problems(vs), "tron-retryable", "fault")


def test_a_route_without_timeout_is_caught() -> None:
    vs = mc.find("VirtualService")
    del _route(vs, "wallets")["timeout"]
    _one_problem_mentions(mc.virtual_service_problems(vs), "wallets", "no timeout")


def test_a_group_timeout_other_than_the_seeds_is_caught() -> None:
    vs = mc.find("VirtualService")
    _route(vs, "payouts-retryable")["timeout"] = "60s"
    _one_problem_mentions(mc.virtual_service_problems(vs), "payouts-retryable", "120s")


def test_a_missing_group_is_caught() -> None:
    vs = mc.find("VirtualService")
    vs["spec"]["http"] = [r for r in vs["spec"]["http"] if not str(r.get("name")).startswith("staking")]
    _one_problem_mentions(mc.virtual_service_problems(vs), "no route for /api/v1/staking")


def test_fewer_retries_on_a_retryable_route_is_caught() -> None:
    vs = mc.find("VirtualService")
    _route(vs, "usdt-retryable")["retries"]["attempts"] = 2
    _one_problem_mentions(mc.virtual_service_problems(vs), "usdt-retryable", "attempts 2")


def test_retrying_a_post_without_idempotency_key_is_caught() -> None:
    vs = mc.find("VirtualService")
    _route(vs, "payments")["retries"] = {"attempts": 3, "perTryTimeout": "25s"}
    _one_problem_mentions(mc.virtual_service_problems(vs), "payments", "attempts: 0")
    # No `retries` at all means Istio's default retries: caught too.
    defaulted = mc.find("VirtualService")
    del _route(defaulted, "usdt")["retries"]
    _one_problem_mentions(mc.virtual_service_problems(defaulted), "usdt", "attempts: 0")
    # A catch-all route (no match) admits POSTs: retrying it is caught (the earlier `default` route).
    catch_all = mc.find("VirtualService")
    _route(catch_all, "default")["retries"] = {"attempts": 3, "perTryTimeout": "5s"}
    _one_problem_mentions(mc.virtual_service_problems(catch_all), "default", "attempts: 0")
    # A retryable match widened to POST without the header is caught.
    widened = mc.find("VirtualService")
    _route(widened, "wallets-retryable")["match"][0]["method"] = {"regex": "GET|HEAD|PUT|DELETE|POST"}
    _one_problem_mentions(mc.virtual_service_problems(widened), "wallets-retryable", "attempts: 0")


@pytest.mark.parametrize(
    ("schedule", "interval"),
    [
        ("*/4 * * * *", 240),
        ("*/5 * * * *", 300),
        ("*/7 * * * *", 420),  # 56 -> 0 is 4 min, but 49 -> 56 is 7
        ("0,5,10,15,20,25,30,35,40,45,50,55 * * * *", 300),
        ("0 * * * *", 3600),
        ("*/5 9-17 * * *", 86400),
    ],
)
def test_schedule_interval(schedule: str, interval: int) -> None:
    assert mc.schedule_interval_seconds(schedule) == interval


def test_a_backup_schedule_that_misses_the_rpo_is_caught() -> None:
    cronjob = mc.find("CronJob")
    cronjob["spec"]["schedule"] = "*/10 * * * *"
    _one_problem_mentions(mc.backup_cronjob_problems(cronjob), "600s", "RPO")
    hourly = mc.find("CronJob")
    hourly["spec"]["schedule"] = "0 * * * *"
    _one_problem_mentions(mc.backup_cronjob_problems(hourly), "3600s")
    slow = mc.find("CronJob")
    slow["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] = 600
    _one_problem_mentions(mc.backup_cronjob_problems(slow), "exceeds the RPO")
    overlapping = mc.find("CronJob")
    overlapping["spec"]["concurrencyPolicy"] = "Allow"
    _one_problem_mentions(mc.backup_cronjob_problems(overlapping), "Forbid")


def test_a_service_monitor_that_misses_the_service_is_caught() -> None:
    monitor = mc.find("ServiceMonitor")
    monitor["spec"]["endpoints"][0]["port"] = "metrics"
    monitor["spec"]["selector"]["matchLabels"] = {"app": "other"}
    problems = mc.service_monitor_problems(monitor, mc.find("Service", SERVICE))
    _one_problem_mentions(problems, "'metrics'")
    _one_problem_mentions(problems, "does not select")


def test_a_resource_in_another_namespace_is_caught() -> None:
    service = copy.deepcopy(mc.find("Service", SERVICE))
    service["metadata"]["namespace"] = "default"
    _one_problem_mentions(mc.namespace_problems([service]), "Service", "default")
