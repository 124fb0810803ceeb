"""USDT transfers and approvals, and Stake 2.0 staking, through the API onto the devnet."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx

from harness.clients.api import Api
from harness.clients.devnet import Devnet
from harness.waiting import wait_for
from tests.e2e.test_payouts import new_address, trx_balance, usdt_balance
from tests.support.at_once import at_once


def test_usdt_transfer_approve_and_allowance(api_as: Callable[..., Api], devnet: Devnet) -> None:
    user = api_as("user")
    wallet = user.wallet("USDT")
    devnet.fund(wallet["address"], 10_000_000, "USDT")
    devnet.fund(wallet["address"], 6_000_000)  # TRX for the energy: 2.965 for the transfer, 2.2 the approval
    to, spender = new_address(), new_address()

    sent = user.post(
        "/api/v1/usdt/transfer",
        {"from_address": wallet["address"], "to_address": to, "amount": "2.5", "memo": "rent"},
        key=str(uuid.uuid4()),
    )
    assert sent.status_code == 202, sent.text
    transfer = sent.json()
    assert transfer["tx_id"], "the response carries the transaction id"
    done = user.wait_status(f"/api/v1/usdt/transfers/{transfer['transfer_id']}", ("confirmed", "failed"))
    assert done["status"] == "confirmed" and done["confirmed_at"]
    assert usdt_balance(devnet, to) == 2_500_000
    balance = user.get(f"/api/v1/usdt/balance/{wallet['address']}").json()
    assert balance["balance"] == "7.500000"
    history = user.get(f"/api/v1/usdt/transactions/{wallet['address']}").json()
    assert [t["tx_id"] for t in history["transactions"]] == [transfer["tx_id"]]

    approval = user.post(
        "/api/v1/usdt/approve",
        {"owner_address": wallet["address"], "spender_address": spender, "amount": "3"},
        key=str(uuid.uuid4()),
    )
    assert approval.status_code == 202, approval.text
    allowance = wait_for(
        lambda: (
            (
                a := user.get(
                    "/api/v1/usdt/allowance", params={"owner": wallet["address"], "spender": spender}
                ).json()
            )["allowance"]
            == "3.000000"
            and a
        ),
        30,
        "the allowance on chain",
    )
    assert allowance["owner_address"] == wallet["address"]

    too_much = user.post(
        "/api/v1/usdt/transfer",
        {"from_address": wallet["address"], "to_address": to, "amount": "7.500001"},
        key=str(uuid.uuid4()),
    )
    assert too_much.status_code == 409 and too_much.json()["error"]["code"] == "LUCID_ERR_1102"
    foreign = user.post(
        "/api/v1/usdt/transfer",
        {"from_address": new_address(), "to_address": to, "amount": "1"},
        key=str(uuid.uuid4()),
    )
    assert foreign.status_code == 404, "moving money out of someone else's address must be impossible"


def test_stakes_from_one_wallet_at_once_freeze_only_what_it_holds(
    api_as: Callable[..., Api], devnet: Devnet
) -> None:
    """16 stakes of 1 TRX at once from a wallet holding 10 (stakes go through the payouts' funds check
    and hold, service/routes/common.py `store_funded`): 10 are accepted and frozen on chain, 6 refused
    409."""
    staker = api_as("staking_manager")
    address = staker.wallet("TRX")["address"]
    devnet.fund(address, 10_000_000)

    def stake() -> httpx.Response:
        body = {"wallet_address": address, "amount": "1", "resource": "ENERGY"}
        return staker.post("/api/v1/staking/stake", body, key=str(uuid.uuid4()))

    answers = at_once([stake] * 16)
    accepted = [a for a in answers if a.status_code == 202]
    refused = [a.json()["error"]["code"] for a in answers if a.status_code != 202]
    assert len(accepted) == 10 and refused == ["LUCID_ERR_1302"] * 6, [a.text for a in answers]
    wait_for(
        lambda: staker.get(f"/api/v1/staking/status/{address}").json()["total_staked"] == "10.000000",
        30,
        "the stakes on chain",
    )
    assert trx_balance(devnet, address) == 0


def test_stake_unstake_withdraw(api_as: Callable[..., Api], devnet: Devnet) -> None:
    staker = api_as("staking_manager")
    wallet = staker.wallet("TRX")
    address = wallet["address"]
    devnet.fund(address, 5_000_000)

    below = staker.post(
        "/api/v1/staking/stake",
        {"wallet_address": address, "amount": "0.5", "resource": "ENERGY"},
        key=str(uuid.uuid4()),
    )
    assert below.status_code == 400 and below.json()["error"]["code"] == "LUCID_ERR_1301"

    stake = staker.post(
        "/api/v1/staking/stake",
        {"wallet_address": address, "amount": "3", "resource": "ENERGY"},
        key=str(uuid.uuid4()),
    )
    assert stake.status_code == 202, stake.text
    wait_for(
        lambda: staker.get(f"/api/v1/staking/status/{address}").json()["total_staked"] == "3.000000",
        30,
        "the stake on chain",
    )
    assert trx_balance(devnet, address) == 2_000_000

    over = staker.post(
        "/api/v1/staking/unstake",
        {"wallet_address": address, "amount": "4", "resource": "ENERGY"},
        key=str(uuid.uuid4()),
    )
    assert over.status_code == 409
    unstake = staker.post(
        "/api/v1/staking/unstake",
        {"wallet_address": address, "amount": "1", "resource": "ENERGY"},
        key=str(uuid.uuid4()),
    )
    assert unstake.status_code == 202, unstake.text
    status = wait_for(
        lambda: (
            (s := staker.get(f"/api/v1/staking/status/{address}").json())["pending_withdrawal"] == "1.000000"
            and s
        ),
        30,
        "the unstake on chain",
    )
    assert status["total_staked"] == "2.000000"

    # The devnet's unfreeze delay is 1 s in the tests: wait until the entry unlocks, then withdraw.
    wait_for(
        lambda: all(
            e["is_unlocked"]
            for e in staker.get(f"/api/v1/staking/status/{address}").json()["entries"]
            if e["unlock_time"]
        ),
        10,
        "the unstaked TRX to unlock",
    )
    withdraw = staker.post("/api/v1/staking/withdraw", {"wallet_address": address}, key=str(uuid.uuid4()))
    assert withdraw.status_code == 202, withdraw.text
    wait_for(lambda: trx_balance(devnet, address) == 3_000_000, 30, "the withdrawal on chain")
    rewards = staker.get(f"/api/v1/staking/rewards/{address}", params={"period": "monthly"}).json()
    assert rewards["period"] == "monthly" and rewards["total_rewards"] == "0.000000"
