"""Steps the crash and shutdown tests share: pay out of a wallet, wait for the payout to be signed,
start the replica that takes over."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from harness.clients.api import Api
from harness.waiting import wait_for
from stack.local import Backends
from stack.processes import Part


def initiate_payout(manager: Api, wallet: dict[str, Any], recipient: str, amount: str) -> str:
    """Pay `amount` TRX out of the wallet; the new payout's path."""
    answer = manager.post(
        "/api/v1/payouts/initiate",
        {
            "recipient_address": recipient,
            "amount": amount,
            "currency": "TRX",
            "source_wallet_id": wallet["wallet_id"],
        },
        key=str(uuid.uuid4()),
    )
    assert answer.status_code == 202, answer.text
    return f"/api/v1/payouts/{answer.json()['payout_id']}"


def wait_signed(manager: Api, path: str) -> dict[str, Any]:
    return wait_for(lambda: (p := manager.get(path).json())["tx_id"] and p, 30, "the payout to be signed")


@contextmanager
def successor(backends: Backends, prefix: str, env: dict[str, str]) -> Iterator[Part]:
    """A replica that takes the work over; stopped and forgotten afterwards."""
    replica = backends.start_replica(f"{prefix}-{uuid.uuid4().hex[:4]}", **env)
    try:
        yield replica
    finally:
        replica.stop()
        backends.replicas.remove(replica)
