"""walletsolidity/ answers only once a block has `confirmations` (2 here) blocks on top of it."""

from __future__ import annotations

import pytest
from tronpy import Tron
from tronpy.exceptions import TransactionNotFound
from tronpy.keys import PrivateKey

from tests.devnet.harness import CONFIRMATIONS, DevnetNode

WAIT = {"timeout": 10, "interval": 0.05}


def addr(key: PrivateKey) -> str:
    return str(key.public_key.to_base58check_address())


def test_solidity_endpoints_wait_for_confirmations(node: DevnetNode, client: Tron) -> None:
    node.set_fault("stall", {"stalled": True})  # blocks only when the test mines them
    owner = PrivateKey.random()
    node.post("/control/faucet", {"address": addr(owner), "amount": 2_000_000, "currency": "TRX"})
    node.mine()
    txn = client.trx.transfer(addr(owner), node.treasury_address, 1_000_000).build().sign(owner)
    txn.broadcast()
    query = {"value": txn.txid, "visible": True}

    assert client.provider.make_request("wallet/gettransactionbyid", query) == {}  # pooled, not mined
    block_number = node.mine()
    assert client.get_transaction_info(txn.txid)["blockNumber"] == block_number

    for _ in range(CONFIRMATIONS):
        with pytest.raises(TransactionNotFound):
            client.get_solid_transaction_info(txn.txid)
        assert client.provider.make_request("walletsolidity/gettransactionbyid", query) == {}
        node.mine()

    assert client.get_solid_transaction_info(txn.txid)["blockNumber"] == block_number
    assert client.provider.make_request("walletsolidity/gettransactionbyid", query)["txID"] == txn.txid
    head = node.height()
    assert client.get_latest_solid_block_number() == head - CONFIRMATIONS
    assert client.get_latest_solid_block()["block_header"]["raw_data"]["number"] == head - CONFIRMATIONS


def test_wait_solid_with_running_block_production(node: DevnetNode, client: Tron) -> None:
    owner = node.new_account(trx=2_000_000)
    ret = client.trx.transfer(addr(owner), node.treasury_address, 1_000_000).build().sign(owner).broadcast()

    info = ret.wait(solid=True, **WAIT)

    assert client.get_latest_solid_block_number() >= info["blockNumber"]


def test_blocks_carry_their_number_in_the_id(node: DevnetNode, client: Tron) -> None:
    node.mine()  # a head past genesis, which has a parent: run first on a fresh node, the head was block 0
    head = client.get_block()
    number = head["block_header"]["raw_data"]["number"]

    assert int(head["blockID"][:16], 16) == number
    assert client.get_block(head["blockID"])["blockID"] == head["blockID"]
    assert client.get_block(number)["blockID"] == head["blockID"]
    assert client.get_block(number - 1)["blockID"] == head["block_header"]["raw_data"]["parentHash"]
    assert client.get_block(0)["block_header"]["raw_data"]["number"] == 0
