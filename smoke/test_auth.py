"""Auth rejection: who may not read, and how the refusal is phrased."""

from __future__ import annotations

import secrets

import pytest

from harness.tokens import mint_token
from smoke import expect
from smoke.client import SmokeClient
from smoke.contract import ROLES
from smoke.settings import NO_SECRET, SMOKE_SUB, Settings


def test_auth_missing_token_401(client: SmokeClient) -> None:
    response = client.get("/api/v1/wallets")
    expect.status(response, 401)
    expect.error_format(response)


def test_auth_wrong_secret_401(client: SmokeClient) -> None:
    forged = mint_token(secrets.token_hex(32), SMOKE_SUB, ROLES, 60)
    response = client.get("/api/v1/wallets", token=forged)
    expect.status(response, 401)
    expect.error_format(response)


def test_auth_missing_role_403(client: SmokeClient, settings: Settings) -> None:
    if settings.jwt_secret is None:
        pytest.skip(NO_SECRET)
    user_only = mint_token(settings.jwt_secret, SMOKE_SUB, ["user"], 60)
    response = client.get("/api/v1/payouts/history", token=user_only)
    expect.status(response, 403)
    expect.error_format(response)
