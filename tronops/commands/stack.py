"""`tronops up | status | down`: the local stack's lifecycle."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tronops.commands import Commands, add_block_interval

# `status --json` gives every part these keys, in this order: a stable interface for scripts.
STATUS_FIELDS = ("name", "pid", "url", "admin_url", "state", "log")


def stack_dir() -> Path:
    """Where `up` keeps the stack's state, data and logs (TRONOPS_STACK_DIR moves it, e.g. for tests)."""
    from stack.processes import REPO

    return Path(os.environ.get("TRONOPS_STACK_DIR", REPO / "var" / "stack"))


def _shown(path: Path) -> Path:
    """A path as the operator typed it: relative to where they stand, when it is below there."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _print_table(rows: list[dict[str, Any]]) -> None:
    width = max(len(r["name"]) for r in rows)
    for row in rows:
        print(f"  {row['name']:<{width}}  {row.get('state', 'running'):<8} pid {row['pid']:<7} {row['url']}")


def status_document(state: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What `status --json` prints: the stack's entry point and each part, every key always present."""
    parts = [{key: row.get(key) for key in STATUS_FIELDS} for row in rows]
    return {"started_at": state.get("started_at"), "service_url": state.get("service_url"), "parts": parts}


def cmd_up(args: argparse.Namespace) -> int:
    from stack import topology
    from stack.local import LOCAL_SECRETS
    from stack.processes import PYTHON, StartError
    from tronops.signals import wait_for_stop

    run_dir = stack_dir()
    options = topology.StackOptions(
        run_dir=run_dir,
        port=args.port,
        replicas=args.replicas,
        block_interval=args.block_interval,
        chain_url=args.chain_url,
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        state = topology.up(options, progress=lambda line: print(line, flush=True))
    except (topology.StackError, StartError) as exc:
        print(f"tronops up: {exc}", file=sys.stderr)
        return 1
    print(f"\nstack up: service (through the mesh) at {state['service_url']}")
    _print_table(topology.status(run_dir))
    print(f"logs: {_shown(run_dir / 'logs')}", flush=True)
    code = 0
    if args.smoke:
        print("\nrunning the smoke suite against it ...", flush=True)
        env = {**os.environ, "JWT_SECRET": os.environ.get("JWT_SECRET") or LOCAL_SECRETS["JWT_SECRET"]}
        code = subprocess.call(
            [PYTHON, "-m", "tronops.cli", "smoke", "--base-url", state["service_url"]], env=env
        )
    if args.detach:
        print("\nleft running; `tronops status` shows it, `tronops down` stops it.")
        return code
    print("\nCtrl-C stops everything.", flush=True)
    wait_for_stop()
    print("stopping ...", flush=True)
    topology.down(run_dir)
    return code


def cmd_status(args: argparse.Namespace) -> int:
    from stack import topology

    run_dir = stack_dir()
    try:
        rows = topology.status(run_dir)
    except topology.StackError as exc:
        print(f"tronops status: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(status_document(topology.running(run_dir) or {}, rows), indent=2))
    else:
        _print_table(rows)
    return 0 if all(r["state"] == "running" for r in rows) else 1


def cmd_down(args: argparse.Namespace) -> int:
    from stack import topology

    try:
        stopped = topology.down(stack_dir())
    except topology.StackError as exc:
        print(f"tronops down: {exc}", file=sys.stderr)
        return 1
    print(f"stopped: {', '.join(stopped) or 'nothing was still running'}")
    return 0


def register(commands: Commands) -> None:
    up = commands.add_parser(
        "up",
        help="start the local stack: pods behind the mesh, store, Redis, devnet, Prometheus, Alertmanager",
    )
    up.add_argument("--port", type=int, default=8085, help="where the mesh listens")
    up.add_argument("--replicas", type=int, default=3, help="service pods")
    add_block_interval(up)
    up.add_argument(
        "--chain-url",
        metavar="URL",
        help="run on this devnet (another region's, shared) instead of starting one",
    )
    up.add_argument("--smoke", action="store_true", help="run the smoke suite once everything is up")
    up.add_argument(
        "--detach", action="store_true", help="leave it running and return (else Ctrl-C stops it)"
    )
    up.set_defaults(func=cmd_up)

    status = commands.add_parser("status", help="show each part of the local stack, its pid and URL")
    status.add_argument(
        "--json",
        action="store_true",
        help=f"for scripts: one JSON object, each part with {', '.join(STATUS_FIELDS)}",
    )
    status.set_defaults(func=cmd_status)

    commands.add_parser("down", help="stop everything `up` started, and nothing else").set_defaults(
        func=cmd_down
    )
