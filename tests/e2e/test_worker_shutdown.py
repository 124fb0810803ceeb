"""A replica stopped by SIGTERM hands its in-flight payouts over at once, and /metrics shows how long
accepted money has waited meanwhile."""

from __future__ import annotations

import re
import signal
import uuid
from collections.abc import Callable

import httpx

from harness.clients.api import Api
from harness.clients.devnet import Devnet
from harness.waiting import wait_for
from stack.local import Backends
from tests.conftest import FAST_SERVICE
from tests.e2e.payout_steps import initiate_payout, successor, wait_signed
from tests.e2e.test_payouts import new_address, trx_balance

LONG_LEASE = "120"  # far longer than the test waits: only a released lease lets the successor in


def oldest_unfinished_age(base_url: str, kind: str) -> float:
    text = httpx.get(f"{base_url}/metrics").text
    found = re.search(rf'^tron_oldest_unfinished_operation_age_seconds{{kind="{kind}"}} (\S+)$', text, re.M)
    assert found, f"no tron_oldest_unfinished_operation_age_seconds for {kind}"
    return float(found.group(1))


def test_sigterm_releases_the_leases_and_a_successor_completes_the_payout_at_once(
    backends: Backends, api_as: Callable[..., Api], devnet: Devnet
) -> None:
    env = {
        **FAST_SERVICE,
        "WORKER_LEASE_SECONDS": LONG_LEASE,
        "MONGODB_DB": f"lucid_tron_payment_term_{uuid.uuid4().hex[:6]}",
    }
    replica = backends.start_replica(f"svc-term-{uuid.uuid4().hex[:4]}", **env)
    manager = api_as("payout_manager", base_url=replica.url)
    wallet = manager.wallet("TRX")
    devnet.fund(wallet["address"], 10_000_000)
    recipient = new_address()
    # The node refuses every broadcast as busy: the payout is signed and waits, leased to this replica.
    devnet.set_fault("refuse", 60, code="SERVER_BUSY", share=1.0)
    path = initiate_payout(manager, wallet, recipient, "2")
    signed = wait_signed(manager, path)
    wait_for(lambda: oldest_unfinished_age(replica.url, "payout") >= 1, 10, "the payout's wait to show")
    assert manager.get(path).json()["status"] == "processing", "a busy node is retried, never final"
    assert oldest_unfinished_age(replica.url, "refund") == 0

    replica.signal(signal.SIGTERM)
    assert replica.process.wait(20) == 0, "shutdown is bounded"  # type: ignore[union-attr]
    backends.replicas.remove(replica)
    devnet.reset()

    with successor(backends, "svc-term", env) as replacement:
        manager = api_as("payout_manager", sub=manager.sub, base_url=replacement.url)
        done = manager.wait_status(path, ("completed", "failed"), timeout=30)
        assert done["status"] == "completed" and done["tx_id"] == signed["tx_id"], done
        assert trx_balance(devnet, recipient) == 2_000_000
        assert oldest_unfinished_age(replacement.url, "payout") == 0
