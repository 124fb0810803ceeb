"""`tronops load`: the list, and every run that cannot be made ends 2 with one line naming the cause,
having imported no `service` module (the harness reaches a service only through its contract)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.profiles import profiles
from stack.processes import free_port
from tests.cli.tronops_process import run_tronops


def test_list_prints_one_line_per_profile_name_first(tmp_path: Path) -> None:
    done = run_tronops("load", "list")
    assert done.code == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == list(profiles())


def _target(tmp_path: Path, text: str) -> str:
    path = tmp_path / "target.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("run", "nope"), "unknown profile 'nope': choose one of smoke"),
        (("run", "smoke", "--scale", "-1"), "--scale must be a positive number, not -1.0"),
        (("run", "smoke", "--workers", "-2"), "--workers must be 0 or more"),
        (("run", "smoke"), "no local stack recorded at"),
        (("baseline", "smoke", "--base-url", "http://127.0.0.1:{port}", "--token", "t"), "is unreachable"),
        (("run", "smoke", "--target", "{missing}"), "a kubernetes target needs"),
    ],
    ids=["profile", "scale", "workers", "no-stack", "unreachable", "target-field"],
)
def test_a_run_that_cannot_be_made_says_why_in_one_line(
    args: tuple[str, ...], says: str, tmp_path: Path
) -> None:
    missing = _target(tmp_path, "kind: kubernetes\ncontext: staging\nnamespace: lucid-payment\n")
    argv = [a.format(port=free_port(), missing=missing) for a in args]
    done = run_tronops(
        "load", *argv, "--out", str(tmp_path / "out"), env={"TRONOPS_STACK_DIR": str(tmp_path)}
    )
    assert done.code == 2, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr, done.stderr
    assert done.service_modules == []
