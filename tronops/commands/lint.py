"""`tronops lint PATH...`: check deployment config of any kind the linter recognises."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tronops.commands import Commands

FORMATS = ("text", "json", "github")


def cmd_lint(args: argparse.Namespace) -> int:
    from alerts.durations import parse_duration
    from harness.lint import findings as output
    from harness.lint.live import LiveError
    from harness.lint.run import BUNDLED_SCHEMAS, Options, lint, load_checks

    if args.list_checks:
        for check in load_checks():
            print(f"{check.name:28} {check.kind:18} {check.description}")
        return 0
    if not args.paths:
        print("tronops lint: give at least one file or folder to check", file=sys.stderr)
        return 2
    known = {c.name for c in load_checks()}
    unknown = sorted(set(args.disable) - known)
    if unknown:
        print(
            f"tronops lint: --disable {', '.join(unknown)}: no such check (see --list-checks)",
            file=sys.stderr,
        )
        return 2
    if args.schemas is not None and not args.schemas.is_dir():
        print(f"tronops lint: --schemas {args.schemas}: not a folder", file=sys.stderr)
        return 2
    options = Options(
        schemas=args.schemas or BUNDLED_SCHEMAS,
        kubernetes_version=args.kubernetes_version,
        scrape_interval_s=parse_duration(args.scrape_interval),
        disabled=frozenset(args.disable),
        prometheus=args.prometheus,
    )
    try:
        report = lint(args.paths, options)
    except LiveError as error:
        print(f"tronops lint: {error}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(output.as_json(report.findings, report.checked, report.skipped))
    else:
        render = output.as_github if args.format == "github" else output.as_text
        sys.stdout.write(render(report.findings))
    print(report.summary(), file=sys.stderr)
    return report.exit_code


def register(commands: Commands) -> None:
    lint = commands.add_parser(
        "lint",
        help="check manifests, Istio routes, alert rules, dashboards, compose files, scripts and DR plans",
        description="Recognise each file's kind by its content and run every check of that kind. "
        "Exit 0: clean; 1: findings; 2: a file could not be read, or nothing was checked.",
    )
    lint.add_argument("paths", nargs="*", type=Path, help="files or folders (folders are walked)")
    lint.add_argument(
        "--format", choices=FORMATS, default="text",
        help="text: file:line: [check] message; json: one object; github: workflow annotations",
    )  # fmt: skip
    lint.add_argument(
        "--schemas", type=Path, metavar="DIR",
        help="CRD JSON Schemas as <group>/<kind>_<version>.json, e.g. a cluster's own "
        "(default: the Istio and prometheus-operator schemas shipped with tronops)",
    )  # fmt: skip
    lint.add_argument(
        "--kubernetes-version", default="1.30", help="Kubernetes version to validate core kinds against"
    )
    lint.add_argument(
        "--scrape-interval",
        default="15s",
        help="scrape interval rules run with, for files without a lint directive",
    )
    lint.add_argument(
        "--prometheus",
        metavar="URL",
        help="live mode: every series a rule or panel reads must exist in this Prometheus",
    )
    lint.add_argument(
        "--disable",
        action="append",
        default=[],
        metavar="CHECK",
        help="skip this check (repeatable; see --list-checks)",
    )
    lint.add_argument("--list-checks", action="store_true", help="list every check with its kind, and exit")
    lint.set_defaults(func=cmd_lint)
