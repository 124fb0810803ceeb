"""The command tree: every command and option explains itself, and `generate` answers for all generators."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from tronops.cli import parser
from tronops.commands import generate


def commands(
    node: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every (sub)command's parser, named by its command line."""
    yield " ".join(("tronops", *path)), node
    for action in node._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from commands(child, (*path, name))


def undocumented(node: argparse.ArgumentParser) -> list[str]:
    """Options and arguments without help text, and subcommands without a summary."""
    missing = [
        action.dest
        for action in node._actions
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction) and not action.help
    ]
    for action in node._actions:
        if isinstance(action, argparse._SubParsersAction):
            missing += [choice.dest for choice in action._choices_actions if not choice.help]
    return missing


COMMANDS = dict(commands(parser()))


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_and_subcommand_has_help(name: str) -> None:
    assert undocumented(COMMANDS[name]) == []


def test_the_groups_nest_their_actions() -> None:
    assert {
        "tronops alerts build",
        "tronops alerts lint",
        "tronops dashboards build",
        "tronops dashboards lint",
    } <= set(COMMANDS)


def test_the_help_check_catches_an_option_without_help() -> None:
    bare = argparse.ArgumentParser()
    bare.add_argument("--quiet", action="store_true")
    assert undocumented(bare) == ["quiet"]


def test_generate_names_what_is_out_of_date_and_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checked: list[bool] = []

    def stale(check: bool) -> int:
        checked.append(check)
        return 1

    monkeypatch.setitem(generate.GENERATORS, "a stale artefact", stale)
    assert generate.cmd_generate(parser().parse_args(["generate", "--check"])) == 1
    assert checked == [True]
    assert "out of date: a stale artefact" in capsys.readouterr().out
