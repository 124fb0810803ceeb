"""docker-compose files: the compose tool accepts them (`docker compose config -q`, or Debian's
`docker-compose config -q`; neither needs a Docker engine), and every service is health-checked or
waited for with a condition."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from typing import Any

from harness.lint.documents import Document
from harness.lint.findings import Problem, problem
from harness.lint.registry import check, kind
from harness.lint.run import Run

CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


@kind("compose", "docker-compose files")
def is_compose(document: Document) -> bool:
    data = document.data
    return (
        document.api_kind is None
        and isinstance(data, dict)
        and isinstance(data.get("services"), dict)
        and "groups" not in data
    )


@cache
def compose_command() -> tuple[str, ...] | None:
    """The compose CLI that works here without an engine, or None."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30)
        if probe.returncode == 0:
            return (docker, "compose")
    legacy = shutil.which("docker-compose")
    return (legacy,) if legacy else None


@check("compose", "compose-config")
def compose_config(document: Document, run: Run) -> Iterator[Problem]:
    """The compose tool accepts the file as it would run it."""
    command = compose_command()
    if command is None:
        yield problem(
            "cannot check: neither `docker compose` nor `docker-compose` is installed (Debian: "
            "apt-get install --no-install-recommends docker-compose)"
        )
        return
    result = subprocess.run(
        [*command, "-f", str(document.path.resolve()), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=document.path.parent,
    )
    if result.returncode != 0:
        yield problem(
            " ".join((result.stderr or result.stdout).split()) or f"exit status {result.returncode}"
        )


def depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):  # short form: no condition
        return {name: {} for name in depends}
    return dict(depends)


@check("compose", "compose-healthchecks")
def healthchecks(document: Document, run: Run) -> Iterator[Problem]:
    """Every service has a healthcheck or something waits for it with a condition, and every
    dependency is waited for with a condition it can meet."""
    services: dict[str, Any] = document.data["services"]
    waited_on = {
        dependency
        for service in services.values()
        for dependency, spec in depends_on(service or {}).items()
        if spec.get("condition") in CONDITIONS
    }
    for name, service in services.items():
        service = service or {}
        test = service.get("healthcheck") or {}
        if (not test.get("test") or test.get("disable")) and name not in waited_on:
            yield problem(
                f"service {name} has no healthcheck and nothing waits on it with a condition",
                "services",
                name,
            )
        for dependency, spec in depends_on(service).items():
            here = ("services", name, "depends_on")
            if dependency not in services:
                yield problem(f"service {name} depends on unknown service {dependency}", *here)
            elif spec.get("condition") not in CONDITIONS:
                yield problem(f"service {name} depends on {dependency} without a condition", *here)
            elif spec["condition"] == "service_healthy" and not (services[dependency] or {}).get(
                "healthcheck"
            ):
                yield problem(
                    f"service {name} waits for {dependency} to be healthy, which has no healthcheck", *here
                )
