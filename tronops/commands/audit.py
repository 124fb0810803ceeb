"""`tronops audit`: the money checker against any deployment (admin API + TronGrid-style chain history)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from tronops.commands import Commands, add_target, base_url

MAINNET_USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
RELATIVE = re.compile(r"^(\d+)([mhd])$")
UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}


class BadOption(ValueError):
    pass


def since_ms(text: str, now_ms: int) -> int:
    """`--since`: an ISO-8601 time (2026-07-01T00:00:00Z) or a span back from now (30m, 24h, 90d)."""
    relative = RELATIVE.match(text)
    if relative:
        return now_ms - int(relative[1]) * UNIT_MS[relative[2]]
    from harness.audit.ledger import iso_ms

    try:
        return iso_ms(text)
    except ValueError:
        raise BadOption(
            f"--since {text!r}: write an ISO time (2026-07-01T00:00:00Z) or 30m / 24h / 90d"
        ) from None


def chain_side(args: argparse.Namespace) -> tuple[str, str]:
    """(TronGrid URL, USDT contract): given, or the local stack's devnet when auditing the local stack."""
    if args.chain_url:
        return args.chain_url, args.usdt_contract or MAINNET_USDT
    if args.base_url:
        raise BadOption("--chain-url is required with --base-url (e.g. https://api.trongrid.io)")
    from harness.target import DEFAULT_STACK_DIR, LocalTarget, load

    target = load(args.target) if args.target else LocalTarget(DEFAULT_STACK_DIR)
    if not isinstance(target, LocalTarget):
        raise BadOption("--chain-url is required for a kubernetes target (e.g. https://api.trongrid.io)")
    state = target.state()
    return state.url("devnet"), args.usdt_contract or state.usdt_contract


def token(args: argparse.Namespace) -> str:
    if args.token:
        return str(args.token)
    from harness.tokens import mint_token
    from stack.local import LOCAL_SECRETS

    secret = os.environ.get("JWT_SECRET") or LOCAL_SECRETS["JWT_SECRET"]
    return mint_token(secret, "tronops-audit", ["admin"], ttl_s=3600)


def push(pushgateway: str, report_counts: dict[str, int], ok: bool) -> None:
    """Findings as metrics for the batch job's Pushgateway (the alert pages on any)."""
    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

    registry = CollectorRegistry()
    findings = Gauge("tron_audit_findings", "Findings of the last money audit", ["kind"], registry=registry)
    for kind, count in report_counts.items():
        findings.labels(kind=kind).set(count)
    Gauge("tron_audit_up", "1 if the last audit could read both sides", registry=registry).set(1 if ok else 0)
    if ok:
        Gauge(
            "tron_audit_last_success_timestamp_seconds", "When an audit last completed", registry=registry
        ).set_to_current_time()
    push_to_gateway(pushgateway, job="tron-payment-audit", registry=registry)


def cmd_audit(args: argparse.Namespace) -> int:
    """0 clean, 1 findings, 2 could not audit."""
    import time

    from harness.audit.chain import ChainUnreadable
    from harness.audit.findings import KINDS
    from harness.audit.ledger import LedgerUnreadable
    from harness.audit.run import audit
    from harness.target import TargetError

    now = int(time.time() * 1000)
    try:
        service = base_url(args)
        chain_url, usdt = chain_side(args)
        report = audit(
            service,
            token(args),
            chain_url,
            usdt,
            since_ms=since_ms(args.since, now),
            stuck_after_ms=int(args.stuck_after * 60_000),
            lookback_ms=int(args.lookback * 3_600_000),
        )
    except (BadOption, TargetError, LedgerUnreadable, ChainUnreadable) as error:
        print(f"tronops audit: could not audit: {error}", file=sys.stderr)
        if args.pushgateway:
            push(args.pushgateway, dict.fromkeys(KINDS, 0), ok=False)
        return 2
    if args.format == "json":
        print(json.dumps(report.as_dict()))
    else:
        for finding in report.findings:
            print(finding.line())
        print(report.summary())
    if args.pushgateway:
        push(args.pushgateway, report.counts(), ok=True)
    return 0 if report.clean else 1


def register(commands: Commands) -> None:
    audit = commands.add_parser(
        "audit",
        help="reconcile the service's ledger with the chain: exit 0 clean, 1 findings, 2 could not audit",
    )
    add_target(audit)
    audit.add_argument("--token", help="admin bearer token (default: one minted from env JWT_SECRET)")
    audit.add_argument(
        "--chain-url",
        help="TronGrid (or a node with its /v1 API); default: the local stack's devnet",
    )
    audit.add_argument("--usdt-contract", help="the USDT TRC20 contract (default: the stack's, or mainnet's)")
    audit.add_argument("--since", default="24h", help="window start: ISO time or 30m / 24h / 90d back")
    audit.add_argument(
        "--stuck-after", type=float, default=30.0, help="minutes an operation may stay unfinished"
    )
    audit.add_argument(
        "--lookback", type=float, default=24.0, help="hours of ledger read before the window (late landings)"
    )
    audit.add_argument(
        "--format", choices=("text", "json"), default="text", help="one line per finding, or JSON"
    )
    audit.add_argument("--pushgateway", help="push tron_audit_* metrics there (the production CronJob)")
    audit.set_defaults(func=cmd_audit)
    register_torture(commands)


def cmd_torture(args: argparse.Namespace) -> int:
    """0 pass, 1 findings or a coverage counter at 0, 2 could not run."""
    from harness.audit.chain import ChainUnreadable
    from harness.audit.ledger import LedgerUnreadable
    from harness.audit.torture import Settings, Torture
    from harness.clients.devnet import Devnet
    from harness.clients.http import ControlError
    from harness.clients.pods import Pods
    from harness.target import DEFAULT_STACK_DIR, LocalTarget, TargetError, load
    from stack.local import LOCAL_SECRETS

    try:
        target = load(args.target) if args.target else LocalTarget(DEFAULT_STACK_DIR)
        if not isinstance(target, LocalTarget):
            raise TargetError("torture needs a local target: it drives the devnet's faults and the pods")
        state = target.state()
        settings = Settings(
            payouts=args.payouts, clients=args.clients, seed=args.seed, chaos_s=args.chaos_seconds
        )
        secret = os.environ.get("JWT_SECRET") or LOCAL_SECRETS["JWT_SECRET"]
        with Devnet(state.url("devnet")) as devnet, Pods(state.url("pods")) as pods:
            outcome = Torture(state.service_url, secret, pods, devnet, state.usdt_contract, settings).run()
    except (TargetError, ControlError, LedgerUnreadable, ChainUnreadable) as error:
        print(f"tronops torture: could not run: {error}", file=sys.stderr)
        return 2
    for line in outcome.lines():
        print(line)
    return 0 if outcome.passed else 1


def register_torture(commands: Commands) -> None:
    torture = commands.add_parser(
        "torture",
        help="payouts under retries, pod kills and node faults, then the audit (local stack); 0 pass",
    )
    torture.add_argument("--target", type=Path, metavar="FILE", help="a `kind: local` target file")
    torture.add_argument("--payouts", type=int, default=40, help="payouts to make")
    torture.add_argument("--clients", type=int, default=8, help="concurrent clients (one wallet each)")
    torture.add_argument("--seed", type=int, default=1, help="seed of the chaos schedule and the clients")
    torture.add_argument("--chaos-seconds", type=float, default=75.0, help="how long faults and kills go on")
    torture.add_argument(
        "--settle-seconds", type=float, default=240.0, help="time for every payout to be final afterwards"
    )
    torture.set_defaults(func=cmd_torture)
