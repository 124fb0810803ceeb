"""`tronops up | status | down`: the local stack's lifecycle."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from stack import topology
from stack.local import LOCAL_SECRETS
from stack.processes import PYTHON, REPO, StartError
from tronops.signals import wait_for_stop

# Where `up` keeps the stack's state, data and logs (TRONOPS_STACK_DIR moves it, e.g. for tests).
STACK_DIR = Path(os.environ.get("TRONOPS_STACK_DIR", REPO / "var" / "stack"))


def _print_status(rows: list[dict[str, Any]]) -> None:
    width = max(len(r["name"]) for r in rows)
    for row in rows:
        print(f"  {row['name']:<{width}}  {row.get('state', 'running'):<8} pid {row['pid']:<7} {row['url']}")


def cmd_up(args: argparse.Namespace) -> int:
    options = topology.StackOptions(
        run_dir=STACK_DIR, port=args.port, replicas=args.replicas, block_interval=args.block_interval
    )
    STACK_DIR.mkdir(parents=True, exist_ok=True)
    try:
        state = topology.up(options, progress=lambda line: print(line, flush=True))
    except (topology.StackError, StartError) as exc:
        print(f"tronops up: {exc}", file=sys.stderr)
        return 1
    print(f"\nstack up: service (through the mesh) at {state['service_url']}")
    _print_status(topology.status(STACK_DIR))
    print(f"logs: {STACK_DIR / 'logs'}", flush=True)
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
    topology.down(STACK_DIR)
    return code


def cmd_status(args: argparse.Namespace) -> int:
    try:
        rows = topology.status(STACK_DIR)
    except topology.StackError as exc:
        print(f"tronops status: {exc}", file=sys.stderr)
        return 1
    _print_status(rows)
    return 0 if all(r["state"] == "running" for r in rows) else 1


def cmd_down(args: argparse.Namespace) -> int:
    try:
        stopped = topology.down(STACK_DIR)
    except topology.StackError as exc:
        print(f"tronops down: {exc}", file=sys.stderr)
        return 1
    print(f"stopped: {', '.join(stopped) or 'nothing was still running'}")
    return 0


def add_parsers(sub: Any) -> None:
    up = sub.add_parser(
        "up",
        help="start the local stack: pods behind the mesh, store, Redis, devnet, Prometheus, Alertmanager",
    )
    up.add_argument("--port", type=int, default=8085, help="where the mesh listens (default 8085)")
    up.add_argument("--replicas", type=int, default=3)
    up.add_argument("--block-interval", type=float, default=3.0, help="devnet seconds per block (default 3)")
    up.add_argument("--smoke", action="store_true", help="run the smoke suite once everything is up")
    up.add_argument("--detach", action="store_true", help="leave it running and return")
    up.set_defaults(func=cmd_up)
    sub.add_parser("status", help="show each part of the local stack and its URL").set_defaults(
        func=cmd_status
    )
    sub.add_parser("down", help="stop everything `up` started, and nothing else").set_defaults(func=cmd_down)
