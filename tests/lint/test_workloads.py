"""The checks of workloads: security, the service's probes, shutdown timing, env and pods, disruption
budgets, autoscalers, the backup CronJob and the ServiceMonitor. Each is fed a copy of deploy/ with
the one mistake it exists for (the untouched deploy/ is clean: test_project_is_clean.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.lint.workloads import schedule_interval_seconds
from tests.lint.helpers import SEED, broken_deploy, caught, container, run

BACKUP = "tron-payment-db-backup"  # deploy/ has two CronJobs: the backup and the money audit


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("readOnlyRootFilesystem", False, "readOnlyRootFilesystem"),
        ("allowPrivilegeEscalation", True, "allowPrivilegeEscalation"),
        ("capabilities", {"drop": ["NET_RAW"]}, "drop ALL"),
        ("runAsUser", 0, "runAsUser is 0"),
    ],
)
def test_container_security_mistakes_are_caught(
    tmp_path: Path, field: str, value: Any, expected: str
) -> None:
    findings = broken_deploy(
        tmp_path, "Deployment", lambda d: container(d)["securityContext"].update({field: value})
    )
    caught(findings, "security-context", expected)


def test_running_as_root_is_caught_in_any_workload(tmp_path: Path) -> None:
    def as_root(cronjob: dict[str, Any]) -> None:
        pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        pod["securityContext"]["runAsNonRoot"] = False

    caught(broken_deploy(tmp_path, "CronJob", as_root, BACKUP), "security-context", "mongodump", "root")


def test_the_seeds_probes_are_caught() -> None:
    findings = run(SEED / "deployment.yaml").findings
    caught(findings, "probes", "liveness", "'/health'")
    caught(findings, "probes", "readiness", "'/ready'")


def test_short_grace_period_and_missing_prestop_are_caught(tmp_path: Path) -> None:
    short = broken_deploy(
        tmp_path / "a",
        "Deployment",
        lambda d: d["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=30),
    )
    caught(short, "drain-timing", "terminationGracePeriodSeconds 30")

    def default_worker_stop(deployment: dict[str, Any]) -> None:
        env = container(deployment)["env"]
        env.remove(next(e for e in env if e["name"] == "WORKER_STOP_SECONDS"))

    # The service's default (10 s for the step, 10 for the leases) does not fit in 45 s.
    worker = broken_deploy(tmp_path / "c", "Deployment", default_worker_stop)
    caught(worker, "drain-timing", "2 x WORKER_STOP_SECONDS 10 = 51")
    no_prestop = broken_deploy(tmp_path / "b", "Deployment", lambda d: container(d).pop("lifecycle"))
    caught(no_prestop, "drain-timing", "preStop")


def test_env_mistakes_are_caught(tmp_path: Path) -> None:
    def typo(deployment: dict[str, Any]) -> None:
        webhook = next(e for e in container(deployment)["env"] if e["name"] == "WEBHOOK_SECRET")
        webhook["name"] = "WEBHOOK_SECRETS"  # the service would never see it

    findings = broken_deploy(tmp_path, "Deployment", typo)
    caught(findings, "service-env", "WEBHOOK_SECRETS", "not read")
    caught(findings, "service-env", "WEBHOOK_SECRET ", "missing")


def test_a_reference_to_a_key_no_secret_provides_is_caught(tmp_path: Path) -> None:
    def wrong_key(deployment: dict[str, Any]) -> None:
        uri = next(e for e in container(deployment)["env"] if e["name"] == "MONGODB_URI")
        uri["valueFrom"]["secretKeyRef"]["key"] = "mongo-uri"

    caught(
        broken_deploy(tmp_path, "Deployment", wrong_key), "env-references", "tron-payment-secrets/mongo-uri"
    )


def test_service_pod_mistakes_are_caught(tmp_path: Path) -> None:
    def loosen(deployment: dict[str, Any]) -> None:
        deployment["spec"]["replicas"] = 2
        deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] = True

    findings = broken_deploy(tmp_path, "Deployment", loosen)
    caught(findings, "service-pod", "replicas 2")
    caught(findings, "service-pod", "automountServiceAccountToken")


def test_small_pdb_is_caught(tmp_path: Path) -> None:
    one = broken_deploy(tmp_path / "a", "PodDisruptionBudget", lambda p: p["spec"].update(minAvailable=1))
    caught(one, "disruption-budget", "keeps 1 of tron-payment-service's 3")

    def by_max(pdb: dict[str, Any]) -> None:
        del pdb["spec"]["minAvailable"]
        pdb["spec"]["maxUnavailable"] = "50%"

    caught(broken_deploy(tmp_path / "b", "PodDisruptionBudget", by_max), "disruption-budget", "keeps 1 of")
    stray = broken_deploy(
        tmp_path / "c",
        "PodDisruptionBudget",
        lambda p: p["spec"]["selector"].update(matchLabels={"app": "x"}),
    )
    caught(stray, "disruption-budget", "selects the pods of no Deployment")


def test_small_hpa_is_caught(tmp_path: Path) -> None:
    caught(
        broken_deploy(tmp_path, "HorizontalPodAutoscaler", lambda h: h["spec"].update(minReplicas=2)),
        "autoscaler",
        "minReplicas 2",
    )


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
    assert schedule_interval_seconds(schedule) == interval


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"schedule": "*/10 * * * *"}, ("600s", "RPO")),
        ({"schedule": "0 * * * *"}, ("3600s",)),
        ({"concurrencyPolicy": "Allow"}, ("Forbid",)),
        ({"startingDeadlineSeconds": 200}, ("exceeds the RPO",)),
    ],
)
def test_a_backup_schedule_that_misses_the_rpo_is_caught(
    tmp_path: Path, change: dict[str, Any], expected: tuple[str, ...]
) -> None:
    caught(
        broken_deploy(tmp_path, "CronJob", lambda c: c["spec"].update(change), BACKUP),
        "backup-schedule",
        *expected,
    )


def test_a_backup_pod_with_a_sidecar_is_caught(tmp_path: Path) -> None:
    def sidecar(cronjob: dict[str, Any]) -> None:
        cronjob["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"] = {}

    caught(broken_deploy(tmp_path, "CronJob", sidecar, BACKUP), "backup-schedule", "sidecar")


def test_a_service_monitor_that_misses_the_service_is_caught(tmp_path: Path) -> None:
    port = broken_deploy(
        tmp_path / "a", "ServiceMonitor", lambda m: m["spec"]["endpoints"][0].update(port="metrics")
    )
    caught(port, "service-monitor", "'metrics'")
    other = broken_deploy(
        tmp_path / "b", "ServiceMonitor", lambda m: m["spec"]["selector"].update(matchLabels={"app": "other"})
    )
    caught(other, "service-monitor", "selects no Service")
