"""`tronops smoke`: the post-deploy smoke suite against any deployment of the contract."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tronops.commands import Commands, add_target, base_url


def cmd_smoke(args: argparse.Namespace) -> int:
    """pytest on smoke/ in this process; its exit code is ours (0 green, 1 failures, 2+ usage or infra)."""
    import pytest  # a dev dependency: only this subcommand needs it

    import smoke
    from harness.target import TargetError

    try:
        url = base_url(args)
    except TargetError as error:
        print(f"tronops smoke: {error}", file=sys.stderr)
        return 2
    if not (args.base_url or args.target):
        print(f"tronops smoke: no --target or --base-url: the local stack at {url}", flush=True)
    # The suite uses no plugins; autoloading the dev tools' (schemathesis, hypothesis, the test order
    # shuffler...) costs seconds and would reorder the suite.
    os.environ.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    argv = [
        str(Path(smoke.__file__).parent),
        f"--junitxml={args.junit}",
        f"--smoke-base-url={url}",
        f"--smoke-budget-ms={args.budget_ms}",
    ]
    if args.token:
        argv.append(f"--smoke-token={args.token}")
    if args.write:
        argv.append("--smoke-write")
    return int(pytest.main(argv))


def register(commands: Commands) -> None:
    smoke = commands.add_parser(
        "smoke", help="the post-deploy smoke suite against a deployment (JUnit XML out)"
    )
    add_target(smoke)
    smoke.add_argument(
        "--token", help="bearer token (default: env SMOKE_TOKEN, else one minted from env JWT_SECRET)"
    )
    smoke.add_argument("--junit", default="var/smoke-junit.xml", help="JUnit XML path")
    smoke.add_argument("--budget-ms", type=int, default=2000, help="latency budget per request")
    writes = smoke.add_mutually_exclusive_group()
    writes.add_argument(
        "--write", action="store_true", help="also create and soft-delete a wallet (never moves money)"
    )
    writes.add_argument("--read-only", dest="write", action="store_false", help="GETs only (the default)")
    smoke.set_defaults(func=cmd_smoke)
