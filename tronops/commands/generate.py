"""`tronops generate [--check]`: every generated artefact from its source at once.

Each generator is one function `(check) -> exit code`: with `check` it writes nothing and exits 1 if
its outputs are out of date (what CI runs), else it writes them. A new generated artefact is one
more function and one more entry in GENERATORS.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from tronops.commands import Commands


def alert_rules(check: bool) -> int:
    """Recording and alert rules (production, local), the PrometheusRule, promtool tests, from the SLOs."""
    from alerts import generate

    return generate.main(["--check"] if check else [])


def dashboards(check: bool) -> int:
    """The on-call dashboard's JSON, from the grafanalib sources and the SLOs."""
    from dashboards import build

    return build.main(["--check"] if check else [])


def compose_monitoring(check: bool) -> int:
    """docker-compose's Prometheus and Alertmanager configs, from stack/monitoring.py."""
    from stack import monitoring

    return monitoring.render(check)


GENERATORS: dict[str, Callable[[bool], int]] = {
    "alert rules": alert_rules,
    "dashboards": dashboards,
    "compose monitoring configs": compose_monitoring,
}


def cmd_generate(args: argparse.Namespace) -> int:
    failed = [name for name, generator in GENERATORS.items() if generator(args.check) != 0]
    verb = "out of date" if args.check else "failed"
    if failed:
        print(f"tronops generate: {verb}: {', '.join(failed)}")
        return 1
    print(f"tronops generate: {'up to date' if args.check else 'written'}: {', '.join(GENERATORS)}")
    return 0


def register(commands: Commands) -> None:
    generate = commands.add_parser(
        "generate", help=f"build every generated artefact at once ({', '.join(GENERATORS)})"
    )
    generate.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if any output is out of date (for CI)"
    )
    generate.set_defaults(func=cmd_generate)


def add_build(actions: Commands, what: str, generator: Callable[[bool], int]) -> None:
    """The `build [--check]` subcommand of a group whose artefacts one generator writes."""
    build = actions.add_parser("build", help=f"generate the {what} from their sources")
    build.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if any output is out of date (for CI)"
    )
    build.set_defaults(func=lambda args: generator(args.check))
