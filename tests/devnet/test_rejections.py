"""The node refuses what a real node refuses, with the codes tronpy turns into its exceptions."""

from __future__ import annotations

import copy

import pytest
from tronpy import Tron
from tronpy.abi import tron_abi
from tronpy.contract import Contract
from tronpy.exceptions import (
    BadKey,
    BadSignature,
    TaposError,
    TransactionError,
    TransactionNotFound,
    TvmError,
    UnknownError,
    ValidationError,
)
from tronpy.keys import PrivateKey
from tronpy.proto import calculate_txid_from_raw_data
from tronpy.tron import Transaction

from harness.waiting import wait_for
from stack.devnet.config import MAINNET_ENERGY_FEE
from stack.devnet.usdt import REVERT_ENERGY
from tests.devnet.harness import DevnetNode

FEE_LIMIT = 50_000_000
WAIT = {"timeout": 10, "interval": 0.05}


def addr(key: PrivateKey) -> str:
    return str(key.public_key.to_base58check_address())


def balance(client: Tron, key: PrivateKey) -> int:
    return int(client.get_account(addr(key)).get("balance", 0))


def test_signature_by_another_key_is_refused(node: DevnetNode, client: Tron) -> None:
    owner, thief = node.new_account(trx=2_000_000), PrivateKey.random()
    txn = client.trx.transfer(addr(owner), addr(thief), 1_000_000).build()

    with pytest.raises(BadKey):  # tronpy checks the permission getsignweight returned
        txn.sign(thief)
    txn.set_signature([thief.sign_msg_hash(bytes.fromhex(txn.txid)).hex()])
    with pytest.raises(BadSignature, match="not contained of permission"):
        txn.broadcast()
    assert balance(client, owner) == 2_000_000


def test_unsigned_transaction_is_refused(node: DevnetNode, client: Tron) -> None:
    owner = node.new_account(trx=2_000_000)
    with pytest.raises(BadSignature, match="miss sig"):
        client.trx.transfer(addr(owner), node.treasury_address, 1_000_000).build().broadcast()


def test_tampered_raw_data_is_refused(node: DevnetNode, client: Tron) -> None:
    owner, receiver = node.new_account(trx=5_000_000), PrivateKey.random()
    signed = client.trx.transfer(addr(owner), addr(receiver), 1_000_000).build().sign(owner).to_json()

    tampered = copy.deepcopy(signed)
    tampered["raw_data"]["contract"][0]["parameter"]["value"]["amount"] = 4_000_000
    with pytest.raises(BadSignature, match="txID does not match"):
        Transaction.from_json(tampered, client=client).broadcast()

    tampered["txID"] = calculate_txid_from_raw_data(tampered["raw_data"])  # consistent id, stale signature
    node.post("/control/forget-broadcasts")  # the node cached the tampered raw_data's id on first sight
    with pytest.raises(BadSignature, match="not contained of permission"):
        Transaction.from_json(tampered, client=client).broadcast()
    assert balance(client, owner) == 5_000_000


def test_replayed_transaction_is_refused_and_moves_money_once(node: DevnetNode, client: Tron) -> None:
    owner, receiver = node.new_account(trx=5_000_000), PrivateKey.random()
    txn = client.trx.transfer(addr(owner), addr(receiver), 1_000_000).build().sign(owner)

    ret = txn.broadcast()
    with pytest.raises(UnknownError) as pooled:
        txn.broadcast()
    assert pooled.value.args[1] == "DUP_TRANSACTION_ERROR"
    ret.wait(**WAIT)
    with pytest.raises(UnknownError) as mined:
        txn.broadcast()
    assert mined.value.args[1] == "DUP_TRANSACTION_ERROR"

    node.wait_blocks(2)
    assert balance(client, owner) == 4_000_000
    assert balance(client, receiver) == 1_000_000


def test_expired_transaction_is_refused(node: DevnetNode, client: Tron) -> None:
    owner = node.new_account(trx=2_000_000)
    txn = (
        client.trx.transfer(addr(owner), node.treasury_address, 1_000_000).expiration(300).build().sign(owner)
    )

    wait_for(lambda: txn.is_expired, 5.0, "the transaction to expire", interval=0.05)
    with pytest.raises(TransactionError, match="expired"):
        txn.broadcast()


def test_unknown_reference_block_is_refused(node: DevnetNode, client: Tron) -> None:
    owner = node.new_account(trx=2_000_000)
    bogus_ref = "000000000000fff0" + "ab" * 24
    txn = client.trx.transfer(addr(owner), node.treasury_address, 1_000_000).build(
        offline=True, ref_block_id=bogus_ref
    )

    with pytest.raises(TaposError):
        client.broadcast(txn.sign(owner))


def test_trx_overspend_is_refused(node: DevnetNode, client: Tron) -> None:
    owner = node.new_account(trx=2_000_000)
    with pytest.raises(ValidationError, match="balance is not sufficient"):
        client.trx.transfer(addr(owner), node.treasury_address, 2_000_001).build().sign(owner).broadcast()


def test_pooled_spends_cannot_exceed_the_balance(node: DevnetNode, client: Tron) -> None:
    """Two transfers of 60% each: the second is checked against the first still in the pool."""
    node.set_fault("stall", {"stalled": True})
    owner = PrivateKey.random()
    node.post("/control/faucet", {"address": addr(owner), "amount": 10_000_000, "currency": "TRX"})
    node.mine()

    first = client.trx.transfer(addr(owner), node.treasury_address, 6_000_000).build().sign(owner).broadcast()
    with pytest.raises(ValidationError, match="balance is not sufficient"):
        client.trx.transfer(addr(owner), node.treasury_address, 6_000_001).build().sign(owner).broadcast()

    node.mine()
    assert first.wait(**WAIT)["blockNumber"] == node.height()
    assert balance(client, owner) == 4_000_000


def test_unactivated_owner_is_refused(node: DevnetNode, usdt: Contract) -> None:
    owner = node.new_account(usdt=1_000_000)  # USDT alone does not create a TRON account

    txn = (
        usdt.functions.transfer(node.treasury_address, 1).with_owner(addr(owner)).fee_limit(FEE_LIMIT).build()
    )
    with pytest.raises(ValidationError, match="does not exist"):
        txn.sign(owner).broadcast()


def test_unsupported_contract_type_is_refused(node: DevnetNode, client: Tron) -> None:
    owner = node.new_account(trx=2_000_000)
    with pytest.raises(ValidationError, match="not supported"):
        client.trx.account_update(addr(owner), "alice").build()


def test_trc20_overspend_reverts_in_a_block_moves_no_token_and_burns_its_energy(
    node: DevnetNode, client: Tron, usdt: Contract
) -> None:
    owner, receiver = node.new_account(trx=1_000_000, usdt=1_000_000), PrivateKey.random()

    txn = (
        usdt.functions.transfer(addr(receiver), 1_000_001)
        .with_owner(addr(owner))
        .fee_limit(FEE_LIMIT)
        .build()
    )
    ret = txn.sign(owner).broadcast()  # accepted: only execution in a block can tell

    with pytest.raises(TvmError, match="exceeds balance"):
        ret.result(**WAIT)
    info = client.get_transaction_info(ret.txid)
    burned = REVERT_ENERGY * MAINNET_ENERGY_FEE  # the energy used up to the revert, as java-tron bills it
    assert (info["result"], info["receipt"]["result"], info["fee"]) == ("FAILED", "REVERT", burned)
    assert "log" not in info
    assert client.get_transaction(ret.txid)["ret"] == [{"contractRet": "REVERT"}]
    assert usdt.functions.balanceOf(addr(owner)) == 1_000_000
    assert usdt.functions.balanceOf(addr(receiver)) == 0
    assert balance(client, owner) == 1_000_000 - burned


def test_constant_call_of_a_reverting_function_raises(node: DevnetNode, client: Tron) -> None:
    caller = node.new_account(trx=1_000_000)
    parameter = tron_abi.encode_abi(
        ["address", "address", "uint256"], [node.treasury_address, addr(caller), 1]
    )

    with pytest.raises(TvmError, match="exceeds allowance"):
        client.trigger_constant_contract(
            addr(caller), node.usdt_address, "transferFrom(address,address,uint256)", parameter.hex()
        )


def test_transaction_expiring_in_the_pool_is_dropped(node: DevnetNode, client: Tron) -> None:
    node.set_fault("stall", {"stalled": True})
    owner = PrivateKey.random()
    node.post("/control/faucet", {"address": addr(owner), "amount": 2_000_000, "currency": "TRX"})
    node.mine()
    txn = (
        client.trx.transfer(addr(owner), node.treasury_address, 1_000_000).expiration(300).build().sign(owner)
    )
    txn.broadcast()

    wait_for(lambda: txn.is_expired, 5.0, "the pooled transaction to expire", interval=0.05)
    node.mine()

    with pytest.raises(TransactionNotFound):
        client.get_transaction_info(txn.txid)
    assert balance(client, owner) == 2_000_000
    with pytest.raises(UnknownError, match="already exists"):  # the node still has the id cached
        txn.broadcast()
    node.post("/control/forget-broadcasts")
    with pytest.raises(TransactionError, match="expired"):  # and once it is forgotten, it is expired
        txn.broadcast()
