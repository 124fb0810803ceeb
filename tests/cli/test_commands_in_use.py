"""Every `tronops` command line the workflow, the Makefile and the docs give exists with those options,
checked by the real argument parser; and none the workflow runs would wait for a Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from stack.processes import REPO
from tests.deploy.test_workflow import WORKFLOW, load_workflow
from tronops.cli import parser

# An invocation of the installed entry point (`.venv/bin/tronops`, `$(VENV)/bin/tronops`), up to the
# end of its shell command.
INVOKED = re.compile(r"\bbin/tronops\b([^`)|;&#\n]*)")
# In a code block, a command shown with its prompt: `$ tronops status --json | jq ...`.
PROMPTED = re.compile(r"^\$ tronops\b([^`)|;&#\n]*)")
# In prose, an inline code span holding a command line: `tronops up --detach`.
INLINE = re.compile(r"`(tronops [^`]*)`")
FENCE = "```"


@dataclass(frozen=True)
class CommandLine:
    where: str  # file:line
    argv: list[str]


def _invocations(text: str, where: str, first_line: int = 1) -> Iterator[CommandLine]:
    for number, line in enumerate(text.splitlines(), first_line):
        for match in INVOKED.finditer(line):
            yield CommandLine(f"{where}:{number}", shlex.split(match.group(1)))


def workflow_commands() -> list[CommandLine]:
    lines = []
    for name, job in load_workflow()["jobs"].items():
        for step in job.get("steps") or []:
            lines += _invocations(
                str(step.get("run", "")), f"{WORKFLOW.name} job {name}, step {step.get('name')}"
            )
    return lines


def makefile_commands() -> list[CommandLine]:
    return list(_invocations((REPO / "Makefile").read_text(), "Makefile"))


def markdown_commands() -> list[CommandLine]:
    lines = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]:
        fenced = False
        for number, line in enumerate(path.read_text().splitlines(), 1):
            where = f"{path.relative_to(REPO)}:{number}"
            if line.lstrip().startswith(FENCE):
                fenced = not fenced
                continue
            if fenced:
                lines += _invocations(line, str(path.relative_to(REPO)), number)
                lines += [CommandLine(where, shlex.split(m.group(1))) for m in PROMPTED.finditer(line)]
            else:
                lines += [CommandLine(where, shlex.split(m.group(1))[1:]) for m in INLINE.finditer(line)]
    return lines


def parse(command: CommandLine) -> argparse.Namespace:
    """The real parser's reading of it; a usage error fails the test with argparse's own message."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            return parser().parse_args(command.argv)
    except SystemExit:
        pytest.fail(
            f"{command.where}: `tronops {shlex.join(command.argv)}` does not parse: {errors.getvalue()}"
        )


def waits_for_ctrl_c(args: argparse.Namespace) -> bool:
    """`up` without --detach and `run` without --check stay in the foreground until stopped."""
    return (args.command == "up" and not args.detach) or (args.command == "run" and not args.check)


ALL = workflow_commands() + makefile_commands() + markdown_commands()


@pytest.mark.parametrize("command", ALL, ids=[f"{c.where} {' '.join(c.argv)}" for c in ALL])
def test_the_command_line_parses(command: CommandLine) -> None:
    parse(command)


def test_the_workflow_runs_the_commands_that_matter_and_none_blocks() -> None:
    commands = workflow_commands()
    assert {parse(c).command for c in commands} >= {"up", "token", "smoke", "down"}
    blocking = [c.where for c in commands if waits_for_ctrl_c(parse(c))]
    assert not blocking, f"these would wait for a Ctrl-C until the job times out: {blocking}"


def test_the_checks_catch_a_wrong_option_and_a_blocking_up() -> None:
    with pytest.raises(pytest.fail.Exception, match="does not parse"):
        parse(CommandLine("here", ["up", "--detatch"]))
    assert waits_for_ctrl_c(parse(CommandLine("here", ["up"])))
    assert not waits_for_ctrl_c(parse(CommandLine("here", ["up", "--detach"])))
