"""One module per command group. Each has `register(commands)`, which adds its subcommands and sets
`func` (Namespace -> exit code) on each. Modules import only argparse at the top: what a command
needs is imported inside it, so `tronops --help` answers at once and a command loads only its own.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any


class HelpWithDefaults(argparse.HelpFormatter):
    """Help that names an option's default where it has one worth saying (not for on/off flags)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        takes_a_value = action.option_strings and action.nargs != 0
        if takes_a_value and action.default not in (None, argparse.SUPPRESS):
            text += " (default %(default)s)"
        return text


class Parser(argparse.ArgumentParser):
    """Every tronops (sub)command's parser: its help names the defaults."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpWithDefaults)
        super().__init__(*args, **kwargs)


# What `ArgumentParser.add_subparsers` returns: the list that `register` adds commands to.
Commands = argparse._SubParsersAction  # type: ignore[type-arg]
Handler = Callable[[argparse.Namespace], int]


def add_block_interval(parser: argparse.ArgumentParser) -> None:
    """The devnet's pace, for the commands that start one (`up`, `run`)."""
    parser.add_argument("--block-interval", type=float, default=3.0, help="devnet seconds per block")


def add_target(parser: argparse.ArgumentParser) -> None:
    """Where a harness command acts: a target file, or just a base URL; neither means the local stack."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--target",
        type=Path,
        metavar="FILE",
        help="a target YAML file, `kind: local` or `kind: kubernetes` (see harness/target.py)",
    )
    where.add_argument("--base-url", help="the deployment's URL, e.g. https://staging.example.com")


def base_url(args: argparse.Namespace) -> str:
    """The service URL that `add_target`'s options name; raises harness.target.TargetError."""
    if args.base_url:
        return str(args.base_url).rstrip("/")
    from harness.target import DEFAULT_STACK_DIR, LocalTarget, load

    return (load(args.target) if args.target else LocalTarget(DEFAULT_STACK_DIR)).base_url
