"""The service escrows a new wallet before returning it, and refuses (503, no wallet) when it cannot."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx

from harness.tokens import mint_token
from stack.local import Backends


def create(backends: Backends, url: str, user: str) -> httpx.Response:
    token = mint_token(backends.service_env()["JWT_SECRET"], user, ["user"], 300)
    return httpx.post(
        f"{url}/api/v1/wallets",
        json={"name": "escrowed", "currency": "TRX"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_a_new_wallet_is_escrowed_before_it_is_returned(backends: Backends, tmp_path: Path) -> None:
    escrow = tmp_path / "keys"
    replica = backends.start_replica(f"escrow-{uuid.uuid4().hex[:6]}", KEY_ESCROW_DIR=str(escrow))
    try:
        answer = create(backends, replica.url, "escrow-user")
        assert answer.status_code == 201, answer.text
        wallet = answer.json()
        record = json.loads((escrow / f"{wallet['wallet_id']}.json").read_text())
        assert record["address"] == wallet["address"]
        assert record["encrypted_key"] and "private" not in json.dumps(wallet)

        blocked = tmp_path / "blocked"
        blocked.write_text("not a directory")
        refusing = backends.start_replica(f"escrow-{uuid.uuid4().hex[:6]}", KEY_ESCROW_DIR=str(blocked))
        try:
            refused = create(backends, refusing.url, "escrow-user-2")
            assert refused.status_code == 503
            assert refused.json()["error"]["message"] == "wallet keys cannot be escrowed; retry shortly"
            token = mint_token(backends.service_env()["JWT_SECRET"], "escrow-user-2", ["user"], 300)
            listed = httpx.get(f"{refusing.url}/api/v1/wallets", headers={"Authorization": f"Bearer {token}"})
            assert listed.json()["wallets"] == []  # nothing half-created
        finally:
            refusing.stop()
    finally:
        replica.stop()
