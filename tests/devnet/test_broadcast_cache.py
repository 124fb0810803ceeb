"""Broadcast checks in java-tron's order: the recent-id cache, expiration, TaPoS, then the chain.

What a client sees when it re-sends a transaction depends on whether the node it reaches cached
the id: the one that took it answers "already exists"; another node (or this one once the cache
is forgotten) answers "Dup transaction." while the transaction is unexpired and "expired" after,
even though it is in a block.
"""

from __future__ import annotations

import pytest
from tronpy import Tron
from tronpy.exceptions import TransactionError, UnknownError, ValidationError
from tronpy.keys import PrivateKey
from tronpy.providers import HTTPProvider
from tronpy.tron import Transaction

from harness.waiting import wait_for
from tests.devnet.harness import DevnetNode, launch, stop

WAIT = {"timeout": 10, "interval": 0.05}
SHORT_EXPIRATION_MS = 1_500


def addr(key: PrivateKey) -> str:
    return str(key.public_key.to_base58check_address())


def signed_transfer(client: Tron, owner: PrivateKey, to: str, expiration_ms: int = 60_000) -> Transaction:
    return client.trx.transfer(addr(owner), to, 1_000_000).expiration(expiration_ms).build().sign(owner)


def refusal(txn: Transaction) -> tuple[str, str]:
    """The (message, code) a re-send is refused with."""
    with pytest.raises(UnknownError) as refused:
        txn.broadcast()
    return refused.value.args[0], refused.value.args[1]


def head_time(client: Tron) -> int:
    return int(client.get_latest_block()["block_header"]["raw_data"]["timestamp"])


def test_resend_to_the_node_that_took_it_is_a_cached_duplicate(node: DevnetNode, client: Tron) -> None:
    owner = node.new_account(trx=5_000_000)
    txn = signed_transfer(client, owner, node.treasury_address)
    txn.broadcast().wait(**WAIT)

    assert refusal(txn) == ("Transaction already exists.", "DUP_TRANSACTION_ERROR")


def test_resend_to_a_node_without_the_id_is_a_chain_duplicate_while_unexpired(
    node: DevnetNode, client: Tron
) -> None:
    owner = node.new_account(trx=5_000_000)
    txn = signed_transfer(client, owner, node.treasury_address)
    txn.broadcast().wait(**WAIT)

    node.post("/control/forget-broadcasts")

    assert refusal(txn) == ("Dup transaction.", "DUP_TRANSACTION_ERROR")


def test_included_transaction_resent_after_its_expiration_is_expired_not_duplicate(
    node: DevnetNode, client: Tron
) -> None:
    owner = node.new_account(trx=5_000_000)
    txn = signed_transfer(client, owner, node.treasury_address, SHORT_EXPIRATION_MS)
    block_number = txn.broadcast().wait(**WAIT)["blockNumber"]
    expiration = txn.to_json()["raw_data"]["expiration"]
    wait_for(lambda: head_time(client) > expiration, 10.0, "the head block past the expiration", 0.05)

    assert refusal(txn)[1] == "DUP_TRANSACTION_ERROR"  # the node that took it still knows it
    node.post("/control/forget-broadcasts")
    with pytest.raises(TransactionError, match="Transaction expired"):
        txn.broadcast()
    assert client.get_transaction_info(txn.txid)["blockNumber"] == block_number  # landed all along


def test_a_refused_transaction_is_cached_too(node: DevnetNode, client: Tron) -> None:
    """Wallet.broadcastTransaction caches the id before validating: a refused tx re-sent is a dup."""
    owner = node.new_account(trx=1_000_000)
    txn = client.trx.transfer(addr(owner), node.treasury_address, 2_000_000).build().sign(owner)
    with pytest.raises(ValidationError, match="balance is not sufficient"):
        txn.broadcast()
    node.fund(addr(owner), 5_000_000)

    assert refusal(txn) == ("Transaction already exists.", "DUP_TRANSACTION_ERROR")
    node.post("/control/forget-broadcasts")
    assert txn.broadcast().wait(**WAIT)["blockNumber"] > 0


def test_expiration_is_judged_by_the_head_block_not_the_wall_clock(node: DevnetNode, client: Tron) -> None:
    """A stalled node's head is old, so it still takes what the wall clock calls expired."""
    owner = node.new_account(trx=5_000_000)
    node.set_fault("stall", {"stalled": True})
    txn = signed_transfer(client, owner, node.treasury_address, 300)
    wait_for(lambda: txn.is_expired, 5.0, "the wall clock past the expiration", interval=0.05)

    assert txn.broadcast()["result"] is True
    node.mine()  # the block is made now, after the expiration: the pool drops it
    assert client.get_account_balance(addr(owner)) == 5


def test_the_cache_forgets_after_its_ttl() -> None:
    process, ready = launch("--block-interval", "0.1", "--broadcast-cache-ttl", "0.5")
    try:
        node = DevnetNode(ready["url"], ready["treasury_address"], ready["usdt_contract_address"], 0.1, 2)
        client = Tron(HTTPProvider(node.url))
        assert node.info()["broadcast_cache_ttl"] == 0.5
        owner = node.new_account(trx=5_000_000)
        txn = signed_transfer(client, owner, node.treasury_address)
        txn.broadcast().wait(**WAIT)

        wait_for(lambda: refusal(txn)[0] == "Dup transaction.", 5.0, "the cached id to expire", 0.1)
        node.http.close()
    finally:
        assert stop(process) == 0
