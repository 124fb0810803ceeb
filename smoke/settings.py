"""What a smoke run points at, and with which credentials."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

# Tokens minted as the contract defines them, as the operator CLI mints them.
from harness.tokens import mint_token
from smoke.contract import ROLES

NO_TOKEN = "no token: pass --token or set SMOKE_TOKEN/JWT_SECRET"
NO_SECRET = "no JWT_SECRET: a token without the payout roles cannot be minted"
SMOKE_SUB = "smoke-ci"
TOKEN_TTL_SECONDS = 600  # a run takes seconds; a leaked smoke token should not outlive it by much


@dataclass(frozen=True)
class Settings:
    base_url: str
    token: str | None
    token_source: str
    jwt_secret: str | None
    budget_ms: float
    write: bool


def resolve_token(explicit: str | None, env: Mapping[str, str]) -> tuple[str | None, str]:
    """--token, else SMOKE_TOKEN, else one minted from JWT_SECRET with every role; and where it came from."""
    if explicit:
        return explicit, "token from --token"
    if env.get("SMOKE_TOKEN"):
        return env["SMOKE_TOKEN"], "token from SMOKE_TOKEN"
    if env.get("JWT_SECRET"):
        minted = mint_token(env["JWT_SECRET"], SMOKE_SUB, ROLES, TOKEN_TTL_SECONDS)
        return minted, "token minted from JWT_SECRET"
    return None, "no token"


def settings_from(base_url: str, token: str | None, budget_ms: float, write: bool) -> Settings:
    resolved, source = resolve_token(token, os.environ)
    return Settings(
        base_url.rstrip("/"), resolved, source, os.environ.get("JWT_SECRET") or None, budget_ms, write
    )
