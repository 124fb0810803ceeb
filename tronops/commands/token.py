"""`tronops token`: a bearer token as the contract defines it (there is no login endpoint)."""

from __future__ import annotations

import argparse
import os
import sys

from tronops.commands import Commands


def cmd_token(args: argparse.Namespace) -> int:
    from harness.tokens import ROLES, mint_token
    from stack.local import LOCAL_SECRETS

    roles = [r for r in args.roles.split(",") if r]
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        print(f"unknown role(s) {', '.join(unknown)}; roles are: {', '.join(ROLES)}", file=sys.stderr)
        return 2
    secret = os.environ.get("JWT_SECRET") or LOCAL_SECRETS["JWT_SECRET"]
    print(mint_token(secret, args.sub, roles, args.ttl))
    return 0


def register(commands: Commands) -> None:
    from harness.tokens import ROLES

    token = commands.add_parser(
        "token", help="mint a JWT signed with JWT_SECRET (default: the local stack's secret)"
    )
    token.add_argument("--sub", required=True, help="user id (the `sub` claim)")
    token.add_argument(
        "--roles",
        default="user",
        help=f"comma-separated, from: {', '.join(ROLES)}",
    )
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    token.set_defaults(func=cmd_token)
