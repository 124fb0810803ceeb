"""walletsolidity/ answers only once a block has `confirmations` (2 here) blocks on top of it."""

from __future__ import annotations

from typing import Any

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


def test_getblock_answers_the_header_unless_detail_is_asked(node: DevnetNode, client: Tron) -> None:
    """java-tron's GetBlockServlet: no id_or_num is the latest block (solidified on walletsolidity/),
    a height or a block id picks one, and `detail` false, the default, leaves the transactions out."""
    owner = node.new_account(trx=2_000_000)
    node.set_fault("stall", {"stalled": True})  # blocks only when the test mines them
    txn = client.trx.transfer(addr(owner), node.treasury_address, 1_000_000).build().sign(owner)
    txn.broadcast()
    with_tx = node.mine()
    for _ in range(CONFIRMATIONS):
        node.mine()
    head = node.height()

    def getblock(path: str, **body: object) -> dict[str, Any]:
        return dict(node.post(path, body).json())

    latest = getblock("/wallet/getblock")
    assert latest["block_header"]["raw_data"]["number"] == head
    assert "transactions" not in latest
    solid = getblock("/walletsolidity/getblock", detail=False)
    assert solid["block_header"]["raw_data"]["number"] == head - CONFIRMATIONS == with_tx
    assert "transactions" not in solid
    detailed = getblock("/wallet/getblock", id_or_num=str(with_tx), detail=True)
    assert [tx["txID"] for tx in detailed["transactions"]] == [txn.txid]
    assert detailed["blockID"] == solid["blockID"]
    by_id = getblock("/walletsolidity/getblock", id_or_num=solid["blockID"])
    assert by_id["blockID"] == solid["blockID"] and "transactions" not in by_id
    assert getblock("/walletsolidity/getblock", id_or_num=str(head)) == {}  # not solidified yet
    assert getblock("/wallet/getblock", id_or_num=str(head + 1)) == {}
    assert "Error" in getblock("/wallet/getblock", id_or_num="latest!")
