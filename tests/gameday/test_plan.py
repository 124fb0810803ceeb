"""The game day's plan and exit codes, and its refusals of bad input, where no stack runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos import catalog
from drills.runner import DRILLS
from gameday import plan
from tests.cli.tronops_process import run_tronops

EXPERIMENTS = [entry.name for entry in catalog.entries()]


def test_the_full_day_runs_every_experiment_and_drill_between_smoke_load_and_audit() -> None:
    steps = plan.default_plan(quick=False)
    assert [s.label for s in steps] == [
        "smoke/suite",
        "load/baseline",
        *(f"chaos/{name}" for name in EXPERIMENTS),
        *(f"drills/{name}" for name in DRILLS),
        "audit/money",
    ]
    assert all(s.skip is None for s in steps)
    assert [s.phase for s in steps] == sorted((s.phase for s in steps), key=plan.PHASES.index)


def test_the_quick_day_keeps_its_subset_and_lists_the_rest_as_not_run_because_of_quick() -> None:
    steps = plan.default_plan(quick=True)
    run = [s.label for s in steps if s.skip is None]
    assert run == [
        "smoke/suite",
        "load/baseline",
        *(f"chaos/{name}" for name in plan.QUICK_EXPERIMENTS),
        *(f"drills/{name}" for name in plan.QUICK_DRILLS),
        "audit/money",
    ]
    skipped = {s.name: s.skip for s in steps if s.skip}
    assert skipped == {
        name: "--quick"
        for name in [*EXPERIMENTS, *DRILLS]
        if name not in plan.QUICK_EXPERIMENTS + plan.QUICK_DRILLS
    }
    assert len(steps) == len(plan.default_plan(quick=False)), "every step is listed, run or not"


def test_the_quick_subset_names_experiments_and_drills_that_exist() -> None:
    assert set(plan.QUICK_EXPERIMENTS) <= set(EXPERIMENTS)
    assert set(plan.QUICK_DRILLS) <= set(DRILLS)


@pytest.mark.parametrize(
    ("outcomes", "interrupted", "code"),
    [
        ([plan.PASSED, plan.PASSED, plan.NOT_RUN], False, 0),
        ([plan.PASSED, plan.FAILED, plan.NOT_RUN], False, 1),
        ([plan.PASSED, plan.ERROR], False, 1),
        ([plan.PASSED, plan.INCONCLUSIVE], False, 1),
        ([plan.PASSED, plan.ERROR, plan.NOT_RUN], True, 2),
    ],
)
def test_the_exit_code_follows_the_outcomes(outcomes: list[str], interrupted: bool, code: int) -> None:
    assert plan.exit_code(outcomes, interrupted) == code


@pytest.mark.parametrize(
    ("verdict", "error", "not_run", "outcome"),
    [
        ("pass", None, None, plan.PASSED),
        ("fail", None, None, plan.FAILED),
        ("inconclusive", None, None, plan.INCONCLUSIVE),
        (None, None, None, plan.INCONCLUSIVE),
        ("pass", "Boom: crashed", None, plan.ERROR),
        (None, None, "--quick", plan.NOT_RUN),
    ],
)
def test_a_steps_outcome_never_turns_a_crash_or_a_skip_green(
    verdict: str | None, error: str | None, not_run: str | None, outcome: str
) -> None:
    assert plan.outcome_of(verdict, error, not_run) == outcome


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no such file"),
        ("kind: staging\n", "kind is 'staging'"),
        ("kind: local\nstack_dri: var/stack\n", "unknown keys ['stack_dri']"),
    ],
)
def test_a_bad_target_file_exits_2_with_one_line_and_runs_nothing(
    content: str | None, says: str, tmp_path: Path
) -> None:
    target = tmp_path / "target.yaml"
    if content is not None:
        target.write_text(content)
    out = tmp_path / "day"
    done = run_tronops("gameday", "--quick", "--target", str(target), "--out", str(out))
    assert done.code == 2, done.stderr
    assert done.stderr.startswith("tronops gameday: --target ") and says in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not out.exists(), "nothing ran, nothing written"
    assert done.service_modules == []
