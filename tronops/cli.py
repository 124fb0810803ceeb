"""tronops: the local stack, tokens, smoke, load tests, chaos, the money audit, benchmarks, and the
generated alerts and dashboards."""

from __future__ import annotations

import argparse
import signal
import sys

from tronops.commands import (
    Parser,
    alerts,
    audit,
    backup,
    bench,
    chaos,
    dashboards,
    drill,
    gameday,
    generate,
    lint,
    load,
    report,
    service,
    smoke,
    stack,
    token,
)

# The order `tronops --help` lists them in.
GROUPS = (
    stack,
    service,
    token,
    smoke,
    load,
    chaos,
    drill,
    gameday,
    backup,
    audit,
    report,
    bench,
    lint,
    alerts,
    dashboards,
    generate,
)


def parser() -> argparse.ArgumentParser:
    top = Parser(prog="tronops", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(commands)
    return top


def main(argv: list[str] | None = None) -> None:
    # Ctrl-C (SIGINT) must stop a run and play its rollbacks also when a shell started us in the
    # background: a shell without job control starts background commands with SIGINT ignored, and
    # Python then installs no handler of its own, so the signal did nothing (a chaos run sent SIGINT
    # mid-method held its fault to the end).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    args = parser().parse_args(argv)
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
