"""`tronops run`: one service replica with its store, Redis and TRON devnet, for work on the service.

The service runs as a process started from its command line; this process never imports it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys

from tronops.commands import Commands, add_block_interval


def cmd_run(args: argparse.Namespace) -> int:
    from harness.tokens import ROLES, mint_token
    from stack.local import start_backends
    from stack.processes import REPO, StartError, port_open
    from tronops.signals import wait_for_stop

    run_dir = REPO / "var" / "local"
    if port_open(args.port):
        print(f"port {args.port} is already in use: stop what holds it, or pass --port", file=sys.stderr)
        return 1
    shutil.rmtree(run_dir, ignore_errors=True)  # the devnet keeps no state, so neither may the store
    print(f"starting store, redis and TRON devnet (block every {args.block_interval} s) ...", flush=True)
    try:
        backends = start_backends(
            run_dir, block_interval=args.block_interval, confirmations=args.confirmations
        )
    except StartError as exc:
        print(f"could not start: {exc}", file=sys.stderr)
        return 1
    try:
        print("starting the service ...", flush=True)
        service = backends.start_replica("tron-payment-service-0", port=args.port)
        token = mint_token(backends.service_env()["JWT_SECRET"], "operator", ROLES, 24 * 3600)
        print(
            json.dumps(
                {
                    "service": service.url,
                    "store": backends.store.url,
                    "redis": backends.redis.url,
                    "devnet": backends.devnet.url,
                    "usdt_contract": backends.usdt_contract,
                    "logs": str(run_dir / "logs"),
                },
                indent=2,
            )
        )
        print(
            f"\nready. try:\n  curl -s {service.url}/health | python3 -m json.tool\n"
            f"  curl -s -H 'Authorization: Bearer {token}' {service.url}/api/v1/tron/network/status\n"
            f"fund an address from the devnet treasury:\n"
            f'  curl -s -XPOST {backends.devnet.url}/control/faucet -d \'{{"address":"T...","amount":'
            f'5000000,"currency":"TRX"}}\'\n',
            flush=True,
        )
        if args.check:
            print("--check: everything came up; stopping.")
            return 0
        print("Ctrl-C stops everything.", flush=True)
        parts = (service, backends.store, backends.redis, backends.devnet)
        if not wait_for_stop(lambda: all(p.alive() for p in parts)):
            dead = ", ".join(p.name for p in parts if not p.alive())
            print(f"{dead} exited; see {run_dir / 'logs'}; stopping.", file=sys.stderr)
            return 1
        return 0
    finally:
        print("stopping ...", flush=True)
        backends.stop()


def register(commands: Commands) -> None:
    run = commands.add_parser(
        "run", help="run one service replica with its store, Redis and TRON devnet on this machine"
    )
    run.add_argument("--port", type=int, default=8085, help="where the service listens")
    add_block_interval(run)
    run.add_argument(
        "--confirmations",
        type=int,
        default=19,
        help="blocks until a transaction is final",
    )
    run.add_argument("--check", action="store_true", help="start, print where everything is, then stop")
    run.set_defaults(func=cmd_run)
