"""Lint a copy of the project's deploy/ with one document changed, and read what the linter says."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from harness.lint.findings import Finding
from harness.lint.run import Options, Report, lint

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
FIXTURES = Path(__file__).with_name("fixtures")
SEED = FIXTURES / "seed"  # the seed document's files, unchanged: each has the mistakes the checks exist for
FIXED = FIXTURES / "fixed"


def run(*paths: Path, options: Options | None = None) -> Report:
    return lint(list(paths), options or Options())


def of(findings: Sequence[Finding], check: str) -> list[Finding]:
    return [f for f in findings if f.check == check]


def caught(findings: Sequence[Finding], check: str, *words: str) -> Finding:
    """The finding of `check` whose message says every one of `words`; fails showing all findings."""
    found = [f for f in of(findings, check) if all(w in f.message for w in words)]
    assert found, f"no [{check}] finding saying {words}; findings:\n" + "\n".join(map(str, findings))
    return found[0]


def deploy_copy(tmp_path: Path) -> Path:
    target = tmp_path / "deploy"
    shutil.copytree(DEPLOY, target)
    return target


def edit(root: Path, kind: str, change: Callable[[dict[str, Any]], None], name: str | None = None) -> Path:
    """Apply `change` to the one document of `kind` (and name) under `root`; the file it is in."""
    for path in sorted(root.rglob("*.yaml")):
        documents = list(yaml.safe_load_all(path.read_text()))
        hits = [
            d for d in documents if isinstance(d, dict) and d.get("kind") == kind
            and (name is None or d.get("metadata", {}).get("name") == name)
        ]  # fmt: skip
        if hits:
            change(hits[0])
            path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
            return path
    raise LookupError(f"no {kind} {name or ''} under {root}")


def broken_deploy(
    tmp_path: Path, kind: str, change: Callable[[dict[str, Any]], None], name: str | None = None
) -> list[Finding]:
    """The findings on a copy of deploy/ with one document changed."""
    root = deploy_copy(tmp_path)
    edit(root, kind, change, name)
    return run(root).findings


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return found


def route(vs: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in vs["spec"]["http"] if r.get("name") == name)
    return found
