"""A replica killed right after it broadcast a payout, restarted after the transaction expired:
the payout is paid exactly once, whatever happened to that broadcast (issue 7's three cases).

The replica crashes through its test-only switch TEST_ONLY_EXIT_AFTER_BROADCAST (exit right after
the first broadcast, before it records the answer). The devnet fails like java-tron: once a node has
forgotten a broadcast id, a re-send of a transaction already in a block answers
TRANSACTION_EXPIRATION_ERROR after its expiration, which is what once made the worker sign again.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pymongo import MongoClient

from harness.clients.api import Api
from harness.clients.devnet import Devnet
from harness.waiting import wait_for
from stack.local import Backends
from stack.processes import Part
from tests.conftest import FAST_SERVICE
from tests.e2e.payout_steps import initiate_payout
from tests.e2e.test_payouts import new_address, trx_balance

# Short-lived transactions and a small margin, so "after the expiration" comes within the test.
SAFETY_ENV = {"TX_LIFETIME_SECONDS": "3", "RESIGN_MARGIN_SECONDS": "1", "WORKER_LEASE_SECONDS": "2"}
AMOUNT = 3_000_000
HOLD_SECONDS = 8  # how long a promise is watched to be kept


class Crash:
    """One payout on a database of its own, whose replica exits right after broadcasting it."""

    def __init__(self, backends: Backends, api_as: Callable[..., Api], devnet: Devnet) -> None:
        self.backends, self.api_as, self.devnet = backends, api_as, devnet
        self.database = f"lucid_tron_payment_once_{uuid.uuid4().hex[:6]}"
        self.env = {**FAST_SERVICE, **SAFETY_ENV, "MONGODB_DB": self.database}
        self.replicas: list[Part] = []
        self.store: MongoClient[dict[str, Any]] = MongoClient(backends.store.url)
        self.recipient = new_address()
        # The chain is the session's (a block every 0.2 s): only blocks from here on can hold ours.
        self.first_block = self._head()["number"]

    def pay_and_crash(self) -> dict[str, Any]:
        """Start a replica that crashes after its first broadcast; pay out; the stored operation."""
        replica = self._replica(TEST_ONLY_EXIT_AFTER_BROADCAST="1")
        self.manager = self.api_as("payout_manager", base_url=replica.url)
        self.wallet = self.manager.wallet("TRX")
        self.devnet.fund(self.wallet["address"], 10_000_000)
        self.path = initiate_payout(self.manager, self.wallet, self.recipient, str(AMOUNT / 1_000_000))
        wait_for(lambda: not replica.alive(), 30, "the replica to exit right after its broadcast")
        op = self.operation()
        assert op["status"] == "processing" and op["stage"] == "signed", op
        return op

    def wait_expired(self, op: dict[str, Any]) -> None:
        wait_for(lambda: self.head_time() > op["expires_at"] + 2000, 30, "the head to pass the expiration")

    def restart(self) -> Api:
        """Make the node forget the broadcast (as another node behind the load balancer would have
        it), then start a successor on the same database."""
        self.devnet.control("forget-broadcasts", {})
        successor = self._replica()
        return self.api_as("payout_manager", sub=self.manager.sub, base_url=successor.url)

    def operation(self) -> dict[str, Any]:
        found = self.store[self.database].operations.find_one({"kind": "payout"})
        assert found is not None
        return found

    def head_time(self) -> int:
        return int(self._head()["timestamp"])

    def _head(self) -> dict[str, Any]:
        raw: dict[str, Any] = self.devnet.node("wallet/getnowblock", {})["block_header"]["raw_data"]
        return raw

    def sent_on_chain(self) -> list[str]:
        """Every transaction the wallet sent, as the chain (not the lagging view) shows it."""
        return [txid for txid, _ in self._sent()]

    def landed_at(self, txid: str) -> int:
        """The time (ms) of the block that holds the transaction."""
        return next(at for sent, at in self._sent() if sent == txid)

    def _sent(self) -> list[tuple[str, int]]:
        """(tx id, block time) of what the wallet sent, scanning only the blocks since the test began
        (scanning from block 0 grew with the session's chain: a minute per scan late in a run)."""
        sent = []
        for number in range(self.first_block, int(self._head()["number"]) + 1):
            block = self.devnet.node("wallet/getblockbynum", {"num": number})
            for tx in block.get("transactions", []):
                owner = tx["raw_data"]["contract"][0]["parameter"]["value"]["owner_address"]
                if owner == self.wallet["address"]:
                    sent.append((tx["txID"], int(block["block_header"]["raw_data"]["timestamp"])))
        return sent

    def _replica(self, **extra: str) -> Part:
        replica = self.backends.start_replica(f"svc-once-{uuid.uuid4().hex[:4]}", **self.env, **extra)
        self.replicas.append(replica)
        return replica

    def close(self) -> None:
        for replica in self.replicas:
            replica.stop()
            self.backends.replicas.remove(replica)
        self.store.close()


@pytest.fixture
def crash(backends: Backends, api_as: Callable[..., Api], devnet: Devnet) -> Iterator[Crash]:
    world = Crash(backends, api_as, devnet)
    yield world
    world.close()


def test_a_transaction_that_landed_completes_the_payout_with_it(crash: Crash) -> None:
    first = crash.pay_and_crash()
    crash.wait_expired(first)
    manager = crash.restart()
    done = manager.wait_status(crash.path, ("completed", "failed"), timeout=60)
    assert done["status"] == "completed" and done["tx_id"] == first["tx_id"], done
    assert crash.sent_on_chain() == [first["tx_id"]], "one transaction on chain"
    assert crash.operation()["replaced_tx_ids"] == []
    assert trx_balance(crash.devnet, crash.recipient) == AMOUNT


def test_a_transaction_that_never_reached_the_node_is_signed_again_exactly_once(crash: Crash) -> None:
    crash.devnet.set_fault("refuse", 60, code="SERVER_BUSY", share=1.0)
    first = crash.pay_and_crash()
    crash.devnet.reset()
    crash.wait_expired(first)
    manager = crash.restart()
    done = manager.wait_status(crash.path, ("completed", "failed"), timeout=60)
    assert done["status"] == "completed" and done["tx_id"] != first["tx_id"], done
    assert crash.operation()["replaced_tx_ids"] == [first["tx_id"]], "re-signed exactly once"
    assert crash.sent_on_chain() == [done["tx_id"]], "only the new transaction is on chain"
    assert trx_balance(crash.devnet, crash.recipient) == AMOUNT


def test_a_transaction_that_landed_is_not_signed_again_while_the_node_asked_lags(crash: Crash) -> None:
    first = crash.pay_and_crash()
    wait_for(lambda: crash.sent_on_chain() == [first["tx_id"]], 30, "the broadcast to land")
    crash.wait_expired(first)
    # The node now serves a head older than the transaction's block, for longer than the test looks:
    # it knows neither that block nor any past the expiration, so it cannot show that the transaction
    # can no longer land (a fixed lag did not always reach back to that block on a loaded machine).
    behind_s = (time.time() * 1000 - crash.landed_at(first["tx_id"])) / 1000
    crash.devnet.set_fault("lag", 60, seconds=math.ceil(behind_s) + HOLD_SECONDS + 10)
    manager = crash.restart()

    def unchanged() -> bool:
        op = crash.operation()
        assert op["tx_id"] == first["tx_id"] and op["replaced_tx_ids"] == [], f"re-signed while lagging: {op}"
        return op["status"] == "processing"

    holds(unchanged, seconds=HOLD_SECONDS, what="the payout to wait, unsigned again, while the node lags")
    assert crash.devnet.http.delete("/control/faults/lag").status_code == 200
    done = manager.wait_status(crash.path, ("completed", "failed"), timeout=60)
    assert done["status"] == "completed" and done["tx_id"] == first["tx_id"], done
    assert crash.sent_on_chain() == [first["tx_id"]], "one transaction on chain"
    assert trx_balance(crash.devnet, crash.recipient) == AMOUNT


def holds(probe: Callable[[], bool], seconds: float, what: str) -> None:
    """`probe` stays true (and asserts nothing false) for `seconds`: a promise kept over time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert probe(), f"stopped holding: {what}"
        time.sleep(0.2)
