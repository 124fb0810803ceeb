"""`tronops bench`: one service replica against a bare Quart hello-world, per ASGI server and beside a
baseline git ref, then a memory soak."""

from __future__ import annotations

import argparse

from tronops.commands import Commands


def _servers(args: argparse.Namespace) -> list[str] | None:
    """None: every server; [] with --memory-only: none, only the soak."""
    if args.memory_only:
        return []
    return [name.strip() for name in args.servers.split(",")] if args.servers else None


def cmd_bench(args: argparse.Namespace) -> int:
    from loadtests.benchmark import run_benchmark

    return run_benchmark(
        duration=args.duration,
        concurrency=args.concurrency,
        soak_seconds=args.soak,
        servers=_servers(args),
        baseline_ref=None if args.baseline == "none" or args.memory_only else args.baseline,
        rounds=args.rounds,
    )


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
    bench.add_argument(
        "--servers",
        help="ASGI servers to compare, comma-separated, of uvicorn, hypercorn, granian (default: all)",
    )
    bench.add_argument(
        "--baseline",
        default="main",
        help="git ref whose service is measured beside them, served as it serves itself (default: main; "
        "'none' skips it)",
    )
    bench.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="measure every server and the baseline this many times (odd), alternating their order, and "
        "judge each figure's median (default: 3)",
    )
    bench.add_argument(
        "--memory-only",
        action="store_true",
        help="only the memory soak on one replica: RSS start, end, max and slope (length: --soak)",
    )
    bench.set_defaults(func=cmd_bench)
