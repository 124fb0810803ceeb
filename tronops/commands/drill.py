"""`tronops drill run NAME... | --all` and `tronops drill list`: DR drills measuring RTO and RPO (drills/)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tronops.commands import Commands, add_target

# drills/runner.py DRILLS, kept here so `--help` imports nothing
NAMES = ("restore", "region-loss", "maintenance", "backup-check")


def cmd_list(args: argparse.Namespace) -> int:
    from drills.runner import DRILLS

    for drill in DRILLS.values():
        print(f"{drill.name:14} {drill.description}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from drills.context import DrillContext, target_from
    from drills.runner import DRILLS, exit_code, run, table, write_outputs
    from drills.timeline import DrillCannotRun

    names = list(DRILLS) if args.all else args.names
    unknown = [n for n in names if n not in DRILLS]
    if not names or unknown:
        what = f"no such drill: {', '.join(unknown)}" if unknown else "name drills to run, or --all"
        print(f"tronops drill run: {what} (`tronops drill list`)", file=sys.stderr)
        return 2
    try:
        ctx = DrillContext(
            target_from(args.target), say=lambda line: print(line, flush=True), ops_files=args.ops_file or []
        )
        if args.cronjob:  # else deploy/'s
            ctx.cronjob = args.cronjob
    except DrillCannotRun as error:
        print(f"tronops drill run: {error}", file=sys.stderr)
        return 2
    results = run(names, ctx)
    print()
    print(table(results))
    if args.out:
        summary_path, junit = write_outputs(results, str(args.target or "local"), args.out)
        print(f"\nsummary: {summary_path}\njunit: {junit}")
    return exit_code(results)


def register(commands: Commands) -> None:
    drill = commands.add_parser("drill", help="DR drills: measure RTO and RPO against the targets")
    actions = drill.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="one line per drill, its name first")
    listing.set_defaults(func=cmd_list)
    running = actions.add_parser(
        "run", help="run drills; exit 0 all targets held, 1 one missed, 2 could not run"
    )
    running.add_argument("names", nargs="*", metavar="NAME", help=f"drills: {', '.join(NAMES)}")
    running.add_argument("--all", action="store_true", help="every drill")
    add_target(running)
    running.add_argument("--out", type=Path, metavar="DIR", help="write the run summary JSON and JUnit here")
    running.add_argument(
        "--ops-file",
        type=Path,
        action="append",
        metavar="FILE",
        help="backup-check: a backup/restore script or DR plan to check (repeat; default: the seed's)",
    )
    running.add_argument(
        "--cronjob", type=Path, metavar="FILE", help="backup-check: the backup CronJob (default: deploy/'s)"
    )
    running.set_defaults(func=cmd_run)
