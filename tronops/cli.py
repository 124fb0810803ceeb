"""tronops: run the service locally, mint tokens, smoke-test a deployment, benchmark."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

from service.auth import ROLES, mint_token
from stack.local import LOCAL_SECRETS, start_backends
from stack.processes import REPO, StartError, port_open
from tronops import stack_commands
from tronops.signals import wait_for_stop

RUN_DIR = REPO / "var" / "local"
SMOKE_DIR = REPO / "smoke"


def cmd_token(args: argparse.Namespace) -> int:
    roles = [r for r in args.roles.split(",") if r]
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        print(f"unknown role(s) {', '.join(unknown)}; roles are: {', '.join(ROLES)}", file=sys.stderr)
        return 2
    secret = os.environ.get("JWT_SECRET") or LOCAL_SECRETS["JWT_SECRET"]
    print(mint_token(secret, args.sub, roles, args.ttl))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """The main job on the embedded default: the service on :PORT with its store, Redis and devnet."""
    if port_open(args.port):
        print(f"port {args.port} is already in use: stop what holds it, or pass --port", file=sys.stderr)
        return 1
    shutil.rmtree(RUN_DIR, ignore_errors=True)  # the devnet keeps no state, so neither may the store
    print(f"starting store, redis and TRON devnet (block every {args.block_interval} s) ...", flush=True)
    try:
        backends = start_backends(
            RUN_DIR, block_interval=args.block_interval, confirmations=args.confirmations
        )
    except StartError as exc:
        print(f"could not start: {exc}", file=sys.stderr)
        return 1
    try:
        print("starting the service ...", flush=True)
        service = backends.start_replica("tron-payment-service-0", port=args.port)
        token = mint_token(backends.service_env()["JWT_SECRET"], "operator", list(ROLES), 24 * 3600)
        print(
            json.dumps(
                {
                    "service": service.url,
                    "store": backends.store.url,
                    "redis": backends.redis.url,
                    "devnet": backends.devnet.url,
                    "usdt_contract": backends.usdt_contract,
                    "logs": str(RUN_DIR / "logs"),
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
            print(f"{dead} exited; see {RUN_DIR / 'logs'}; stopping.", file=sys.stderr)
            return 1
        return 0
    finally:
        print("stopping ...", flush=True)
        backends.stop()


def cmd_smoke(args: argparse.Namespace) -> int:
    """pytest on smoke/ in this process; its exit code is ours (0 green, 1 failures, 2+ usage or infra)."""
    import pytest  # a dev dependency: only this subcommand needs it

    # The suite uses no plugins; autoloading the dev tools' (schemathesis, hypothesis...) costs seconds.
    os.environ.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    argv = [
        str(SMOKE_DIR),
        f"--junitxml={args.junit}",
        f"--smoke-base-url={args.base_url}",
        f"--smoke-budget-ms={args.budget_ms}",
    ]
    if args.token:
        argv.append(f"--smoke-token={args.token}")
    if args.write:
        argv.append("--smoke-write")
    return int(pytest.main(argv))


def cmd_bench(args: argparse.Namespace) -> int:
    from loadtests.benchmark import run_benchmark

    return run_benchmark(duration=args.duration, concurrency=args.concurrency, soak_seconds=args.soak)


def cmd_alerts(args: argparse.Namespace) -> int:
    from alerts import generate, lint

    return (
        lint.main(args.paths) if args.action == "lint" else generate.main(["--check"] if args.check else [])
    )


def cmd_dashboards(args: argparse.Namespace) -> int:
    from dashboards import build, lint

    return lint.main(args.paths) if args.action == "lint" else build.main(["--check"] if args.check else [])


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="tronops", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    token = sub.add_parser("token", help="mint a JWT signed with JWT_SECRET (default: the local stack's)")
    token.add_argument("--sub", required=True, help="user id (the `sub` claim)")
    token.add_argument("--roles", default="user", help=f"comma-separated, from: {','.join(ROLES)}")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires (default 3600)")
    token.set_defaults(func=cmd_token)

    run = sub.add_parser("run", help="run the service with its store, Redis and TRON devnet on this machine")
    run.add_argument("--port", type=int, default=8085)
    run.add_argument("--block-interval", type=float, default=3.0, help="devnet seconds per block (default 3)")
    run.add_argument("--confirmations", type=int, default=19, help="blocks until a transaction is final")
    run.add_argument("--check", action="store_true", help="start, print where everything is, then stop")
    run.set_defaults(func=cmd_run)

    smoke = sub.add_parser("smoke", help="the post-deploy smoke suite against a deployment (JUnit XML out)")
    smoke.add_argument("--base-url", required=True, help="e.g. https://staging.example.com")
    smoke.add_argument(
        "--token", help="bearer token (default: env SMOKE_TOKEN, else one minted from env JWT_SECRET)"
    )
    smoke.add_argument("--junit", default="var/smoke-junit.xml", help="JUnit XML path (default %(default)s)")
    smoke.add_argument(
        "--budget-ms", type=int, default=2000, help="latency budget per request (default %(default)s)"
    )
    writes = smoke.add_mutually_exclusive_group()
    writes.add_argument(
        "--write", action="store_true", help="also create and soft-delete a wallet (never moves money)"
    )
    writes.add_argument("--read-only", dest="write", action="store_false", help="GETs only (the default)")
    smoke.set_defaults(func=cmd_smoke)

    bench = sub.add_parser("bench", help="benchmark one replica against a bare Quart hello-world")
    bench.add_argument("--duration", type=float, default=10.0, help="seconds per measured endpoint")
    bench.add_argument("--concurrency", type=int, default=16)
    bench.add_argument(
        "--soak", type=float, default=300.0, help="seconds of load for the RSS check (0 skips)"
    )
    bench.set_defaults(func=cmd_bench)
    for name, func, what in (
        ("alerts", cmd_alerts, "rule files"),
        ("dashboards", cmd_dashboards, "dashboards"),
    ):
        tool = sub.add_parser(name, help=f"build (generate) or lint the {what}")
        tool.add_argument("action", choices=["build", "lint"])
        tool.add_argument("paths", nargs="*", help=f"{what} to lint (default: the project's own)")
        tool.add_argument("--check", action="store_true", help="build: only report what is out of date")
        tool.set_defaults(func=func)
    stack_commands.add_parsers(sub)
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
