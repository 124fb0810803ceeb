"""docker-compose.yml: the compose tool accepts it (`docker compose config -q`, or Debian's
`docker-compose config -q`; neither needs a Docker engine), every service is health-checked or waited
for with a condition, and the service replicas are configured with names the service actually reads.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.manifest_checks import REPO, REQUIRED_SERVICE_ENV, service_env_names

COMPOSE_FILE = REPO / "docker-compose.yml"
GENESIS = REPO / "stack" / "devnet" / "genesis.json"
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
REPLICAS = 3


def compose_command() -> tuple[list[str] | None, str]:
    """The compose CLI that works here without an engine, or None and why not."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30)
        if probe.returncode == 0:
            return [docker, "compose"], ""
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy], ""
    return None, (
        "neither `docker compose` (the Docker CLI's compose plugin) nor `docker-compose` is installed: "
        "install the Debian package docker-compose (apt-get install --no-install-recommends docker-compose)"
    )


def compose_config_errors(path: Path) -> str | None:
    """None if the compose tool accepts the file, else its complaint; skips when no tool exists."""
    command, reason = compose_command()
    if command is None:
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    result = subprocess.run(
        [*command, "-f", str(path), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=path.parent,
    )
    return None if result.returncode == 0 else (result.stderr or result.stdout).strip()


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


def _depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):  # short form: no condition
        return {name: {} for name in depends}
    return dict(depends)


def replicas(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run the payment service: built from the Dockerfile, no command override."""
    return {
        name: service
        for name, service in compose["services"].items()
        if "build" in service and "command" not in service
    }


def health_problems(compose: dict[str, Any]) -> list[str]:
    services = compose["services"]
    waited_on = {
        dependency
        for service in services.values()
        for dependency, spec in _depends_on(service).items()
        if spec.get("condition") in CONDITIONS
    }
    problems = []
    for name, service in services.items():
        check = service.get("healthcheck") or {}
        if (not check.get("test") or check.get("disable")) and name not in waited_on:
            problems.append(f"service {name} has no healthcheck and nothing waits on it with a condition")
        for dependency, spec in _depends_on(service).items():
            if dependency not in services:
                problems.append(f"service {name} depends on unknown service {dependency}")
            elif spec.get("condition") not in CONDITIONS:
                problems.append(f"service {name} depends on {dependency} without a condition")
            elif spec["condition"] == "service_healthy" and not (
                services[dependency].get("healthcheck") or {}
            ):
                problems.append(
                    f"service {name} waits for {dependency} to be healthy, which has no healthcheck"
                )
    return problems


def env_problems(compose: dict[str, Any]) -> list[str]:
    known = service_env_names()
    genesis_contract = json.loads(GENESIS.read_text())["usdt_contract_address"]
    problems = []
    found = replicas(compose)
    if len(found) != REPLICAS:
        problems.append(f"{len(found)} service replicas ({sorted(found)}), expected {REPLICAS}")
    pod_names = set()
    for name, service in found.items():
        env = service.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        for unknown in sorted(set(env) - known):
            problems.append(f"{name}: env {unknown} is not read by the service (service/config.py)")
        for missing in sorted(
            (REQUIRED_SERVICE_ENV | {"TRON_FULLNODE_URL", "USDT_CONTRACT_ADDRESS"}) - set(env)
        ):
            problems.append(f"{name}: env {missing} is missing")
        if env.get("HOST") != "0.0.0.0":
            problems.append(f"{name}: HOST must be 0.0.0.0 inside a container")
        if env.get("USDT_CONTRACT_ADDRESS") != genesis_contract:
            problems.append(f"{name}: USDT_CONTRACT_ADDRESS is not the devnet's ({genesis_contract})")
        pod_names.add(env.get("POD_NAME"))
    if len(pod_names) != len(found):
        problems.append("the replicas must have distinct POD_NAMEs")
    return problems


def test_compose_tool_accepts_the_file() -> None:
    assert compose_config_errors(COMPOSE_FILE) is None


def test_compose_tool_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = copy.deepcopy(load_compose())
    broken["services"]["redis"]["healthcheck"]["intervall"] = "5s"
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    errors = compose_config_errors(path)
    assert errors is not None and "intervall" in errors, errors


def test_every_service_is_health_checked_or_waited_for() -> None:
    assert health_problems(load_compose()) == []


def test_the_topology() -> None:
    compose = load_compose()
    images = {service.get("image", "").split(":")[0] for service in compose["services"].values()}
    assert {"mongo", "redis", "prom/prometheus", "prom/alertmanager", "grafana/grafana"} <= images
    devnet = [s for s in compose["services"].values() if "stack.devnet" in " ".join(s.get("command") or [])]
    assert len(devnet) == 1 and "build" in devnet[0], "the devnet runs from the same image"
    for service in replicas(compose).values():
        assert service["depends_on"]["mongo"]["condition"] == "service_healthy"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"


def test_service_env_matches_the_service_config() -> None:
    assert env_problems(load_compose()) == []


def test_the_checks_catch_their_mistakes() -> None:
    no_health = copy.deepcopy(load_compose())
    del no_health["services"]["mongo"]["healthcheck"]
    problems = health_problems(no_health)
    assert any("waits for mongo to be healthy" in p for p in problems), problems
    grafana = copy.deepcopy(load_compose())
    del grafana["services"]["grafana"]["healthcheck"]
    assert any("grafana has no healthcheck" in p for p in health_problems(grafana))
    unconditioned = copy.deepcopy(load_compose())
    unconditioned["services"]["prometheus"]["depends_on"] = ["alertmanager"]
    assert any("without a condition" in p for p in health_problems(unconditioned))

    typo = copy.deepcopy(load_compose())
    first = next(iter(replicas(typo).values()))
    first["environment"]["MONGO_URI"] = first["environment"].pop("MONGODB_URI")
    problems = env_problems(typo)
    assert any("MONGO_URI is not read" in p for p in problems), problems
    assert any("MONGODB_URI is missing" in p for p in problems), problems
    two = copy.deepcopy(load_compose())
    del two["services"][next(iter(replicas(two)))]
    assert any("2 service replicas" in p for p in env_problems(two))
