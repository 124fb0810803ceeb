"""`tronops load run|baseline|list`: the release load tests (Locust profiles gated on the SLOs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tronops.commands import Commands


def cmd_list(args: argparse.Namespace) -> int:
    from loadtests.profiles import profiles

    for profile in profiles().values():
        print(profile.summary())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """0 every gate held, 1 a gate failed, 2 the run could not be made (one line naming the cause)."""
    from harness.target import TargetError
    from harness.target import load as load_target
    from loadtests import runner
    from tronops.commands.stack import stack_dir

    try:
        profile = runner.plan(args.profile, args.scale, args.duration)
        if args.workers < 0:
            raise runner.LoadError(f"--workers must be 0 or more, not {args.workers}")
        if args.target:
            where = runner.of_target(load_target(Path(args.target)), args.token)
        elif args.base_url:
            where = runner.remote(args.base_url, args.token)
        else:
            where = runner.local(stack_dir())
        out = Path(args.out or f"var/load/{profile.name}")
        run = runner.Run(
            profile=profile,
            where=where,
            out=out,
            workers=args.workers,
            read_only=args.read_only,
            record_baseline=args.command_name == "baseline",
            scale=args.scale,
            duration=args.duration,
            say=lambda line: print(line, flush=True),
        )
        return runner.execute(run)
    except KeyboardInterrupt:
        print(
            f"tronops load {args.command_name}: interrupted; Locust's processes were stopped", file=sys.stderr
        )
        return 2
    except (runner.LoadError, TargetError) as error:
        print(f"tronops load {args.command_name}: {error}", file=sys.stderr)
        return 2


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("profile", help="a profile name (`tronops load list`)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--target", help="a target file (harness/target.py); default: the local stack")
    where.add_argument("--base-url", help="any deployment of the contract, e.g. https://staging.example.com")
    parser.add_argument(
        "--token",
        help="for a remote target: one bearer token for every user (else minted from env JWT_SECRET)",
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="Locust workers under a master (0: one process)"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the profile's users")
    parser.add_argument("--duration", type=float, help="stretch or shrink the profile to this many seconds")
    parser.add_argument(
        "--out", help="where JUnit, Locust CSV/HTML and summary.json go (default var/load/PROFILE)"
    )
    parser.add_argument("--read-only", action="store_true", help="no writes at all: money never moves")


def register(commands: Commands) -> None:
    load = commands.add_parser("load", help="release load tests: Locust profiles gated on the SLOs")
    actions = load.add_subparsers(dest="load_command", required=True, metavar="ACTION")
    run = actions.add_parser(
        "run", help="run a profile and judge it against the gates (exit 0 pass, 1 fail, 2 not made)"
    )
    _run_options(run)
    run.set_defaults(func=cmd_run, command_name="run")
    baseline = actions.add_parser(
        "baseline", help="run a profile and record it as the baseline its later runs are gated against"
    )
    _run_options(baseline)
    baseline.set_defaults(func=cmd_run, command_name="baseline")
    actions.add_parser("list", help="the profiles, one line each, name first").set_defaults(func=cmd_list)
