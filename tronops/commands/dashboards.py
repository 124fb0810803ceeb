"""`tronops dashboards build | lint`: the on-call dashboard from its grafanalib sources, and its linter."""

from __future__ import annotations

import argparse

from tronops.commands import Commands
from tronops.commands.generate import add_build
from tronops.commands.generate import dashboards as dashboard_json


def cmd_lint(args: argparse.Namespace) -> int:
    from dashboards import lint

    return lint.main(args.paths)


def register(commands: Commands) -> None:
    group = commands.add_parser("dashboards", help="build (generate) or lint the Grafana dashboards")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    add_build(actions, "dashboards' JSON", dashboard_json)
    lint = actions.add_parser("lint", help="check dashboards: datasource, units, titles and every query")
    lint.add_argument("paths", nargs="*", help="dashboard JSON files (default: the generated on-call one)")
    lint.set_defaults(func=cmd_lint)
