"""docker-compose.yml: `tronops lint` finds nothing in it (the compose tool accepts it, every service
is health-checked or waited for: those checks' own tests are in tests/lint), and the service replicas
are configured with names the service actually reads.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from harness.lint.run import lint
from harness.lint.workloads import REPO, REQUIRED_SERVICE_ENV, service_env_names

COMPOSE_FILE = REPO / "docker-compose.yml"
GENESIS = REPO / "stack" / "devnet" / "genesis.json"
REPLICAS = 3


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


def replicas(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run the payment service: built from the Dockerfile, no command override."""
    return {
        name: service
        for name, service in compose["services"].items()
        if "build" in service and "command" not in service
    }


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


def test_tronops_lint_finds_nothing_in_the_compose_file() -> None:
    report = lint([COMPOSE_FILE])
    assert report.findings == [], "\n".join(map(str, report.findings))
    assert report.checked == {"compose": 1}


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


def test_the_env_check_catches_its_mistakes() -> None:
    typo = copy.deepcopy(load_compose())
    first = next(iter(replicas(typo).values()))
    first["environment"]["MONGO_URI"] = first["environment"].pop("MONGODB_URI")
    problems = env_problems(typo)
    assert any("MONGO_URI is not read" in p for p in problems), problems
    assert any("MONGODB_URI is missing" in p for p in problems), problems
    two = copy.deepcopy(load_compose())
    del two["services"][next(iter(replicas(two)))]
    assert any("2 service replicas" in p for p in env_problems(two))
