"""`tronops gameday`: the whole game day in one command (smoke, load, chaos under load, drills, the
money audit), its files in one directory, and the report of it."""

from __future__ import annotations

import argparse
from pathlib import Path

from tronops.commands import Commands


def cmd_gameday(args: argparse.Namespace) -> int:
    from gameday.day import Options, run
    from tronops.commands.stack import stack_dir

    return run(Options(out=args.out, quick=args.quick, target_file=args.target, stack_dir=stack_dir()))


def register(commands: Commands) -> None:
    gameday = commands.add_parser(
        "gameday",
        help="the game day: smoke, load, chaos under load, drills, money audit, then the report "
        "(exit 0 all held, 1 something failed, 2 the day could not run)",
    )
    gameday.add_argument(
        "--target",
        type=Path,
        metavar="FILE",
        help="a target YAML (harness/target.py); default: the local stack, started for the day if none runs",
    )
    gameday.add_argument(
        "--quick",
        action="store_true",
        help="the short day (≤ 5 min): one experiment, one drill; the rest not run",
    )
    gameday.add_argument(
        "--out",
        type=Path,
        default=Path("var/gameday"),
        help="day.json, timeline.json, each step's files, the report",
    )
    gameday.set_defaults(func=cmd_gameday)
