"""Python 3.11 to 3.13: the package admits them, CI runs each, every dependency has exactly one pin
for each, and the Makefile builds its virtualenv with the interpreter it is given."""

from __future__ import annotations

import subprocess
import tomllib
from collections import Counter

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from stack.processes import REPO
from tests.deploy.test_workflow import load_workflow

SUPPORTED = ("3.11", "3.12", "3.13")


def test_the_package_admits_exactly_the_supported_pythons() -> None:
    requires = SpecifierSet(
        tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    )
    admitted = [f"3.{minor}" for minor in range(8, 16) if requires.contains(f"3.{minor}.0")]
    assert tuple(admitted) == SUPPORTED


def test_ci_runs_the_fast_tests_on_every_supported_python() -> None:
    matrix = load_workflow()["jobs"]["unit"]["strategy"]["matrix"]
    assert tuple(matrix["python-version"]) == SUPPORTED


def pins_for(python: str, lines: list[str]) -> Counter[str]:
    """How many pins apply to each package on `python`, markers evaluated as pip evaluates them."""
    environment = {"python_version": python, "python_full_version": f"{python}.0"}
    pins: Counter[str] = Counter()
    for line in lines:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            assert len(requirement.specifier) == 1 and next(iter(requirement.specifier)).operator == "==", (
                line
            )
            pins[requirement.name.lower().replace("_", "-")] += 1
    return pins


def constraint_lines() -> list[str]:
    text = (REPO / "constraints.txt").read_text()
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_every_dependency_has_one_exact_pin_on_each_python() -> None:
    lines = constraint_lines()
    for python in SUPPORTED:
        twice = [name for name, count in pins_for(python, lines).items() if count > 1]
        assert not twice, f"Python {python}: more than one pin applies to {twice}"
    per_python = {python: set(pins_for(python, lines)) for python in SUPPORTED}
    assert len({frozenset(names) for names in per_python.values()}) == 1, "a package is pinned for some only"


def test_the_pin_check_catches_overlapping_markers() -> None:
    overlapping = [
        'chaostoolkit-lib==1.44.0; python_version < "3.13"',
        'chaostoolkit-lib==1.45.1; python_version >= "3.12"',
    ]
    assert pins_for("3.12", overlapping)["chaostoolkit-lib"] == 2
    assert pins_for("3.11", overlapping)["chaostoolkit-lib"] == 1


def test_make_builds_the_virtualenv_with_the_given_python() -> None:
    plan = subprocess.run(
        ["make", "-n", "setup", "PYTHON=/opt/python3.13/bin/python", "VENV=.venv-plan-only"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    assert "/opt/python3.13/bin/python -m venv .venv-plan-only" in plan
    assert ".venv-plan-only/bin/python -m pip install -q -c constraints.txt -e '.[dev]'" in plan
