"""The one write: a wallet created and soft-deleted again, only with --write. Never moves money."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from smoke import expect
from smoke.client import SmokeClient
from smoke.openapi import Document
from smoke.settings import Settings

READ_ONLY = "read-only run: pass --write to also create and soft-delete a smoke wallet"


def test_wallet_roundtrip(
    client: SmokeClient, settings: Settings, token: str, openapi: Callable[[], Document]
) -> None:
    if not settings.write:
        pytest.skip(READ_ONLY)
    name = f"smoke-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    created = client.request("POST", "/api/v1/wallets", token=token, json={"name": name, "currency": "TRX"})
    expect.status(created, 201)
    wallet_id = expect.json_object(created).get("wallet_id")
    try:
        openapi().validate("/api/v1/wallets", created)
        fetched = client.get(f"/api/v1/wallets/{wallet_id}", token=token)
        expect.status(fetched, 200)
        openapi().validate("/api/v1/wallets/{wallet_id}", fetched)
    finally:  # clean up whatever else failed
        deleted = client.request("DELETE", f"/api/v1/wallets/{wallet_id}", token=token)
    expect.status(deleted, 204)
    expect.status(client.get(f"/api/v1/wallets/{wallet_id}", token=token), 404)
