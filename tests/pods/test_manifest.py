"""Reading the Deployment: the production manifest, the stand-in, Kubernetes' defaults, and refusals."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
import yaml

from stack.pods.manifest import ManifestError, Probe, load_deployment
from tests.pods.harness import REAL_DEPLOYMENT

FIXTURE = Path(__file__).parent / "fixtures" / "deployment.yaml"


@pytest.mark.parametrize("path", [REAL_DEPLOYMENT, FIXTURE], ids=["production", "stand-in"])
def test_what_the_supervisor_runs(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} is not written yet")
    deployment = load_deployment(path)
    assert (deployment.name, deployment.replicas, deployment.container_port) == (
        "tron-payment-service",
        3,
        8085,
    )
    assert deployment.labels["app"] == "tron-payment-service" and "version" in deployment.labels
    assert deployment.liveness is not None and deployment.liveness.path == "/health/live"
    assert deployment.readiness is not None and deployment.readiness.path == "/health/ready"
    assert deployment.termination_grace >= 30


def test_the_stand_in_as_written() -> None:
    deployment = load_deployment(FIXTURE)
    assert deployment.liveness == Probe("/health/live", 15, 10, 5, 1, 3)
    assert deployment.readiness == Probe("/health/ready", 5, 5, 3, 1, 3)
    assert (deployment.startup, deployment.pre_stop_sleep, deployment.termination_grace) == (None, 0, 30)
    assert deployment.startup_allowance() == 15 + 2 * 10


def write(tmp_path: Path, edit: dict[str, object], container_edit: dict[str, object] | None = None) -> Path:
    manifest = yaml.safe_load(FIXTURE.read_text())
    manifest["spec"].update(edit)
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    for key, value in (container_edit or {}).items():
        if value is None:
            container.pop(key, None)
        else:
            container[key] = value
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump_all([{"kind": "Service"}, manifest]))
    return path


def test_kubernetes_defaults_fill_what_the_manifest_leaves_out(tmp_path: Path) -> None:
    path = write(tmp_path, {"replicas": 2}, {"readinessProbe": {"httpGet": {"path": "ready", "port": 8085}}})
    deployment = load_deployment(path)
    assert deployment.replicas == 2
    assert deployment.readiness == Probe("/ready", 0, 10, 1, 1, 3)


def test_startup_probe_and_pre_stop_sleep_and_scaling(tmp_path: Path) -> None:
    startup = {
        "httpGet": {"path": "/health/live", "port": "http"},
        "periodSeconds": 2,
        "failureThreshold": 30,
    }
    pre_stop = {"preStop": {"exec": {"command": ["sleep", "5"]}}}
    deployment = load_deployment(write(tmp_path, {}, {"startupProbe": startup, "lifecycle": pre_stop}))
    assert deployment.startup == Probe("/health/live", 0, 2, 1, 1, 30)
    assert deployment.startup_allowance() == 58
    fast = deployment.scaled(0.1)
    assert fast.startup == Probe("/health/live", 0, 0.2, 0.1, 1, 30)
    assert (fast.pre_stop_sleep, fast.termination_grace) == (0.5, 3.0)
    assert fast.liveness is not None and fast.liveness.period == 1.0


def test_the_containers_durations_are_scaled_with_its_grace_period(tmp_path: Path) -> None:
    env = [
        {"name": "WORKER_STOP_SECONDS", "value": "5"},
        {"name": "DRAIN_SECONDS", "value": "1"},
        {"name": "NODE_ENV", "value": "production"},  # not a duration: not the supervisor's business
        {"name": "TX_LIFETIME_SECONDS", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}},
    ]
    deployment = load_deployment(write(tmp_path, {}, {"env": env}))
    assert deployment.container_env() == {"WORKER_STOP_SECONDS": "5", "DRAIN_SECONDS": "1"}
    assert deployment.scaled(0.2).container_env() == {"WORKER_STOP_SECONDS": "1", "DRAIN_SECONDS": "0.2"}


def test_pod_names_are_like_a_replica_sets() -> None:
    deployment = load_deployment(FIXTURE)
    names = {deployment.new_pod_name(random.Random(seed)) for seed in range(20)}
    assert len(names) == 20
    for name in names:
        assert re.fullmatch(
            rf"tron-payment-service-{deployment.template_hash}-[bcdfghjklmnpqrstvwxz2456789]{{5}}", name
        )
    assert re.fullmatch(r"[0-9a-f]{10}", deployment.template_hash)
    assert load_deployment(FIXTURE).template_hash == deployment.template_hash, "stable for one template"


@pytest.mark.parametrize(
    ("container_edit", "message"),
    [
        ({"livenessProbe": {"exec": {"command": ["true"]}}}, "livenessProbe must be an httpGet probe"),
        ({"readinessProbe": {"httpGet": {"path": "/", "port": 9999}}}, "httpGet.port 9999 is not a port"),
        ({"readinessProbe": {"httpGet": {"path": "/", "port": 8085}, "periodSeconds": 0}}, "periodSeconds"),
        (
            {"livenessProbe": {"httpGet": {"path": "/", "port": 8085}, "successThreshold": 2}},
            "livenessProbe.successThreshold must be 1",
        ),
        (
            {"lifecycle": {"preStop": {"httpGet": {"path": "/quit", "port": 8085}}}},
            "lifecycle.preStop must sleep",
        ),
        ({"ports": None}, "containerPort is required"),
        (
            {"env": [{"name": "DRAIN_SECONDS", "value": "1s"}]},
            "containers[0].env[0] (DRAIN_SECONDS) must be a number of seconds, not '1s'",
        ),
    ],
)
def test_what_cannot_run_here_is_refused_by_field(
    tmp_path: Path, container_edit: dict[str, object], message: str
) -> None:
    with pytest.raises(ManifestError, match=re.escape(message)):
        load_deployment(write(tmp_path, {}, container_edit))


def test_a_file_without_a_deployment_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "service.yaml"
    path.write_text("kind: Service\n")
    with pytest.raises(ManifestError, match="no `kind: Deployment`"):
        load_deployment(path)
