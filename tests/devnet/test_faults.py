"""Faults that make the devnet fail like a real java-tron node, as a tronpy client feels them."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from tronpy import Tron
from tronpy.contract import Contract
from tronpy.exceptions import (
    ApiError,
    BugInJavaTron,
    TaposError,
    TransactionNotFound,
    TvmError,
    UnknownError,
)
from tronpy.keys import PrivateKey
from tronpy.providers import HTTPProvider

from harness.waiting import wait_for
from stack.devnet.config import MAINNET_ENERGY_FEE
from stack.devnet.usdt import REVERT_ENERGY
from tests.devnet.harness import DevnetNode

WAIT = {"timeout": 10, "interval": 0.05}
FEE_LIMIT = 5_000_000
LAG_MARGIN_MS = 1_000
REFUSAL_CODES = ["SERVER_BUSY", "NOT_ENOUGH_EFFECTIVE_CONNECTION", "BLOCK_UNSOLIDIFIED"]


def addr(key: PrivateKey) -> str:
    return str(key.public_key.to_base58check_address())


def landed(client: Tron, txid: str) -> dict[str, Any]:
    return wait_for(lambda: _info(client, txid), 10.0, f"{txid} in a block", interval=0.05)


def _info(client: Tron, txid: str) -> dict[str, Any] | None:
    try:
        return dict(client.get_transaction_info(txid))
    except TransactionNotFound:
        return None


# -- transient refusals ------------------------------------------------------------------------


@pytest.mark.parametrize("code", REFUSAL_CODES)
def test_refusal_takes_nothing_and_the_same_transaction_goes_through_after(
    node: DevnetNode, client: Tron, code: str
) -> None:
    owner = node.new_account(trx=5_000_000)
    txn = client.trx.transfer(addr(owner), node.treasury_address, 1_000_000).build().sign(owner)
    node.inject("refuse", code=code, share=1.0)

    with pytest.raises(UnknownError) as refused:
        txn.broadcast()
    assert refused.value.args[1] == code

    answer = node.post("/wallet/broadcasttransaction", txn.to_json()).json()
    assert answer["code"] == code and answer["txid"] == txn.txid and "result" not in answer
    assert node.delete("/control/faults/refuse").status_code == 200
    assert txn.broadcast().wait(**WAIT)["blockNumber"] > 0  # never cached, never pooled


def test_a_share_of_zero_never_refuses(node: DevnetNode, client: Tron) -> None:
    owner = node.new_account(trx=5_000_000)
    node.inject("refuse", code="SERVER_BUSY", share=0.0)
    txn = client.trx.transfer(addr(owner), node.treasury_address, 1_000_000).build().sign(owner)
    assert txn.broadcast()["result"] is True


def test_a_seeded_share_hits_the_same_requests_again(node: DevnetNode) -> None:
    def pattern() -> list[bool]:
        node.inject("internal_error", share=0.5, seed=42)
        return ["Error" in node.post("/wallet/getnowblock", {}).json() for _ in range(40)]

    first = pattern()
    assert pattern() == first
    assert 5 < sum(first) < 35  # about half


# -- internal errors -----------------------------------------------------------------------------


def test_internal_error_is_http_200_with_an_error_body(node: DevnetNode, client: Tron) -> None:
    owner = node.new_account(trx=5_000_000)
    txn = client.trx.transfer(addr(owner), node.treasury_address, 1_000_000).build().sign(owner)
    node.inject("internal_error", share=1.0)

    response = node.post("/walletsolidity/getnowblock", {})
    assert response.status_code == 200 and response.json()["Error"].startswith("class java.")
    with pytest.raises(BugInJavaTron):
        client.get_block(1)
    with pytest.raises(ApiError):
        txn.broadcast()

    node.delete("/control/faults/internal_error")
    assert txn.broadcast().wait(**WAIT)["blockNumber"] > 0  # the failed call took nothing


# -- accepted, answer lost -----------------------------------------------------------------------


def test_dropped_answer_the_transaction_still_lands(node: DevnetNode, client: Tron) -> None:
    owner = node.new_account(trx=5_000_000)
    txn = client.trx.transfer(addr(owner), node.treasury_address, 1_000_000).build().sign(owner)
    node.inject("lose_answer", share=1.0, mode="drop")

    with pytest.raises(requests.ConnectionError):
        txn.broadcast()

    assert landed(client, txn.txid)["blockNumber"] > 0
    assert client.get_account_balance(addr(owner)) == 4
    lost = 'tron_devnet_requests_total{code="lost",path="/wallet/broadcasttransaction"}'
    assert lost in node.get("/metrics").text


def test_hung_answer_times_the_client_out_and_the_transaction_still_lands(node: DevnetNode) -> None:
    impatient = Tron(HTTPProvider(node.url, timeout=0.5))
    owner = node.new_account(trx=5_000_000)
    txn = impatient.trx.transfer(addr(owner), node.treasury_address, 1_000_000).build().sign(owner)
    node.inject("lose_answer", share=1.0, mode="hang")

    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        txn.broadcast()
    assert time.monotonic() - started >= 0.5

    assert landed(impatient, txn.txid)["blockNumber"] > 0


# -- a lagging node ------------------------------------------------------------------------------


def test_lagging_node_serves_an_old_head_and_does_not_know_recent_transactions(
    node: DevnetNode, client: Tron
) -> None:
    owner = node.new_account(trx=5_000_000)
    ret = client.trx.transfer(addr(owner), node.treasury_address, 1_000_000).build().sign(owner).broadcast()
    block_number = ret.wait(**WAIT)["blockNumber"]
    node.inject("lag", seconds=30)

    head = client.get_latest_block()["block_header"]["raw_data"]
    assert head["number"] < block_number
    assert head["timestamp"] <= time.time() * 1000 - 30_000 or head["number"] == 0
    for call in (client.get_transaction, client.get_transaction_info, client.get_solid_transaction_info):
        with pytest.raises(TransactionNotFound):
            call(ret.txid)
    assert node.post("/wallet/getblockbynum", {"num": block_number}).json() == {}
    solid = node.post("/walletsolidity/getnowblock", {}).json()["block_header"]["raw_data"]["number"]
    assert solid == max(0, head["number"] - node.confirmations)  # the solidity view lags with it
    assert node.info()["height"] >= block_number  # the network went on; only this node is behind

    node.delete("/control/faults/lag")
    assert client.get_transaction_info(ret.txid)["blockNumber"] == block_number


# -- TRC20 transfers that fail in their block and burn the fee -----------------------------------


@pytest.mark.parametrize(
    ("reason", "fee"),
    [
        ("OUT_OF_ENERGY", FEE_LIMIT),  # all the energy fee_limit buys, at 100 SUN each
        ("REVERT", REVERT_ENERGY * MAINNET_ENERGY_FEE),
    ],
)
def test_failed_trc20_transfer_moves_no_token_and_burns_the_fee(
    node: DevnetNode, client: Tron, usdt: Contract, reason: str, fee: int
) -> None:
    owner, receiver = node.new_account(trx=10_000_000, usdt=1_000_000), PrivateKey.random()
    burned_before = node.get("/control/ledger").json()["trx_burned"]
    node.inject("revert_trc20", share=1.0, reason=reason)

    txn = usdt.functions.transfer(addr(receiver), 400_000).with_owner(addr(owner)).fee_limit(FEE_LIMIT)
    ret = txn.build().sign(owner).broadcast()  # accepted: only its block's execution fails
    with pytest.raises(TvmError):
        ret.result(**WAIT)

    info = client.get_transaction_info(ret.txid)
    assert (info["result"], info["receipt"]["result"], info["fee"]) == ("FAILED", reason, fee)
    assert client.get_transaction(ret.txid)["ret"] == [{"contractRet": reason}]
    assert usdt.functions.balanceOf(addr(owner)) == 1_000_000
    assert usdt.functions.balanceOf(addr(receiver)) == 0
    assert client.get_account(addr(owner))["balance"] == 10_000_000 - fee
    ledger = node.get("/control/ledger").json()
    assert ledger["trx_burned"] == burned_before + fee and ledger["conserved"]


def test_only_trc20_transfers_are_failed(node: DevnetNode, client: Tron) -> None:
    owner = node.new_account(trx=5_000_000)
    node.inject("revert_trc20", share=1.0, reason="REVERT")
    ret = client.trx.transfer(addr(owner), node.treasury_address, 1_000_000).build().sign(owner).broadcast()
    assert "result" not in ret.wait(**WAIT)["receipt"]  # a TRX transfer: a system contract, unaffected


# -- the control API: time to live, listing, removal, reset --------------------------------------


def test_a_fault_lists_its_parameters_and_expires_by_itself(node: DevnetNode, client: Tron) -> None:
    faults = node.inject("refuse", ttl_s=0.5, code="SERVER_BUSY", share=1.0)
    assert [f | {"expires_in_s": 0} for f in faults] == [
        {"fault": "refuse", "code": "SERVER_BUSY", "share": 1.0, "expires_in_s": 0}
    ]
    assert 0 < faults[0]["expires_in_s"] <= 0.5

    wait_for(lambda: node.active_faults() == [], 5.0, "the fault to expire", interval=0.05)
    owner = node.new_account(trx=5_000_000)
    txn = client.trx.transfer(addr(owner), node.treasury_address, 1_000_000).build().sign(owner)
    assert txn.broadcast()["result"] is True


def test_original_faults_take_a_ttl_and_default_to_one(node: DevnetNode) -> None:
    node.set_fault("down", {"down": True, "ttl_s": 0.3})
    node.set_fault("stall", {"stalled": True})
    listing = {f["fault"]: f for f in node.active_faults()}
    assert set(listing) == {"down", "stall"}
    assert 590 < listing["stall"]["expires_in_s"] <= 600

    wait_for(lambda: node.info()["down"] is False, 5.0, "down to expire", interval=0.05)
    assert node.info()["stalled"] is True


def test_delete_removes_one_fault_and_reset_removes_all(node: DevnetNode) -> None:
    node.inject("refuse", code="SERVER_BUSY", share=0.5)
    node.inject("internal_error", share=0.1)
    node.inject("lose_answer", share=0.1, mode="drop")
    node.inject("lag", seconds=5)
    node.inject("revert_trc20", share=0.1, reason="REVERT")
    node.set_fault("latency", {"ms": 5})

    remaining = node.delete("/control/faults/lag").json()["faults"]
    assert {f["fault"] for f in remaining} == {
        "refuse",
        "internal_error",
        "lose_answer",
        "revert_trc20",
        "latency",
    }
    assert node.post("/control/reset-faults").json() == {"down": False, "latency_ms": 0, "stalled": False}
    assert node.active_faults() == []


BAD_FAULTS: list[tuple[dict[str, Any], str]] = [
    ({"fault": "refuse", "code": "SERVER_BUSY", "share": 1}, "ttl_s"),
    ({"fault": "refuse", "code": "SERVER_BUSY", "share": 1, "ttl_s": 0}, "ttl_s"),
    ({"fault": "refuse", "code": "SERVER_BUSY", "share": 1, "ttl_s": 3601}, "ttl_s"),
    ({"fault": "refuse", "code": "SERVER_BUSY", "share": 1, "ttl_s": "60"}, "ttl_s"),
    ({"fault": "meteor", "ttl_s": 60}, "fault"),
    ({"ttl_s": 60}, "fault"),
    ({"fault": "refuse", "code": "SERVER_BUSY", "share": 1.5, "ttl_s": 60}, "share"),
    ({"fault": "refuse", "code": "SERVER_BUSY", "share": True, "ttl_s": 60}, "share"),
    ({"fault": "refuse", "code": "TEAPOT", "share": 1, "ttl_s": 60}, "code"),
    ({"fault": "refuse", "code": "SERVER_BUSY", "share": 1, "ttl_s": 60, "seed": "x"}, "seed"),
    ({"fault": "refuse", "code": "SERVER_BUSY", "share": 1, "ttl_s": 60, "shares": 1}, "shares"),
    ({"fault": "internal_error", "ttl_s": 60}, "share"),
    ({"fault": "lose_answer", "share": 1, "mode": "explode", "ttl_s": 60}, "mode"),
    ({"fault": "lag", "seconds": 0, "ttl_s": 60}, "seconds"),
    ({"fault": "lag", "seconds": 30, "share": 1, "ttl_s": 60}, "share"),
    ({"fault": "revert_trc20", "share": 1, "reason": "BAD_LUCK", "ttl_s": 60}, "reason"),
]


@pytest.mark.parametrize(("body", "field"), BAD_FAULTS)
def test_bad_fault_input_is_refused_naming_the_field_and_changes_nothing(
    node: DevnetNode, body: dict[str, Any], field: str
) -> None:
    node.inject("lag", seconds=1)
    before = [f["fault"] for f in node.active_faults()]

    response = node.post("/control/faults", body)

    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{field}: ")
    assert [f["fault"] for f in node.active_faults()] == before


def test_bad_ttl_on_an_original_fault_changes_nothing(node: DevnetNode) -> None:
    response = node.post("/control/down", {"down": True, "ttl_s": -1})
    assert response.status_code == 400 and response.json()["error"].startswith("ttl_s: ")
    assert node.info()["down"] is False


def test_unknown_fault_names_and_methods_on_a_fault(node: DevnetNode) -> None:
    assert node.delete("/control/faults/meteor").status_code == 404
    assert node.get("/control/faults/lag").status_code == 405
    assert node.delete("/control/faults/lag").json() == {"faults": []}  # not on: nothing to remove


def test_lagging_node_refuses_a_reference_to_a_block_it_has_not_reached(
    node: DevnetNode, client: Tron
) -> None:
    owner = node.new_account(trx=5_000_000)
    head_id = client.get_latest_block_id()
    txn = client.trx.transfer(addr(owner), node.treasury_address, 1_000_000).build(
        offline=True, ref_block_id=head_id
    )
    node.inject("lag", seconds=30)

    with pytest.raises(TaposError):
        client.broadcast(txn.sign(owner))


def test_lagging_node_takes_again_a_transaction_it_has_not_seen_land_and_it_lands_once(
    node: DevnetNode, client: Tron
) -> None:
    owner = node.new_account(trx=5_000_000)
    ref = client.get_latest_block()
    ref_time = ref["block_header"]["raw_data"]["timestamp"]
    wait_for(lambda: head_time(client) >= ref_time + 2 * LAG_MARGIN_MS, 10.0, "newer blocks", 0.05)
    txn = client.trx.transfer(addr(owner), node.treasury_address, 1_000_000).build(
        offline=True, ref_block_id=ref["blockID"]
    )
    client.broadcast(txn.sign(owner))
    included = landed(client, txn.txid)
    # Behind by enough to miss the transaction's block, not enough to miss its reference block.
    midway = (ref_time + included["blockTimeStamp"]) / 2
    node.inject("lag", seconds=(time.time() * 1000 - midway) / 1000)
    node.post("/control/forget-broadcasts")

    assert client.broadcast(txn)["result"] is True
    node.mine(2)
    node.delete("/control/faults/lag")
    assert client.get_transaction_info(txn.txid)["blockNumber"] == included["blockNumber"]
    assert client.get_account(addr(owner))["balance"] == 4_000_000


def head_time(client: Tron) -> int:
    return int(client.get_latest_block()["block_header"]["raw_data"]["timestamp"])


def test_the_faucet_is_spared_by_failing_trc20_transfers(node: DevnetNode, usdt: Contract) -> None:
    node.inject("revert_trc20", share=1.0, reason="OUT_OF_ENERGY")
    funded = node.new_account(trx=1_000_000, usdt=700_000)
    assert usdt.functions.balanceOf(addr(funded)) == 700_000
