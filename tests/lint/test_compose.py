"""Compose checks: the compose tool's own verdict, and health checks or conditions on every service."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.lint.compose import compose_command
from tests.lint.helpers import REPO, caught, run

COMPOSE = REPO / "docker-compose.yml"


def _write(tmp_path: Path, compose: dict[str, Any]) -> Path:
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(compose))
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    return path


def _project() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(COMPOSE.read_text()))


def test_the_compose_tool_rejects_a_broken_file(tmp_path: Path) -> None:
    if compose_command() is None:
        pytest.skip(
            "neither `docker compose` nor `docker-compose` is installed (Debian package docker-compose)"
        )
    broken = _project()
    broken["services"]["redis"]["healthcheck"]["intervall"] = "5s"
    caught(run(_write(tmp_path, broken)).findings, "compose-config", "intervall")


def test_a_service_nothing_checks_or_waits_for_is_caught(tmp_path: Path) -> None:
    no_health = _project()
    del no_health["services"]["mongo"]["healthcheck"]
    caught(run(_write(tmp_path, no_health)).findings, "compose-healthchecks", "waits for mongo to be healthy")
    grafana = _project()
    del grafana["services"]["grafana"]["healthcheck"]
    caught(run(_write(tmp_path, grafana)).findings, "compose-healthchecks", "grafana has no healthcheck")
    unconditioned = _project()
    unconditioned["services"]["prometheus"]["depends_on"] = ["alertmanager"]
    caught(run(_write(tmp_path, unconditioned)).findings, "compose-healthchecks", "without a condition")
