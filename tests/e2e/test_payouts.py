"""Payouts in TRX and USDT, end to end: queued, signed, broadcast, confirmed on the devnet."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial
from typing import Any

from pymongo import MongoClient
from tronpy import keys
from tronpy.abi import tron_abi
from tronpy.keys import PrivateKey

from harness.clients.api import Api
from harness.clients.devnet import Devnet
from harness.faults import slow_node
from harness.waiting import wait_for
from stack.local import Backends
from tests.support.at_once import at_once


def new_address() -> str:
    return str(PrivateKey.random().public_key.to_base58check_address())


def usdt_balance(devnet: Devnet, address: str) -> int:
    result = devnet.node(
        "wallet/triggerconstantcontract",
        {
            "owner_address": address,
            "contract_address": devnet.info()["usdt_contract_address"],
            "function_selector": "balanceOf(address)",
            "parameter": tron_abi.encode_abi(["address"], [keys.to_hex_address(address)]).hex(),
        },
    )
    return int(result["constant_result"][0], 16)


def trx_balance(devnet: Devnet, address: str) -> int:
    return int(devnet.node("wallet/getaccount", {"address": address}).get("balance", 0))


def funded_trx_payout(
    api_as: Callable[..., Api], devnet: Devnet, fund_sun: int, amount: str
) -> tuple[Api, dict[str, Any], dict[str, Any]]:
    """A payout manager, a TRX wallet of theirs funded with `fund_sun`, and a payout body from it."""
    manager = api_as("payout_manager")
    wallet = manager.wallet("TRX")
    devnet.fund(wallet["address"], fund_sun)
    body = {
        "recipient_address": new_address(),
        "amount": amount,
        "currency": "TRX",
        "source_wallet_id": wallet["wallet_id"],
    }
    return manager, wallet, body


def test_trx_and_usdt_payouts_complete_once_on_chain(api_as: Callable[..., Api], devnet: Devnet) -> None:
    manager = api_as("payout_manager")
    trx_wallet, usdt_wallet = manager.wallet("TRX"), manager.wallet("USDT")
    devnet.fund(trx_wallet["address"], 100_000_000)
    devnet.fund(usdt_wallet["address"], 50_000_000, "USDT")
    # TRX for the fees: the transfer's energy (2.965 TRX to a new holder at mainnet's price)
    devnet.fund(usdt_wallet["address"], 5_000_000)
    recipient = new_address()

    trx = manager.post(
        "/api/v1/payouts/initiate",
        {
            "recipient_address": recipient,
            "amount": "12.5",
            "currency": "TRX",
            "priority": "high",
            "source_wallet_id": trx_wallet["wallet_id"],
            "memo": "invoice 7",
        },
        key=str(uuid.uuid4()),
    )
    usdt = manager.post(
        "/api/v1/payouts/initiate",
        {
            "recipient_address": recipient,
            "amount": "7.000001",
            "currency": "USDT",
            "source_wallet_id": usdt_wallet["wallet_id"],
        },
        key=str(uuid.uuid4()),
    )
    assert trx.status_code == usdt.status_code == 202, (trx.text, usdt.text)
    assert trx.json()["status"] == "pending" and trx.json()["amount"] == "12.500000"

    done_trx = manager.wait_status(f"/api/v1/payouts/{trx.json()['payout_id']}", ("completed", "failed"))
    done_usdt = manager.wait_status(f"/api/v1/payouts/{usdt.json()['payout_id']}", ("completed", "failed"))
    assert done_trx["status"] == done_usdt["status"] == "completed", (done_trx, done_usdt)
    assert done_trx["tx_id"] and done_usdt["tx_id"] and done_trx["completed_at"]

    assert trx_balance(devnet, recipient) == 12_500_000
    assert usdt_balance(devnet, recipient) == 7_000_001
    assert trx_balance(devnet, trx_wallet["address"]) == 87_500_000
    assert usdt_balance(devnet, usdt_wallet["address"]) == 42_999_999

    history = manager.get("/api/v1/payouts/history", params={"currency": "USDT"}).json()
    assert [p["payout_id"] for p in history["payouts"]] == [usdt.json()["payout_id"]]
    txs = manager.get(f"/api/v1/wallets/{trx_wallet['wallet_id']}/transactions").json()["transactions"]
    assert [(t["type"], t["amount"], t["status"]) for t in txs] == [("payout", "12.500000", "confirmed")]


def test_batch_payout_queues_each_and_reports_shortfalls(api_as: Callable[..., Api], devnet: Devnet) -> None:
    manager = api_as("payout_manager")
    wallet = manager.wallet("TRX")
    devnet.fund(wallet["address"], 3_000_000)
    item = {"amount": "1", "currency": "TRX", "source_wallet_id": wallet["wallet_id"]}
    batch = manager.post(
        "/api/v1/payouts/batch",
        {
            "batch_memo": "salaries",
            "payouts": [
                {**item, "recipient_address": new_address()},
                {**item, "recipient_address": new_address()},
                {**item, "recipient_address": new_address(), "amount": "5"},
            ],
        },
        key=str(uuid.uuid4()),
    )
    body = batch.json()
    assert batch.status_code == 202, batch.text
    assert (body["payout_count"], body["successful_count"], body["failed_count"]) == (3, 2, 1)
    assert body["failures"][0]["index"] == 2 and "insufficient" in body["failures"][0]["message"]
    for payout_id in body["payout_ids"]:
        assert (
            manager.wait_status(f"/api/v1/payouts/{payout_id}", ("completed", "failed"))["status"]
            == "completed"
        )
    assert trx_balance(devnet, wallet["address"]) == 1_000_000


def test_insufficient_balance_is_refused_and_queues_nothing(
    api_as: Callable[..., Api], devnet: Devnet
) -> None:
    manager = api_as("payout_manager")
    wallet = manager.wallet("TRX")
    devnet.fund(wallet["address"], 1_000_000)
    response = manager.post(
        "/api/v1/payouts/initiate",
        {
            "recipient_address": new_address(),
            "amount": "1.000001",
            "currency": "TRX",
            "source_wallet_id": wallet["wallet_id"],
        },
        key=str(uuid.uuid4()),
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "LUCID_ERR_1203"
    assert manager.get("/api/v1/payouts/history").json()["pagination"]["total"] == 0


def test_payouts_from_one_wallet_at_once_accept_only_what_it_holds(
    api_as: Callable[..., Api], devnet: Devnet
) -> None:
    """A hot wallet: 16 payouts of 1 TRX at once from a wallet holding 10, on one replica. Each
    payout's funds check must count the payouts accepted before it: 10 are answered 202 and paid, 6
    are refused 409 and leave nothing queued. Without the hold on the source address
    (service/spending.py) all 16 were answered 202 and the chain refused 6 of them."""
    manager, wallet, body = funded_trx_payout(api_as, devnet, 10_000_000, "1")
    fee = int(Decimal(manager.get("/api/v1/tron/network/fees").json()["memo_fee"]) * 1_000_000)
    fits = 10_000_000 // (1_000_000 + fee)

    def pay(recipient: str) -> Any:
        body_to = {**body, "recipient_address": recipient}
        return manager.post("/api/v1/payouts/initiate", body_to, key=str(uuid.uuid4()))

    recipients = [new_address() for _ in range(16)]
    answers = dict(zip(recipients, at_once([partial(pay, r) for r in recipients]), strict=True))
    accepted = {r: a.json()["payout_id"] for r, a in answers.items() if a.status_code == 202}
    refused = [a.json() for a in answers.values() if a.status_code != 202]
    assert len(accepted) == fits, [a.text for a in answers.values()]
    assert all(error["error"]["code"] == "LUCID_ERR_1203" for error in refused), refused
    assert manager.get("/api/v1/payouts/history").json()["pagination"]["total"] == fits

    for recipient, payout_id in accepted.items():
        done = manager.wait_status(f"/api/v1/payouts/{payout_id}", ("completed", "failed"), timeout=120)
        assert done["status"] == "completed", done
        assert trx_balance(devnet, recipient) == 1_000_000
    assert trx_balance(devnet, wallet["address"]) == 10_000_000 - fits * (1_000_000 + fee)


def test_payouts_from_one_wallet_do_not_wait_for_each_others_node_reads(
    api_as: Callable[..., Api], devnet: Devnet
) -> None:
    """A payout that finds its source address held asks the node for the balance before it waits for
    the hold: with every node call taking 1.5 s, four payouts at once from one wallet are answered
    about as fast as one. Asked in turn, they took 1.5, 3.0, 4.5 and 6.0 s, and a hung node would
    hold a hot wallet's payouts one timeout after another."""
    manager, _, body = funded_trx_payout(api_as, devnet, 10_000_000, "1")

    def pay(_: int = 0) -> float:
        started = time.monotonic()
        answer = manager.post("/api/v1/payouts/initiate", body, key=str(uuid.uuid4()))
        assert answer.status_code == 202, answer.text
        return time.monotonic() - started

    pay()  # the memo fee read and cached before the node slows: each payout below asks it one balance
    with slow_node(devnet, 1.5):
        alone = pay()
        with ThreadPoolExecutor(4) as pool:
            together = list(pool.map(pay, range(4)))
    assert alone >= 1.5 and max(together) < 2 * alone, (alone, together)


def test_a_payout_while_the_node_is_down_is_refused_and_its_retry_queues_it_once(
    api_as: Callable[..., Api], devnet: Devnet
) -> None:
    """The funds check reads the node's balance beside the store's reserved sum: with the node down,
    the payout is answered 503 and nothing is queued, and the same key works once the node is back."""
    manager = api_as("payout_manager")
    wallet = manager.wallet("TRX")
    devnet.fund(wallet["address"], 3_000_000)

    body = {
        "recipient_address": new_address(),
        "amount": "1",
        "currency": "TRX",
        "source_wallet_id": wallet["wallet_id"],
    }

    def initiate(key: str) -> Any:
        return manager.post("/api/v1/payouts/initiate", body, key=key)

    assert initiate(str(uuid.uuid4())).status_code == 202  # the memo fee is known: the balance read fails
    key = str(uuid.uuid4())
    devnet.control("down", {"down": True})
    try:
        refused = initiate(key)
    finally:
        devnet.control("down", {"down": False})
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "LUCID_ERR_9001" and refused.headers["Retry-After"] == "5"
    assert manager.get("/api/v1/payouts/history").json()["pagination"]["total"] == 1
    retried = initiate(key)
    assert retried.status_code == 202, retried.text
    assert "Idempotent-Replayed" not in retried.headers
    assert manager.get("/api/v1/payouts/history").json()["pagination"]["total"] == 2


def test_a_pending_payout_can_be_cancelled_and_never_moves(
    backends: Backends, api_as: Callable[..., Api], devnet: Devnet
) -> None:
    # A replica with no worker, on its own database: its payouts stay pending until cancelled.
    idle = backends.start_replica(
        f"idle-{uuid.uuid4().hex[:4]}", WORKER_ENABLED="false", MONGODB_DB="lucid_tron_payment_cancel_test"
    )
    try:
        manager = api_as("payout_manager", base_url=idle.url)
        wallet = manager.wallet("TRX")
        devnet.fund(wallet["address"], 2_000_000)
        payout = manager.post(
            "/api/v1/payouts/initiate",
            {
                "recipient_address": new_address(),
                "amount": "1",
                "currency": "TRX",
                "source_wallet_id": wallet["wallet_id"],
            },
            key=str(uuid.uuid4()),
        ).json()
        cancelled = manager.post(
            "/api/v1/payouts/cancel", {"payout_id": payout["payout_id"], "reason": "typo"}
        )
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert cancelled.json()["reason"] == "typo"
        again = manager.get(f"/api/v1/payouts/{payout['payout_id']}").json()
        assert again["status"] == "cancelled" and again["tx_id"] is None
        assert trx_balance(devnet, wallet["address"]) == 2_000_000
    finally:
        idle.stop()
        backends.replicas.remove(idle)


def test_a_completed_payout_cannot_be_cancelled(api_as: Callable[..., Api], devnet: Devnet) -> None:
    manager = api_as("payout_manager")
    wallet = manager.wallet("TRX")
    devnet.fund(wallet["address"], 2_000_000)
    payout = manager.post(
        "/api/v1/payouts/initiate",
        {
            "recipient_address": new_address(),
            "amount": "1",
            "currency": "TRX",
            "source_wallet_id": wallet["wallet_id"],
        },
        key=str(uuid.uuid4()),
    ).json()
    manager.wait_status(f"/api/v1/payouts/{payout['payout_id']}", ("completed",))
    refused = manager.post("/api/v1/payouts/cancel", {"payout_id": payout["payout_id"]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "LUCID_ERR_1202"


def test_a_retried_payout_whose_answer_was_lost_is_answered_with_it_even_when_it_took_the_funds(
    backends: Backends, api_as: Callable[..., Api], devnet: Devnet
) -> None:
    """The replica stored the payout and died before recording its answer; the client's retry with
    the same key takes the key over and must get that payout back, not a 409 for its own reservation."""
    manager, _, body = funded_trx_payout(api_as, devnet, 2_000_000, "1.5")
    key = str(uuid.uuid4())
    first = manager.post("/api/v1/payouts/initiate", body, key=key)
    assert first.status_code == 202, first.text
    env = backends.service_env()
    client: MongoClient[dict[str, Any]] = MongoClient(env["MONGODB_URI"])
    try:  # the state a crash between storing the payout and recording its answer leaves behind
        records = client[env["MONGODB_DB"]]["idempotency_keys"]
        answered = records.update_many(
            {"state": "done", "body.payout_id": first.json()["payout_id"]},
            {"$set": {"state": "in_progress", "started_at": 0}, "$unset": {"status": "", "body": ""}},
        )
        assert answered.modified_count == 1
    finally:
        client.close()
    retry = manager.post("/api/v1/payouts/initiate", body, key=key)
    assert retry.status_code == 202, retry.text
    assert retry.json()["payout_id"] == first.json()["payout_id"]
    assert manager.get("/api/v1/payouts/history").json()["pagination"]["total"] == 1


def test_a_key_is_bound_to_what_its_body_says_not_how_it_is_written(
    api_as: Callable[..., Api], devnet: Devnet
) -> None:
    """The same JSON in another key order and spacing is the same request (replayed); another amount
    under the key is refused; a body that is not JSON is bound by its bytes. One payout, paid once."""
    manager, _, body = funded_trx_payout(api_as, devnet, 3_000_000, "1")
    path, key, as_json = "/api/v1/payouts/initiate", str(uuid.uuid4()), {"Content-Type": "application/json"}
    first = manager.post(path, body, key=key)
    assert first.status_code == 202 and "Idempotent-Replayed" not in first.headers, first.text
    rewritten = json.dumps(dict(reversed(body.items())), indent=2).encode()
    replay = manager.post(path, content=rewritten, key=key, headers=as_json)
    assert replay.status_code == 202 and replay.headers.get("Idempotent-Replayed") == "true", replay.text
    assert replay.json() == first.json()
    other = manager.post(path, {**body, "amount": "2"}, key=key)
    assert other.status_code == 422 and other.json()["error"]["code"] == "LUCID_ERR_0422", other.text

    broken_key = str(uuid.uuid4())
    for attempt in range(2):  # the refusal is recorded under the key, and replayed
        broken = manager.post(path, content=b'{"amount": "1",', key=broken_key, headers=as_json)
        assert broken.status_code == 400 and broken.json()["error"]["code"] == "LUCID_ERR_9005", broken.text
        assert ("Idempotent-Replayed" in broken.headers) == (attempt == 1)
    other_bytes = manager.post(path, content=b'{"amount": "1" ,', key=broken_key, headers=as_json)
    assert other_bytes.status_code == 422 and other_bytes.json()["error"]["code"] == "LUCID_ERR_0422"
    manager.wait_status(f"/api/v1/payouts/{first.json()['payout_id']}", ("completed",))
    assert manager.get("/api/v1/payouts/history").json()["pagination"]["total"] == 1
    assert trx_balance(devnet, body["recipient_address"]) == 1_000_000, "paid once"


def test_the_source_wallet_read_beside_the_key_claim_decides_new_payouts_never_replays(
    api_as: Callable[..., Api], devnet: Devnet
) -> None:
    """A payout reads its source wallet while its Idempotency-Key is claimed (service/read_ahead.py):
    that read decides a new payout as a read after the claim would, and a replay is answered as it was
    first, whatever the wallet has become; a read the request never used changes nothing."""
    manager, wallet, body = funded_trx_payout(api_as, devnet, 3_000_000, "1")
    body["source_wallet_id"] = wallet["wallet_id"].upper()  # read as the same wallet
    key = str(uuid.uuid4())
    first = manager.post("/api/v1/payouts/initiate", body, key=key)
    assert first.status_code == 202, first.text
    wallet_path = f"/api/v1/wallets/{wallet['wallet_id']}"
    assert manager.http.put(wallet_path, json={"is_active": False}).status_code == 200

    replay = manager.post("/api/v1/payouts/initiate", body, key=key)
    assert replay.status_code == 202, replay.text
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == first.json()
    inactive = manager.post("/api/v1/payouts/initiate", body, key=str(uuid.uuid4()))
    assert inactive.status_code == 409 and inactive.json()["error"]["code"] == "LUCID_ERR_1002", inactive.text
    someone_else = api_as("payout_manager").post("/api/v1/payouts/initiate", body, key=str(uuid.uuid4()))
    assert someone_else.status_code == 404 and someone_else.json()["error"]["code"] == "LUCID_ERR_1001"
    unread = manager.post("/api/v1/payouts/initiate", {**body, "amount": "-1"}, key=str(uuid.uuid4()))
    assert unread.status_code == 400, unread.text  # refused before the wallet read it started is used

    assert manager.http.put(wallet_path, json={"is_active": True}).status_code == 200
    again = manager.post("/api/v1/payouts/initiate", body, key=str(uuid.uuid4()))
    assert again.status_code == 202, again.text
    assert manager.get("/api/v1/payouts/history").json()["pagination"]["total"] == 2


def test_a_payout_that_waited_for_its_key_reads_its_wallet_after_the_wait(
    backends: Backends, api_as: Callable[..., Api], devnet: Devnet
) -> None:
    """The wallet read beside the claim is dropped once the key turns out held: a payout that waits for
    its key (here a first attempt that died holding it) and then takes it over reads its wallet then, so
    a wallet deactivated during the wait pays nothing."""
    manager, wallet, body = funded_trx_payout(api_as, devnet, 500_000, "1")
    key = str(uuid.uuid4())
    refused = manager.post("/api/v1/payouts/initiate", body, key=key)
    assert refused.status_code == 409, refused.text  # short of funds: a recorded answer, nothing queued
    env = backends.service_env()
    client: MongoClient[dict[str, Any]] = MongoClient(env["MONGODB_URI"])
    records = client[env["MONGODB_DB"]]["idempotency_keys"]
    key_id = hashlib.sha256(f"{manager.sub}\0{key}".encode()).hexdigest()
    try:
        wait_for(lambda: (records.find_one({"_id": key_id}) or {}).get("state") == "done", 10, "the answer")
        # The state a first attempt that died mid-way leaves, held as if it were still running.
        records.update_one(
            {"_id": key_id},
            {
                "$set": {"state": "in_progress", "started_at": int(time.time() * 1000)},
                "$unset": {"status": "", "body": ""},
            },
        )
        devnet.fund(wallet["address"], 2_000_000)  # now the payout is covered
        budget = [_payouts_budget(manager)]

        def retry_counted() -> bool:
            """The retry has passed the rate limit (and started its wallet read) once the user's budget
            drops by two between two reads of ours."""
            before, budget[0] = budget[0], _payouts_budget(manager)
            return budget[0] <= before - 2

        retry: dict[str, Any] = {}
        waiting = threading.Thread(
            target=lambda: retry.update(response=manager.post("/api/v1/payouts/initiate", body, key=key))
        )
        waiting.start()
        wait_for(retry_counted, 10, "the retry to arrive")
        deactivated = manager.http.put(f"/api/v1/wallets/{wallet['wallet_id']}", json={"is_active": False})
        assert deactivated.status_code == 200 and waiting.is_alive(), "the retry must still wait for the key"
        records.update_one({"_id": key_id}, {"$set": {"started_at": 0}})  # stale: the retry takes it over
        waiting.join(timeout=30)
    finally:
        client.close()
    answer = retry["response"]
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "LUCID_ERR_1002", answer.text
    assert manager.get("/api/v1/payouts/history").json()["pagination"]["total"] == 0


def _payouts_budget(user: Api) -> int:
    return int(user.get("/api/v1/payouts/history").headers["X-RateLimit-Remaining"])
