"""`tronops chaos run | list`: the game-day experiments (chaos/experiments) on the local stack or a
Kubernetes target, rollbacks always played; journal, JSON summary and JUnit out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tronops.commands import Commands


def cmd_list(args: argparse.Namespace) -> int:
    from chaos import catalog

    for entry in catalog.entries():
        print(f"{entry.name}: breaks: {entry.breaks} | expects: {entry.expects}")
    return 0


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    from chaos import catalog, runner, under_load

    if args.all == bool(args.experiments):
        print("tronops chaos run: name experiments or give --all (not both)", file=sys.stderr)
        return 2
    try:
        paths = (
            [entry.path for entry in catalog.entries()]
            if args.all
            else [catalog.find(n) for n in args.experiments]
        )
    except ValueError as error:
        print(f"tronops chaos run: {error}", file=sys.stderr)
        return 2
    config = {"target_file": str(args.target or ""), "allow_production": str(args.allow_production).lower()}
    if args.load is not None:
        try:
            under_load.check(args.load, config)
        except under_load.LoadRefused as error:
            print(f"tronops chaos run: {error}", file=sys.stderr)
            return 2
    label = str(args.target) if args.target else "local"
    runner.show_chaoslib_progress()
    outcomes = []
    for path in paths:
        print(f"== {path.stem}", file=sys.stderr)
        outcome = under_load.run_one(path, args.out, config, label, args.load, _say)
        outcomes.append(outcome)
        print(f"{outcome.name}: {outcome.result} ({outcome.seconds:.0f} s), summary {outcome.summary_path}")
        for line in outcome.notes:
            print(f"  {line}")
        for reason in outcome.reasons:
            print(f"  - {reason}")
        if outcome.result == runner.COULD_NOT_RUN and "status interrupted" in outcome.reasons:
            break  # interrupted (Ctrl-C, SIGTERM): its rollbacks ran; run nothing more
    print(f"JUnit XML: {runner.junit(outcomes, args.out / 'junit.xml')}")
    return max(runner.EXIT_CODES[o.result] for o in outcomes)


def register(commands: Commands) -> None:
    chaos = commands.add_parser("chaos", help="game-day chaos experiments (Chaos Toolkit), rollbacks always")
    verbs = chaos.add_subparsers(dest="chaos_command", required=True, metavar="VERB")
    listing = verbs.add_parser(
        "list", help="one line per experiment: its name, what it breaks, what it expects"
    )
    listing.set_defaults(func=cmd_list)
    run = verbs.add_parser(
        "run", help="run experiments; exit 0 when all held, 1 when one deviated, 2 when one could not run"
    )
    run.add_argument(
        "experiments", nargs="*", metavar="EXPERIMENT", help="a name from `chaos list`, or a file"
    )
    run.add_argument("--all", action="store_true", help="every experiment, in order")
    run.add_argument(
        "--target", type=Path, help="a target YAML (harness/target.py); default: the local stack"
    )
    run.add_argument(
        "--load",
        metavar="PROFILE",
        help="a load profile (`tronops load list`) through each whole experiment; local stack only",
    )
    run.add_argument("--out", type=Path, default=Path("var/chaos"), help="journals, summaries and JUnit XML")
    run.add_argument(
        "--allow-production", action="store_true", help="allow a Kubernetes target marked `production: true`"
    )
    run.set_defaults(func=cmd_run)
