"""tronops: the local stack, tokens, smoke, the money audit, benchmarks, generated alerts and dashboards."""

from __future__ import annotations

import argparse
import sys

from tronops.commands import (
    Parser,
    alerts,
    audit,
    backup,
    bench,
    dashboards,
    drill,
    generate,
    lint,
    service,
    smoke,
    stack,
    token,
)

# The order `tronops --help` lists them in.
GROUPS = (stack, service, token, smoke, audit, bench, lint, alerts, dashboards, generate, backup, drill)


def parser() -> argparse.ArgumentParser:
    top = Parser(prog="tronops", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(commands)
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
