"""/admin: the ledger and the held wallets an auditor reconciles, and the payout kill switch."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from harness.clients.api import Api
from harness.clients.devnet import Devnet
from harness.waiting import wait_for
from stack.local import Backends
from stack.processes import Part
from tests.conftest import FAST_SERVICE
from tests.e2e.test_payouts import new_address, trx_balance

FREEZE = "/api/v1/admin/payouts/freeze"
# How long a frozen queue is watched for a move that must not happen: many worker polls (0.1 s) and
# frozen re-checks (1 s) of every replica.
FROZEN_WATCH_SECONDS = 3.0


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_the_ledger_lists_every_money_operation_in_the_window(
    api_as: Callable[..., Api], devnet: Devnet
) -> None:
    admin, manager = api_as("admin"), api_as("payout_manager")
    since = datetime.now(UTC) - timedelta(seconds=1)
    wallet = manager.wallet("TRX")
    devnet.fund(wallet["address"], 5_000_000)
    recipient = new_address()
    body = {"recipient_address": recipient, "amount": "1.5", "currency": "TRX"}
    payout = manager.post(
        "/api/v1/payouts/initiate", {**body, "source_wallet_id": wallet["wallet_id"]}, key=str(uuid.uuid4())
    ).json()
    done = manager.wait_status(f"/api/v1/payouts/{payout['payout_id']}", ("completed",))

    window = {"since": _iso(since), "until": _iso(datetime.now(UTC) + timedelta(seconds=1)), "limit": 100}
    pages = admin.get("/api/v1/admin/ledger", params=window).json()
    entries = {e["operation_id"]: e for e in pages["operations"]}
    entry = entries[payout["payout_id"]]
    assert entry == {
        "operation_id": payout["payout_id"],
        "kind": "payout",
        "status": "completed",
        "amount": "1.500000",
        "currency": "TRX",
        "from_address": wallet["address"],
        "to_address": recipient,
        "tx_id": done["tx_id"],
        "replaced_tx_ids": [],
        "payment_id": None,
        "block_height": entry["block_height"],
        "fee": entry["fee"],
        "failure_reason": None,
        "submitted_at": entry["submitted_at"],
        "completed_at": entry["completed_at"],
    }
    assert entry["block_height"] > 0 and entry["completed_at"] >= entry["submitted_at"]

    before = admin.get("/api/v1/admin/ledger", params={"until": _iso(since)}).json()
    assert payout["payout_id"] not in {e["operation_id"] for e in before["operations"]}, "the window holds"
    one = admin.get("/api/v1/admin/ledger", params={**window, "limit": 1}).json()
    assert one["pagination"]["total"] == pages["pagination"]["total"] and len(one["operations"]) == 1
    backwards = admin.get("/api/v1/admin/ledger", params={"since": window["until"], "until": window["since"]})
    assert backwards.status_code == 200 and backwards.json()["operations"] == [], "a reversed window is empty"
    assert manager.get("/api/v1/admin/ledger").status_code == 403


def test_the_held_wallets_include_deleted_ones_and_never_a_key(api_as: Callable[..., Api]) -> None:
    admin, user = api_as("admin"), api_as("user")
    kept, deleted = user.wallet("TRX"), user.wallet("USDT")
    assert user.http.delete(f"/api/v1/wallets/{deleted['wallet_id']}").status_code == 204
    held: dict[str, dict[str, object]] = {}
    page = 1
    while True:
        answer = admin.get("/api/v1/admin/wallets", params={"page": page, "limit": 100}).json()
        held.update({w["address"]: w for w in answer["wallets"]})
        if page >= answer["pagination"]["pages"]:
            break
        page += 1
    assert held[kept["address"]]["currency"] == "TRX" and held[kept["address"]]["deleted"] is False
    assert held[deleted["address"]]["deleted"] is True, "a deleted wallet's key can still sign: listed"
    assert all(not any("key" in field for field in w) for w in held.values())
    assert user.get("/api/v1/admin/wallets").status_code == 403


@pytest.fixture
def second_replica(backends: Backends) -> Iterator[Part]:
    replica = backends.start_replica(f"svc-freeze-{uuid.uuid4().hex[:4]}", **FAST_SERVICE)
    yield replica
    replica.stop()
    backends.replicas.remove(replica)


@pytest.fixture
def freeze(api_as: Callable[..., Api]) -> Iterator[Callable[[bool], dict[str, object]]]:
    """Turn the kill switch on or off; always off again afterwards (it is shared by every test)."""
    admin = api_as("admin")

    def switch(frozen: bool) -> dict[str, object]:
        answer = admin.http.put(FREEZE, json={"frozen": frozen, "reason": "test: incident drill"})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    yield switch
    switch(False)


def test_while_frozen_no_replica_signs_or_sends_and_requests_still_queue(
    api_as: Callable[..., Api],
    devnet: Devnet,
    second_replica: Part,
    freeze: Callable[[bool], dict[str, object]],
) -> None:
    manager = api_as("payout_manager", "admin")
    on_second = api_as("payout_manager", "admin", sub=manager.sub, base_url=second_replica.url)
    trx, usdt = manager.wallet("TRX"), manager.wallet("USDT")
    devnet.fund(trx["address"], 5_000_000)
    devnet.fund(usdt["address"], 5_000_000, "USDT")
    devnet.fund(usdt["address"], 5_000_000)  # TRX for fees

    state = freeze(True)
    assert state["frozen"] is True and state["reason"] == "test: incident drill"
    assert state["changed_at"] and state["changed_by"]
    assert on_second.get(FREEZE).json()["frozen"] is True, "the switch is shared through the store"
    recipient = new_address()
    payout = on_second.post(
        "/api/v1/payouts/initiate",
        {
            "recipient_address": recipient,
            "amount": "1",
            "currency": "TRX",
            "source_wallet_id": trx["wallet_id"],
        },
        key=str(uuid.uuid4()),
    )
    transfer = manager.post(
        "/api/v1/usdt/transfer",
        {"from_address": usdt["address"], "to_address": recipient, "amount": "1"},
        key=str(uuid.uuid4()),
    )
    assert payout.status_code == transfer.status_code == 202, (payout.text, transfer.text)
    assert transfer.json()["tx_id"] is None, "accepted and queued, but not signed"
    health = on_second.get("/health").json()
    assert health["payouts"] == {"frozen": True, "reason": "test: incident drill"}
    metrics = on_second.http.get("/metrics").text
    assert "tron_payouts_frozen 1.0" in metrics
    # Queued, and the wallets hold what the moves need: none is blocked on fees.
    assert 'tron_operations_blocked_on_fees{currency="TRX"} 0.0' in metrics
    assert 'tron_operations_blocked_on_fees{currency="USDT"} 0.0' in metrics

    deadline = time.monotonic() + FROZEN_WATCH_SECONDS
    while time.monotonic() < deadline:
        queued = manager.get(f"/api/v1/payouts/{payout.json()['payout_id']}").json()
        assert queued["status"] == "pending" and queued["tx_id"] is None, queued
        assert trx_balance(devnet, recipient) == 0
        time.sleep(0.2)

    assert freeze(False)["frozen"] is False
    manager.wait_status(f"/api/v1/payouts/{payout.json()['payout_id']}", ("completed",))
    manager.wait_status(f"/api/v1/usdt/transfers/{transfer.json()['transfer_id']}", ("confirmed",))
    wait_for(lambda: trx_balance(devnet, recipient) == 1_000_000, 30, "the payout after the thaw")
    assert "tron_payouts_frozen 0.0" in on_second.http.get("/metrics").text


def test_the_freeze_needs_an_admin_and_a_clear_request(api_as: Callable[..., Api]) -> None:
    admin, manager = api_as("admin"), api_as("payout_manager")
    assert manager.http.put(FREEZE, json={"frozen": True, "reason": "x"}).status_code == 403
    for body, field in (
        ({"reason": "x"}, "frozen"),
        ({"frozen": "yes", "reason": "x"}, "frozen"),
        ({"frozen": True}, "reason"),
    ):
        answer = admin.http.put(FREEZE, json=body)
        assert answer.status_code == 400 and field in answer.json()["error"]["message"], answer.text
    assert admin.get(FREEZE).json()["frozen"] is False, "a refused request changes nothing"


# Long enough that a send which read "not frozen" is still on its way when the freeze is asked for.
NODE_LATENCY_MS = 1500


def test_once_the_freeze_answers_nothing_more_reaches_the_chain(
    api_as: Callable[..., Api], devnet: Devnet, freeze: Callable[[bool], dict[str, object]]
) -> None:
    """The kill switch races a send that read "not frozen" just before it flipped: the freeze answers
    only after such a send has reached the node, so after the answer no broadcast arrives at all."""
    manager = api_as("payout_manager", "admin")
    wallet = manager.wallet("TRX")
    devnet.fund(wallet["address"], 5_000_000)
    recipient = new_address()
    devnet.set_fault("latency", ttl_s=60, ms=NODE_LATENCY_MS)  # every node call, the broadcast too
    try:
        with ThreadPoolExecutor(1) as pool:
            initiated = pool.submit(
                manager.post,
                "/api/v1/payouts/initiate",
                {
                    "recipient_address": recipient,
                    "amount": "1",
                    "currency": "TRX",
                    "source_wallet_id": wallet["wallet_id"],
                },
                key=str(uuid.uuid4()),
            )
            # Signed and stored: the very next step is the send, now held up by the node's latency.
            wait_for(lambda: _signed_payout_to(manager, recipient), 60, "the payout signed")
            freeze(True)
            taken_at_answer = devnet.broadcasts_taken()
            deadline = time.monotonic() + 2 * NODE_LATENCY_MS / 1000
            while time.monotonic() < deadline:
                assert devnet.broadcasts_taken() == taken_at_answer, "a broadcast arrived after the freeze"
                time.sleep(0.1)
            assert initiated.result().status_code == 202
    finally:
        devnet.clear_fault("latency")


def _signed_payout_to(api: Api, recipient: str) -> bool:
    payouts = api.get("/api/v1/payouts/history").json()["payouts"]
    return any(p["recipient_address"] == recipient and p["tx_id"] for p in payouts)
