"""`tronops bench`: one service replica against a bare Quart hello-world, then a memory soak."""

from __future__ import annotations

import argparse

from tronops.commands import Commands


def cmd_bench(args: argparse.Namespace) -> int:
    from loadtests.benchmark import run_benchmark

    return run_benchmark(duration=args.duration, concurrency=args.concurrency, soak_seconds=args.soak)


def register(commands: Commands) -> None:
    bench = commands.add_parser("bench", help="benchmark one replica against a bare Quart hello-world")
    bench.add_argument("--duration", type=float, default=10.0, help="seconds per measured endpoint")
    bench.add_argument("--concurrency", type=int, default=16, help="open connections wrk keeps")
    bench.add_argument(
        "--soak",
        type=float,
        default=300.0,
        help="seconds of load for the RSS check, 0 skips it",
    )
    bench.set_defaults(func=cmd_bench)
