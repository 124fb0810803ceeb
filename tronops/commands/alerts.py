"""`tronops alerts build | lint`: the Prometheus rules generated from the SLOs, and the rule linter."""

from __future__ import annotations

import argparse

from tronops.commands import Commands
from tronops.commands.generate import add_build, alert_rules


def cmd_lint(args: argparse.Namespace) -> int:
    from alerts import lint

    return lint.main(
        [*args.paths, *(["--scrape-interval", args.scrape_interval] if args.scrape_interval else [])]
    )


def register(commands: Commands) -> None:
    group = commands.add_parser("alerts", help="build (generate) or lint the alert rule files")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    add_build(actions, "rule files and their promtool tests", alert_rules)
    lint = actions.add_parser("lint", help="check rule files for queries that cannot work, and missing parts")
    lint.add_argument(
        "paths", nargs="*", help="rule files, plain or PrometheusRule (default: the project's own)"
    )
    lint.add_argument(
        "--scrape-interval",
        help="scrape interval the rules run with, for files without a lint directive (default 15s)",
    )
    lint.set_defaults(func=cmd_lint)
