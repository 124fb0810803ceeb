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
            print(f"{check.name:28} {','.join(check.kinds):18} {check.description}")
        return 0
    if not args.paths:
        print("tronops lint: give at least one file or folder to check", file=sys.stderr)
        return 2
    disabled = set(args.disable or ())
    unknown = sorted(disabled - {c.name for c in load_checks()})
    if unknown:
        print(
            f"tronops lint: --disable {', '.join(unknown)}: no such check (see --list-checks)",
            file=sys.stderr,
        )
        return 2
    if args.schemas is not None and not args.schemas.is_dir():
        print(f"tronops lint: --schemas {args.schemas}: not a folder", file=sys.stderr)
        return 2
    try:
        scrape_interval_s = parse_duration(args.scrape_interval)
    except ValueError:
        print(
            f"tronops lint: --scrape-interval {args.scrape_interval}: not a duration like 15s",
            file=sys.stderr,
        )
        return 2
    problem = _version_problem(args.kubernetes_version) or _objectives_problem(args.objectives)
    if problem:
        print(f"tronops lint: {problem}", file=sys.stderr)
        return 2
    options = Options(
        schemas=args.schemas or BUNDLED_SCHEMAS,
        kubernetes_version=args.kubernetes_version,
        scrape_interval_s=scrape_interval_s,
        disabled=frozenset(disabled),
        prometheus=args.prometheus,
        objectives=args.objectives,
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


def _version_problem(version: str) -> str | None:
    from kubernetes_validate import utils

    wanted = utils.major_minor(version.removeprefix("v"))
    known = sorted(
        {utils.major_minor(v) for v in utils.all_versions()}, key=lambda v: tuple(map(int, v.split(".")))
    )
    if wanted not in known:
        return f"--kubernetes-version {version}: kubernetes-validate knows {known[0]} to {known[-1]}"
    return None


def _objectives_problem(path: Path | None) -> str | None:
    from harness.objectives import ObjectivesError, load

    if path is None:
        return None
    try:
        load(path)
    except ObjectivesError as error:
        return f"--objectives: {error}"
    return None


def register(commands: Commands) -> None:
    lint = commands.add_parser(
        "lint",
        help="check manifests, Istio routes, alert rules, dashboards, compose files, scripts and DR plans",
        description="Recognise each file's kind by its content and run every check of that kind. "
        "Exit 0: clean; 1: findings; 2: a file could not be read, or nothing was checked.",
    )
    lint.add_argument(
        "paths", nargs="*", type=Path, help="files or folders (folders are walked); - reads YAML from stdin"
    )
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
        "--kubernetes-version",
        default="1.30",
        metavar="X.Y",
        help="Kubernetes version to validate core kinds against",
    )
    lint.add_argument(
        "--scrape-interval",
        default="15s",
        metavar="DURATION",
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
        metavar="CHECK",
        help="skip this check (repeatable; see --list-checks)",
    )
    lint.add_argument(
        "--objectives",
        type=Path,
        metavar="FILE",
        help="the service's identity, route groups and targets, laid out as harness/objectives.yaml "
        "(default: the project's own)",
    )
    lint.add_argument("--list-checks", action="store_true", help="list every check with its kind, and exit")
    lint.set_defaults(func=cmd_lint)
