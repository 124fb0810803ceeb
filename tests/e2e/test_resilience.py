"""Money stays safe when things go wrong: racing retries, a replica killed mid-payout, a graceful drain."""

from __future__ import annotations

import signal
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from harness.clients.api import Api
from harness.clients.devnet import Devnet
from harness.waiting import wait_for
from stack.local import Backends
from tests.conftest import FAST_SERVICE
from tests.e2e.test_payouts import new_address, trx_balance


def test_same_key_racing_on_two_replicas_pays_once(
    backends: Backends, api_as: Callable[..., Api], devnet: Devnet
) -> None:
    second = backends.start_replica(f"svc-race-{uuid.uuid4().hex[:4]}", **FAST_SERVICE)
    try:
        manager = api_as("payout_manager")
        on_second = api_as("payout_manager", sub=manager.sub, base_url=second.url)
        wallet = manager.wallet("TRX")
        devnet.fund(wallet["address"], 50_000_000)
        recipient = new_address()
        for attempt in range(5):
            key = f"race-{attempt}-{uuid.uuid4()}"
            body = {
                "recipient_address": recipient,
                "amount": "1",
                "currency": "TRX",
                "source_wallet_id": wallet["wallet_id"],
            }
            start = threading.Barrier(2)

            def send(
                client: Api, body: dict[str, str] = body, key: str = key, start: threading.Barrier = start
            ) -> httpx.Response:
                start.wait()
                return client.post("/api/v1/payouts/initiate", body, key=key)

            with ThreadPoolExecutor(2) as pool:
                first, other = pool.map(send, (manager, on_second))
            assert first.status_code == other.status_code == 202, (first.text, other.text)
            assert first.json()["payout_id"] == other.json()["payout_id"], (
                "both callers must get the same payout"
            )
            replayed = [r.headers.get("Idempotent-Replayed") for r in (first, other)]
            assert replayed.count("true") == 1, replayed

            again = manager.post("/api/v1/payouts/initiate", {**body, "amount": "2"}, key=key)
            assert again.status_code == 422 and again.json()["error"]["code"] == "LUCID_ERR_0422"
            manager.wait_status(f"/api/v1/payouts/{first.json()['payout_id']}", ("completed",))
        assert trx_balance(devnet, recipient) == 5_000_000, "five keys, five payouts of 1 TRX, no more"
        history = manager.get("/api/v1/payouts/history").json()
        assert history["pagination"]["total"] == 5
    finally:
        second.stop()
        backends.replicas.remove(second)


@pytest.mark.parametrize("moment", ["while broadcasting", "while awaiting confirmation"])
def test_replica_killed_mid_payout_completes_it_once(
    moment: str, backends: Backends, api_as: Callable[..., Api], devnet: Devnet
) -> None:
    # A replica of its own on a database of its own, so only it (and its successor) work the payout.
    database = f"lucid_tron_payment_crash_{uuid.uuid4().hex[:6]}"
    env = {**FAST_SERVICE, "WORKER_LEASE_SECONDS": "2", "MONGODB_DB": database}
    replica = backends.start_replica(f"svc-crash-{uuid.uuid4().hex[:4]}", **env)
    manager = api_as("payout_manager", base_url=replica.url)
    wallet = manager.wallet("TRX")
    devnet.fund(wallet["address"], 10_000_000)
    recipient = new_address()
    if moment == "while broadcasting":
        devnet.control("latency", {"ms": 1500})  # sign, then a slow broadcast: the kill lands inside it
    else:
        devnet.control("stall", {"stalled": True})  # broadcast goes through, the block never comes
    payout = manager.post(
        "/api/v1/payouts/initiate",
        {
            "recipient_address": recipient,
            "amount": "3",
            "currency": "TRX",
            "source_wallet_id": wallet["wallet_id"],
        },
        key=str(uuid.uuid4()),
    ).json()
    path = f"/api/v1/payouts/{payout['payout_id']}"
    signed = wait_for(lambda: (p := manager.get(path).json())["tx_id"] and p, 30, "the payout to be signed")
    replica.kill()
    backends.replicas.remove(replica)
    devnet.reset()

    successor = backends.start_replica(f"svc-crash-{uuid.uuid4().hex[:4]}", **env)
    try:
        manager = api_as("payout_manager", sub=manager.sub, base_url=successor.url)
        done = manager.wait_status(path, ("completed", "failed"), timeout=60)
        assert done["status"] == "completed", done
        assert done["tx_id"] == signed["tx_id"], "the stored transaction is re-sent, never a new one"
        assert trx_balance(devnet, recipient) == 3_000_000
        assert trx_balance(devnet, wallet["address"]) == 7_000_000
    finally:
        successor.stop()
        backends.replicas.remove(successor)


def test_sigterm_drains_in_flight_requests_then_exits(
    backends: Backends, api_as: Callable[..., Api], devnet: Devnet
) -> None:
    # The listener stays open DRAIN_SECONDS after SIGTERM, then closes while the slow request
    # (a node call delayed 3 s) is still running: it must still be answered.
    replica = backends.start_replica(f"svc-drain-{uuid.uuid4().hex[:4]}", DRAIN_SECONDS="1")
    user = api_as("user", base_url=replica.url)
    address = user.wallet("USDT")["address"]
    devnet.control("latency", {"ms": 3000})
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(user.get, f"/api/v1/usdt/balance/{address}")
        replica.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        not_ready = wait_for(
            lambda: (r := httpx.get(f"{replica.url}/health/ready")).status_code == 503 and r,
            5,
            "readiness to turn 503 at once",
        )
        assert "draining" in not_ready.json()["reason"]
        assert httpx.get(f"{replica.url}/health/live").status_code == 200, "still alive while draining"
        finished = in_flight.result(timeout=20)
    assert finished.status_code == 200, finished.text
    assert replica.process.wait(20) == 0  # type: ignore[union-attr]
    backends.replicas.remove(replica)
